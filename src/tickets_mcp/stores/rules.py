"""Rules every store applies alike: closing, versions, patches, audit diffs, cursors and board positions.

They hold no SQL, so the SQLite and PostgreSQL stores import them instead of each keeping a copy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tickets_mcp.domain import CLOSED_STATUSES, Priority, Status, Ticket, TicketSort, TicketType
from tickets_mcp.domain.rules import decode_cursor, encode_cursor, format_timestamp, key_reused, unstorable_text
from tickets_mcp.errors import Invalid
from tickets_mcp.stores.port import PATCHABLE, Actor, NewTicket, TicketPatch, TicketQuery
from tickets_mcp.stores.search import SearchTerms

# Positions in a board column are spaced this far apart, so most moves find a free integer between neighbours.
POSITION_STEP = 1024
# The columns a patch may change, in the order stores read them back.
PATCH_COLUMNS = ("title", "type", "description", "status", "priority", "assignee_id", "parent_id")


def utc_now() -> str:
    return format_timestamp(datetime.now(UTC))


def status_columns(current: Ticket | None, status: Status, actor: Actor, now: str) -> dict[str, Any]:
    """closed_at/closed_by follow the status: set when a ticket closes, cleared when it reopens."""
    was_closed = current is not None and current.status in CLOSED_STATUSES
    if status in CLOSED_STATUSES and not was_closed:
        return {"closed_at": now, "closed_by_id": actor.user_id}
    if status not in CLOSED_STATUSES and was_closed:
        return {"closed_at": None, "closed_by_id": None}
    return {}


def changed_columns(stored: Mapping[str, Any], patch: TicketPatch) -> dict[str, Any]:
    """The patch's values as stored column values, keeping only those that differ from `stored`."""
    unknown = set(patch.values) - PATCHABLE
    if unknown:
        raise ValueError(f"not patchable: {sorted(unknown)}")
    wanted = {name: _column_value(value) for name, value in patch.values.items()}
    return {name: value for name, value in wanted.items() if stored[name] != value}


def _column_value(value: Any) -> Any:
    if isinstance(value, Priority):
        return value.rank
    if isinstance(value, Status | TicketType):
        return value.value
    return value


def labels_changed(current: Ticket, patch: TicketPatch) -> bool:
    """Whether the patch sets other labels than the ticket has; labels compare case-insensitively."""
    return patch.labels is not None and sorted(name.casefold() for name in patch.labels) != sorted(
        label.name.casefold() for label in current.labels
    )


