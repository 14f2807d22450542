"""Listing tickets for PostgreSQL: every filter and sort of a TicketQuery, paged by cursor or offset.

The text filter is `store.search`'s: words of the title, description and comments, through the GIN
index of `tickets.search`, ranked by ts_rank (title words weigh A, description B, comments D).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, LiteralString, TypeVar

from psycopg import errors

from tickets_mcp.domain import CLOSED_STATUSES, Ticket, TicketPage, TicketSort
from tickets_mcp.stores.port import NewTicket, TicketQuery
from tickets_mcp.stores.postgres.db import Connection, execute, fetch_all, fetch_one, fetch_optional
from tickets_mcp.stores.postgres.rows import TICKET_SELECT
from tickets_mcp.stores.records import row_to_ticket
from tickets_mcp.stores.rules import cursor_after, like_pattern, page_cursor, ranked_or_newest, relevance_start
from tickets_mcp.stores.search import (
    DUPLICATE_CANDIDATES,
    RANKED_MAX,
    SearchTerms,
    Text,
    candidate_groups,
    search_terms,
    title_tsquery,
    tsquery,
)

T = TypeVar("T")
_SORT_COLUMN: dict[TicketSort, LiteralString] = {
    TicketSort.CREATED: "t.id",
    TicketSort.UPDATED: "t.updated_at",
    TicketSort.PRIORITY: "t.priority",
}


def _filters(query: TicketQuery, terms: SearchTerms | None) -> tuple[LiteralString, list[Any]]:
    """The WHERE clause of a query's filters (`terms`: its text's words), and its parameters."""
    project_ids = list(query.project_ids)
    where: list[LiteralString] = ["t.project_id = ANY(%s)"]
    params: list[Any] = [project_ids]
    if query.statuses:
        where.append("t.status = ANY(%s)")
        params.append([s.value for s in query.statuses])
    if query.types:
        where.append("t.type = ANY(%s)")
        params.append([t.value for t in query.types])
    if query.priorities:
        where.append("t.priority = ANY(%s)")
        params.append([p.rank for p in query.priorities])
    if query.unassigned:
        where.append("t.assignee_id IS NULL")
    elif query.assigned:
        where.append("t.assignee_id IS NOT NULL")
    elif query.assignee_id is not None:
        where.append("t.assignee_id = %s")
        params.append(query.assignee_id)
    if query.reporter_id is not None:
        where.append("t.reporter_id = %s")
        params.append(query.reporter_id)
    for label in query.labels:
        # Driven from the labels' (project_id, lower(name)) index, not checked ticket by ticket.
        where.append(
            """t.id IN (SELECT tl.ticket_id FROM labels l JOIN ticket_labels tl ON tl.label_id = l.id
                        WHERE l.project_id = ANY(%s) AND lower(l.name) = lower(%s COLLATE "C"))"""
        )
        params.extend([project_ids, label])
    if query.parent_id is not None:
        where.append("t.parent_id = %s")
        params.append(query.parent_id)
    if query.updated_since:
        where.append("t.updated_at >= %s")
        params.append(query.updated_since)
    if terms is not None:
        where.append("t.search @@ to_tsquery('simple', %s)")
        params.append(tsquery(terms))
    elif query.text:  # no word in it (`%`, say): the text anywhere in the title or description
        where.append("(t.title ILIKE %s OR t.description ILIKE %s)")
        params.extend([like_pattern(query.text)] * 2)
    return " AND ".join(where), params


async def _count(conn: Connection, filters: LiteralString, params: list[Any], limit: int | None) -> tuple[int, bool]:
    """How many tickets match, counting no further than `limit`; and whether the count stopped there."""
    if limit is None:
        return int((await fetch_one(conn, f"SELECT COUNT(*) FROM tickets t WHERE {filters}", params))[0]), False
    capped = f"SELECT COUNT(*) FROM (SELECT 1 FROM tickets t WHERE {filters} LIMIT %s) matches"
    total = int((await fetch_one(conn, capped, [*params, limit + 1]))[0])
    return (limit, True) if total > limit else (total, False)


class _OutOfTime(Exception):
    """The search's time budget ran out before a statement could run."""


async def _within(conn: Connection, deadline: float | None, run: Callable[[], Awaitable[T]]) -> T:
    """Run `run` with what is left of the budget as its statement_timeout, in a savepoint, so that a
    cancelled statement leaves the read transaction usable for what was found."""
    if deadline is None:
        return await run()
    left_ms = int((deadline - time.monotonic()) * 1000)
    if left_ms < 1:
        raise _OutOfTime
    async with conn.transaction():
        await execute(conn, "SELECT set_config('statement_timeout', %s, true)", (f"{left_ms}ms",))
        return await run()


