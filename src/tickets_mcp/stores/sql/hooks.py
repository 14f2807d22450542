"""Webhooks as owners and admins keep them: made, listed, removed, enabled again, and their delivery logs.

A hook's secret leaves the store only to sign (outbox.py): what these read shows its first characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from tickets_mcp.domain import audit
from tickets_mcp.domain.clock import utc_now
from tickets_mcp.domain.webhooks import (
    HOOKS_PER_ORGANIZATION,
    SECRET_HINT_LENGTH,
    EventType,
    Webhook,
    WebhookAttempt,
    event_id,
    events_column,
    events_of_column,
)
from tickets_mcp.errors import Conflict, NotFound
from tickets_mcp.stores.port import Actor, NewWebhook
from tickets_mcp.stores.sql import events
from tickets_mcp.stores.sql.connection import Connection, Row

# A listing counts a hook's queue up to here: a hook failing for hours under heavy traffic may hold many.
PENDING_COUNTED: Final = 10_000

WEBHOOK_SELECT: Final = f"""
SELECT w.id, w.organization_id, o.slug, w.url, w.events, w.description, substr(w.secret, 1, {SECRET_HINT_LENGTH}),
       w.created_at, u.username, w.failures, w.retry_at, w.disabled_at, w.disabled_reason,
       (SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id LIMIT {PENDING_COUNTED}) q)
FROM webhooks w
JOIN organizations o ON o.id = w.organization_id
LEFT JOIN users u ON u.id = w.created_by
"""
ATTEMPT_SELECT: Final = """
SELECT at, event_id, event_type, subject, attempt, outcome, status, error, duration_ms
FROM webhook_attempts WHERE webhook_id = ? ORDER BY id DESC LIMIT ?
"""


def row_to_webhook(row: Row) -> Webhook:
    return Webhook(
        id=int(row[0]),
        organization_id=row[1],
        organization=row[2],
        url=row[3],
        events=events_of_column(row[4]),
        description=row[5],
        secret_hint=f"{row[6]}…",
        created_at=row[7],
        created_by=row[8],
        failures=int(row[9]),
        retry_at=row[10],
        disabled_at=row[11],
        disabled_reason=row[12],
        active=row[11] is None,
        pending=int(row[13]),
    )


def find_webhook(conn: Connection, webhook_id: int) -> Webhook | None:
    row = conn.optional(WEBHOOK_SELECT + " WHERE w.id = ?", (webhook_id,))
    return None if row is None else row_to_webhook(row)


def load_webhook(conn: Connection, webhook_id: int) -> Webhook:
    found = find_webhook(conn, webhook_id)
    if found is None:
        raise NotFound(f"No webhook {webhook_id}.", hint="List them with: tickets-mcp webhook list")
    return found


def list_webhooks(conn: Connection, organization_ids: Sequence[str]) -> list[Webhook]:
    if not organization_ids:
        return []
    where, params = conn.dialect.any_of("w.organization_id", organization_ids)
    return [row_to_webhook(row) for row in conn.all(WEBHOOK_SELECT + f" WHERE {where} ORDER BY w.id", params)]


def create_webhook(conn: Connection, new: NewWebhook, actor: Actor) -> Webhook:
    # The organization's row locked, so that two hooks made at once are counted one after the other.
    lock = "SELECT 1 FROM organizations WHERE id = ?" + conn.dialect.locking("FOR NO KEY UPDATE")
    conn.one(lock, (new.organization_id,))
    made = conn.one("SELECT COUNT(*) FROM webhooks WHERE organization_id = ?", (new.organization_id,))
    if int(made[0]) >= HOOKS_PER_ORGANIZATION:
        raise Conflict(
            f"The organization has {HOOKS_PER_ORGANIZATION} webhooks, as many as it may.",
            hint="Remove one it no longer needs; one hook may take every event type.",
        )
    row = conn.one(
        """INSERT INTO webhooks (organization_id, url, secret, events, description, created_at, created_by,
                                 after_event)
           VALUES (?, ?, ?, ?, ?, ?, ?, 0) RETURNING id""",
        (
            new.organization_id, new.url, new.secret, events_column(new.events), new.description, utc_now(),
            actor.user_id,
        ),
    )  # fmt: skip
    webhook_id = int(row[0])
    host = urlsplit(new.url).hostname or ""
    events.record(conn, audit.webhook_created(new.organization_id, webhook_id, host, events_column(new.events)), actor)
    _from_now_on(conn, webhook_id)
    return load_webhook(conn, webhook_id)


def _from_now_on(conn: Connection, webhook_id: int) -> None:
    """The hook hears of events after the latest one, its own making or enabling included: nothing from
    before, and no queueing pass run for nothing."""
    conn.execute(
        "UPDATE webhooks SET after_event = (SELECT COALESCE(MAX(id), 0) FROM events) WHERE id = ?", (webhook_id,)
    )


def delete_webhook(conn: Connection, webhook_id: int, actor: Actor) -> Webhook:
    webhook = load_webhook(conn, webhook_id)
    conn.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))  # its queue and log go with it
    events.record(conn, audit.webhook_removed(webhook.organization_id, webhook_id), actor)
    return webhook


def enable_webhook(conn: Connection, webhook_id: int, actor: Actor) -> Webhook:
    webhook = load_webhook(conn, webhook_id)
    if webhook.active:
        # Try again now: a hook backing off after failures gets its next attempt without waiting.
        conn.execute("UPDATE webhooks SET failures = 0, retry_at = NULL WHERE id = ?", (webhook_id,))
        return load_webhook(conn, webhook_id)
    # What happened while it was disabled is not sent; what was queued before is.
    conn.execute(
        """UPDATE webhooks SET failures = 0, retry_at = NULL, disabled_at = NULL, disabled_reason = NULL
           WHERE id = ?""",
        (webhook_id,),
    )
    events.record(conn, audit.webhook_enabled(webhook.organization_id, webhook_id), actor)
    _from_now_on(conn, webhook_id)
    return load_webhook(conn, webhook_id)


def attempts(conn: Connection, webhook_id: int, limit: int) -> list[WebhookAttempt]:
    load_webhook(conn, webhook_id)
    return [_row_to_attempt(row) for row in conn.all(ATTEMPT_SELECT, (webhook_id, limit))]


def _row_to_attempt(row: Row) -> WebhookAttempt:
    values: dict[str, Any] = {
        "at": row[0],
        "event_id": event_id(int(row[1])),
        "event": EventType(row[2]),
        "ticket": row[3],
        "attempt": int(row[4]),
        "outcome": row[5],
        "status": None if row[6] is None else int(row[6]),
        "error": row[7],
        "duration_ms": int(row[8]),
    }
    return WebhookAttempt(**values)
