"""GitLab's offset-paged lists read the way an agent pages a local one: an opaque cursor, an honest total.

GitLab pages by `page` and `per_page` (at most 100) and says what follows in `X-Next-Page` (empty on the
last page) and how many matched in `X-Total` (left out above 10,000; doc/api/rest/_index.md). Two things
it cannot do in one list:

- Some of the tracker's filters mean "no label of a scope" (backlog, task, medium). `scan` reads pages
  and keeps what the exact filter keeps, at most SCAN_PAGES pages of each list per call.
- The user's issues across several groups and personal projects are several lists. `scan` merges them
  in the order each is sorted in, and stops early rather than guess when a list it could not read far
  enough might hold the next ticket.

The cursor holds where each list's next ticket is (page and index in it), how many came before, and a
fingerprint of the query it belongs to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from tickets_mcp.domain import Ticket
from tickets_mcp.domain.rules import decode_cursor, encode_cursor
from tickets_mcp.errors import Invalid
from tickets_mcp.remotes.paging import gather

PER_PAGE_MAX = 100  # GitLab's cap on per_page
SCAN_PAGES = 10  # pages of one list a call reads at most

Position = tuple[int, int]  # (page, index in it) of a list's next ticket
Reader = Callable[[int, int], Awaitable["Page"]]  # reads (page, per_page)


@dataclass(frozen=True, slots=True)
class Page:
    """One GitLab page as tickets: the page that follows (None: the last) and X-Total (None: not sent)."""

    tickets: Sequence[Ticket]
    following: int | None
    total: int | None


@dataclass(frozen=True, slots=True)
class Slice:
    """What one scan kept; where each list goes on (None: read to its end), or None when all are; X-Totals."""

    tickets: list[Ticket]
    resume: list[Position | None] | None
    totals: list[int | None]

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
        if skip_matches:
            skip_matches -= 1
        else:
            taken.append(head)
    return Slice(
        tickets=taken,
        resume=[item.position() if item is not None else None for item in positions] if more else None,
        totals=[item.total if item is not None else 0 for item in positions],
    )


def _first(ready: list[tuple[_List, Ticket]], order: Callable[[Ticket], Any], descending: bool) -> tuple[_List, Ticket]:
    best = ready[0]
    for candidate in ready[1:]:
        a, b = order(candidate[1]), order(best[1])
        if (a > b) if descending else (a < b):
            best = candidate
    return best


def encode_position(resume: Sequence[Position | None], per_page: int, seen: int, mark: str) -> str:
    """A cursor: where each list goes on; `seen` matches came before."""
    lists = [list(position) if position is not None else None for position in resume]
    return encode_cursor({"lists": lists, "per_page": per_page, "seen": seen, "query": mark})


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