async def list_tickets(conn: Connection, query: TicketQuery, budget_s: float | None = None) -> TicketPage:
    """A page of the query's tickets; a text query stops after `budget_s` and says so (`search_stopped`)."""
    terms = search_terms(query.text) if query.text else None
    query = ranked_or_newest(query, terms)
    filters, params = _filters(query, terms)
    deadline = time.monotonic() + budget_s if budget_s is not None and query.text else None
    rows: list[Any] = []
    total, total_capped, offset, stopped = 0, True, query.offset, False
    try:
        total, total_capped = await _within(conn, deadline, lambda: _count(conn, filters, params, query.count_limit))
        if query.sort is TicketSort.RELEVANCE and terms is not None:  # ranks are not keys: paged by offset
            # As on SQLite: the newest RANKED_MAX matches best first (ts_rank), then older ones, newest first.
            offset, words = relevance_start(query), tsquery(terms)
            found = await _within(
                conn,
                deadline,
                lambda: fetch_optional(
                    conn,
                    """SELECT id FROM tickets WHERE project_id = ANY(%s) AND search @@ to_tsquery('simple', %s)
                       ORDER BY id DESC OFFSET %s LIMIT 1""",
                    (list(query.project_ids), words, RANKED_MAX - 1),
                ),
            )
            rank = "CASE WHEN t.id >= %s THEN ts_rank(t.search, to_tsquery('simple', %s)) END"
            page, page_params = (
                f"SELECT t.id, {rank} AS k FROM tickets t WHERE {filters} ORDER BY k DESC NULLS LAST, t.id DESC",
                [int(found[0]) if found else 0, words, *params],
            )
            direction = "DESC NULLS LAST"
        else:
            page, page_params, direction = _in_order(query, filters, params)
        # The page's ids first, from the filter's index alone; the joins then run for those rows only.
        page_sql: LiteralString = f"""WITH page AS ({page} LIMIT %s OFFSET %s)
            {TICKET_SELECT} JOIN page ON page.id = t.id ORDER BY page.k {direction}, t.id {direction}"""
        rows = await _within(conn, deadline, lambda: fetch_all(conn, page_sql, [*page_params, query.limit + 1, offset]))
    except (errors.QueryCanceled, _OutOfTime):
        stopped = True  # out of time: no page, and the total (if counted) says how many to narrow
    tickets = [row_to_ticket(row) for row in rows[: query.limit]]
    next_cursor = page_cursor(query, tickets[-1], offset + query.limit) if len(rows) > query.limit else None
    return TicketPage(
        tickets=tuple(tickets),
        total=total,
        next_cursor=next_cursor,
        total_capped=total_capped,
        search_stopped=stopped,
    )


def _in_order(
    query: TicketQuery, filters: LiteralString, params: list[Any]
) -> tuple[LiteralString, list[Any], LiteralString]:
    """The page query of a sort by a column, after the cursor's row; and its direction."""
    column = _SORT_COLUMN[query.sort]
    direction, op = ("DESC", "<") if query.descending else ("ASC", ">")
    page_where, page_params = filters, list(params)
    after = cursor_after(query)
    if after is not None:
        page_where += f" AND ({column}, t.id) {op} (%s, %s)"
        page_params.extend(after)
    order = f"{column} {direction}" if column == "t.id" else f"{column} {direction}, t.id {direction}"
    return f"SELECT t.id, {column} AS k FROM tickets t WHERE {page_where} ORDER BY {order}", page_params, direction


async def look_alikes(conn: Connection, new: NewTicket) -> list[Text]:
    """The project's latest open tickets whose titles share enough words with the new one's to compare."""
    groups = candidate_groups(new.title)
    if not groups:
        return []
    rows = await fetch_all(
        conn,
        """SELECT t.id, t.title, t.description FROM tickets t
           WHERE t.search @@ to_tsquery('simple', %s) AND t.project_id = %s AND t.status <> ALL(%s)
           ORDER BY t.id DESC LIMIT %s""",
        (title_tsquery(groups), new.project_id, [s.value for s in CLOSED_STATUSES], DUPLICATE_CANDIDATES),
    )
    return [Text(*row) for row in rows]


async def subtasks(conn: Connection, ticket_id: int) -> list[Ticket]:
    rows = await fetch_all(conn, TICKET_SELECT + " WHERE t.parent_id = %s ORDER BY t.number", (ticket_id,))
    return [row_to_ticket(row) for row in rows]
