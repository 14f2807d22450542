"""Listing tickets: every filter and sort of a TicketQuery, paged by cursor (or, ranked, by offset).

The text filter is `stores.search`'s, through each engine's full-text index (the dialect's); a text
query runs within its time budget and, past it, answers with what it found (`search_stopped`); its
page's tickets come with snippets saying where the words were found when their titles do not.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from tickets_mcp.domain import Snippet, Ticket, TicketPage, TicketSort
from tickets_mcp.stores.cursors import DUE_KEY, UNDATED, cursor_after, page_cursor, ranked_or_newest
from tickets_mcp.stores.port import TicketQuery
from tickets_mcp.stores.search import COMMENTS_INDEXED, Phrase, SearchTerms, search_terms, snippet, unmatched
from tickets_mcp.stores.sql.connection import Connection, Row
from tickets_mcp.stores.sql.dialect import Dialect, Fragment, OutOfTime
from tickets_mcp.stores.sql.labelled import carries, count_by_label, label_ids
from tickets_mcp.stores.sql.records import CLOSED_SQL, TICKET_WIDTH, row_to_ticket

_SORT_COLUMN = {
    TicketSort.CREATED: "t.id",
    TicketSort.UPDATED: "t.updated_at",
    TicketSort.PRIORITY: "t.priority",
    TicketSort.DUE: DUE_KEY,
}


def like_pattern(text: str) -> str:
    """A LIKE pattern (escape character `\\`) matching `text` anywhere, its `%` and `_` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filters(
    conn: Connection, query: TicketQuery, label_ids: Sequence[Sequence[int]], *, projects: bool = True
) -> Fragment:
    """The WHERE clause of the query's filters on `t`, but for its text (and its projects when not `projects`:
    a label of theirs implies them); "1 = 1" for none. `label_ids`: each label's ids (labelled.label_ids)."""
    dialect = conn.dialect
    where: list[str] = []
    params: list[Any] = []

    def add(fragment: Fragment) -> None:
        where.append(fragment[0])
        params.extend(fragment[1])

    if query.milestone_id is not None:
        # A milestone is one project's: its tickets are read by it alone, in scope when the milestone is.
        # Both filters on the tickets sent PostgreSQL to AND a bitmap of the project's 100k tickets.
        in_scope, scope_params = dialect.any_of("m.project_id", query.project_ids)
        add((f"EXISTS (SELECT 1 FROM milestones m WHERE m.id = ? AND {in_scope})", [query.milestone_id, *scope_params]))
    elif projects:
        add(dialect.any_of("t.project_id", query.project_ids))
    if query.statuses:
        add(dialect.any_of("t.status", [s.value for s in query.statuses]))
    if query.types:
        add(dialect.any_of("t.type", [t.value for t in query.types]))
    if query.priorities:
        add(dialect.any_of("t.priority", [p.rank for p in query.priorities]))
    if query.unassigned:
        where.append("t.assignee_id IS NULL")
    elif query.assigned:
        where.append("t.assignee_id IS NOT NULL")
    elif query.assignee_id is not None:
        add(("t.assignee_id = ?", [query.assignee_id]))
    if query.reporter_id is not None:
        add(("t.reporter_id = ?", [query.reporter_id]))
    for ids in label_ids:
        add(carries(conn, "t.id", ids))
    if query.parent_id is not None:
        add(("t.parent_id = ?", [query.parent_id]))
    if query.updated_since:
        add(("t.updated_at >= ?", [query.updated_since]))
    for fragment in _planning_filters(dialect, query):
        add(fragment)
    return " AND ".join(where) or "1 = 1", params


@dataclass(frozen=True, slots=True)
class _Matches:
    """Where a query's matches are read from: FROM, WHERE and its parameters, and a match's ticket id there."""

    source: str
    where: str
    params: list[Any]
    ticket_id: str

    @classmethod
    def of_tickets(cls, filters: Fragment) -> _Matches:
        return cls("tickets t", filters[0], list(filters[1]), "t.id")


