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
- A listing lets GitHub sort and filter what it can and reads only as far as the page asked for;
  GitHub's search counts it and finds text (`github_listing`). Versions are the update time in
  Unix seconds, checked before writing.
- GitHub's REST API cannot delete issues, create repositories for us, order a column or sort by priority: those
  refuse with Unsupported, naming github. Rate limits (primary and secondary) become RateLimited.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Mapping
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
    Milestone,
    Organization,
    OrganizationWorkspace,
    Project,
    Role,
    Status,
    Ticket,
    TicketDetail,
    TicketPage,
    User,
    Workspace,
    rules,
)
from tickets_mcp.domain.rules import check_version
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied, TrackerError
from tickets_mcp.remotes.base import PartlyFiled, RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy, RemoteClient, TokenRejected
from tickets_mcp.remotes.github_directory import Directory
from tickets_mcp.remotes.github_listing import list_page, login
from tickets_mcp.remotes.github_mapping import (
    BACKEND,
    Place,
    changed_labels,
    new_labels,
    state_of,
    to_comment,
)
from tickets_mcp.remotes.github_milestones import GitHubMilestones
from tickets_mcp.remotes.mapping import parse, recover_created
from tickets_mcp.remotes.paging import bind, gather
from tickets_mcp.wire.github import (
    Comments,
    GitHubComment,
    GitHubIssue,
    GitHubUser,
    Issues,
    Users,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
Entry = TypeVar("Entry", bound=BaseModel)

API_VERSION = "2022-11-28"
SCAN_PAGES = 10  # pages of one repository's issues the board reads at most: 1,000 issues
COMMENT_PAGES = 10
BOARD_PER_COLUMN_MAX = 100
MEMBER_REPOSITORIES = 10  # repositories of an owner whose assignable users the workspace lists
MEMBER_READS = 40  # assignee lists the workspace reads in all (_member_sources): 40 requests at most
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
    maps: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.EDIT_TICKETS, Capability.MOVE_TICKETS, Capability.COMMENT, Capability.BOARD, Capability.SUBTASKS,
            Capability.MILESTONES,
        }
    )  # fmt: skip

    def __init__(self, client: RemoteClient, me: User) -> None:
        super().__init__(client)
        self.me = me
        self.github = Directory(client, me)
        self.milestones = GitHubMilestones(self.github)

    # Workspace

    async def workspace(self) -> Workspace:
        places = await self.github.places()
        owners = {p.owner.id: p.owner for p in places}
        owned = {oid: [p for p in places if p.owner.id == oid] for oid in owners}
        sources = _member_sources(owned)
        entries = await gather(
            [bind(self._organization_entry, owner, owned[oid], sources[oid]) for oid, owner in owners.items()]
        )
        return self.with_capabilities(Workspace(user=self.me, organizations=tuple(entries)))

    async def _organization_entry(
        self, owner: Organization, places: list[Place], sources: list[Place]
    ) -> OrganizationWorkspace:
        """The owner's entry: its projects, and as members the assignable users of `sources`."""
        role = min((p.role for p in places), key=list(Role).index)
        people: dict[int, User] = {}
        for place in sources:
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

    async def find_tickets(self, query: TicketFilter) -> TicketPage:
        return await list_page(self.github, query)

    async def _issues_of(self, place: Place, params: Mapping[str, Any]) -> tuple[list[Ticket], bool]:
        issues, complete = await self.github.pages(
            f"repos/{place.full_name}/issues", params, Issues, "a list of issues", SCAN_PAGES
        )
        return await self.github.tickets(issues, place), complete

    async def get_board(
        self,
        project: str | None = None,
        *,
        per_column: int = 20,
        organization: str | None = None,
        milestone: str | None = None,
    ) -> Board:
        self.refuse_milestone_board(milestone)
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

    async def _create(self, draft: TicketDraft) -> Ticket:
        _assignee(draft.assignee, self.me.username)  # refused before anything is sent, look-alike searches too
        return await super()._create(draft)

    async def file_ticket(self, draft: TicketDraft) -> Ticket:
        assignee = _assignee(draft.assignee, self.me.username)
        place = await self.github.place(draft.project, draft.organization)
        parent = await self.github.issue(draft.parent) if draft.parent else None
        title = rules.normalize_title(draft.title)
        labels = new_labels(draft.status, draft.type, draft.priority, rules.normalize_labels(draft.labels))
        body: dict[str, Any] = {
            "title": title,
            "body": rules.validate_text("description", draft.description, rules.DESCRIPTION_MAX),
            "labels": labels,
        }
        if assignee:
            body["assignees"] = [await self._assignable(place, assignee)]
        if draft.milestone is not None and (number := await self.milestones.number(place, draft.milestone)):
            body["milestone"] = number
        sent = time.time()
        try:
            reply = await self.client.request("POST", f"repos/{place.full_name}/issues", json_body=body)
            issue = parse(GitHubIssue, reply.body, BACKEND, "the new issue")
        except Ambiguous as lost:
            ticket = await recover_created(lost, sent, title, lambda: self._newest_of_mine(place))
            _, issue = await self.github.issue(ticket.slug)
        _kept(issue, body, f"{place.project.code}-{issue.number}")
        # The issue exists from here on: a step that fails says what was filed (PartlyFiled), so that a retry
        # with the same idempotency key gets this issue back instead of filing a twin.
        if draft.status in CLOSED_STATUSES:
            closing = self._patch(place, issue.number, _state_body(draft.status))
            issue = await self._finish(place, issue, f"but not as {draft.status.value}", closing)
        if parent is not None:
            home, above = parent
            adopting = self._adopt(parent, issue, place)
            issue = await self._finish(place, issue, f"without its parent {home.project.code}-{above.number}", adopting)
        return await self.github.ticket(place, issue)

    async def _finish(
        self, place: Place, issue: GitHubIssue, missing: str, step: Awaitable[GitHubIssue]
    ) -> GitHubIssue:
        """`step` done to the issue just filed, or PartlyFiled naming it and what it lacks (`missing`)."""
        try:
            return await step
        except TrackerError as failed:
            ticket = await self.github.ticket(place, issue)
            raise PartlyFiled(
                f"Filed {ticket.slug} ({ticket.status.value}, {ticket.type.value}, {ticket.priority.value}) "
                f"{missing}: {failed.message}",
                ticket,
                hint=failed.hint,
            ) from None

    async def _assignable(self, place: Place, name: str) -> str:
        """The login `name`, once GitHub says it may be assigned issues in `place` (it would drop it silently)."""
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
        assignee = _assignee(changes.assignee, self.me.username)
        place, issue = await self.github.issue(slug)
        current = await self.github.ticket(place, issue)
        check_version(current, version)
        body: dict[str, Any] = {}
        if changes.title is not None and (title := rules.normalize_title(changes.title)) != current.title:
            body["title"] = title
        if changes.description is not None and changes.description != current.description:
            body["body"] = rules.validate_text("description", changes.description, rules.DESCRIPTION_MAX)
        if assignee is not None:
            body["assignees"] = [await self._assignable(place, assignee)] if assignee else []
        if changes.milestone is not None:
            number = await self.milestones.number(place, changes.milestone)
            if number != (issue.milestone.number if issue.milestone else None):
                body["milestone"] = number
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

    # Milestones (github_milestones)

    async def list_milestones(
        self, project: str | None = None, *, closed: bool = False, organization: str | None = None
    ) -> list[Milestone]:
        return await self.milestones.listed(await self.github.place(project, organization), closed=closed)

    async def save_milestone(
        self, project: str | None, name: str, *, rename: str | None = None, start_date: str | None = None,
        due_date: str | None = None, closed: bool | None = None, open_tickets: str | None = None,
        organization: str | None = None,
    ) -> Milestone:  # fmt: skip
        place = await self.github.place(project, organization)
        return await self.milestones.save(
            place, name, rename=rename, start_date=start_date, due_date=due_date, closed=closed,
            open_tickets=open_tickets,
        )  # fmt: skip


