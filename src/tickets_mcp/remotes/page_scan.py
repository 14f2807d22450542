"""Page/per_page lists read the way an agent pages a local one: an opaque cursor, stopping early.

A remote list sorted by the API (GitLab's issues, GitHub's issues and search results) is read page by
page, `per_page` at most 100, only until a call's `limit` matches are found and one more to know
whether any follow. Two things the APIs cannot do in one list:

- Some of the tracker's filters are not the API's (GitLab's "no label of a scope", GitHub's status
  columns, and pull requests among GitHub's issues). `scan` keeps what the exact filter keeps, at most
  SCAN_PAGES pages of each list per call.
- Several lists (several GitLab groups, several GitHub repositories) are merged in the order each is
  sorted in; `scan` stops early rather than guess when a list it could not read far enough might hold
  the next ticket.

The cursor holds where each list's next ticket is (page and index in it), how many came before, a
fingerprint of the query it belongs to, and what the backend counted, if anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from tickets_mcp.domain import Ticket
from tickets_mcp.domain.rules import decode_cursor, encode_cursor
from tickets_mcp.errors import Invalid
from tickets_mcp.remotes.paging import gather

SCAN_PAGES = 10  # pages of one list a call reads at most

Position = tuple[int, int]  # (page, index in it) of a list's next ticket
Reader = Callable[[int, int], Awaitable["Page"]]  # reads (page, per_page)


@dataclass(frozen=True, slots=True)
class Page:
    """One page as tickets: the page that follows (None: the last) and the list's count (None: not sent)."""

    tickets: Sequence[Ticket]
    following: int | None
    total: int | None


@dataclass(frozen=True, slots=True)
class Slice:
    """What one scan kept; where each list goes on (None: read to its end), or None when all are; the lists' counts."""

    tickets: list[Ticket]
    resume: list[Position | None] | None
    totals: list[int | None]
    remaining: int | None = 0  # matches after `tickets`, where every list ends within the pages read (else None)
    skipped: int = 0  # matches passed over for `skip_matches`

    def column_total(self) -> int:
        """How many match, for one list GitLab filters exactly: its count, else what was seen (a lower bound)."""
        if self.totals and self.totals[0] is not None:
            return self.totals[0]
        return len(self.tickets) + (1 if self.resume is not None else 0)


@dataclass(slots=True)
class _List:
    read: Reader
    page: int
    index: int
    per_page: int
    current: Page | None = None
    reads: int = 0
    ended: bool = False  # read to its end
    total: int | None = None

    async def head(self, keep: Callable[[Ticket], bool]) -> Ticket | None:
        """The next ticket it keeps (reading on as needed), or None at its end or when out of reads."""
        while not self.ended:
            if self.current is None:
                if self.reads == SCAN_PAGES:
                    return None
                self.current = await self.read(self.page, self.per_page)
                self.reads += 1
                self.total = self.current.total if self.total is None else self.total
            tickets = self.current.tickets
            while self.index < len(tickets):
                if keep(tickets[self.index]):
                    return tickets[self.index]
                self.index += 1
            if self.current.following is None:
                self.ended = True
            else:
                self.page, self.index, self.current = self.current.following, 0, None
        return None

    def has_more(self) -> bool:
        """Whether tickets follow, for a list whose every ticket is kept: no need to read on to know."""
        if self.ended:
            return False
        if self.current is None:
            return True
        return self.index < len(self.current.tickets) or self.current.following is not None

    def left(self, keep: Callable[[Ticket], bool]) -> int | None:
        """How many it keeps from its position on, where its end is within the page read; else None."""
        if self.ended:
            return 0
        if self.current is None or self.current.following is not None:
            return None
        return sum(1 for ticket in self.current.tickets[self.index :] if keep(ticket))

    def position(self) -> Position | None:
        if self.ended:
            return None
        if self.current is not None and self.index >= len(self.current.tickets):
            return (self.current.following, 0) if self.current.following is not None else None
        return (self.page, self.index)


