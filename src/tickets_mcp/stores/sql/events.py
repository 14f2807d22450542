"""The audit trail: one `events` row per mutation, written in the mutation's own transaction, and the
few reads a write needs from it (what changed since a stale version, who deleted a ticket), and the
reads of whoever watches it for changes (core/changes.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from tickets_mcp.domain import Change
from tickets_mcp.domain.audit import Event, Recorded
from tickets_mcp.domain.clock import utc_now
from tickets_mcp.stores.port import Actor
from tickets_mcp.stores.sql.connection import Connection
from tickets_mcp.stores.sql.records import HISTORY_SELECT, row_to_change

# The events that bump a ticket's version, one each (tickets._commit_change, relocation.move_to_project): a
# comment does not.
_VERSIONED = "('ticket.updated', 'ticket.moved', 'ticket.moved_project')"


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


def latest_changes(conn: Connection, ticket_id: int, limit: int) -> list[Change]:
    """The ticket's latest `limit` changes of its fields, oldest first: the events of its last `limit` versions
    (fewer than its version). Taken newest first, they are its own even where an older build gave it a deleted
    ticket's id: that ticket's events are older."""
    rows = conn.all(
        HISTORY_SELECT + f" WHERE e.ticket_id = ? AND e.action IN {_VERSIONED} ORDER BY e.id DESC LIMIT ?",
        (ticket_id, limit),
    )
    return [row_to_change(row) for row in reversed(rows)]


# A sub-task deleted with its parent is named in the parent's event, found among the project's deletions.
DELETIONS_NAMING = 5  # of the deletion events whose text holds the slug, the latest read


def deletion(conn: Connection, project_id: str, slug: str) -> Change | None:
    """Who deleted the ticket `slug` of the project and when: its own deletion, or its parent's that took it
    along (then the Change's subject is the parent's slug)."""
    row = conn.optional(
        HISTORY_SELECT + " WHERE e.project_id = ? AND e.subject = ? AND e.action = 'ticket.deleted' "
        "ORDER BY e.id DESC LIMIT 1",
        (project_id, slug),
    )
    if row is not None:
        return row_to_change(row)
    # The project's deletions only, by their partial index (`subject > ''` makes its range the planner's
    # pick), sorted after (`e.id + 0`) rather than found by walking the project's whole trail newest first.
    rows = conn.all(
        HISTORY_SELECT + " WHERE e.project_id = ? AND e.subject > '' AND e.action = 'ticket.deleted' "
        "AND CAST(e.changes AS TEXT) LIKE ? "
        "ORDER BY e.id + 0 DESC LIMIT ?",
        (project_id, f'%"{slug}"%', DELETIONS_NAMING),
    )
    found = (row_to_change(row) for row in rows)
    return next((change for change in found if slug in change.changes.get("subtasks", ())), None)


def last_id(conn: Connection) -> int:
    """The id of the latest entry (0 when there is none): where a watcher starts."""
    return int(conn.one("SELECT COALESCE(MAX(id), 0) FROM events")[0])


# A deletion's changes name the sub-tasks deleted with it; other actions' changes are not read.
_RECORDED = """SELECT id, action, project_id, ticket_id, subject,
                      CASE WHEN action = 'ticket.deleted' THEN changes END FROM events"""


def after(conn: Connection, cursor: int, missing: Sequence[int], limit: int) -> list[Recorded]:
    """The first `limit` entries after id `cursor`, and those of `missing` (ids at or below it that were not
    committed when it was read) that are now, by id: ranges and points of the primary key."""
    rows = conn.all(_RECORDED + " WHERE id > ? ORDER BY id LIMIT ?", (cursor, limit))
    if missing:
        where, params = conn.dialect.any_of("id", missing)
        rows = sorted(conn.all(f"{_RECORDED} WHERE {where}", params) + rows, key=lambda row: int(row[0]))
    return [_recorded(row) for row in rows]


def _recorded(row: Sequence[Any]) -> Recorded:
    raw: Any = row[5]
    changes = cast(dict[str, Any], raw if isinstance(raw, dict) or raw is None else json.loads(raw)) or {}
    subtasks = cast(list[object], changes["subtasks"]) if isinstance(changes.get("subtasks"), list) else []
    return Recorded(
        id=int(row[0]),
        action=str(row[1]),
        project_id=row[2],
        ticket_id=None if row[3] is None else int(row[3]),
        subject=str(row[4]),
        subtasks=tuple(str(slug) for slug in subtasks),
    )
