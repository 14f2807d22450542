"""Reading tickets: the one SELECT every ticket query shares, in the layout `records.row_to_ticket` reads."""

from __future__ import annotations

import sqlite3

from tickets_mcp.domain import Ticket
from tickets_mcp.errors import NotFound
from tickets_mcp.stores.records import LABEL_SEP, LABELS_SEP, row_to_ticket

TICKET_SELECT = f"""
SELECT t.id, t.project_id, p.code, t.number, t.type, t.title, t.description, t.status, t.priority,
       a.username, r.username, pt.number, t.position, t.version, t.created_at, t.updated_at,
       t.closed_at, cb.username,
       (SELECT group_concat(name || '{LABEL_SEP}' || color, '{LABELS_SEP}')
          FROM (SELECT l.name AS name, l.color AS color FROM ticket_labels tl
                JOIN labels l ON l.id = tl.label_id WHERE tl.ticket_id = t.id ORDER BY l.name)),
       p.number
FROM tickets t
JOIN projects p ON p.id = t.project_id
LEFT JOIN users a ON a.id = t.assignee_id
LEFT JOIN users r ON r.id = t.reporter_id
LEFT JOIN users cb ON cb.id = t.closed_by_id
LEFT JOIN tickets pt ON pt.id = t.parent_id
"""


def load_ticket(conn: sqlite3.Connection, ticket_id: int) -> Ticket:
    row = conn.execute(TICKET_SELECT + " WHERE t.id = ?", (ticket_id,)).fetchone()
    if row is None:
        raise NotFound("The ticket no longer exists.", hint="It may have just been deleted; list tickets again.")
    return row_to_ticket(row)


def find_ticket(conn: sqlite3.Connection, project_id: str, number: int) -> Ticket | None:
    row = conn.execute(TICKET_SELECT + " WHERE t.project_id = ? AND t.number = ?", (project_id, number)).fetchone()
    return row_to_ticket(row) if row else None
