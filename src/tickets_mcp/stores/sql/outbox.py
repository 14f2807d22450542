"""Webhook deliveries from the audit trail, for dispatchers on any number of processes (dispatch/dispatcher.py).

The audit trail is the outbox: every ticket change writes its `events` row in its own transaction, so an
event committed is an event delivered, whatever crashes after. A dispatcher
- queues (`queue_events`): reads the entries after `webhook_outbox.last_event` and adds a delivery row for each
  active hook that wants one. One dispatcher at a time: the others skip the locked row (SKIP LOCKED; SQLite's
  one writer anyway). On PostgreSQL an id is drawn when a transaction inserts, not when it commits, so an
  entry may appear below ids already read: ids found missing are kept in `gaps` and looked for again until
  GAP_WAIT has passed (a transaction rolled back never fills its gap). SQLite hands out ids in commit order.
- claims (`claim`): takes due deliveries of the hooks that are not backing off, moving `due_at` to the end of
  its lease and marking them with its claim. A claimed row is not due for anyone else until the lease ends,
  so two dispatchers never send one event to a hook at once; one that dies mid-way leaves rows another takes
  when the lease ends (at least once: receivers deduplicate by event id).
- settles (`settle`): logs the attempt and schedules what follows (domain/webhooks.Schedule).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from tickets_mcp.domain import audit
from tickets_mcp.domain.rules import format_timestamp
from tickets_mcp.domain.webhooks import (
    EVENT_OF_ACTION,
    LOG_KEPT,
    Outcome,
    Schedule,
    TicketEvent,
    disabled_reason,
    events_of_column,
)
from tickets_mcp.stores.port import Actor, Attempted, DueDelivery, Settled, WebhookWork
from tickets_mcp.stores.sql import events
from tickets_mcp.stores.sql.connection import Connection, Row
from tickets_mcp.stores.sql.records import changes_of

GAP_WAIT: Final = timedelta(minutes=10)  # how long an id missing from the trail is looked for again
GAPS_KEPT: Final = 1000  # missing ids remembered at most (a sequence that jumps is not a thousand transactions)
PER_HOOK: Final = 4  # deliveries of one healthy hook in flight from one claim; a failing hook gets one
INSERTED_AT_ONCE: Final = 200  # rows of one INSERT
DISPATCHER: Final = Actor(user_id=None, client="tickets-mcp webhooks")

READY: Final = "w.disabled_at IS NULL AND (w.retry_at IS NULL OR w.retry_at <= ?)"  # not disabled nor backing off
DELIVERY_SELECT: Final = """
SELECT d.id, d.webhook_id, d.attempts, w.url, w.secret,
       e.id, e.action, e.at, o.slug, e.subject, e.changes, u.username, e.client