def _by_label(conn: Connection, query: TicketQuery, ids: Sequence[Sequence[int]]) -> tuple[_Matches, Fragment]:
    """The matches of a query with labels (`ids`: each label's), read from the first label's entries `d` of the
    (ticket_id, label_id) key in ticket order, the other labels probed: a page sorted by creation reads the
    newest entries, where the tickets' rows are far larger; the tickets are joined only when another filter
    reads them. With what `count_by_label` checks beside the first label."""
    rest: list[str] = []
    params: list[Any] = []
    for other in ids[1:]:
        carried, carried_params = carries(conn, "d.ticket_id", other)
        rest.append(carried)
        params += carried_params
    others, others_params = _filters(conn, replace(query, labels=()), (), projects=False)
    source = "ticket_labels d"
    if others_params or others != "1 = 1":
        source += " JOIN tickets t ON t.id = d.ticket_id"
        rest.append(others)
        params += others_params
    first, first_params = conn.dialect.any_of("d.label_id", ids[0])
    where = " AND ".join([first, *rest])
    return _Matches(source, where, [*first_params, *params], "d.ticket_id"), (" AND ".join(rest), params)


# The tickets with an open blocker, and the open tickets that block an open ticket: read from the links (far
# fewer than the tickets), so the filter costs what the blocks links do, not a probe for every ticket listed.
_BLOCKED = f"""SELECT k.to_id FROM ticket_links k JOIN tickets b ON b.id = k.from_id
               WHERE k.kind = 'blocks' AND b.status NOT IN {CLOSED_SQL}"""
_BLOCKING = f"""SELECT k.from_id FROM ticket_links k JOIN tickets d ON d.id = k.to_id
                WHERE k.kind = 'blocks' AND d.status NOT IN {CLOSED_SQL}"""


def _planning_filters(dialect: Dialect, query: TicketQuery) -> list[Fragment]:
    """The milestone, links and due-date filters. Due dates are compared through DUE_KEY, the expression both
    engines index (an undated ticket's key is after every date, so `before` leaves it out by itself)."""
    found: list[Fragment] = []
    if query.no_milestone:
        found.append(("t.milestone_id IS NULL", []))
    elif query.milestone_id is not None:
        found.append(("t.milestone_id = ?", [query.milestone_id]))
    if query.blocked is not None:
        blocked = dialect.among("t.id", _BLOCKED)
        found.append((blocked if query.blocked else f"NOT ({blocked})", []))
    if query.blocking is not None:
        blocking = f"t.status NOT IN {CLOSED_SQL} AND {dialect.among('t.id', _BLOCKING)}"
        found.append((f"({blocking})" if query.blocking else f"NOT ({blocking})", []))
    if query.overdue_on is not None:  # read through tickets_due_open, which holds only open, dated tickets
        found.append((f"t.status NOT IN {CLOSED_SQL} AND t.due_date < ?", [query.overdue_on]))
    if query.due_before is not None:
        found.append((f"{DUE_KEY} <= ?", [query.due_before]))
    if query.due_after is not None:
        found.append((f"{DUE_KEY} >= ? AND {DUE_KEY} < '{UNDATED}'", [query.due_after]))
    return found


def list_tickets(conn: Connection, query: TicketQuery, budget_s: float | None = None) -> TicketPage:
    """A page of the query's tickets; a text query stops after `budget_s` and says so (`search_stopped`)."""
    terms = search_terms(query.text) if query.text else None
    query = ranked_or_newest(query, terms)
    if not query.project_ids:
        return TicketPage(tickets=(), total=0, next_cursor=None)
    dialect = conn.dialect
    ids = label_ids(conn, query.project_ids, query.labels) if query.labels else []
    others = _filters(conn, query, ids)
    source: tuple[str, Fragment] | None = None  # where a text query's count reads its matches
    if terms is not None:
        terms = dialect.complete(conn, terms)
        text = dialect.text_match(terms, query.project_ids)
        source = dialect.text_source(terms, query.project_ids)
    elif query.text:  # no word in it (`%`, say): the text anywhere in the title or description
        text = dialect.text_contains(like_pattern(query.text))
    else:
        text = None
    filters = others if text is None else (f"{others[0]} AND {text[0]}", [*others[1], *text[1]])
    matches = _Matches.of_tickets(filters)
    counted = matches if source is None else _Matches(source[0], *_and(others, source[1]), "t.id")
    by_label = _by_label(conn, query, ids) if ids and text is None else None
    deadline = time.monotonic() + budget_s if budget_s is not None and query.text else None
    rows: list[Row] = []
    total, total_capped, start, stopped = 0, True, query.offset, False
    try:
        if text is None and by_label is None:  # the page with its count in one statement: one round trip
            rows, total, total_capped = _counted_page(conn, query, matches)
        else:
            if by_project_and_status(query):
                total, total_capped = _counted(conn, _count_query(conn, query, matches))
            else:
                total, total_capped = dialect.within(
                    conn,
                    deadline,
                    lambda: (
                        count_by_label(conn, ids[0], by_label[0].source, by_label[1], query.count_limit)
                        if by_label is not None
                        else _count(conn, counted, query.count_limit)
                    ),
                )
            if query.sort is TicketSort.RELEVANCE and terms is not None:
                rows, start = dialect.best_matches(conn, query, terms, others, deadline)
            else:
                # By creation, a label's entries are in the page's order; other sorts read their own index.
                paged = by_label[0] if by_label is not None and query.sort is TicketSort.CREATED else matches
                rows = dialect.within(conn, deadline, lambda: _page_in_order(conn, query, paged))
    except OutOfTime:
        stopped = True  # out of time: no page, and the total (if counted) says how many to narrow
    tickets = [row_to_ticket(row) for row in rows[: query.limit]]
    next_cursor = page_cursor(query, tickets[-1], start + query.limit) if len(rows) > query.limit else None
    return TicketPage(
        tickets=tuple(tickets),
        total=total,
        next_cursor=next_cursor,
        total_capped=total_capped,
        search_stopped=stopped,
        snippets=_snippets(conn, terms, tickets, deadline) if terms is not None else {},
        order=_order(query),
    )


