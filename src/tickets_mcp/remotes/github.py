"""GitHub behind the Tracker protocol: the REST API, version 2022-11-28, on github.com or GitHub Enterprise Server.

`tickets-mcp --backend github --url https://api.github.com` (Enterprise Server: `https://HOST/api/v3`),
with a fine-grained or classic personal access token in TICKETS_TOKEN, sent as `Authorization: Bearer`.
docs/github.md has the whole mapping:

- Organizations are the owners (the user, the organizations) of the repositories the token sees
  (GET /user/repos); projects are those repositories with issues enabled, not archived, each with a
  code derived from its name. Both are read once and kept for five minutes (`github_directory`).
- Tickets are issues, `CODE-number`; pull requests, which GitHub lists among issues, are left out.
  Comments are the issue's comments; sub-tasks are GitHub's sub-issues.
- Status is the issue's state and `state_reason` for done and canceled, and `status: …` labels for
  the open columns; types and priorities are labels (`github_mapping`).
- A listing reads every issue of the repositories it covers, following the `Link` header 100 at a time
  (up to SCAN_PAGES pages each), filters what GitHub cannot, and counts exactly; text goes through
  GET /search/issues. Versions are the update time in milliseconds, checked before writing.
- GitHub's REST API cannot delete issues, create repositories for us or order a column: those
  refuse with Unsupported, naming github. Rate limits (primary and secondary) become RateLimited.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx2
from pydantic import BaseModel

from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import ME, UNASSIGNED, TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    CLOSED_STATUSES,
    HISTORY_SHOWN,
    Board,
    BoardColumn,
    Capability,
    Comment,
    Member,
    Organization,
    OrganizationWorkspace,
    Project,
    Role,
    Status,
    Ticket,
    TicketDetail,
    TicketPage,
    TicketSort,
    User,
    Workspace,
    rules,
)
from tickets_mcp.domain.rules import check_version, decode_cursor, encode_cursor
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied
from tickets_mcp.remotes.base import RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy, RemoteClient, TokenRejected
from tickets_mcp.remotes.github_directory import PER_PAGE, Directory, next_link
from tickets_mcp.remotes.github_mapping import (
    BACKEND,
    Place,
    changed_labels,
    new_labels,
    repository_of,
    state_of,
    to_comment,
)
from tickets_mcp.remotes.mapping import parse, recover_created
from tickets_mcp.remotes.paging import gather, query_fingerprint
from tickets_mcp.wire.github import (
    Comments,
    GitHubComment,
    GitHubIssue,
    GitHubUser,
    Issues,
    SearchResult,
    Users,
)

T = TypeVar("T")
Entry = TypeVar("Entry", bound=BaseModel)

API_VERSION = "2022-11-28"
SCAN_PAGES = 10  # pages of one repository's issues a listing reads at most: 1,000 issues
SEARCH_PAGES = 10  # GitHub's search answers 1,000 results at most
COMMENT_PAGES = 10
LIST_LIMIT_MAX = 100
BOARD_PER_COLUMN_MAX = 100
MEMBER_REPOSITORIES = 10  # repositories of an owner whose assignable users the workspace lists
RECOVERY_WINDOW = 20  # newest issues of the token's user searched after an ambiguous create


def api_url(url: str) -> str:
    """The API root: https://api.github.com for github.com, https://HOST/api/v3 for Enterprise Server."""
    parts = urlsplit(url.strip())
    if parts.hostname in ("github.com", "www.github.com"):
        return "https://api.github.com/"
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/", query="", fragment=""))