FROM webhook_deliveries d
JOIN webhooks w ON w.id = d.webhook_id
JOIN organizations o ON o.id = w.organization_id
JOIN events e ON e.id = d.event_id
LEFT JOIN users u ON u.id = e.actor_id
"""


def work(conn: Connection, now: str) -> WebhookWork:
    first, last, gaps, newest = conn.one(
        """SELECT (SELECT MIN(after_event) FROM webhooks WHERE disabled_at IS NULL), o.last_event, o.gaps,
                  (SELECT MAX(id) FROM events)
           FROM webhook_outbox o WHERE o.id = 1"""
    )
    news = first is not None and (gaps != "[]" or (newest or 0) > max(int(last), int(first)))
    # From the hooks (a small table) to each one's due rows by index: a disabled or backing-off hook's queue,
    # however long, is not read.
    due = conn.optional(
        f"""SELECT 1 FROM webhooks w CROSS JOIN webhook_deliveries d
            WHERE {READY} AND d.webhook_id = w.id AND d.due_at <= ? LIMIT 1""",
        (now, now),
    )
    return WebhookWork(events=news, deliveries=due is not None)


def queue_events(conn: Connection, now: str, limit: int) -> int:
    hooks = conn.all("SELECT id, organization_id, events, after_event FROM webhooks WHERE disabled_at IS NULL")
    if not hooks:
        return 0
    row = conn.optional(
        "SELECT last_event, gaps FROM webhook_outbox WHERE id = 1" + conn.dialect.locking("FOR UPDATE SKIP LOCKED")
    )
    if row is None:
        return 0  # another dispatcher is queueing
    start = max(int(row[0]), min(int(hook[3]) for hook in hooks))
    kept = str(row[1])
    gaps: dict[int, str] = {int(number): seen for number, seen in json.loads(kept)}
    fresh = conn.all(f"SELECT {_OUTBOX_COLUMNS} FROM events WHERE id > ? ORDER BY id LIMIT ?", (start, limit))
    late: list[Row] = []
    if gaps:
        where, params = conn.dialect.any_of("id", list(gaps))
        late = conn.all(f"SELECT {_OUTBOX_COLUMNS} FROM events WHERE {where}", params)
    for found in late:
        gaps.pop(int(found[0]), None)
    forget_before = format_timestamp(datetime.fromisoformat(now) - GAP_WAIT)
    gaps = {number: seen for number, seen in gaps.items() if seen >= forget_before}
    _note_gaps(gaps, start, [int(found[0]) for found in fresh], now)
    _add_deliveries(conn, hooks, [*late, *fresh], now)
    last = int(fresh[-1][0]) if fresh else start
    remembered = json.dumps(sorted(gaps.items()), separators=(",", ":"))
    if (last, remembered) != (int(row[0]), kept):  # a gap still missing and not yet forgotten changes nothing
        conn.execute("UPDATE webhook_outbox SET last_event = ?, gaps = ? WHERE id = 1", (last, remembered))
    return len(fresh) + len(late)


def _note_gaps(gaps: dict[int, str], start: int, read: Sequence[int], now: str) -> None:
    """Add the ids between `start` and the last id read that were not read (in increasing order)."""
    previous = start
    for number in read:
        for missing in range(previous + 1, min(number, previous + 1 + GAPS_KEPT)):
            if len(gaps) >= GAPS_KEPT:
                return
            gaps.setdefault(missing, now)
        previous = number


_OUTBOX_COLUMNS: Final = "id, organization_id, action, ticket_id"


def _add_deliveries(conn: Connection, hooks: Sequence[Row], found: Sequence[Row], now: str) -> None:
    wants = [(int(hook_id), org, events_of_column(wanted), int(after)) for hook_id, org, wanted, after in hooks]
    rows: list[tuple[int, int, str]] = []
    for event_id, organization_id, action, ticket_id in found:
        kind = EVENT_OF_ACTION.get(action)
        if kind is None or (action == audit.MOVED_PROJECT and ticket_id is None):
            continue  # a move to another project is sent once: its entry in the new project, the ticket's own
        for hook_id, hook_organization, kinds, after_event in wants:
            if hook_organization == organization_id and kind in kinds and event_id > after_event:
                rows.append((hook_id, int(event_id), now))
    for start in range(0, len(rows), INSERTED_AT_ONCE):
        batch = rows[start : start + INSERTED_AT_ONCE]
        conn.execute(
            "INSERT INTO webhook_deliveries (webhook_id, event_id, due_at) VALUES "
            + ", ".join("(?, ?, ?)" for _ in batch)
            + " ON CONFLICT DO NOTHING",
            [value for row in batch for value in row],
        )


def claim(conn: Connection, now: str, lease_until: str, mark: str, limit: int) -> list[DueDelivery]:
    chosen: list[int] = []
    for hook_id, failures in conn.all(f"SELECT w.id, w.failures FROM webhooks w WHERE {READY} ORDER BY w.id", (now,)):
        room = min(limit - len(chosen), 1 if failures else PER_HOOK)
        if room <= 0:
            break
        rows = conn.all(
            "SELECT id FROM webhook_deliveries WHERE webhook_id = ? AND due_at <= ? ORDER BY due_at, id LIMIT ?"
            + conn.dialect.locking("FOR UPDATE SKIP LOCKED"),
            (hook_id, now, room),
        )
        chosen.extend(int(row[0]) for row in rows)
    if not chosen:
        return []
    where, params = conn.dialect.any_of("id", chosen)
    conn.execute(f"UPDATE webhook_deliveries SET due_at = ?, claim = ? WHERE {where}", [lease_until, mark, *params])
    where, params = conn.dialect.any_of("d.id", chosen)
    rows = conn.all(DELIVERY_SELECT + f" WHERE {where} ORDER BY d.id", params)
    comments = _comments(conn, rows)
    return [_due(row, mark, comments) for row in rows]


def _comments(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    """The text of the comments the rows' comment events name, by id (a comment deleted since is left out)."""
    ids = [
        int(changes_of(row[10])["comment_id"])
        for row in rows
        if row[6] == "comment.added" and "comment_id" in changes_of(row[10])
    ]
    if not ids:
        return {}
    where, params = conn.dialect.any_of("id", ids)
    return {int(found[0]): str(found[1]) for found in conn.all(f"SELECT id, body FROM comments WHERE {where}", params)}


