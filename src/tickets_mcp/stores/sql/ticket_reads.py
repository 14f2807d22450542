"""Reading one ticket, the way every script that needs one does."""

from __future__ import annotations

from tickets_mcp.domain import Ticket
from tickets_mcp.errors import NotFound
from tickets_mcp.stores.sql.connection import Connection
from tickets_mcp.stores.sql.records import row_to_ticket


def load_ticket(conn: Connection, ticket_id: int) -> Ticket:
    row = conn.optional(conn.dialect.ticket_select + " WHERE t.id = ?", (ticket_id,))
    if row is None:
        raise NotFound("The ticket no longer exists.", hint="It may have just been deleted; list tickets again.")
    return row_to_ticket(row)


def find_ticket(conn: Connection, project_id: str, number: int) -> Ticket | None:
    row = conn.optional(conn.dialect.ticket_select + " WHERE t.project_id = ? AND t.number = ?", (project_id, number))
    return row_to_ticket(row) if row else None