def _order(query: TicketQuery) -> tuple[str, ...]:
    """What `_page_in_order` and `best_matches` sort on; ids are drawn in creation order, so `t.id` is `created`."""
    direction = "desc" if query.descending else "asc"
    if query.sort is TicketSort.RELEVANCE:
        return ("relevance", "created desc")
    if query.sort is TicketSort.CREATED:
        return (f"created {direction}",)
    return (f"{query.sort} {direction}", f"created {direction}")


def _snippets(
    conn: Connection, terms: SearchTerms, tickets: list[Ticket], deadline: float | None
) -> dict[int, Snippet]:
    """Where the words missing from each ticket's title are: its description, else its comments, which
    are read for the tickets that need them only, as far as the index reads them, within the search's
    time budget (past it, those tickets go without)."""
    snippets: dict[int, Snippet] = {}
    in_comments: dict[int, tuple[Phrase, ...]] = {}
    for ticket in tickets:
        missing = unmatched(terms.phrases, ticket.title)
        if not missing:
            continue
        found = snippet(missing, "description", [ticket.description])
        if found is not None:
            snippets[ticket.id] = found
        else:
            in_comments[ticket.id] = missing
    if not in_comments:
        return snippets
    ids, ids_params = conn.dialect.any_of("ticket_id", list(in_comments))
    indexed = f"""SELECT ticket_id, body FROM (
            SELECT ticket_id, id, body,
                   SUM(LENGTH(body)) OVER (PARTITION BY ticket_id ORDER BY id) - LENGTH(body) AS before
            FROM comments WHERE {ids}) c
        WHERE before < ? ORDER BY ticket_id, id"""
    try:
        rows = conn.dialect.within(conn, deadline, lambda: conn.all(indexed, [*ids_params, COMMENTS_INDEXED]))
    except OutOfTime:
        return snippets
    bodies: dict[int, list[str]] = {}
    for ticket_id, body in rows:
        bodies.setdefault(ticket_id, []).append(body)
    for ticket_id, texts in bodies.items():
        found = snippet(in_comments[ticket_id], "comment", texts)
        if found is not None:
            snippets[ticket_id] = found
    return snippets


# The fields of a TicketQuery that filter tickets, but for projects and statuses: a query that sets none of
# them is counted from ticket_counts (kept by triggers), a handful of rows whatever the number of tickets.
_UNFILTERED = TicketQuery(project_ids=())
_NOT_FILTERS = frozenset({
    "project_ids", "statuses", "sort", "descending", "limit", "cursor", "offset", "count_limit", "since_written",
})  # fmt: skip
_FILTERS = tuple(f.name for f in dataclasses.fields(TicketQuery) if f.name not in _NOT_FILTERS)


def _unset(value: object, default: object) -> bool:
    return not value if isinstance(default, tuple) else value == default


def by_project_and_status(query: TicketQuery) -> bool:
    """Whether the query filters by projects and statuses alone, which ticket_counts answers."""
    return all(_unset(getattr(query, name), getattr(_UNFILTERED, name)) for name in _FILTERS)


