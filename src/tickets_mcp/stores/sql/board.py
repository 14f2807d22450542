"""Board columns in SQL: where a moved or filed ticket lands (the arithmetic is domain.positions'), and the board.

On PostgreSQL the callers hold the project's row lock (see tickets.lock_ticket), so no other writer
moves a column's tickets between reading a neighbour's position and taking the slot next to it.
"""

from __future__ import annotations

import functools

from tickets_mcp.domain import Board, BoardColumn, Project, Status, Ticket
from tickets_mcp.domain.positions import POSITION_STEP, after_last, check_anchor, slot_next_to
from tickets_mcp.stores.sql.connection import Connection
from tickets_mcp.stores.sql.records import row_to_ticket
from tickets_mcp.stores.sql.ticket_reads import load_ticket


def last_position(conn: Connection, project_id: str, status: Status) -> int | None:
    row = conn.one("SELECT MAX(position) FROM tickets WHERE project_id = ? AND status = ?", (project_id, status.value))
    return None if row[0] is None else int(row[0])


def end_of_column(conn: Connection, project_id: str, status: Status) -> int:
    return after_last(last_position(conn, project_id, status))


def position_next_to(conn: Connection, ticket: Ticket, status: Status, anchor_id: int, *, before: bool) -> int:
    anchor = load_ticket(conn, anchor_id)
    check_anchor(ticket, anchor, status, before=before)
    op, order = ("<", "DESC") if before else (">", "ASC")
    neighbour = f"""SELECT id, position FROM tickets WHERE project_id = ? AND status = ? AND position {op} ?
                    ORDER BY position {order} LIMIT 1"""
    for attempt in range(2):
        anchor_position = int(conn.one("SELECT position FROM tickets WHERE id = ?", (anchor.id,))[0])
        row = conn.optional(neighbour, (ticket.project_id, status.value, anchor_position))
        if row is not None and row[0] == ticket.id:
            return ticket.position  # already there
        slot = slot_next_to(anchor_position, None if row is None else int(row[1]), before=before)
        if slot is not None:
            return slot
        if attempt == 0:
            respace_column(conn, ticket.project_id, status)
    raise AssertionError("respacing a column always leaves room")


def respace_column(conn: Connection, project_id: str, status: Status) -> None:
    conn.execute(
        """UPDATE tickets SET position = ranked.rn * ?
           FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY position, id) AS rn
                 FROM tickets WHERE project_id = ? AND status = ?) ranked
           WHERE ranked.id = tickets.id""",
        (POSITION_STEP, project_id, status.value),
    )


@functools.lru_cache(maxsize=64)
def _board_page(where: str, limit: str) -> str:
    """One statement for every column: each status's first tickets, read from the board index."""
    return " UNION ALL ".join(
        f"SELECT * FROM (SELECT id FROM tickets WHERE {where} AND status = ? ORDER BY position, id {limit}) c{i}"
        for i, _ in enumerate(Status)
    )


def board(conn: Connection, project: Project, per_column: int, milestone_id: int | None = None) -> Board:
    # A milestone is one project's: its index finds its tickets.
    where, scope = ("milestone_id = ?", milestone_id) if milestone_id is not None else ("project_id = ?", project.id)
    # A project's columns are counted by ticket_counts' triggers; a milestone's, which holds far fewer, here.
    counting = (
        f"SELECT status, COUNT(*) FROM tickets WHERE {where} GROUP BY status"
        if milestone_id is not None
        else "SELECT status, tickets FROM ticket_counts WHERE project_id = ?"
    )
    counts = {str(status): int(count) for status, count in conn.all(counting, (scope,))}
    limit, limit_params = conn.dialect.limited(per_column)
    rows = conn.all(
        f"""WITH page AS MATERIALIZED ({_board_page(where, limit)})
            {conn.dialect.ticket_select} JOIN page ON page.id = t.id ORDER BY t.position, t.id""",
        [value for status in Status for value in (scope, status.value, *limit_params)],
    )
    by_status: dict[Status, list[Ticket]] = {status: [] for status in Status}
    for row in rows:
        ticket = row_to_ticket(row)
        by_status[ticket.status].append(ticket)
    columns = tuple(
        BoardColumn(status=status, total=counts.get(status.value, 0), tickets=tuple(by_status[status]))
        for status in Status
    )
    return Board(project=project, columns=columns)
