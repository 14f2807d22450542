"""BugToMe (seed 000): organizations → projects with ticket counts → tickets, and filing a ticket.

    tickets-mcp --backend bugtome --url https://bugto.me          (TICKETS_TOKEN=pk_… or proj_…)

The token goes in `Authorization: Bearer`. A personal `pk_` token reads and files; a project `proj_`
token may only file tickets in its project (leave `project` out), so it is accepted at start
although it may not list anything. Everything else (changing, moving, deleting tickets, boards,
comments, sub-tasks, projects) is refused with Unsupported: the API has no way to do it.

The API has no ticket lookup: a slug is found in its project's list, which is newest first and so
ordered by number, by bisecting its pages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import product
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

import httpx2

from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import UNASSIGNED, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    HISTORY_SHOWN,
    Capability,
    Organization,
    OrganizationWorkspace,
    Project,
    Ticket,
    TicketDetail,
    TicketPage,
    Workspace,
)
from tickets_mcp.domain.rules import parse_slug, pick, suggestion
from tickets_mcp.domain.vocabulary import BUGTOME_PRIORITY, BUGTOME_STATUS, BugToMePriority, BugToMeStatus
from tickets_mcp.errors import NotFound, PermissionDenied
from tickets_mcp.remotes.base import RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy, RemoteClient, TokenRejected
from tickets_mcp.remotes.mapping import (
    READ_AND_FILE,
    api_root,
    find_project,
    only_project,
    parse,
    recover_created,
    refuse_filters,
    require_newest_first,
    token_holder,
    word_for,
    words_for,
)
from tickets_mcp.remotes.paging import PAGE_MAX, Chunk, PageReader, Source, list_page, page_headers, page_window
from tickets_mcp.wire.bugtome import (
    NewBugToMeTicket,
    OrganizationList,
    ProjectList,
    TicketEnvelope,
    TicketList,
    organization_record,
    project_record,
    ticket_record,
)

T = TypeVar("T")

BACKEND = "bugtome"
PROJECT_TOKEN_PREFIX = "proj_"  # noqa: S105 - the seed's prefix, not a secret
RECENT = 20  # newest tickets searched for one a lost POST may have made


async def open_adapter(
    settings: RemoteSettings, *, policy: Policy | None = None, transport: httpx2.AsyncBaseTransport | None = None
) -> BugToMeTracker:
    auth = {"authorization": f"Bearer {settings.token}"}
    client = RemoteClient(BACKEND, api_root(settings.url), auth, policy=policy, transport=transport)
    tracker = BugToMeTracker(client)
    async with client.closed_on_failure():
        await tracker.check(filing_only=settings.token.startswith(PROJECT_TOKEN_PREFIX))
    return tracker


class BugToMeTracker(RemoteTracker):
    name: ClassVar[str] = BACKEND
    maps: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, client: RemoteClient) -> None:
        super().__init__(client)
        self._projects: list[Project] = []  # what list_projects saw last, to turn codes into ids

    # Requests

    async def _every(self, path: str, items: Callable[[Any], list[T]]) -> list[T]:
        """Every item of one of the API's page/per_page lists."""
        found: list[T] = []
        page = 1
        while True:
            reply = await self.client.request("GET", path, params={"page": page, "per_page": PAGE_MAX})
            listed = items(reply.body)
            found += listed
            _, more = page_headers(reply.headers, page, PAGE_MAX, len(listed))
            if not more or not listed:
                return found
            page += 1

    async def _organizations(self) -> list[Organization]:
        listed = await self._every(
            "api/v1/mcp/organizations",
            lambda body: parse(OrganizationList, body, BACKEND, "the organizations").organizations,
        )
        return [organization_record(o) for o in listed]

    async def _organization(self, reference: str | None) -> list[Organization]:
        organizations = await self._organizations()
        if reference is None:
            return organizations
        found = pick(
            reference, organizations, lambda o: o.slug, lambda o: o.id, lambda o: o.name,
            field="organization", describe=lambda o: o.slug,
        )  # fmt: skip
        if found is None:
            raise NotFound(
                f"Organization {reference!r} not found.",
                hint=suggestion(reference, [o.slug for o in organizations], "organizations"),
            )
        return [found]

    async def _projects_of(self, organization: Organization) -> list[Project]:
        path = f"api/v1/mcp/organizations/{quote(organization.id, safe='')}/projects"
        listed = await self._every(path, lambda body: parse(ProjectList, body, BACKEND, "the projects").projects)
        return [project_record(p, organization.id) for p in listed]

    def _tickets_reader(self, organization_id: str, params: dict[str, Any]) -> PageReader:
        path = f"api/v1/mcp/organizations/{quote(organization_id, safe='')}/tickets"

        async def read(page: int, per_page: int) -> Chunk:
            reply = await self.client.request("GET", path, params={**params, "page": page, "per_page": per_page})
            tickets = [ticket_record(t) for t in parse(TicketList, reply.body, BACKEND, "a ticket list").tickets]
            total, more = page_headers(reply.headers, page, per_page, len(tickets))
            return Chunk(tickets=tickets, total=total, more=more)

        return read

    async def check(self, *, filing_only: bool = False) -> None:
        try:
            await self.client.request("GET", "api/v1/mcp/organizations", params={"per_page": 1})
        except PermissionDenied as refused:
            # A project token may only file tickets: being refused a list (403) is all it can show here;
            # a token the server does not know (401) fails here like any other.
            if not filing_only or isinstance(refused, TokenRejected):
                raise

    async def _project(self, reference: str, organization: str | None = None) -> Project:
        found = find_project(reference, self._projects)
        if found is None:
            found = find_project(reference, await self.list_projects(organization))
        if found is None:
            raise NotFound(
                f"Project {reference!r} not found.",
                hint=suggestion(reference, [p.code for p in self._projects], "projects", "list_projects"),
            )
        return found

    # What every tracker API offers

    async def workspace(self) -> Workspace:
        entries: list[OrganizationWorkspace] = []
        for organization in await self._organizations():
            projects = await self._projects_of(organization)
            entries.append(
                OrganizationWorkspace(
                    organization=organization, role=READ_AND_FILE, projects=tuple(projects), members=()
                )
            )
        self._projects = [p for entry in entries for p in entry.projects]
        return self.with_capabilities(Workspace(user=token_holder(BACKEND), organizations=tuple(entries)))

    async def list_organizations(self) -> list[Organization]:
        return await self._organizations()

    async def list_projects(self, organization: str | None = None) -> list[Project]:
        projects = [p for org in await self._organization(organization) for p in await self._projects_of(org)]
        known = {p.id: p for p in self._projects} | {p.id: p for p in projects}
        self._projects = list(known.values())
        return projects

    async def find_tickets(self, query: TicketFilter) -> TicketPage:
        refuse_filters(query, BACKEND, {"priorities"})
        require_newest_first(query, BACKEND)
        statuses = words_for(BUGTOME_STATUS, query.statuses, BACKEND, "status") or [None]
        priorities = words_for(BUGTOME_PRIORITY, query.priorities, BACKEND, "priority") or [None]
        if query.project is not None:
            project = await self._project(query.project, query.organization)
            places: list[tuple[str, dict[str, Any]]] = [(project.organization_id, {"project_id": project.id})]
        else:
            places = [(org.id, {}) for org in await self._organization(query.organization)]

        def source(organization_id: str, params: dict[str, Any], status: BugToMeStatus | None,
                   priority: BugToMePriority | None) -> Source:  # fmt: skip
            extra = {"status": status.value} if status else {}
            extra |= {"priority": priority.value} if priority else {}
            read = self._tickets_reader(organization_id, {**params, **extra})

            async def window(offset: int, limit: int) -> Chunk:
                return await page_window(read, offset, limit)

            return window

        sources = [
            source(org, params, status, priority)
            for (org, params), status, priority in product(places, statuses, priorities)
        ]
        return await list_page(query, sources, lambda t: (t.created_at, t.id))

    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail:
        code, number = parse_slug(slug)
        project = await self._project(code)
        read = self._tickets_reader(project.organization_id, {"project_id": project.id})
        ticket = await find_by_number(read, number)
        if ticket is None:
            raise NotFound(
                f"Ticket {code}-{number} not found.",
                hint="Check the slug with list_tickets; deleted tickets keep their number.",
            )
        return TicketDetail(ticket=ticket, subtasks=(), comments=())

    async def file_ticket(self, draft: TicketDraft) -> Ticket:
        priority = word_for(BUGTOME_PRIORITY, draft.priority, BACKEND, "priority")
        status = word_for(BUGTOME_STATUS, draft.status, BACKEND, "status")
        assignee = draft.assignee.strip() if draft.assignee is not None else None
        project: Project | None = None
        project_id: str | None = None
        if draft.project is not None:
            try:
                project = await self._project(draft.project, draft.organization)
                project_id = project.id
            except PermissionDenied as refused:  # a project token may not list projects; the API checks the name
                if isinstance(refused, TokenRejected):
                    raise
                project_id = draft.project.strip()
        body = NewBugToMeTicket(
            title=draft.title,
            project_id=project_id,
            description=draft.description,
            type=draft.type,
            priority=priority,
            status=status,
            labels=list(draft.labels),
            assignee=None if assignee is None or assignee.casefold() == UNASSIGNED else assignee,
        )
        sent_at = time.time()
        try:
            reply = await self.client.request(
                "POST", "api/v1/tickets", json_body=body.model_dump(mode="json", exclude_none=True)
            )
        except Ambiguous as lost:
            named = project

            async def newest() -> list[Ticket]:
                filed_in = named or only_project(await self.list_projects(draft.organization), BACKEND)
                read = self._tickets_reader(filed_in.organization_id, {"project_id": filed_in.id})
                return list((await read(1, RECENT)).tickets)

            return await recover_created(lost, sent_at, draft.title, newest)
        return ticket_record(parse(TicketEnvelope, reply.body, BACKEND, "the new ticket").ticket)


async def find_by_number(read: PageReader, number: int) -> Ticket | None:
    """The ticket numbered `number` in a list sorted by number, highest first: bisecting its pages where
    the API counts them, else page by page."""
    page, chunk = 1, await read(1, PAGE_MAX)
    pages = -(-chunk.total // PAGE_MAX) if chunk.total is not None else None
    low, high = 1, pages
    while chunk.tickets:
        if number > chunk.tickets[0].number:
            high = page - 1  # on an earlier page
        elif number < chunk.tickets[-1].number:
            low = page + 1  # on a later page
        else:
            return next((t for t in chunk.tickets if t.number == number), None)
        if high is None:
            if not chunk.more:
                return None
            page = low
        elif low > high:
            return None
        else:
            page = (low + high) // 2
        chunk = await read(page, PAGE_MAX)
    return None
