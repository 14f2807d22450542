"""Writing the audit trail: one `events` row per mutation, in the mutation's own transaction."""

from __future__ import annotations

from tickets_mcp.domain.audit import Event
from tickets_mcp.domain.clock import utc_now
from tickets_mcp.stores.port import Actor
from tickets_mcp.stores.sql.connection import Connection


def record(conn: Connection, event: Event, actor: Actor) -> None:
    conn.execute(
        """INSERT INTO events (at, organization_id, project_id, ticket_id, subject, action,
                               actor_id, token_id, client, changes)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            utc_now(),
            event.organization_id,
            event.project_id,
            event.ticket_id,
            event.subject,
            event.action,
            actor.user_id,
            actor.token_id,
            actor.client,
            conn.dialect.json(dict(event.changes)),
        ),
    )
