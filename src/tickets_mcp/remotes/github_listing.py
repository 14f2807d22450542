"""A listing of GitHub issues that costs about one GitHub page per call, however many issues a repository holds.

GitHub sorts a repository's issues (`GET /repos/{owner}/{repo}/issues`, `sort` created or updated,
`direction`) and filters them by state, labels (all of them), assignee, creator and `since`. The rest
of the tracker's filters (the open columns, which are `status:` labels read loosely, types, priorities)
and the pull requests GitHub lists among issues are sifted while reading. A parent's sub-issues are their
own list (`…/issues/{n}/sub_issues`), read instead of the repository's. `page_scan.scan`
reads pages of 100 only until the call's `limit` matches and one more are found, merging several
repositories' lists by the sort key when no project is given (at most MERGED_REPOSITORIES of them).
With text, the list is GitHub's search (`GET /search/issues`) instead, sorted and filtered by GitHub
the same way through qualifiers.

GitHub's issue list does not count. A call that reads to the end of every list knows its total; else
GitHub's search counts the query once (`total_count` of a `per_page=1` search), on the first page
only, and the cursor carries the count to the pages after it. Where search cannot say exactly what is
kept (a sifted filter) or refuses (its own rate limit), `total` is a lower bound with `total_capped`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tickets_mcp.core.tracker import ANYONE, ME, UNASSIGNED, TicketFilter
from tickets_mcp.domain import CLOSED_STATUSES, Status, Ticket, TicketPage, TicketSort, rules
from tickets_mcp.errors import Invalid, RateLimited, Unsupported
from tickets_mcp.remotes.github_directory import PER_PAGE, Directory, next_link
from tickets_mcp.remotes.github_mapping import BACKEND, OPEN_COLUMNS, Place, scope_of
from tickets_mcp.remotes.github_milestones import GitHubMilestones
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.remotes.page_scan import SCAN_PAGES, Page, Reader, cursor_count, decode_position, encode_position, scan
from tickets_mcp.remotes.paging import fingerprint, query_fingerprint
from tickets_mcp.remotes.planning import clears
from tickets_mcp.wire.github import GitHubIssue, GitHubMilestone, Issues, SearchResult
from tickets_mcp.wire.values import iso_seconds

LIST_LIMIT_MAX = 100
MERGED_REPOSITORIES = 20  # repositories one listing without a project reads and merges at most
LOGIN = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}")  # GitHub's rule for user and organization names
SEARCH_RESULTS = 1000  # GitHub's search answers the first 1,000 results of a query, no more


@dataclass(frozen=True, slots=True)
class Selection:
    """A query as GitHub's list parameters and the same as search qualifiers, plus what is sifted here."""

    params: dict[str, str]
    qualifiers: tuple[str, ...]
    keep: Callable[[Ticket], bool]
    exact: bool  # GitHub selects just what `keep` keeps (pull requests aside): its search counts it


async def list_page(github: Directory, query: TicketFilter) -> TicketPage:
    """One page of `query`, read from GitHub only as far as it needs (module docstring)."""
    _check(query)
    places = await _places(github, query)
    chosen = selection(query, github.me.username, await _milestone(github, places, query))
    text = query.text.strip() if query.text else ""
    if text:
        readers = [_search_reader(github, _search_query(places, chosen, text), query)]
    elif query.parent is not None and not clears(query.parent):
        readers = [_sub_issue_reader(github, await github.issue(query.parent), places, query)]
    else:
        readers = [_issue_reader(github, place, chosen.params) for place in places]
    mark = fingerprint(query_fingerprint(query), tuple(p.full_name for p in places))
    starts: Sequence[tuple[int, int] | None] = [(1, 0)] * len(readers)
    seen, count = 0, None
    if query.cursor:
        starts, _, seen = decode_position(query.cursor, mark, len(readers), PER_PAGE)
        count = cursor_count(query.cursor)
    updated = query.sort is TicketSort.UPDATED
    found = await scan(
        readers, chosen.keep, query.limit, starts, PER_PAGE, exact=False, skip_matches=query.offset,
        order=lambda t: (t.updated_at if updated else t.created_at), descending=query.descending,
    )  # fmt: skip
    if found.skipped < query.offset and found.resume is not None:
        raise Invalid("offset", f"offset {query.offset} is further than one call reads.", hint="Page with cursor.")
    seen += found.skipped
    tickets, after = tuple(found.tickets), seen + len(found.tickets)
    if found.resume is None:  # read to the end: what came before and what was found is everything
        return TicketPage(tickets=tickets, total=after, next_cursor=None)
    if found.remaining is not None:  # every list ends within the pages read: count the rest of them
        count = after + found.remaining
    elif count is None and chosen.exact and not query.cursor:  # the first page: GitHub's search counts
        count = found.totals[0] if text else await _count(github, places, chosen)
    cursor = encode_position(found.resume, PER_PAGE, after, mark, count=count)
    if count is None:  # nobody counted: what has been seen, and one more, is a lower bound
        return TicketPage(tickets=tickets, total=after + 1, next_cursor=cursor, total_capped=True)
    return TicketPage(tickets=tickets, total=max(count, after + 1), next_cursor=cursor)


