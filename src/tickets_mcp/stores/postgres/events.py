"""The audit trail: one `events` row per mutation, written in the mutation's own transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg.types.json import Jsonb

from tickets_mcp.stores.port import Actor
from tickets_mcp.stores.postgres.db import Connection, execute
from tickets_mcp.stores.rules import utc_now


async def record_event(
    conn: Connection,
    *,
    action: str,
    subject: str,
    actor: Actor,
    organization_id: str | None,
    project_id: str | None,
    ticket_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
) -> None:
    await execute(
        conn,
        """INSERT INTO events (at, organization_id, project_id, ticket_id, subject, action,
                               actor_id, token_id, client, changes)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            utc_now(),
            organization_id,
            project_id,
            ticket_id,
            subject,
            action,
            actor.user_id,
            actor.token_id,
            actor.client,
            Jsonb(dict(changes or {})),
        ),
    )