def audit_diff(before: Ticket, after: Ticket) -> dict[str, Any]:
    """The changed fields as `[old, new]` for the audit trail; a description edit is only named."""
    changes: dict[str, Any] = {}
    for name in ("title", "type", "status", "priority", "assignee", "parent"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            changes[name] = [old, new]
    if before.description != after.description:
        changes["description"] = "edited"
    old_labels = [label.name for label in before.labels]
    new_labels = [label.name for label in after.labels]
    if old_labels != new_labels:
        changes["labels"] = [old_labels, new_labels]
    return changes


def like_pattern(text: str) -> str:
    """A LIKE pattern (escape character `\\`) matching `text` anywhere, its `%` and `_` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fingerprint(query: TicketQuery) -> str:
    # Project ids are left out: a project created while someone pages through all projects
    # must not invalidate their cursor.
    parts: tuple[object, ...] = (
        query.statuses, query.types, query.priorities, query.assignee_id, query.reporter_id,
        query.unassigned, query.labels, query.parent_id, query.text, query.updated_since,
        query.sort, query.descending,
    )  # fmt: skip
    if query.assigned:  # only then, so the cursors of every other query stay valid across the upgrade
        parts += ("assigned",)
    return hashlib.blake2b(repr(parts).encode(), digest_size=6).hexdigest()


# A relevance sort's cursor holds an offset (see `relevance_start`).
_SORT_VALUE_TYPE = {
    TicketSort.CREATED: int,
    TicketSort.UPDATED: str,
    TicketSort.PRIORITY: int,
    TicketSort.RELEVANCE: int,
}


def ranked_or_newest(query: TicketQuery, terms: SearchTerms | None) -> TicketQuery:
    """A relevance sort needs words to rank by; a text without any (`%`, say) lists newest first."""
    if query.sort is TicketSort.RELEVANCE and terms is None:
        return dataclasses.replace(query, sort=TicketSort.CREATED, descending=True)
    return query


def cursor_after(query: TicketQuery) -> tuple[Any, int] | None:
    """The sort value and id of the last ticket before `query.cursor`; None on a first page.

    A relevance sort's cursor holds how many matches came before instead (see `relevance_start`).
    A cursor made for other filters or another sort is refused, as is one whose values have the wrong type.
    """
    if not query.cursor:
        return None
    position = decode_cursor(query.cursor)
    value, last_id = position.get("v"), position.get("i")
    if (
        position.get("f") != _fingerprint(query)
        or type(value) is not _SORT_VALUE_TYPE[query.sort]
        or type(last_id) is not int
        or not (_storable(value) and _storable(last_id))
    ):
        raise Invalid(
            "cursor",
            "The cursor belongs to a different query.",
            hint="Repeat the same filters and sort with next_cursor, or omit cursor to start over.",
        )
    return value, last_id


def _storable(value: object) -> bool:
    """A cursor's value a database can compare with: a 64-bit integer, or text (the CLI's cursors are unsigned)."""
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return not (isinstance(value, str) and unstorable_text(value) is not None)


def relevance_start(query: TicketQuery) -> int:
    """Where a page of best matches starts: ranks are not keys, so that page is read by offset."""
    after = cursor_after(query)
    return query.offset + (after[0] if after is not None else 0)


def page_cursor(query: TicketQuery, last: Ticket, next_offset: int) -> str:
    """The cursor of the page after the one ending with `last` (or, ranked, the next `next_offset` matches)."""
    value: Any = {
        TicketSort.CREATED: last.id,
        TicketSort.UPDATED: last.updated_at,
        TicketSort.PRIORITY: last.priority.rank,
        TicketSort.RELEVANCE: next_offset,
    }[query.sort]
    return encode_cursor({"v": value, "i": last.id, "f": _fingerprint(query)})


def check_anchor(ticket: Ticket, anchor: Ticket, status: Status, *, before: bool) -> None:
    """A ticket is placed next to another ticket of the column it moves to, never next to itself."""
    field = "before" if before else "after"
    if anchor.id == ticket.id:
        raise Invalid(field, "A ticket cannot be placed next to itself.")
    if anchor.project_id != ticket.project_id or anchor.status != status:
        raise Invalid(
            field,
            f"{anchor.slug} is not in the {status.value} column of this project.",
            hint=f"Pass a ticket that is in {status.value}, or omit before/after to place it last.",
        )


def slot_next_to(anchor_position: int, neighbour_position: int | None, *, before: bool) -> int | None:
    """The midpoint between an anchor and its neighbour on that side; None when no integer is left between them."""
    if neighbour_position is None:
        neighbour_position = anchor_position + (-2 if before else 2) * POSITION_STEP
    if abs(neighbour_position - anchor_position) > 1:
        return (neighbour_position + anchor_position) // 2
    return None


# Idempotency keys


IDEMPOTENCY_DAYS = 7  # how long a key is remembered
IDEMPOTENCY_TABLE = "idempotency_keys"


def key_owner(actor: Actor) -> str:
    """Whose key it is: a key belongs to the token that sent it, or to the user without a token."""
    return f"token:{actor.token_id}" if actor.token_id is not None else f"user:{actor.user_id}"


def request_digest(new: NewTicket) -> str:
    """What a keyed create asked for, to tell a retry (the same) from a reuse of the key (not the same)."""
    fields = dataclasses.asdict(new) | {"idempotency_key": None}
    del fields["check_duplicates"]  # never set with a key; left out so that digests stored before it still match
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def replayed(stored_digest: str, stored_ticket: str, new: NewTicket) -> Ticket:
    """The ticket a key filed before, if this is the same request; a Conflict if the key was reused."""
    if stored_digest != request_digest(new):
        raise key_reused(new.idempotency_key or "")
    return Ticket.model_validate_json(stored_ticket)


def key_expiry() -> str:
    """Keys created before this moment are forgotten."""
    return format_timestamp(datetime.now(UTC) - timedelta(days=IDEMPOTENCY_DAYS))