def _check(query: TicketFilter) -> None:
    if not 1 <= query.limit <= LIST_LIMIT_MAX:
        raise Invalid("limit", f"limit must be 1-{LIST_LIMIT_MAX}.", hint="Use cursor to page through more.")
    if query.sort is TicketSort.PRIORITY:
        raise Unsupported(
            f"The {BACKEND} backend cannot sort by priority: GitHub sorts issues by creation or update only.",
            hint="Sort by created or updated, and filter by priority.",
        )
    if query.offset < 0:
        raise Invalid("offset", "offset must be 0 or more.")
    if query.offset and query.cursor:
        raise Invalid("offset", "Pass cursor or offset, not both.")


async def _places(github: Directory, query: TicketFilter) -> list[Place]:
    if query.project is not None:
        return [await github.place(query.project, query.organization)]
    places = await github.places_of(query.organization)
    if len(places) > MERGED_REPOSITORIES:
        raise Invalid(
            "project",
            f"{len(places)} repositories with issues: a listing merges at most {MERGED_REPOSITORIES} on {BACKEND}.",
            hint="Pass project (list_projects shows them), or an organization with fewer repositories.",
        )
    return places


async def _milestone(github: Directory, places: Sequence[Place], query: TicketFilter) -> GitHubMilestone | None:
    """The milestone a query names (None: none named, or "none")."""
    if query.milestone is None or clears(query.milestone):
        return None
    if len(places) != 1:
        raise Invalid("milestone", "GitHub's milestones belong to a repository.", hint="Pass project too.")
    return await GitHubMilestones(github).named(places[0], query.milestone)


def selection(query: TicketFilter, me: str, milestone: GitHubMilestone | None = None) -> Selection:
    """What GitHub selects of `query` (list parameters, search qualifiers) and the test every ticket must pass;
    `milestone` is the one query.milestone names."""
    statuses, types, priorities = set(query.statuses), set(query.types), set(query.priorities)
    labels = rules.normalize_labels(query.labels)
    closed, opened = statuses & CLOSED_STATUSES, statuses - CLOSED_STATUSES
    params: dict[str, str] = {"state": "all"}
    qualifiers = ["is:issue"]
    exact = not statuses or statuses == set(Status)
    if statuses and not opened:
        params["state"], exact = "closed", closed == set(CLOSED_STATUSES)
        qualifiers.append("is:closed")
    elif statuses and not closed:
        params["state"], exact = "open", opened == set(OPEN_COLUMNS)
        qualifiers.append("is:open")
    if labels:
        params["labels"] = ",".join(labels)
        # Search has no escape for a quote inside a quoted label: such a label is sifted here, never searched.
        qualifiers += [f'label:"{label}"' for label in labels if '"' not in label]
    if query.assignee is not None:
        assignee = query.assignee.strip()
        params["assignee"] = me if assignee.casefold() == ME else login(assignee, "assignee", ANYONE, UNASSIGNED)
        if assignee != ANYONE:  # search has no "assigned to anyone": such a search is sifted here instead
            qualifiers.append("no:assignee" if assignee.casefold() == UNASSIGNED else f"assignee:{params['assignee']}")
    if query.reporter is not None:
        reporter = query.reporter.strip()
        params["creator"] = me if reporter.casefold() == ME else login(reporter, "reporter")
        qualifiers.append(f"author:{params['creator']}")
    if query.updated_since:
        since = datetime.fromisoformat(rules.parse_timestamp("updated_since", query.updated_since))
        params["since"] = iso_seconds(since)
        qualifiers.append(f"updated:>={params['since']}")
    if query.milestone is not None and milestone is None:
        params["milestone"] = "none"
        qualifiers.append("no:milestone")
    elif milestone is not None:
        params["milestone"] = str(milestone.number)
        # Search has no escape for a quote inside a quoted title: such a milestone is sifted here, never searched.
        qualifiers += [f'milestone:"{milestone.title}"'] if '"' not in milestone.title else []
    title = milestone.title if milestone is not None else None
    params["sort"] = "updated" if query.sort is TicketSort.UPDATED else "created"
    params["direction"] = "desc" if query.descending else "asc"
    parent = query.parent.strip().upper() if query.parent is not None else None
    wanted_labels = {label.casefold() for label in labels}
    exact = exact and not types and not priorities and parent is None
    exact = exact and all(scope_of(label) is None and '"' not in label for label in labels)
    exact = exact and params.get("assignee") != ANYONE and (title is None or '"' not in title)
    anyone = params.get("assignee") == ANYONE

    def keep(ticket: Ticket) -> bool:
        return (
            (not statuses or ticket.status in statuses)
            and (not types or ticket.type in types)
            and (not priorities or ticket.priority in priorities)
            and wanted_labels <= {label.name.casefold() for label in ticket.labels}
            and (parent is None or ticket.parent == parent)
            and (not anyone or ticket.assignee is not None)
            and (title is None or ticket.milestone == title)
        )

    return Selection(params=params, qualifiers=tuple(qualifiers), keep=keep, exact=exact)