async def scan(
    readers: Sequence[Reader],
    keep: Callable[[Ticket], bool],
    limit: int,
    starts: Sequence[Position | None],
    per_page: int,
    *,
    exact: bool,
    order: Callable[[Ticket], Any] = lambda ticket: 0,
    descending: bool = True,
    skip_matches: int = 0,
) -> Slice:
    """Up to `limit` tickets that `keep`, merged from lists each sorted by `order`, after `skip_matches`.

    `starts` says where each list goes on (None: it has ended). `exact`: GitLab's filters select what
    `keep` keeps, so whether more follow is known without reading on.
    """
    positions = [
        _List(read, *start, per_page) if start is not None else None
        for read, start in zip(readers, starts, strict=True)
    ]
    lists = [item for item in positions if item is not None]
    await gather([lambda item=item: item.head(keep) for item in lists])  # the first pages, read at once
    taken: list[Ticket] = []
    skipped = 0
    while True:
        if len(taken) == limit and exact:
            more = any(item.has_more() for item in lists)
            break
        heads = [(item, await item.head(keep)) for item in lists]
        if any(head is None and not item.ended for item, head in heads):
            more = True  # a list ran out of reads: its next ticket may come first, so stop here
            break
        ready = [(item, head) for item, head in heads if head is not None]
        if not ready:
            more = False
            break
        if len(taken) == limit:
            more = True
            break
        item, head = _first(ready, order, descending)
        item.index += 1
        if skipped < skip_matches:
            skipped += 1
        else:
            taken.append(head)
    left = [item.left(keep) for item in lists] if more else [0]
    return Slice(
        tickets=taken,
        resume=[item.position() if item is not None else None for item in positions] if more else None,
        totals=[item.total if item is not None else 0 for item in positions],
        remaining=None if any(n is None for n in left) else sum(n or 0 for n in left),
        skipped=skipped,
    )


def _first(ready: list[tuple[_List, Ticket]], order: Callable[[Ticket], Any], descending: bool) -> tuple[_List, Ticket]:
    best = ready[0]
    for candidate in ready[1:]:
        a, b = order(candidate[1]), order(best[1])
        if (a > b) if descending else (a < b):
            best = candidate
    return best


def encode_position(
    resume: Sequence[Position | None], per_page: int, seen: int, mark: str, *, count: int | None = None
) -> str:
    """A cursor: where each list goes on; `seen` matches came before; `count` matched when the backend counted."""
    lists = [list(position) if position is not None else None for position in resume]
    payload: dict[str, Any] = {"lists": lists, "per_page": per_page, "seen": seen, "query": mark}
    return encode_cursor(payload if count is None else {**payload, "count": count})


def cursor_count(cursor: str) -> int | None:
    """The count a cursor carries (one `decode_position` accepted), None when it carries none."""
    count = decode_cursor(cursor).get("count")
    return count if type(count) is int and count >= 0 else None


def decode_position(cursor: str, mark: str, lists: int, per_page_max: int) -> tuple[list[Position | None], int, int]:
    """(where each of `lists` lists goes on, per_page, seen) from a cursor made for the query `mark`."""
    payload: dict[str, Any] = decode_cursor(cursor)
    if payload.get("query") != mark:
        raise Invalid(
            "cursor",
            "The cursor belongs to a different query.",
            hint="Repeat the same filters and sort with next_cursor, or omit cursor to start over.",
        )
    invalid = Invalid("cursor", "The cursor is not valid.", hint="Pass next_cursor exactly as returned, or omit it.")
    per_page, seen, raw = payload.get("per_page"), payload.get("seen"), payload.get("lists")
    if type(per_page) is not int or not 1 <= per_page <= per_page_max or type(seen) is not int or seen < 0:
        raise invalid
    if not isinstance(raw, list) or len(cast(list[Any], raw)) != lists:
        raise invalid
    positions: list[Position | None] = []
    for entry in cast(list[Any], raw):
        if entry is None:
            positions.append(None)
            continue
        pair: list[Any] = cast(list[Any], entry) if isinstance(entry, list) else []
        if len(pair) != 2 or type(pair[0]) is not int or type(pair[1]) is not int:
            raise invalid
        page, index = int(pair[0]), int(pair[1])
        if page < 1 or not 0 <= index < per_page:
            raise invalid
        positions.append((page, index))
    return positions, per_page, seen
