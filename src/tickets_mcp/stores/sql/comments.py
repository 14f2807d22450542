"""Comments on tickets: the scripts every engine runs alike."""

from __future__ import annotations

from tickets_mcp.domain import Comment, Ticket, audit
from tickets_mcp.domain.clock import utc_now
from tickets_mcp.stores.port import Actor
from tickets_mcp.stores.sql.connection import Connection, Row
from tickets_mcp.stores.sql.events import record
from tickets_mcp.stores.sql.tickets import lock_ticket

_SELECT = """SELECT c.id, u.username, c.body, c.created_at FROM comments c
               LEFT JOIN users u ON u.id = c.author_id WHERE c.ticket_id = ?"""
# A ticket's comments, oldest first (one parameter: the ticket's id); rows for `comment_of`.
OF_TICKET = _SELECT + " ORDER BY c.id"


def comment_of(row: Row, ticket: Ticket) -> Comment:
    return Comment(id=row[0], ticket_slug=ticket.slug, author=row[1], body=row[2], created_at=row[3])


def _comment(conn: Connection, ticket: Ticket, comment_id: int) -> Comment:
    return comment_of(conn.one(_SELECT + " AND c.id = ?", (ticket.id, comment_id)), ticket)


def add_comment(conn: Connection, ticket_id: int, body: str, actor: Actor) -> Comment:
    ticket, organization_id = lock_ticket(conn, ticket_id)
    now = utc_now()
    row = conn.one(
        "INSERT INTO comments (ticket_id, author_id, body, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        (ticket_id, actor.user_id, body, now),
    )
    conn.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", (now, ticket_id))
    comment_id = int(row[0])
    record(conn, audit.comment_added(ticket, organization_id, comment_id), actor)
    return _comment(conn, ticket, comment_id)
