"""Listing Jira issues: JQL written from the tracker's filters, read through the enhanced search.

`GET /rest/api/3/search/jql` pages with Jira's `nextPageToken`, which the tools' cursor carries (with
how many issues came before, and a fingerprint of the query it belongs to). An offset steps over issues
by id. The total is exact on the last page, else Jira's approximate count of the same JQL. Filters are
written from the site's own statuses, issue types, priorities and resolutions (jira_site), each caller's
value a quoted JQL string (jira_mapping.quote); a filter nothing on the site can match sends no search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from tickets_mcp.core.tracker import ANYONE, UNASSIGNED, TicketFilter
from tickets_mcp.domain import CLOSED_STATUSES, Status, Ticket, TicketPage, TicketSort, rules
from tickets_mcp.errors import Invalid, Unsupported
from tickets_mcp.remotes.client import RemoteClient
from tickets_mcp.remotes.jira_mapping import (
    BACKEND,
    columns_clause,
    jql_time,
    parse_slug,
    priority_clause,
    quote,
    to_ticket,
    type_clause,
)
from tickets_mcp.remotes.jira_planning import due_clauses
from tickets_mcp.remotes.jira_planning import refuse_filters as refuse_planning_filters
from tickets_mcp.remotes.jira_site import API, Site
from tickets_mcp.remotes.jira_versions import milestone_clause
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.remotes.paging import fingerprint
from tickets_mcp.wire.jira import Count, IssueIds, JiraProject, SearchResults

LIST_LIMIT_MAX = 100
SKIP_MAX = 5000  # issues an offset may skip (read as ids only)
FIELDS = [
    "summary", "description", "status", "issuetype", "priority", "resolution", "assignee", "reporter",
    "labels", "parent", "subtasks", "project", "created", "updated", "resolutiondate", "duedate", "timespent",
    "issuelinks", "fixVersions",
]  # fmt: skip
ORDER = {TicketSort.CREATED: "created", TicketSort.UPDATED: "updated", TicketSort.PRIORITY: "priority"}


@dataclass(frozen=True, slots=True)
class Search:
    """One JQL search, and where a listing of it stands."""

    jql: str  # without ORDER BY, which approximate-count refuses
    order: str


class Searches:
    """Searches of one site as its user (`site`), dates written in `zone` (the user's, as JQL reads them)."""

    def __init__(self, client: RemoteClient, site: Site, zone: ZoneInfo | None) -> None:
        self.client = client
        self.site = site
        self.zone = zone

    async def listing(self, query: TicketFilter) -> TicketPage:
        """One page of the issues `query` selects."""
        if not 1 <= query.limit <= LIST_LIMIT_MAX:
            raise Invalid("limit", f"limit must be 1-{LIST_LIMIT_MAX}.", hint="Use cursor to page through more.")
        if query.offset < 0:
            raise Invalid("offset", "offset must be 0 or more.")
        if query.offset and query.cursor:
            raise Invalid("offset", "Pass cursor or offset, not both.")
        search = await self.search_for(query)
        mark = fingerprint(search.jql if search else None, search.order if search else None)
        token, seen = _position(query, mark)
        if search is None:  # no issue can match (a column no status of the site is in, say)
            return TicketPage(tickets=(), total=0, next_cursor=None)
        if query.offset:
            token, seen = await self.skip(search, query.offset)
            if token is None:
                return TicketPage(tickets=(), total=seen, next_cursor=None)
        tickets, following = await self.page(search, query.limit, token)
        if following is None:
            return TicketPage(tickets=tickets, total=seen + len(tickets), next_cursor=None)
        count = await self.count(search.jql)
        cursor = rules.encode_cursor({"t": following, "s": seen + len(tickets), "f": mark})
        return TicketPage(tickets=tickets, total=max(count, seen + len(tickets) + 1), next_cursor=cursor)

    async def search_for(self, query: TicketFilter) -> Search | None:
        """The JQL for a filter; None where the site has nothing it could match."""
        refuse_planning_filters(query)
        catalog = await self.site.catalog()
        project: JiraProject | None = None
        clauses: list[str | None] = []
        if query.project is not None:
            project = await self.site.project(query.project, query.organization)
            clauses.append(f"project = {quote(project.key)}")
        else:
            self.site.check_organization(query.organization)
        if query.statuses:
            clauses.append(columns_clause(query.statuses, catalog.statuses, catalog.resolutions))
        if query.types:
            clauses.append(type_clause(query.types, catalog.type_names(project)))
        if query.priorities:
            clauses.append(priority_clause(query.priorities, catalog.priorities))
        if query.assignee is not None:
            clauses.append(await self._person("assignee", query.assignee))
        if query.reporter is not None:
            clauses.append(await self._person("reporter", query.reporter))
        clauses += [f"labels = {quote(label)}" for label in rules.normalize_labels(query.labels)]
        if query.parent is not None:
            clauses.append(f"parent = {quote(parse_slug(query.parent))}")
        if query.milestone is not None:
            clauses.append(await milestone_clause(self.client, project, query.milestone))
        if query.text and query.text.strip():
            clauses.append(f"text ~ {quote(query.text.strip())}")
        if query.updated_since:
            since = rules.parse_timestamp("updated_since", query.updated_since)
            if self.zone is None:
                raise Unsupported(
                    f"The jira backend cannot filter by last change here: JQL reads times in the user's zone, "
                    f"{self.site.me.timeZone}, which this machine's time zone database lacks.",
                    hint="Install the tzdata package (pip install tzdata), or leave updated_since out.",
                )
            try:
                clauses.append(f"updated >= {jql_time(since, self.zone)}")
            except OverflowError:
                raise Invalid(
                    "updated_since",
                    f"{query.updated_since!r} falls outside the years 1-9999 in {self.site.me.timeZone}, "
                    "the zone Jira reads times in.",
                    hint="Pass a time within the calendar, e.g. 2025-01-31T09:00:00Z, or leave updated_since out.",
                ) from None
        open_columns = [status for status in Status if status not in CLOSED_STATUSES]
        clauses += due_clauses(query, columns_clause(open_columns, catalog.statuses, catalog.resolutions))
        if any(clause is None for clause in clauses):
            return None
        # JQL orders by fields only: relevance, the tools' order for a text query, lists the newest first.
        sort = TicketSort.CREATED if query.sort is TicketSort.RELEVANCE else query.sort
        way = "DESC" if query.descending else "ASC"
        jql = " AND ".join(c for c in clauses if c) or "created IS NOT EMPTY"  # search/jql needs a bounded query
        return Search(jql=jql, order=f"ORDER BY {ORDER[sort]} {way}, key {way}")

    async def _person(self, field: str, name: str) -> str:
        text = name.strip()
        if text.casefold() == UNASSIGNED:
            return f"{field} is EMPTY"
        if text == ANYONE:
            return f"{field} is not EMPTY"
        account = await self.site.account(text, field)
        return f"{field} = currentUser()" if account is None else f"{field} = {quote(account)}"

    async def _search(self, search: Search, limit: int, token: str | None, fields: list[str]) -> Any:
        params: dict[str, Any] = {"jql": f"{search.jql} {search.order}", "maxResults": limit, "fields": fields}
        if token is not None:
            params["nextPageToken"] = token
        return (await self.client.request("GET", API + "search/jql", params=params)).body

    async def page(self, search: Search, limit: int, token: str | None) -> tuple[tuple[Ticket, ...], str | None]:
        body = await self._search(search, limit, token, FIELDS)
        found = parse(SearchResults, body, BACKEND, "search results")
        following = None if found.isLast or not found.issues else found.nextPageToken
        return tuple(to_ticket(issue) for issue in found.issues), following

    async def skip(self, search: Search, offset: int) -> tuple[str | None, int]:
        """Read past `offset` issues (their ids only): the token after them and how many there were."""
        if offset > SKIP_MAX:
            raise Invalid("offset", f"offset must be at most {SKIP_MAX} here.", hint="Use cursor to page further.")
        token: str | None = None
        seen = 0
        while seen < offset:
            body = await self._search(search, min(offset - seen, LIST_LIMIT_MAX), token, ["id"])
            found = parse(IssueIds, body, BACKEND, "search results")
            seen += len(found.issues)
            token = None if found.isLast or not found.issues else found.nextPageToken
            if token is None:
                break
        return token, seen

    async def count(self, jql: str) -> int:
        reply = await self.client.request(
            "POST", API + "search/approximate-count", json_body={"jql": jql}, idempotent=True
        )
        return parse(Count, reply.body, BACKEND, "a count").count


def _position(query: TicketFilter, mark: str) -> tuple[str | None, int]:
    if not query.cursor:
        return None, 0
    position = rules.decode_cursor(query.cursor)
    token, seen = position.get("t"), position.get("s")
    if position.get("f") != mark or not isinstance(token, str) or type(seen) is not int or seen < 0:
        raise Invalid(
            "cursor", "The cursor belongs to a different query.",
            hint="Repeat the same filters and sort with next_cursor, or omit cursor to start over.",
        )  # fmt: skip
    return token, seen