def login(value: str, field: str, *words: str) -> str:
    """A GitHub login as a filter or a URL path takes it, or one of `words`: never text that would add a search
    qualifier (`alice repo:other/secret`), another list parameter or path segment (`../../user`)."""
    if value.casefold() in words or LOGIN.fullmatch(value):
        return value
    raise Invalid(field, f"{value!r} is not a GitHub login.", hint="Pass a login such as octocat, or 'me'.")


def _issue_reader(github: Directory, place: Place, params: dict[str, str]) -> Reader:
    """Reads one page of a repository's issues as tickets, pull requests left out."""

    async def read(page: int, per_page: int) -> Page:
        reply = await github.get(f"repos/{place.full_name}/issues", {**params, "page": page, "per_page": per_page})
        issues = parse(Issues, reply.body, BACKEND, "a list of issues").root
        following = page + 1 if issues and next_link(reply.headers) else None
        return Page(await github.tickets(issues, place), following, None)

    return read


def _sub_issue_reader(
    github: Directory, parent: tuple[Place, GitHubIssue], places: Sequence[Place], query: TicketFilter
) -> Reader:
    """The parent's sub-issues in `places`, sorted as the query asks: GitHub lists them in the parent's own order,
    so the whole list is read (a page of 100 for most parents; SCAN_PAGES at most) once per call and sorted here.
    What it costs grows with the parent's sub-issues, never with the repository."""
    home, issue = parent
    path = f"repos/{home.full_name}/issues/{issue.number}/sub_issues"
    wanted = {place.project.id for place in places}
    updated = query.sort is TicketSort.UPDATED
    read_once: list[Ticket] = []

    async def read(page: int, per_page: int) -> Page:
        if not read_once:
            issues, _ = await github.pages(path, {}, Issues, "a list of sub-issues", SCAN_PAGES)
            found = [t for t in await github.tickets(issues) if t.project_id in wanted]
            found.sort(key=lambda t: (t.updated_at if updated else t.created_at, t.id), reverse=query.descending)
            read_once.extend(found)
        start = (page - 1) * per_page
        following = page + 1 if start + per_page < len(read_once) else None
        return Page(read_once[start : start + per_page], following, None)

    return read


def _search_query(places: Sequence[Place], chosen: Selection, text: str) -> str:
    words = " ".join(f'"{word}"' for word in text.replace('"', " ").split())
    scopes = " ".join(f"repo:{place.full_name}" for place in places)
    return f"{words} {scopes} {' '.join(chosen.qualifiers)} in:title,body"


def _search_reader(github: Directory, q: str, query: TicketFilter) -> Reader:
    """Reads one page of GitHub's search, sorted as the query asks, with the count it gives."""
    order = {"sort": "updated" if query.sort is TicketSort.UPDATED else "created"}
    order["order"] = "desc" if query.descending else "asc"

    async def read(page: int, per_page: int) -> Page:
        reply = await github.get("search/issues", {"q": q, **order, "page": page, "per_page": per_page})
        github.searched(reply.headers)
        result = parse(SearchResult, reply.body, BACKEND, "search results")
        more = result.items and next_link(reply.headers) and page * per_page < SEARCH_RESULTS
        total = None if result.incomplete_results else result.total_count
        return Page(await github.tickets(result.items), page + 1 if more else None, total)

    return read


async def _count(github: Directory, places: Sequence[Place], chosen: Selection) -> int | None:
    """How many issues GitHub's search finds for the selection (None where it refuses or is unsure):
    one search of 1 result, `repo:` for each repository. Search has its own rate limit (30 a minute):
    once GitHub says it is spent, nothing is counted until it resets, rather than wait for it."""
    if not github.may_search():
        return None
    scopes = " ".join(f"repo:{place.full_name}" for place in places)
    try:
        reply = await github.get("search/issues", {"q": f"{scopes} {' '.join(chosen.qualifiers)}", "per_page": 1})
    except RateLimited as limited:
        github.search_resumes = time.time() + limited.retry_after
        return None
    github.searched(reply.headers)
    result = parse(SearchResult, reply.body, BACKEND, "search results")
    return None if result.incomplete_results else result.total_count
