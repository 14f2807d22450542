"""Paging a ticket list: the cursor that continues a query, and the checks that it belongs to that query."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, Final

from tickets_mcp.domain import Ticket, TicketSort
from tickets_mcp.domain.rules import decode_cursor, encode_cursor, unstorable_text
from tickets_mcp.errors import Invalid
from tickets_mcp.stores.port import TicketQuery
from tickets_mcp.stores.search import SearchTerms

# A ticket's key in the due-date sort: an undated ticket's is `~`, after every YYYY-MM-DD (ascending, the
# undated come last). Both engines index this very expression (migration 14's tickets_due and tickets_due_all).
UNDATED: Final = "~"
DUE_KEY: Final = f"coalesce(t.due_date, '{UNDATED}')"

# A relevance sort's cursor holds an offset (see `relevance_start`).
_SORT_VALUE_TYPE = {
    TicketSort.CREATED: int,
    TicketSort.UPDATED: str,
    TicketSort.PRIORITY: int,
    TicketSort.RELEVANCE: int,
    TicketSort.DUE: str,
}


_UNPLANNED = (None, False, None, None, None, None, None)  # TicketQuery's defaults of the planning filters


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
    planning = (
        query.milestone_id, query.no_milestone, query.blocked, query.blocking,
        query.overdue_on, query.due_before, query.due_after,
    )  # fmt: skip
    if planning != _UNPLANNED:  # only then, as `assigned`
        parts += ("planning", planning)
    if query.since_written:  # a relative time: its moment is the cursor's, so its words must be the same
        parts += ("since", query.since_written)
    return hashlib.blake2b(repr(parts).encode(), digest_size=6).hexdigest()


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
        TicketSort.DUE: last.due_date or UNDATED,
    }[query.sort]
    position: dict[str, Any] = {"v": value, "i": last.id, "f": _fingerprint(query)}
    if query.updated_since:  # what a relative `1h` meant on the first page, so the next pages mean the same
        position["u"] = query.updated_since
    return encode_cursor(position)