async def open_adapter(
    settings: RemoteSettings, *, policy: Policy | None = None, transport: httpx2.AsyncBaseTransport | None = None
) -> GitHubTracker:
    """The adapter, once GET /user has shown the token works (401 becomes TokenRejected)."""
    headers = {
        "Authorization": f"Bearer {settings.token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }
    client = RemoteClient(BACKEND, api_url(settings.url), headers, policy=policy, transport=transport)
    async with client.closed_on_failure():
        reply = await client.request("GET", "user")
        me = parse(GitHubUser, reply.body, BACKEND, "the token's user")
    return GitHubTracker(client, User(id=me.id, username=me.login, name=me.name or me.login))


class GitHubTracker(RemoteTracker):
    name: ClassVar[str] = BACKEND
    missing: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.MANAGE_PROJECTS, Capability.ORDER_COLUMNS, Capability.DELETE_TICKETS}
    )

    def __init__(self, client: RemoteClient, me: User) -> None:
        super().__init__(client)
        self.me = me
        self.github = Directory(client, me)

    # Requests

    # Workspace

    async def workspace(self) -> Workspace:
        places = await self.github.places()
        owners = {p.owner.id: p.owner for p in places}
        entries = await gather(
            [
                _bind(self._organization_entry, owner, [p for p in places if p.owner.id == oid])
                for oid, owner in owners.items()
            ]
        )
        return self.with_capabilities(Workspace(user=self.me, organizations=tuple(entries)))

    async def _organization_entry(self, owner: Organization, places: list[Place]) -> OrganizationWorkspace:
        role = min((p.role for p in places), key=list(Role).index)
        people: dict[int, User] = {}
        for place in places[:MEMBER_REPOSITORIES]:
            try:
                users, _ = await self.github.pages(
                    f"repos/{place.full_name}/assignees", {}, Users, "a list of users", 1
                )
            except TokenRejected:
                raise
            except (NotFound, PermissionDenied):
                continue
            people.update((u.id, User(id=u.id, username=u.login, name=u.name or u.login)) for u in users)
        people.pop(self.me.id, None)
        members = [Member(user=self.me, role=role)] + [
            Member(user=user, role=Role.MEMBER) for user in sorted(people.values(), key=lambda u: u.username.casefold())
        ]
        return OrganizationWorkspace(
            organization=owner, role=role, projects=tuple(p.project for p in places), members=tuple(members)
        )

    async def list_organizations(self) -> list[Organization]:
        return list({p.owner.id: p.owner for p in await self.github.places()}.values())

    async def list_projects(self, organization: str | None = None) -> list[Project]:
        return [p.project for p in await self.github.places_of(organization)]

    # Listing

    async def list_tickets(self, query: TicketFilter) -> TicketPage:
        if not 1 <= query.limit <= LIST_LIMIT_MAX:
            raise Invalid("limit", f"limit must be 1-{LIST_LIMIT_MAX}.", hint="Use cursor to page through more.")
        start = self._start(query)
        if query.project is not None:
            places = [await self.github.place(query.project, query.organization)]
        else:
            places = await self.github.places_of(query.organization)
        params, keep = await self._filter(query)
        read = await gather([_bind(self._issues_of, place, params) for place in places])
        found = [ticket for tickets, _ in read for ticket in tickets if keep(ticket)]
        complete = all(done for _, done in read)
        if query.text and query.text.strip():
            owners = {p.owner.slug for p in places}
            scopes = [f"repo:{places[0].full_name}"] if len(places) == 1 else [f"user:{o}" for o in sorted(owners)]
            hits = await gather([_bind(self._search, scope, query.text) for scope in scopes])
            matching = {key for keys, _ in hits for key in keys}
            found = [t for t in found if (t.project_id, t.number) in matching]
            complete = complete and all(done for _, done in hits)
        found.sort(key=_order(query.sort), reverse=query.descending)
        page = found[start : start + query.limit]
        following = start + len(page)
        more = following < len(found)
        return TicketPage(
            tickets=tuple(page),
            total=len(found) + (0 if complete else 1),
            next_cursor=encode_cursor({"o": following, "f": query_fingerprint(query)}) if more else None,
            total_capped=not complete,
        )

    @staticmethod
    def _start(query: TicketFilter) -> int:
        if query.offset < 0:
            raise Invalid("offset", "offset must be 0 or more.")
        if not query.cursor:
            return query.offset
        if query.offset:
            raise Invalid("offset", "Pass cursor or offset, not both.")
        payload = decode_cursor(query.cursor)
        offset = payload.get("o")
        if payload.get("f") != query_fingerprint(query) or type(offset) is not int or offset < 0:
            raise Invalid(
                "cursor",
                "The cursor belongs to a different query.",
                hint="Repeat the same filters and sort with next_cursor, or omit cursor to start over.",
            )
        return offset

    async def _filter(self, query: TicketFilter) -> tuple[dict[str, Any], Callable[[Ticket], bool]]:
        """GitHub's list parameters for what it can select, and the test every ticket must pass."""
        statuses, types, priorities = set(query.statuses), set(query.types), set(query.priorities)
        labels = rules.normalize_labels(query.labels)
        params: dict[str, Any] = {"state": "all"}
        if statuses and statuses <= CLOSED_STATUSES:
            params["state"] = "closed"
        elif statuses and not statuses & CLOSED_STATUSES:
            params["state"] = "open"
        if labels:
            params["labels"] = ",".join(labels)
        assignee = query.assignee.strip() if query.assignee is not None else None
        if assignee is not None:
            params["assignee"] = self.me.username if assignee.casefold() == ME else assignee
        reporter = query.reporter.strip() if query.reporter is not None else None
        if reporter is not None:
            params["creator"] = self.me.username if reporter.casefold() == ME else reporter
        if query.updated_since:
            since = datetime.fromisoformat(rules.parse_timestamp("updated_since", query.updated_since))
            params["since"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        params["sort"] = "updated" if query.sort is TicketSort.UPDATED else "created"
        params["direction"] = "desc" if query.descending else "asc"
        wanted_labels = {label.casefold() for label in labels}

        def keep(ticket: Ticket) -> bool:
            return (
                (not statuses or ticket.status in statuses)
                and (not types or ticket.type in types)
                and (not priorities or ticket.priority in priorities)
                and wanted_labels <= {label.name.casefold() for label in ticket.labels}
                and (query.parent is None or ticket.parent == query.parent.strip().upper())
            )

        return params, keep

    async def _issues_of(self, place: Place, params: Mapping[str, Any]) -> tuple[list[Ticket], bool]:
        issues, complete = await self.github.pages(
            f"repos/{place.full_name}/issues", params, Issues, "a list of issues", SCAN_PAGES
        )
        return await self.github.tickets(issues, place), complete

    async def _search(self, scope: str, text: str) -> tuple[set[tuple[str, int]], bool]:
        """(project id, number) of the issues in `scope` (`repo:owner/name` or `user:owner`) whose title or
        body hold every word of `text`. GitHub's search has its own rate limit, hence one search per owner."""
        words = " ".join(f'"{word}"' for word in text.replace('"', " ").split())
        params = {"q": f"{words} {scope} is:issue in:title,body", "per_page": PER_PAGE}
        found: set[tuple[str, int]] = set()
        reply = await self.github.get("search/issues", params)
        for _ in range(SEARCH_PAGES):
            result = parse(SearchResult, reply.body, BACKEND, "search results")
            for item in result.items:
                home = await self.github.place_of(repository_of(item.repository_url))
                if home is not None and item.pull_request is None:
                    found.add((home.project.id, item.number))
            following = next_link(reply.headers)
            if following is None:
                return found, not result.incomplete_results
            reply = await self.github.get(following)
        return found, False

    async def get_board(
        self, project: str | None = None, *, per_column: int = 20, organization: str | None = None
    ) -> Board:
        if not 1 <= per_column <= BOARD_PER_COLUMN_MAX:
            raise Invalid("per_column", f"per_column must be 1-{BOARD_PER_COLUMN_MAX}.")
        place = await self.github.place(project, organization)
        tickets, _ = await self._issues_of(place, {"state": "all", "sort": "created", "direction": "desc"})
        columns = tuple(
            BoardColumn(status=status, total=len(inside), tickets=tuple(inside[:per_column]))
            for status in Status
            for inside in [[t for t in tickets if t.status is status]]
        )
        return Board(project=place.project, columns=columns)

    # Tickets

    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail:
        place, issue = await self.github.issue(slug)
        ticket = await self.github.ticket(place, issue)
        base = f"repos/{place.full_name}/issues/{issue.number}"
        comments, _ = await self.github.pages(f"{base}/comments", {}, Comments, "a list of comments", COMMENT_PAGES)
        children, _ = await self.github.pages(f"{base}/sub_issues", {}, Issues, "a list of sub-issues", COMMENT_PAGES)
        return TicketDetail(
            ticket=ticket,
            subtasks=tuple(await self.github.tickets(children)),
            comments=tuple(to_comment(comment, ticket.slug) for comment in comments),
        )

    async def file_ticket(self, draft: TicketDraft) -> Ticket:
        place = await self.github.place(draft.project, draft.organization)
        parent = await self.github.issue(draft.parent) if draft.parent else None
        title = rules.normalize_title(draft.title)
        labels = new_labels(draft.status, draft.type, draft.priority, rules.normalize_labels(draft.labels))
        body: dict[str, Any] = {
            "title": title,
            "body": rules.validate_text("description", draft.description, rules.DESCRIPTION_MAX),
            "labels": labels,
        }
        if draft.assignee is not None and draft.assignee.strip().casefold() != UNASSIGNED:
            body["assignees"] = [await self._assignable(place, draft.assignee)]
        sent = time.time()
        try:
            reply = await self.client.request("POST", f"repos/{place.full_name}/issues", json_body=body)
            issue = parse(GitHubIssue, reply.body, BACKEND, "the new issue")
        except Ambiguous as lost:
            ticket = await recover_created(lost, sent, title, lambda: self._newest_of_mine(place))
            _, issue = await self.github.issue(ticket.slug)
        _kept(issue, body, f"{place.project.code}-{issue.number}")
        if draft.status in CLOSED_STATUSES:
            issue = await self._patch(place, issue.number, _state_body(draft.status))
        if parent is not None:
            issue = await self._adopt(parent, issue, place)
        return await self.github.ticket(place, issue)

    async def _assignable(self, place: Place, login: str) -> str:
        """The login, once GitHub says it may be assigned issues in `place` (it would drop it silently)."""
        name = self.me.username if login.strip().casefold() == ME else login.strip()
        try:
            await self.github.get(f"repos/{place.full_name}/assignees/{name}")
        except NotFound:
            raise Invalid(
                "assignee",
                f"{name!r} cannot be assigned issues in {place.full_name} on {BACKEND}.",
                hint="Use a login with access to the repository; get_workspace_context lists them.",
            ) from None
        return name

    async def _newest_of_mine(self, place: Place) -> list[Ticket]:
        params = {"creator": self.me.username, "state": "all", "sort": "created", "direction": "desc"}
        reply = await self.github.get(f"repos/{place.full_name}/issues", {**params, "per_page": RECOVERY_WINDOW})
        return await self.github.tickets(parse(Issues, reply.body, BACKEND, "a list of issues").root, place)

    async def _patch(self, place: Place, number: int, body: dict[str, Any]) -> GitHubIssue:
        reply = await self.client.request("PATCH", f"repos/{place.full_name}/issues/{number}", json_body=body)
        return parse(GitHubIssue, reply.body, BACKEND, "the changed issue")

    async def _adopt(self, parent: tuple[Place, GitHubIssue], child: GitHubIssue, place: Place) -> GitHubIssue:
        """Make `child` a sub-issue of `parent` (taking it from any parent it had), and read it again."""
        home, issue = parent
        await self.client.request(
            "POST", f"repos/{home.full_name}/issues/{issue.number}/sub_issues",
            json_body={"sub_issue_id": child.id, "replace_parent": True},
        )  # fmt: skip
        reply = await self.github.get(f"repos/{place.full_name}/issues/{child.number}")
        return parse(GitHubIssue, reply.body, BACKEND, "an issue")

    async def change(self, slug: str, changes: TicketChanges, version: int | None) -> Ticket:
        place, issue = await self.github.issue(slug)
        current = await self.github.ticket(place, issue)
        check_version(current, version)
        body: dict[str, Any] = {}
        if changes.title is not None and (title := rules.normalize_title(changes.title)) != current.title:
            body["title"] = title
        if changes.description is not None and changes.description != current.description:
            body["body"] = rules.validate_text("description", changes.description, rules.DESCRIPTION_MAX)
        if changes.assignee is not None:
            unassign = changes.assignee.strip().casefold() == UNASSIGNED
            body["assignees"] = [] if unassign else [await self._assignable(place, changes.assignee)]
        labels = rules.normalize_labels(changes.labels) if changes.labels is not None else None
        wanted = changed_labels(
            issue, status=changes.status, kind=changes.type, priority=changes.priority, labels=labels
        )
        if [name.casefold() for name in wanted] != [name.casefold() for name in issue.label_names]:
            body["labels"] = wanted
        if changes.status is not None and changes.status != current.status:
            if issue.closed and changes.status in CLOSED_STATUSES:
                # GitHub ignores a state_reason unless the state changes: reopen, then close for the new reason.
                issue = await self._patch(place, issue.number, {"state": "open"})
            if changes.status in CLOSED_STATUSES or issue.closed:
                body.update(_state_body(changes.status))
        parent = changes.parent.strip() if changes.parent is not None else None
        if parent is not None and parent.upper() != (current.parent or "").upper():
            issue = await self._reparent(place, issue, current, parent)
        if body:
            issue = await self._patch(place, issue.number, body)
            _kept(issue, body, current.slug)
        return await self.github.ticket(place, issue)

    async def _reparent(self, place: Place, issue: GitHubIssue, current: Ticket, parent: str) -> GitHubIssue:
        if parent.casefold() != UNASSIGNED:
            return await self._adopt(await self.github.issue(parent), issue, place)
        if current.parent is None:
            return issue
        home, former = await self.github.issue(current.parent)
        await self.client.request(
            "DELETE", f"repos/{home.full_name}/issues/{former.number}/sub_issue", json_body={"sub_issue_id": issue.id}
        )
        reply = await self.github.get(f"repos/{place.full_name}/issues/{issue.number}")
        return parse(GitHubIssue, reply.body, BACKEND, "an issue")

    async def add_comment(self, slug: str, body: str) -> Comment:
        place, issue = await self.github.issue(slug)
        if not body.strip():
            raise Invalid("body", "The comment is empty.", hint="Write what you want to say.")
        rules.validate_text("body", body, rules.COMMENT_MAX)
        reply = await self.client.request(
            "POST", f"repos/{place.full_name}/issues/{issue.number}/comments", json_body={"body": body}
        )
        return to_comment(
            parse(GitHubComment, reply.body, BACKEND, "the new comment"), f"{place.project.code}-{issue.number}"
        )


# Helpers without state.


def _bind(call: Callable[..., Awaitable[T]], *args: Any) -> Callable[[], Awaitable[T]]:
    return lambda: call(*args)


def _order(sort: TicketSort) -> Callable[[Ticket], Any]:
    if sort is TicketSort.UPDATED:
        return lambda t: (t.updated_at, t.project_id, t.number)
    if sort is TicketSort.PRIORITY:
        return lambda t: (t.priority.rank, t.created_at, t.project_id, t.number)
    return lambda t: (t.created_at, t.project_id, t.number)


def _state_body(status: Status) -> dict[str, Any]:
    state, reason = state_of(status)
    return {"state": state, "state_reason": reason} if reason else {"state": state}


def _kept(issue: GitHubIssue, sent: Mapping[str, Any], slug: str) -> None:
    """GitHub drops labels and assignees silently where the token's user lacks push access: say so."""
    dropped = [
        field
        for field, held in (
            ("labels", {n.casefold() for n in issue.label_names}),
            ("assignees", {u.login.casefold() for u in issue.assignees or ()}),
        )
        if field in sent and not {str(v).casefold() for v in sent[field]} <= held
    ]
    if dropped:
        raise PermissionDenied(
            f"{BACKEND} saved {slug} without its {' and '.join(dropped)}: the token's user lacks push access.",
            hint="Use a token with write access to the repository's issues, then set them again.",
        )
