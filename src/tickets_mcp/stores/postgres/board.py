"""Board columns: where a ticket sits in its column, and the board view (rules in store/rules.py).

Callers hold the project's row lock (see tickets.lock_project), so no other writer moves a column's
tickets between reading a neighbour's position and taking the slot next to it.
"""

from __future__ import annotations

from tickets_mcp.domain import Board, BoardColumn, Project, Status, Ticket
from tickets_mcp.stores.postgres.db import Connection, execute, fetch_all, fetch_one, fetch_optional
from tickets_mcp.stores.postgres.rows import TICKET_SELECT, load_ticket
from tickets_mcp.stores.records import row_to_ticket
from tickets_mcp.stores.rules import POSITION_STEP, check_anchor, slot_next_to


async def end_of_column(conn: Connection, project_id: str, status: Status) -> int:
    row = await fetch_one(
        conn, "SELECT MAX(position) FROM tickets WHERE project_id = %s AND status = %s", (project_id, status.value)
    )
    return int(row[0] or 0) + POSITION_STEP


async def position_next_to(conn: Connection, ticket: Ticket, status: Status, anchor_id: int, *, before: bool) -> int:
    anchor = await load_ticket(conn, anchor_id)
    check_anchor(ticket, anchor, status, before=before)
    neighbour_query = (
        "SELECT id, position FROM tickets WHERE project_id = %s AND status = %s AND position < %s "
        "ORDER BY position DESC LIMIT 1"
        if before
        else "SELECT id, position FROM tickets WHERE project_id = %s AND status = %s AND position > %s "
        "ORDER BY position ASC LIMIT 1"
    )
    for attempt in range(2):
        anchor_position = int((await fetch_one(conn, "SELECT position FROM tickets WHERE id = %s", (anchor.id,)))[0])
        row = await fetch_optional(conn, neighbour_query, (ticket.project_id, status.value, anchor_position))
        if row is not None and row[0] == ticket.id:
            return ticket.position  # already there
        slot = slot_next_to(anchor_position, None if row is None else int(row[1]), before=before)
        if slot is not None:
            return slot
        if attempt == 0:
            await respace_column(conn, ticket.project_id, status)
    raise AssertionError("respacing a column always leaves room")


async def respace_column(conn: Connection, project_id: str, status: Status) -> None:
    await execute(
        conn,
        """UPDATE tickets SET position = ranked.rn * %s
           FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY position, id) AS rn
                 FROM tickets WHERE project_id = %s AND status = %s) ranked
           WHERE ranked.id = tickets.id""",
        (POSITION_STEP, project_id, status.value),
    )


async def board(conn: Connection, project: Project, per_column: int) -> Board:
    counts = {
        str(status): int(count)
        for status, count in await fetch_all(
            conn, "SELECT status, COUNT(*) FROM tickets WHERE project_id = %s GROUP BY status", (project.id,)
        )
    }
    # One round trip for every column: each status's first `per_column` tickets, read from the board index.
    rows = await fetch_all(
        conn,
        f"""WITH page AS (
                SELECT c.id FROM unnest(%s::text[]) AS s(status)
                CROSS JOIN LATERAL (SELECT id FROM tickets WHERE project_id = %s AND status = s.status
                                    ORDER BY position, id LIMIT %s) c)
            {TICKET_SELECT} JOIN page ON page.id = t.id ORDER BY t.position, t.id""",
        ([status.value for status in Status], project.id, per_column),
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
