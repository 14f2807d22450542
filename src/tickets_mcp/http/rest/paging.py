"""Pagination the way the seeds ask for it: page/per_page (seed 003), limit/offset (001), page[number]/page[size] (004).

Sizes above the maximum are cut to it, as GitLab does; a page or size below 1 is a 400, and so is any
paging number past POSITION_MAX (the types below hold every paging parameter's bounds, for every dialect).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request, Response

from tickets_mcp.domain import TicketPage
from tickets_mcp.domain.rules import CursorSeal

T = TypeVar("T")

MAX_PAGE_SIZE = 100
# A REST list counts its tickets up to here, GitLab's own threshold: past it GitLab leaves out X-Total and
# X-Total-Pages, "for performance reasons", and so does every page/per_page list here. A total by project and
# status alone is kept, not counted (ticket_counts), so it stays exact past it; other filters' totals would
# read every match (all projects: 63 ms at 1M tickets).
COUNT_LIMIT = 10_000
PER_PAGE_DEFAULT = 20  # seed 003's, for every page/per_page list (seed 000 and 002 say nothing else)
# No list is longer: a larger offset, page or size is a caller's mistake, refused before SQLite or
# PostgreSQL overflow on it (both stop at 2**63 - 1; a page number is multiplied by its size first).
POSITION_MAX = 2**31 - 1

Offset = Annotated[int, Query(ge=0, le=POSITION_MAX, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=POSITION_MAX, description=f"Items per page (at most {MAX_PAGE_SIZE}).")]
CountLimit = Annotated[int | None, Query(ge=1, le=POSITION_MAX, description="Count matches up to here.")]


@dataclass(frozen=True, slots=True)
class Page:
    """A 1-based page of `size` items."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def cut(self, items: Sequence[T]) -> list[T]:
        return list(items[self.offset : self.offset + self.size])

    def pages(self, total: int) -> int:
        return max(1, -(-total // self.size))

    def next_number(self, total: int) -> int | None:
        return self.number + 1 if self.offset + self.size < total else None

    def previous_number(self) -> int | None:
        return self.number - 1 if self.number > 1 else None


def page_per_page(
    page: Annotated[int, Query(ge=1, le=POSITION_MAX, description="Page number, from 1.")] = 1,
    per_page: Annotated[
        int,
        Query(
            ge=1,
            le=POSITION_MAX,
            description=f"Items per page (default {PER_PAGE_DEFAULT}, at most {MAX_PAGE_SIZE}).",
        ),
    ] = PER_PAGE_DEFAULT,
) -> Page:
    """A dependency reading seed 003's `page` and `per_page` query parameters."""
    return Page(page, min(per_page, MAX_PAGE_SIZE))


def page_brackets(
    number: Annotated[int, Query(alias="page[number]", ge=1, le=POSITION_MAX, description="Page number, from 1.")] = 1,
    size: Annotated[
        int,
        Query(
            alias="page[size]",
            ge=1,
            le=POSITION_MAX,
            description=f"Items per page (default 20, at most {MAX_PAGE_SIZE}).",
        ),
    ] = 20,
) -> Page:
    """A dependency reading seed 004's `page[number]` and `page[size]`."""
    return Page(number, min(size, MAX_PAGE_SIZE))


def cursor_seal(request: Request) -> CursorSeal:
    """The app's cursor seal (http/app.py), shared with its MCP server: the same key signs both."""
    seal: CursorSeal = request.app.state.cursors
    return seal


CursorsDep = Annotated[CursorSeal, Depends(cursor_seal)]


def add_total_headers(response: Response, page: Page, total: int) -> None:
    """GitLab's pagination headers, so a client can page without changing the seed's envelope."""
    following, previous = page.next_number(total), page.previous_number()
    response.headers.update(
        {
            "X-Total": str(total),
            "X-Total-Pages": str(page.pages(total)),
            "X-Page": str(page.number),
            "X-Per-Page": str(page.size),
            "X-Next-Page": str(following) if following else "",
            "X-Prev-Page": str(previous) if previous else "",
        }
    )


def add_ticket_page_headers(response: Response, page: Page, found: TicketPage) -> None:
    """add_total_headers for a page of tickets counted up to COUNT_LIMIT: past it, as GitLab does, without
    X-Total and X-Total-Pages, X-Next-Page saying whether another page follows."""
    if not found.total_capped:
        add_total_headers(response, page, found.total)
        return
    previous = page.previous_number()
    response.headers.update(
        {
            "X-Page": str(page.number),
            "X-Per-Page": str(page.size),
            "X-Next-Page": str(page.number + 1) if found.next_cursor is not None else "",
            "X-Prev-Page": str(previous) if previous else "",
        }
    )


def lower_bound(found: TicketPage, offset: int) -> int:
    """A body's total for a page counted up to COUNT_LIMIT: the count, or past it the most that is known, the
    end of this page and one more when another follows; so `offset + limit < total` pages on to the last
    page, where it is exact."""
    if not found.total_capped:
        return found.total
    return max(found.total, offset + len(found.tickets) + (found.next_cursor is not None))
