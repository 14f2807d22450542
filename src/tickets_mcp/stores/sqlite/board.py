"""Board columns: where a ticket sits in its column, and the board view.

Positions are integers spaced POSITION_STEP apart; a placement takes the midpoint of its neighbours,
and a column with no gap left is respaced (the arithmetic is in store/rules.py, shared by every store).
Respacing is not a change of any ticket's content.
"""

from __future__ import annotations

import sqlite3

from tickets_mcp.domain import Board, BoardColumn, Project, Status, Ticket
from tickets_mcp.stores.rules import POSITION_STEP, check_anchor, slot_next_to
from tickets_mcp.stores.sqlite.rows import TICKET_SELECT, load_ticket, row_to_ticket


def end_of_column(conn: sqlite3.Connection, project_id: str, status: Status) -> int:
    row = conn.execute(
        "SELECT MAX(position) FROM tickets WHERE project_id = ? AND status = ?", (project_id, status.value)
    ).fetchone()
    return int(row[0] or 0) + POSITION_STEP


def position_next_to(conn: sqlite3.Connection, ticket: Ticket, status: Status, anchor_id: int, *, before: bool) -> int:
    anchor = load_ticket(conn, anchor_id)
    check_anchor(ticket, anchor, status, before=before)
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
        slot = slot_next_to(anchor_position, None if row is None else int(row[1]), before=before)
        if slot is not None:
            return slot
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
