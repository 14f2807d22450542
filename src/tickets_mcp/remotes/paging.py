"""Paging a remote list the way an agent pages a local one: an opaque cursor over the API's own scheme.

Remote APIs page by limit/offset (AgentsMesh) or by page/per_page (BugToMe, ABF, seed 003), and most
filter a field by one value at a time. `list_page` reads `limit` tickets from one or more *sources*,
each one remote list (one status of several asked for, open issues and closed issues, one
organization of several), and merges them in the order every source is sorted in. The cursor holds
how far each source has been read and a fingerprint of the filters, so it is refused for another query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import anyio

from tickets_mcp.core.tracker import TicketFilter
from tickets_mcp.domain import Ticket, TicketPage
from tickets_mcp.domain.rules import decode_cursor, encode_cursor
from tickets_mcp.errors import Invalid

T = TypeVar("T")

LIMIT_MAX = 100  # tickets per list_tickets page, as the local tracker allows
PAGE_MAX = 100  # items per remote request where the API lets us choose (seed 003's maximum)


@dataclass(frozen=True, slots=True)
class Chunk:
    """Tickets a source holds from some offset on: `total` in the whole list (None: the API does not say),
    `more` whether any follow this chunk."""

    tickets: Sequence[Ticket]
    total: int | None
    more: bool


Source = Callable[[int, int], Awaitable[Chunk]]
"""Reads up to `limit` tickets from `offset` on: source(offset, limit); fewer only at the list's end."""

PageReader = Callable[[int, int], Awaitable[Chunk]]
"""Reads one page of a page/per_page list: reader(page from 1, per_page)."""


async def gather(calls: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run the calls concurrently; their results in order. The first failure is raised as itself, not as a group."""
    results: list[Any] = [None] * len(calls)

    async def run(index: int) -> None:
        results[index] = await calls[index]()

    try:
        async with anyio.create_task_group() as group:
            for index in range(len(calls)):
                group.start_soon(run, index)
    except BaseExceptionGroup as failures:
        raise _first_failure(failures) from None
    return results


def bind(call: Callable[..., Awaitable[T]], *args: Any) -> Callable[[], Awaitable[T]]:
    """`call(*args)` for gather, not yet started: a lambda in a loop would see the loop's last value."""
    return lambda: call(*args)


def _first_failure(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = cast(BaseExceptionGroup[BaseException], error).exceptions[0]
    return error


def fingerprint(*parts: object) -> str:
    """What a cursor must have been made for: the filters and sort of one query."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=6).hexdigest()


def query_fingerprint(query: TicketFilter) -> str:
    return fingerprint(
        query.project, query.organization, tuple(query.statuses), tuple(query.types), tuple(query.priorities),
        query.assignee, query.reporter, tuple(query.labels), query.parent, query.text, query.updated_since,
        query.sort, query.descending, query.milestone, query.blocked, query.blocking, query.overdue,
        query.due_before, query.due_after,
    )  # fmt: skip


def _start(query: TicketFilter, sources: int, mark: str) -> list[int]:
    """Where each source is read from: the cursor's offsets, else `query.offset` for a single list."""
    if not query.cursor:
        if query.offset < 0:
            raise Invalid("offset", "offset must be 0 or more.")
        if query.offset and sources > 1:
            raise Invalid("offset", "This query merges several remote lists; page it with the cursor.")
        return [query.offset] + [0] * (sources - 1)
    position = decode_cursor(query.cursor)
    found: Any = position.get("o")
    offsets = cast(list[Any], found) if isinstance(found, list) else []
    if position.get("f") != mark or len(offsets) != sources or not all(type(o) is int and o >= 0 for o in offsets):
        raise Invalid(
            "cursor",
            "The cursor belongs to a different query.",
            hint="Repeat the same filters and sort with next_cursor, or omit cursor to start over.",
        )
    return [int(o) for o in offsets]


async def list_page(
    query: TicketFilter, sources: Sequence[Source], order: Callable[[Ticket], Any], *, descending: bool = True
) -> TicketPage:
    """One page of `query.limit` tickets merged from `sources`, each sorted by `order` (descending or not)."""
    if not 1 <= query.limit <= LIMIT_MAX:
        raise Invalid("limit", f"limit must be 1-{LIMIT_MAX}.", hint="Use cursor to page through more.")
    mark = query_fingerprint(query)
    offsets = _start(query, len(sources), mark)
    chunks = await gather(
        [lambda s=source, o=offset: s(o, query.limit) for source, offset in zip(sources, offsets, strict=True)]
    )
    heads = [0] * len(chunks)
    taken: list[Ticket] = []
    while len(taken) < query.limit:
        best: int | None = None
        for index, chunk in enumerate(chunks):
            if heads[index] < len(chunk.tickets):
                if best is None or _first(
                    order(chunk.tickets[heads[index]]), order(chunks[best].tickets[heads[best]]), descending
                ):
                    best = index
            elif chunk.more:
                best = None  # this list's next ticket is not read yet and may come first: stop here
                break
        if best is None:
            break
        taken.append(chunks[best].tickets[heads[best]])
        heads[best] += 1
    following = [offset + head for offset, head in zip(offsets, heads, strict=True)]
    more = any(head < len(chunk.tickets) or chunk.more for head, chunk in zip(heads, chunks, strict=True))
    totals = [chunk.total for chunk in chunks]
    if all(total is not None for total in totals):
        total, capped = sum(t for t in totals if t is not None), False
    else:  # the API did not count: what has been seen, and one more where more follow, is a lower bound
        total, capped = sum(o + len(c.tickets) + c.more for o, c in zip(offsets, chunks, strict=True)), True
    return TicketPage(
        tickets=tuple(taken),
        total=max(total, sum(following)),
        next_cursor=encode_cursor({"o": following, "f": mark}) if more and taken else None,
        total_capped=capped,
    )


def _first(a: Any, b: Any, descending: bool) -> bool:
    return bool(a > b) if descending else bool(a < b)


async def page_window(read: PageReader, offset: int, limit: int) -> Chunk:
    """Up to `limit` items from `offset` on, from a list paged by page/per_page (pages of `limit` items)."""
    size = min(limit, PAGE_MAX)
    page, skip = divmod(offset, size)
    first = await read(page + 1, size)
    if not skip:
        return first
    tickets = list(first.tickets[skip:])
    more = first.more
    if more:
        second = await read(page + 2, size)
        tickets += second.tickets
        more = second.more
    return Chunk(tickets=tickets[:limit], total=first.total, more=more or len(tickets) > limit)


async def read_all(read: PageReader, *, limit: int = 100_000) -> list[Ticket]:
    """Every item of a page/per_page list, page by page (at most `limit`, a guard against endless lists)."""
    found: list[Ticket] = []
    page = 1
    while len(found) < limit:
        chunk = await read(page, PAGE_MAX)
        found += chunk.tickets
        if not chunk.more or not chunk.tickets:
            break
        page += 1
    return found


def page_headers(headers: Any, page: int, per_page: int, count: int) -> tuple[int | None, bool]:
    """The total and whether another page follows, from seed 003's X-Total and X-Next-Page where sent,
    else guessed from a full page."""
    total_text = str(headers.get("x-total", "")).strip()
    total = int(total_text) if total_text.isdigit() else None
    following = headers.get("x-next-page")
    if following is not None:
        more = bool(str(following).strip())
    elif total is not None:
        more = (page - 1) * per_page + count < total
    else:
        more = count >= per_page
    return total, more
