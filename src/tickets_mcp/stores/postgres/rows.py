"""Reading tickets: the one SELECT every ticket query shares, in the layout `records.row_to_ticket` reads."""

from __future__ import annotations

from tickets_mcp.domain import Ticket
from tickets_mcp.errors import NotFound
from tickets_mcp.stores.postgres.db import Connection, fetch_optional
from tickets_mcp.stores.records import LABEL_SEP, LABELS_SEP, row_to_ticket

TICKET_SELECT = f"""
SELECT t.id, t.project_id, p.code, t.number, t.type, t.title, t.description, t.status, t.priority,
       a.username, r.username, pt.number, t.position, t.version, t.created_at, t.updated_at,
       t.closed_at, cb.username,
       (SELECT string_agg(l.name || '{LABEL_SEP}' || l.color, '{LABELS_SEP}' ORDER BY lower(l.name))
          FROM ticket_labels tl JOIN labels l ON l.id = tl.label_id WHERE tl.ticket_id = t.id),
       p.number
FROM tickets t
JOIN projects p ON p.id = t.project_id
LEFT JOIN users a ON a.id = t.assignee_id
LEFT JOIN users r ON r.id = t.reporter_id
LEFT JOIN users cb ON cb.id = t.closed_by_id
LEFT JOIN tickets pt ON pt.id = t.parent_id
"""


async def load_ticket(conn: Connection, ticket_id: int) -> Ticket:
    row = await fetch_optional(conn, TICKET_SELECT + " WHERE t.id = %s", (ticket_id,))
    if row is None:
        raise NotFound("The ticket no longer exists.", hint="It may have just been deleted; list tickets again.")
    return row_to_ticket(row)


async def find_ticket(conn: Connection, project_id: str, number: int) -> Ticket | None:
    row = await fetch_optional(conn, TICKET_SELECT + " WHERE t.project_id = %s AND t.number = %s", (project_id, number))
    return row_to_ticket(row) if row else None
