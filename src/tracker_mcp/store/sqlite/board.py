"""Board columns: where a ticket sits in its column, and the board view.

Positions are integers spaced POSITION_STEP apart; a placement takes the midpoint of its neighbours,
and a column with no gap left is respaced. Respacing is not a change of any ticket's content.
"""

from __future__ import annotations

import sqlite3

from tracker_mcp.domain import Board, BoardColumn, Project, Status, Ticket
from tracker_mcp.errors import Invalid
from tracker_mcp.store.sqlite.rows import TICKET_SELECT, load_ticket, row_to_ticket

POSITION_STEP = 1024


def end_of_column(conn: sqlite3.Connection, project_id: str, status: Status) -> int:
    row = conn.execute(
        "SELECT MAX(position) FROM tickets WHERE project_id = ? AND status = ?", (project_id, status.value)
    ).fetchone()
    return int(row[0] or 0) + POSITION_STEP


def position_next_to(conn: sqlite3.Connection, ticket: Ticket, status: Status, anchor_id: int, *, before: bool) -> int:
    anchor = load_ticket(conn, anchor_id)
    if anchor.id == ticket.id:
        raise Invalid("before" if before else "after", "A ticket cannot be placed next to itself.")
    if anchor.project_id != ticket.project_id or anchor.status != status:
        raise Invalid(
            "before" if before else "after",
            f"{anchor.slug} is not in the {status.value} column of this project.",
            hint=f"Pass a ticket that is in {status.value}, or omit before/after to place it last.",
        )
    for attempt in range(2):
        anchor_position = int(conn.execute("SELECT position FROM tickets WHERE id = ?", (anchor.id,)).fetchone()[0])
        op, order = ("<", "DESC") if before else (">", "ASC")
        row = conn.execute(
            f"""SELECT id, position FROM tickets WHERE project_id = ? AND status = ? AND position {op} ?
                ORDER BY position {order} LIMIT 1""",
            (ticket.project_id, status.value, anchor_position),
        ).fetchone()
        if row is not None and row[0] == ticket.id:
            return ticket.position  # already there
        if row is None:
            neighbour = anchor_position - 2 * POSITION_STEP if before else anchor_position + 2 * POSITION_STEP
        else:
            neighbour = int(row[1])
        if abs(neighbour - anchor_position) > 1:
            return (neighbour + anchor_position) // 2
        if attempt == 0:
            respace_column(conn, ticket.project_id, status)
    raise AssertionError("respacing a column always leaves room")


def respace_column(conn: sqlite3.Connection, project_id: str, status: Status) -> None:
    conn.execute(
        """UPDATE tickets SET position = (
               SELECT rn * ? FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY position, id) AS rn
                                   FROM tickets WHERE project_id = ? AND status = ?) ranked
               WHERE ranked.id = tickets.id)
           WHERE project_id = ? AND status = ?""",
        (POSITION_STEP, project_id, status.value, project_id, status.value),
    )


def board(conn: sqlite3.Connection, project: Project, per_column: int) -> Board:
    counts = dict(
        conn.execute(
            "SELECT status, COUNT(*) FROM tickets WHERE project_id = ? GROUP BY status", (project.id,)
        ).fetchall()
    )
    columns: list[BoardColumn] = []
    for status in Status:
        rows = conn.execute(
            TICKET_SELECT + " WHERE t.project_id = ? AND t.status = ? ORDER BY t.position, t.id LIMIT ?",
            (project.id, status.value, per_column),
        ).fetchall()
        columns.append(
            BoardColumn(
                status=status,
                total=int(counts.get(status.value, 0)),
                tickets=tuple(row_to_ticket(row) for row in rows),
            )
        )
    return Board(project=project, columns=tuple(columns))