def _due(row: Row, mark: str, comments: dict[int, str]) -> DueDelivery:
    changes = changes_of(row[10])
    comment_id = changes.get("comment_id")
    event = TicketEvent(
        id=int(row[5]),
        type=EVENT_OF_ACTION[row[6]],
        at=row[7],
        organization=row[8],
        ticket=row[9],
        changes=changes,
        actor=row[11],
        client=row[12],
        comment=comments.get(int(comment_id)) if isinstance(comment_id, int) else None,
    )
    return DueDelivery(
        id=int(row[0]), claim=mark, webhook_id=int(row[1]), url=row[3], secret=row[4], attempt=int(row[2]) + 1,
        event=event,
    )  # fmt: skip


def settle(conn: Connection, delivery: DueDelivery, attempted: Attempted, schedule: Schedule) -> Settled:
    # The hook's row first, then the delivery's, in the order removing a hook takes them: no deadlock. NO KEY:
    # queueing (which references the hook) goes on meanwhile.
    hook = conn.optional(
        "SELECT organization_id, failures, retry_at, disabled_at FROM webhooks WHERE id = ?"
        + conn.dialect.locking("FOR NO KEY UPDATE"),
        (delivery.webhook_id,),
    )
    if hook is None:
        return Settled("failed" if attempted.error else "delivered")  # removed meanwhile, with its log
    organization_id, failures, retry_at, disabled_at = hook
    owned = conn.optional(
        "SELECT 1 FROM webhook_deliveries WHERE id = ? AND claim = ?" + conn.dialect.locking("FOR UPDATE"),
        (delivery.id, delivery.claim),
    )
    outcome: Outcome
    disabled: str | None = None
    if attempted.error is None:
        outcome = "delivered"
        if owned:
            conn.execute("DELETE FROM webhook_deliveries WHERE id = ?", (delivery.id,))
        conn.execute("UPDATE webhooks SET failures = 0, retry_at = NULL WHERE id = ?", (delivery.webhook_id,))
    else:
        outcome = "gave up" if delivery.attempt >= schedule.give_up_after else "failed"
        if owned and outcome == "gave up":
            conn.execute("DELETE FROM webhook_deliveries WHERE id = ?", (delivery.id,))
        elif owned:
            due = _later(attempted.ended_at, schedule.wait(delivery.attempt, attempted.jitter))
            conn.execute(
                "UPDATE webhook_deliveries SET attempts = ?, due_at = ?, claim = NULL WHERE id = ?",
                (delivery.attempt, due, delivery.id),
            )
        # Attempts that were in flight together fail together: only the first one counts against the hook.
        if disabled_at is None and (retry_at is None or retry_at <= attempted.started_at):
            disabled = _back_off(conn, delivery.webhook_id, organization_id, int(failures) + 1, attempted, schedule)
    _log(conn, delivery, attempted, outcome)
    return Settled(outcome, disabled)


def _back_off(
    conn: Connection, webhook_id: int, organization_id: str, failures: int, attempted: Attempted, schedule: Schedule
) -> str | None:
    """Count a failure against the hook: wait before its next attempt, or disable it (the reason)."""
    if failures < schedule.disable_after:
        retry_at = _later(attempted.ended_at, schedule.wait(failures, attempted.jitter))
        conn.execute("UPDATE webhooks SET failures = ?, retry_at = ? WHERE id = ?", (failures, retry_at, webhook_id))
        return None
    reason = disabled_reason(failures, attempted.error or "")
    conn.execute(
        "UPDATE webhooks SET failures = ?, retry_at = NULL, disabled_at = ?, disabled_reason = ? WHERE id = ?",
        (failures, attempted.ended_at, reason, webhook_id),
    )
    events.record(conn, audit.webhook_disabled(organization_id, webhook_id, reason), DISPATCHER)
    return reason


def _log(conn: Connection, delivery: DueDelivery, attempted: Attempted, outcome: Outcome) -> None:
    event = delivery.event
    conn.execute(
        """INSERT INTO webhook_attempts (webhook_id, event_id, event_type, subject, attempt, at, status, error,
                                         duration_ms, outcome)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            delivery.webhook_id, event.id, event.type.value, event.ticket, delivery.attempt, attempted.started_at,
            attempted.status, attempted.error, attempted.duration_ms, outcome,
        ),
    )  # fmt: skip
    # The log keeps the hook's latest LOG_KEPT attempts: the one past them and all older go.
    conn.execute(
        """DELETE FROM webhook_attempts WHERE webhook_id = ? AND id <= (
               SELECT id FROM webhook_attempts WHERE webhook_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)""",
        (delivery.webhook_id, delivery.webhook_id, LOG_KEPT),
    )


def _later(moment: str, seconds: float) -> str:
    return format_timestamp(datetime.fromisoformat(moment) + timedelta(seconds=seconds))
