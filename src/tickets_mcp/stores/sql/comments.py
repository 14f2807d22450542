"""Comments on tickets: the scripts every engine runs alike."""

from __future__ import annotations

from tickets_mcp.domain import Comment, Ticket, audit
from tickets_mcp.domain.clock import utc_now
from tickets_mcp.stores.port import Actor
from tickets_mcp.stores.sql.connection import Connection
from tickets_mcp.stores.sql.events import record
from tickets_mcp.stores.sql.tickets import lock_ticket


def of_ticket(conn: Connection, ticket: Ticket, comment_id: int | None = None) -> list[Comment]:
    """The ticket's comments, oldest first; or only the one with `comment_id`."""
    query = """SELECT c.id, u.username, c.body, c.created_at FROM comments c
               LEFT JOIN users u ON u.id = c.author_id WHERE c.ticket_id = ?"""
    params: list[object] = [ticket.id]
    if comment_id is not None:
        query += " AND c.id = ?"
        params.append(comment_id)
    rows = conn.all(query + " ORDER BY c.id", params)
    return [Comment(id=r[0], ticket_slug=ticket.slug, author=r[1], body=r[2], created_at=r[3]) for r in rows]


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
    return of_ticket(conn, ticket, comment_id)[0]