@dataclasses.dataclass(frozen=True, slots=True)
class _CountQuery:
    """A query of one row, `n`, and what its `n` says: (total, whether the count stopped at the limit)."""

    sql: str
    params: list[Any]
    limit: int | None  # None: `n` is exact

    def read(self, n: int) -> tuple[int, bool]:
        return (n, False) if self.limit is None else (min(n, self.limit), n > self.limit)


def _count_query(conn: Connection, query: TicketQuery, matches: _Matches) -> _CountQuery:
    """How the query's tickets are counted: a query by projects and statuses alone sums ticket_counts (exact
    whatever its count_limit, which bounds what counting costs, and this counts nothing); any other counts
    its matches, no further than count_limit."""
    if by_project_and_status(query):
        where, params = conn.dialect.any_of("project_id", query.project_ids)
        if query.statuses:
            statuses, status_params = conn.dialect.any_of("status", [s.value for s in query.statuses])
            where, params = f"{where} AND {statuses}", [*params, *status_params]
        return _CountQuery(f"SELECT COALESCE(SUM(tickets), 0) AS n FROM ticket_counts WHERE {where}", params, None)
    return _match_count(conn.dialect, matches, query.count_limit)


def _match_count(dialect: Dialect, matches: _Matches, limit: int | None) -> _CountQuery:
    where, params = matches.where, list(matches.params)
    if limit is None:
        return _CountQuery(f"SELECT COUNT(*) AS n FROM {matches.source} WHERE {where}", params, None)
    # One match past the limit tells "more than" from "exactly".
    capped, capped_params = dialect.limited(limit + 1)
    sql = f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM {matches.source} WHERE {where} {capped}) matches"
    return _CountQuery(sql, [*params, *capped_params], limit)


def _counted(conn: Connection, count: _CountQuery) -> tuple[int, bool]:
    return count.read(int(conn.one(count.sql, count.params)[0]))


def _count(conn: Connection, matches: _Matches, limit: int | None) -> tuple[int, bool]:
    """How many tickets match, counting no further than `limit`; and whether the count stopped there."""
    return _counted(conn, _match_count(conn.dialect, matches, limit))


def _counted_page(conn: Connection, query: TicketQuery, matches: _Matches) -> tuple[list[Row], int, bool]:
    """`_page_in_order` with its count read in the same statement (the CTE `counted`, on every row); the count
    runs apart only when the page is empty."""
    count = _count_query(conn, query, matches)
    rows = _page_in_order(conn, query, matches, count)
    if not rows:
        return rows, *_counted(conn, count)
    return rows, *count.read(int(rows[0][TICKET_WIDTH]))


def _page_in_order(
    conn: Connection, query: TicketQuery, matches: _Matches, count: _CountQuery | None = None
) -> list[Row]:
    """The page's rows in the query's order; with `count`, its `n` as a column after the ticket's."""
    created = query.sort is TicketSort.CREATED
    column = matches.ticket_id if created else _SORT_COLUMN[query.sort]
    direction, op = ("DESC", "<") if query.descending else ("ASC", ">")
    where, params = matches.where, list(matches.params)
    after = cursor_after(query)
    if after is not None:
        past, past_params = (f"{column} {op} ?", [after[1]]) if created else conn.dialect.later_than(column, op, *after)
        where += f" AND {past}"
        params.extend(past_params)
    # The page's ids first, from the filter's index alone; the joins then run for those rows only.
    order = f"{column} {direction}" if created else f"{column} {direction}, t.id {direction}"
    dialect = conn.dialect
    page, page_params = dialect.limited(query.limit + 1, query.offset)
    select, counted, count_params = dialect.ticket_select, "", list[Any]()
    if count is not None:
        select = dialect.ticket_select_with(", (SELECT n FROM counted)")
        counted, count_params = f", counted AS ({count.sql})", count.params
    return conn.all(
        f"""WITH page AS (
                SELECT {matches.ticket_id} AS id, {column} AS k FROM {matches.source} WHERE {where}
                ORDER BY {order} {page}){counted}
            {select} JOIN page ON page.id = t.id ORDER BY page.k {direction}, t.id {direction}""",
        [*params, *page_params, *count_params],
    )


def _and(filters: Fragment, more: Fragment) -> tuple[str, list[Any]]:
    return f"{filters[0]} AND {more[0]}", [*filters[1], *more[1]]