# Helpers without state.


def _assignee(value: str | None, me: str) -> str | None:
    """The login an assignee names ('me': the token's user), "" for 'none', None if not given. Only a GitHub
    login is taken: it goes into a URL path, where `../../../../user` would reach another endpoint."""
    if value is None or value.strip().casefold() == UNASSIGNED:
        return None if value is None else ""
    wanted = value.strip()
    return me if wanted.casefold() == ME else login(wanted, "assignee")


def _member_sources(owned: Mapping[str, list[Place]]) -> dict[str, list[Place]]:
    """The repositories whose assignees each owner's members are read from: each owner's first repository,
    then each one's second, and so on, MEMBER_REPOSITORIES of an owner and MEMBER_READS in all at most.
    What is left out is logged: those owners list fewer members (the token's user at least)."""
    sources: dict[str, list[Place]] = {oid: [] for oid in owned}
    budget = MEMBER_READS
    for rank in range(MEMBER_REPOSITORIES):
        for oid, places in owned.items():
            if rank < len(places) and budget > 0:
                sources[oid].append(places[rank])
                budget -= 1
    wanted = sum(min(len(places), MEMBER_REPOSITORIES) for places in owned.values())
    if wanted > MEMBER_READS:
        log.info("%s: the workspace reads the assignees of %d of %d repositories", BACKEND, MEMBER_READS, wanted)
    return sources


def _state_body(status: Status) -> dict[str, Any]:
    state, reason = state_of(status)
    return {"state": state, "state_reason": reason} if reason else {"state": state}


def _kept(issue: GitHubIssue, sent: Mapping[str, Any], slug: str) -> None:
    """GitHub drops labels, assignees and milestones silently where the token's user lacks push access: say so."""
    dropped = [
        field
        for field, held in (
            ("labels", {n.casefold() for n in issue.label_names}),
            ("assignees", {u.login.casefold() for u in issue.assignees or ()}),
        )
        if field in sent and not {str(v).casefold() for v in sent[field]} <= held
    ]
    if "milestone" in sent and sent["milestone"] != (issue.milestone.number if issue.milestone else None):
        dropped.append("milestone")
    if dropped:
        raise PermissionDenied(
            f"{BACKEND} saved {slug} without its {' and '.join(dropped)}: the token's user lacks push access.",
            hint="Use a token with write access to the repository's issues, then set them again.",
        )
