"""ABF (seed 002): issues across projects and groups, open or closed, filed and changed per project.

    tickets-mcp --backend abf --url https://abf.example.com          (TICKETS_TOKEN in PRIVATE-TOKEN)

How the API's shapes become the canonical model:

- An issue is open (backlog) or closed (done); it has no type (task), priority (medium), parent or
  comments. Writing another status, type or priority is refused rather than stored as something else.
- The API lists no groups and no projects. The adapter shows one organization standing for every
  project the token sees; a group's id, passed as `organization`, lists that group's issues. Projects
  are the ones its issues name, found by reading every issue (which also gives exact counts).
- A project is known by its id only, which may be long (a UUID), so slugs use a short code made from
  it: `P` and the id for a numeric id (`P3-11` is issue 11 of project 3), else `P` and its first
  eight letters and digits (`P550E8400-11`; nine, or `Q` and a hash, where two ids begin alike). A
  slug whose code is none of these is sent as the project's id as written, for servers that also
  know projects by code (tickets-mcp serve does).
- Users are objects with a numeric id; an assignee is written by that id or by the username of a
  user seen on an issue.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx2

from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import ME, UNASSIGNED, TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    HISTORY_SHOWN,
    Capability,
    Organization,
    OrganizationWorkspace,
    Priority,
    Project,
    Ticket,
    TicketDetail,
    TicketPage,
    TicketSort,
    TicketType,
    Workspace,
)
from tickets_mcp.domain.rules import check_version, parse_slug, parse_timestamp
from tickets_mcp.domain.vocabulary import ABF_STATUS, AbfStatus
from tickets_mcp.errors import BackendUnavailable, Invalid
from tickets_mcp.remotes.base import RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy, RemoteClient
from tickets_mcp.remotes.mapping import (
    CHANGE_TICKETS,
    api_root,
    only_project,
    parse,
    recover_created,
    refuse,
    refuse_changes,
    refuse_filters,
    token_holder,
    user_id,
    word_for,
    words_for,
)
from tickets_mcp.remotes.paging import Chunk, PageReader, Source, list_page, page_headers, page_window, read_all
from tickets_mcp.wire.abf import (
    AbfIssue,
    IssueChangeRequest,
    IssueChanges,
    IssueEnvelope,
    IssueList,
    IssueResultEnvelope,
    NewIssue,
    NewIssueRequest,
    issue_record,
)

BACKEND = "abf"
EVERYTHING = "abf"  # the organization standing for every project the token sees
ALIAS = re.compile(r"[PQ][0-9A-Z]{1,9}")
RECENT = 20  # newest issues searched for one a lost POST may have made


async def open_adapter(
    settings: RemoteSettings, *, policy: Policy | None = None, transport: httpx2.AsyncBaseTransport | None = None
) -> AbfTracker:
    root = api_root(settings.url)
    client = RemoteClient(BACKEND, root, {"private-token": settings.token}, policy=policy, transport=transport)
    tracker = AbfTracker(client, urlsplit(root).netloc)
    async with client.closed_on_failure():
        await tracker.check()  # a wrong URL or token fails here, at start
    return tracker


class AbfTracker(RemoteTracker):
    name: ClassVar[str] = BACKEND
    maps: ClassVar[frozenset[Capability]] = frozenset({Capability.EDIT_TICKETS})

    def __init__(self, client: RemoteClient, host: str) -> None:
        super().__init__(client)
        self.organization = Organization(id=EVERYTHING, name=f"every project on {host}", slug=EVERYTHING)
        self._projects: dict[str, str] = {}  # short code -> project id
        self._codes: dict[str, str] = {}  # project id -> short code
        self._users: dict[str, int] = {}  # username (case-folded) -> id, as issues showed them

    # Requests and shapes

    async def check(self) -> None:
        await self.client.request("GET", "api/v1/issues.json", params={"per_page": 1})

    def _reader(self, path: str, params: dict[str, Any]) -> PageReader:
        async def read(page: int, per_page: int) -> Chunk:
            reply = await self.client.request("GET", path, params={**params, "page": page, "per_page": per_page})
            tickets = [self._ticket_of(i) for i in parse(IssueList, reply.body, BACKEND, "an issue list").issues]
            total, more = page_headers(reply.headers, page, per_page, len(tickets))
            return Chunk(tickets=tickets, total=total, more=more)

        return read

    async def _issue(self, project_id: str, number: int) -> Ticket:
        body = await self._get(f"{_project_path(project_id)}/issues/{number}.json")
        return self._ticket_of(parse(IssueEnvelope, body, BACKEND, "an issue").issue)

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return (await self.client.request("GET", path, params=params)).body

    def _code(self, project_id: str) -> str:
        """The short code slugs use for a project (see the module's notes)."""
        known = self._codes.get(project_id)
        if known is not None:
            return known
        if project_id.isdigit() and len(project_id) <= 9:
            candidates = ["P" + project_id]
        else:
            letters = re.sub(r"[^0-9A-Za-z]", "", project_id).upper()
            digest = hashlib.blake2b(project_id.encode(), digest_size=5).hexdigest().upper()
            candidates = ["P" + letters[:8], "P" + letters[:9], "Q" + digest[:9]] if letters else ["Q" + digest[:9]]
        code = next((c for c in candidates if c not in self._projects), None)
        if code is None:  # never two projects behind one code: a slug must name one ticket
            raise BackendUnavailable(f"{BACKEND}: two projects' ids begin alike; no short code for {project_id!r}.")
        self._projects[code] = project_id
        self._codes[project_id] = code
        return code

    def _ticket_of(self, issue: AbfIssue) -> Ticket:
        for user in (issue.assignee, issue.owner, issue.closed_by):
            if user is not None and user.id is not None:
                self._users[user.uname.casefold()] = user.id
        return issue_record(issue, self._code(issue.project_id))

    def _issues_path(self, organization: str | None) -> str:
        if organization is None or organization.strip().casefold() == EVERYTHING:
            return "api/v1/issues.json"
        return f"api/v1/group/{quote(organization.strip(), safe='')}/issues.json"

    async def _project_id(self, reference: str) -> str:
        """A project's id from its short code, or the reference itself (an id, or a code the server knows)."""
        ref = reference.strip()
        code = ref.upper()
        if code in self._projects:
            return self._projects[code]
        if ref in self._codes:
            return ref
        if ALIAS.fullmatch(code):
            if code[0] == "P" and code[1:].isdigit():
                return code[1:]  # a numeric id's code says the id
            await self.list_projects()  # learn the codes of every project with an issue
            return self._projects.get(code, ref)
        return ref

    def _assignee_id(self, assignee: str) -> int:
        known = self._users.get(assignee.strip().casefold())
        return known if known is not None else user_id(assignee, BACKEND)

    # What every tracker API offers

    async def workspace(self) -> Workspace:
        projects = await self.list_projects()
        entry = OrganizationWorkspace(
            organization=self.organization, role=CHANGE_TICKETS, projects=tuple(projects), members=()
        )
        return self.with_capabilities(Workspace(user=token_holder(BACKEND), organizations=(entry,)))

    async def list_organizations(self) -> list[Organization]:
        await self.check()
        return [self.organization]

    async def list_projects(self, organization: str | None = None) -> list[Project]:
        path = self._issues_path(organization)
        counts: dict[str, list[int]] = {}  # project id -> [tickets, open tickets]
        for word in AbfStatus:
            for ticket in await read_all(self._reader(path, {"filter": "all", "status": word.value})):
                count = counts.setdefault(ticket.project_id, [0, 0])
                count[0] += 1
                count[1] += word is AbfStatus.OPEN
        owner = self.organization.id if path == "api/v1/issues.json" else (organization or "").strip()
        return [
            Project(
                id=project_id,
                organization_id=owner,
                name=project_id,
                code=self._code(project_id),
                description="",
                created_at="",
                tickets_count=total,
                open_tickets_count=still_open,
            )
            for project_id, (total, still_open) in sorted(counts.items(), key=lambda item: self._code(item[0]))
        ]

    async def find_tickets(self, query: TicketFilter) -> TicketPage:
        refuse_filters(query, BACKEND, {"assignee", "reporter", "labels", "updated_since"})
        if query.sort is TicketSort.PRIORITY:
            raise refuse(BACKEND, "sort tickets by priority", hint="Sort by created or updated.")
        params: dict[str, Any] = {
            "sort": "updated" if query.sort is TicketSort.UPDATED else "submitted",
            "direction": "desc" if query.descending else "asc",
        }
        if query.labels:
            params["labels"] = ",".join(label.strip() for label in query.labels)
        if query.updated_since:
            since = parse_timestamp("updated_since", query.updated_since)
            params["since"] = int(datetime.fromisoformat(since).timestamp())
        assignee = query.assignee.strip() if query.assignee else None
        reporter = query.reporter.strip() if query.reporter else None
        if query.project is not None:
            path = f"{_project_path(await self._project_id(query.project))}/issues.json"
            if ME in (_fold(assignee), _fold(reporter)):
                raise refuse(BACKEND, "filter one project's issues by 'me'", hint="Name the user instead.")
            if assignee:
                params["assignee"] = assignee  # a username, or none
            if reporter:
                params["creator"] = reporter
        else:
            path = self._issues_path(query.organization)
            params["filter"] = _cross_project_filter(_fold(assignee), _fold(reporter))
        words = words_for(ABF_STATUS, query.statuses, BACKEND, "status") or list(AbfStatus)

        def source(word: AbfStatus) -> Source:
            read = self._reader(path, {**params, "status": word.value})

            async def window(offset: int, limit: int) -> Chunk:
                return await page_window(read, offset, limit)

            return window

        def order(ticket: Ticket) -> tuple[str, str, int]:
            moment = ticket.updated_at if query.sort is TicketSort.UPDATED else ticket.created_at
            return moment, ticket.project_id, ticket.number

        return await list_page(query, [source(word) for word in words], order, descending=query.descending)

    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail:
        code, number = parse_slug(slug)
        ticket = await self._issue(await self._project_id(code), number)
        return TicketDetail(ticket=ticket, subtasks=(), comments=())

    async def file_ticket(self, draft: TicketDraft) -> Ticket:
        if draft.type is not TicketType.TASK:
            raise refuse(BACKEND, f"file a {draft.type.value}", hint="ABF issues have no type: leave type out.")
        if draft.priority is not Priority.MEDIUM:
            raise refuse(BACKEND, "set a priority", hint="ABF issues have no priority: leave priority out.")
        word = word_for(ABF_STATUS, draft.status, BACKEND, "status")
        if draft.project is None:
            project_id = only_project(await self.list_projects(draft.organization), BACKEND).id
        else:
            project_id = await self._project_id(draft.project)
        assignee = draft.assignee.strip() if draft.assignee is not None else UNASSIGNED
        issue = NewIssue(
            title=draft.title,
            body=draft.description,
            status=word,
            assignee_id=None if assignee.casefold() == UNASSIGNED else self._assignee_id(assignee),
            labels=list(draft.labels),
        )
        path = f"{_project_path(project_id)}/issues.json"
        sent_at = time.time()
        try:
            body = NewIssueRequest(issue=issue).model_dump(mode="json", exclude_none=True)
            reply = await self.client.request("POST", path, json_body=body)
        except Ambiguous as lost:
            read = self._reader(path, {"status": word.value, "sort": "submitted", "direction": "desc"})

            async def newest() -> list[Ticket]:
                return list((await read(1, RECENT)).tickets)

            return await recover_created(lost, sent_at, draft.title, newest)
        result = parse(IssueResultEnvelope, reply.body, BACKEND, "the new issue").issue
        if result.number is None:
            raise Invalid(
                "request", f"{BACKEND} did not create the issue: {result.message[:200] or 'no reason given'}."
            )
        # Read back: without push access the API drops assignee and labels silently, and the ticket shows it.
        return await self._issue(project_id, result.number)

    # What this API offers beyond that

    async def change(self, slug: str, changes: TicketChanges, version: int | None) -> Ticket:
        refuse_changes(changes, BACKEND, {"title", "description", "status", "assignee", "labels"})
        code, number = parse_slug(slug)
        project_id = await self._project_id(code)
        if version is not None:
            check_version(await self._issue(project_id, number), version)
        status = word_for(ABF_STATUS, changes.status, BACKEND, "status") if changes.status is not None else None
        cleared: dict[str, None] = {}  # fields sent as null, which clears them
        assignee_id = None
        if changes.assignee is not None:
            if changes.assignee.strip().casefold() == UNASSIGNED:
                cleared["assignee_id"] = None
            else:
                assignee_id = self._assignee_id(changes.assignee)
        issue = IssueChanges(
            title=changes.title,
            body=changes.description,
            assignee_id=assignee_id,
            status=status,
            labels=list(changes.labels) if changes.labels is not None else None,
        )
        body = IssueChangeRequest(issue=issue).model_dump(mode="json", exclude_none=True)
        body["issue"] |= cleared
        path = f"{_project_path(project_id)}/issues/{number}.json"
        await self.client.request("PUT", path, json_body=body)
        return await self._issue(project_id, number)


def _project_path(project_id: str) -> str:
    return f"api/v1/projects/{quote(project_id, safe='')}"


def _fold(value: str | None) -> str | None:
    return value.casefold() if value is not None else None


def _cross_project_filter(assignee: str | None, reporter: str | None) -> str:
    """Seed 002's `filter` for lists across projects: yours, or all; other users only within a project."""
    if assignee is None and reporter is None:
        return "all"
    if assignee == ME and reporter is None:
        return "assigned"
    if reporter == ME and assignee is None:
        return "created"
    raise refuse(
        BACKEND,
        "filter issues across projects by another user, or by assignee and reporter at once",
        hint="Pass project to filter by any user, or filter by 'me' alone.",
    )
