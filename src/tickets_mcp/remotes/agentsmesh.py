"""AgentsMesh (seed 001): one organization's tickets by slug, its Kanban board, updates and status patches.

Every path of the API names the organization (`/api/v1/ext/orgs/<org>/tickets`), and an `amk_` key
belongs to one, so the organization comes from the URL:

    tickets-mcp --backend agentsmesh --url https://mesh.example.com/api/v1/ext/orgs/my-org

The key goes in `X-API-Key`. The API has no project list: projects are the repositories its tickets
name, found through the board (so a project without tickets is not listed, though a ticket can still
be filed in it by its id). Users are numeric ids (`assignee_id`), so an assignee reads and is written
as that number. Sub-tasks (`parent_slug`) are found by reading the project's tickets, since no filter
gives a ticket's children. There are no comments and no order within a column.
"""

from __future__ import annotations

import logging
import time
from itertools import product
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx2

from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import ME, UNASSIGNED, TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    HISTORY_SHOWN,
    Board,
    BoardColumn,
    Capability,
    Organization,
    OrganizationWorkspace,
    Project,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    TicketType,
    Workspace,
)
from tickets_mcp.domain.rules import check_version, parse_slug
from tickets_mcp.domain.vocabulary import AGENTSMESH_STATUS, AgentsMeshStatus
from tickets_mcp.errors import Invalid, NotFound
from tickets_mcp.remotes.base import RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy, RemoteClient
from tickets_mcp.remotes.mapping import (
    CHANGE_TICKETS,
    find_project,
    only_project,
    parse,
    recover_created,
    refuse,
    refuse_changes,
    refuse_filters,
    require_newest_first,
    token_holder,
    user_id,
    word_for,
    words_for,
)
from tickets_mcp.remotes.paging import PAGE_MAX, Chunk, Source, gather, list_page
from tickets_mcp.wire import agentsmesh as wire
from tickets_mcp.wire.agentsmesh import board_ticket_record, ticket_record

log = logging.getLogger(__name__)

BACKEND = "agentsmesh"
ORGS_PATH = "/api/v1/ext/orgs/"
BOARD_COLUMN_CAP = 100  # a column this full may have been cut by the API: its total is counted apart
RECENT = 20  # newest tickets searched for one a lost POST may have made


def organization_url(url: str) -> tuple[str, str]:
    """The API base (`…/api/v1/ext/orgs/<org>/`) and the organization named in --url."""
    parts = urlsplit(url.strip())
    at = parts.path.find(ORGS_PATH)
    rest = parts.path[at + len(ORGS_PATH) :].strip("/").split("/") if at >= 0 else [""]
    if not rest[0] or rest[1:] not in ([], ["tickets"]):
        raise Invalid(
            "url",
            "The agentsmesh URL must name the organization, as the API's paths do.",
            hint="Pass e.g. --url https://mesh.example.com/api/v1/ext/orgs/my-org",
        )
    base = parts.path[: at + len(ORGS_PATH)] + rest[0] + "/"
    return urlunsplit(parts._replace(path=base, query="", fragment="")), unquote(rest[0])


async def open_adapter(
    settings: RemoteSettings, *, policy: Policy | None = None, transport: httpx2.AsyncBaseTransport | None = None
) -> AgentsMeshTracker:
    base, organization = organization_url(settings.url)
    client = RemoteClient(BACKEND, base, {"x-api-key": settings.token}, policy=policy, transport=transport)
    tracker = AgentsMeshTracker(client, organization)
    async with client.closed_on_failure():
        await tracker.check()  # a wrong URL, organization or key fails here, at start
    return tracker


class AgentsMeshTracker(RemoteTracker):
    name: ClassVar[str] = BACKEND
    maps: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.EDIT_TICKETS,
            Capability.MOVE_TICKETS,
            Capability.DELETE_TICKETS,
            Capability.BOARD,
            Capability.SUBTASKS,
        }
    )

    def __init__(self, client: RemoteClient, organization: str) -> None:
        super().__init__(client)
        self.organization = Organization(id=organization, name=organization, slug=organization)
        self._projects: dict[str, Project] = {}  # by id: what the board showed last

    # Requests

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return (await self.client.request("GET", path, params=params)).body

    @staticmethod
    def _path(slug: str) -> str:
        parse_slug(slug)  # a malformed slug is refused before asking
        return f"tickets/{quote(slug.strip(), safe='')}"

    async def _ticket(self, slug: str) -> wire.MeshTicket:
        return parse(wire.TicketEnvelope, await self._get(self._path(slug)), BACKEND, "a ticket").ticket

    async def _list(self, params: dict[str, Any]) -> wire.TicketList:
        return parse(wire.TicketList, await self._get("tickets", params), BACKEND, "a ticket list")

    async def check(self) -> None:
        await self._list({"limit": 1})

    def _check_organization(self, organization: str | None) -> None:
        org = self.organization
        if organization is not None and organization.strip().casefold() != org.slug.casefold():
            raise NotFound(
                f"Organization {organization!r} not found.",
                hint=f"This agentsmesh URL is for organization {org.slug}; --url names it.",
            )

    # Projects: the repositories its tickets name

    async def _discover(self, *, counts: bool) -> list[Project]:
        """Every project with a ticket: codes from the board, ids from one ticket each, counts if asked."""
        board = parse(wire.BoardEnvelope, await self._get("tickets/board"), BACKEND, "the board").board
        sample: dict[str, str] = {}
        for column in board.columns:
            for item in column.tickets:
                sample.setdefault(item.slug.rpartition("-")[0].upper(), item.slug)

        async def project(code: str, slug: str) -> Project:
            repository = ticket_record(await self._ticket(slug)).project_id or code
            total = open_count = None
            if counts:
                everything, done = await gather(
                    [
                        lambda: self._list({"repository_id": repository, "limit": 1}),
                        lambda: self._list({"repository_id": repository, "status": "done", "limit": 1}),
                    ]
                )
                if everything.total is not None and done.total is not None:
                    total, open_count = everything.total, everything.total - done.total
            return Project(
                id=repository, organization_id=self.organization.id, name=code, code=code, description="",
                created_at="", tickets_count=total, open_tickets_count=open_count,
            )  # fmt: skip

        found = await gather([lambda c=code, s=slug: project(c, s) for code, slug in sorted(sample.items())])
        self._projects = {p.id: p for p in found}
        return found

    async def _project(self, reference: str) -> Project:
        """A project by code, id or name; one the board does not show is taken to be named by its id."""
        found = find_project(reference, list(self._projects.values()))
        if found is None:
            found = find_project(reference, await self._discover(counts=False))
        if found is None:
            ref = reference.strip()
            found = Project(
                id=ref, organization_id=self.organization.id, name=ref, code=ref.upper(), description="", created_at=""
            )
        return found

    # What every tracker API offers

    async def workspace(self) -> Workspace:
        projects = await self._discover(counts=True)
        entry = OrganizationWorkspace(
            organization=self.organization, role=CHANGE_TICKETS, projects=tuple(projects), members=()
        )
        return self.with_capabilities(Workspace(user=token_holder(BACKEND), organizations=(entry,)))

    async def list_organizations(self) -> list[Organization]:
        await self.check()
        return [self.organization]

    async def list_projects(self, organization: str | None = None) -> list[Project]:
        self._check_organization(organization)
        return await self._discover(counts=True)

    async def find_tickets(self, query: TicketFilter) -> TicketPage:
        self._check_organization(query.organization)
        refuse_filters(query, BACKEND, {"types", "assignee", "labels"})
        require_newest_first(query, BACKEND)
        params: dict[str, Any] = {}
        if query.project is not None:
            params["repository_id"] = (await self._project(query.project)).id
        if query.assignee is not None:
            if query.assignee.strip().casefold() in (UNASSIGNED, ME):
                raise refuse(BACKEND, f"filter tickets by assignee {query.assignee.strip()!r}")
            params["assignee_id"] = user_id(query.assignee, BACKEND)
        if query.labels:
            params["labels"] = ",".join(label.strip() for label in query.labels)
        statuses = words_for(AGENTSMESH_STATUS, query.statuses, BACKEND, "status") or [None]
        types = list(dict.fromkeys(query.types)) or [None]

        def source(status: AgentsMeshStatus | None, kind: TicketType | None) -> Source:
            extra = {"status": status.value} if status else {}
            extra |= {"type": kind.value} if kind else {}

            async def read(offset: int, limit: int) -> Chunk:
                found = await self._list({**params, **extra, "limit": limit, "offset": offset})
                tickets = [ticket_record(t) for t in found.tickets]
                total = found.total
                more = offset + len(tickets) < total if total is not None else len(tickets) >= limit
                return Chunk(tickets=tickets, total=total, more=more)

            return read

        sources = [source(status, kind) for status, kind in product(statuses, types)]
        return await list_page(query, sources, lambda t: (t.created_at, t.id))

    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail:
        ticket = ticket_record(await self._ticket(slug))
        children = [t for t in await self._tickets_of(ticket.project_id) if t.parent == ticket.slug]
        return TicketDetail(ticket=ticket, subtasks=tuple(sorted(children, key=lambda t: t.number)), comments=())

    async def file_ticket(self, draft: TicketDraft) -> Ticket:
        status = word_for(AGENTSMESH_STATUS, draft.status, BACKEND, "status")
        assignee = draft.assignee.strip() if draft.assignee is not None else UNASSIGNED
        assignee_id = None if assignee.casefold() == UNASSIGNED else user_id(assignee, BACKEND)
        self._check_organization(draft.organization)
        repository = (await self._project(draft.project)).id if draft.project is not None else None
        body = wire.NewMeshTicket(
            title=draft.title, type=draft.type, description=draft.description, priority=draft.priority,
            status=status, assignee_id=assignee_id, repository_id=repository, labels=list(draft.labels),
            parent_slug=draft.parent.strip() if draft.parent else None,
        )  # fmt: skip
        sent_at = time.time()
        try:
            reply = await self.client.request(
                "POST", "tickets", json_body=body.model_dump(mode="json", exclude_none=True)
            )
        except Ambiguous as lost:
            recent = {"limit": RECENT} | ({"repository_id": repository} if repository else {})

            async def newest() -> list[Ticket]:
                return [ticket_record(t) for t in (await self._list(recent)).tickets]

            return await recover_created(lost, sent_at, draft.title, newest)
        return ticket_record(parse(wire.TicketEnvelope, reply.body, BACKEND, "the new ticket").ticket)

    # What this API offers beyond that

    async def change(self, slug: str, changes: TicketChanges, version: int | None) -> Ticket:
        refuse_changes(changes, BACKEND, TicketChanges.__slots__)
        path = self._path(slug)
        if version is not None:
            check_version(ticket_record(await self._ticket(slug)), version)
        status = word_for(AGENTSMESH_STATUS, changes.status, BACKEND, "status") if changes.status is not None else None
        cleared: dict[str, None] = {}  # fields sent as null, which clears them
        assignee_id = parent = None
        if changes.assignee is not None:
            if changes.assignee.strip().casefold() == UNASSIGNED:
                cleared["assignee_id"] = None
            else:
                assignee_id = user_id(changes.assignee, BACKEND)
        if changes.parent is not None:
            if changes.parent.strip().casefold() == UNASSIGNED:
                cleared["parent_slug"] = None
            else:
                parent = changes.parent.strip()
        body = wire.MeshTicketChanges(
            title=changes.title, type=changes.type, description=changes.description, priority=changes.priority,
            status=status, assignee_id=assignee_id, parent_slug=parent,
            labels=list(changes.labels) if changes.labels is not None else None,
        )  # fmt: skip
        reply = await self.client.request(
            "PUT", path, json_body=body.model_dump(mode="json", exclude_none=True) | cleared
        )
        return ticket_record(parse(wire.TicketEnvelope, reply.body, BACKEND, "the changed ticket").ticket)

    async def move_ticket(
        self, slug: str, status: Status, *, before: str | None = None, after: str | None = None,
        version: int | None = None,
    ) -> Ticket:  # fmt: skip
        if before is not None or after is not None:
            self.unsupported(Capability.ORDER_COLUMNS)
        word = word_for(AGENTSMESH_STATUS, status, BACKEND, "status")
        path = self._path(slug)
        if version is not None:
            check_version(ticket_record(await self._ticket(slug)), version)
        change = wire.StatusChange(status=word).model_dump(mode="json")
        await self.client.request("PATCH", f"{path}/status", json_body=change, idempotent=True)
        return ticket_record(await self._ticket(slug))

    async def ticket_deletion(self, slug: str) -> TicketDeletion:
        ticket = ticket_record(await self._ticket(slug))
        children: dict[str, list[Ticket]] = {}
        for other in await self._tickets_of(ticket.project_id):
            if other.parent:
                children.setdefault(other.parent, []).append(other)
        below: list[Ticket] = []
        waiting = [ticket.slug]
        while waiting:  # sub-tasks go with their parent, and theirs with them
            for child in children.pop(waiting.pop(), []):
                below.append(child)
                waiting.append(child.slug)
        subtasks = tuple(t.slug for t in sorted(below, key=lambda t: t.number))
        return TicketDeletion(slug=ticket.slug, subtasks=subtasks, comments=0)

    async def delete_ticket(self, slug: str) -> TicketDeletion:
        impact = await self.ticket_deletion(slug)
        await self.client.request("DELETE", self._path(impact.slug))
        return impact

    async def get_board(
        self,
        project: str | None = None,
        *,
        per_column: int = 20,
        organization: str | None = None,
        milestone: str | None = None,
    ) -> Board:
        self.refuse_milestone_board(milestone)
        if not 1 <= per_column <= PAGE_MAX:
            raise Invalid("per_column", f"per_column must be 1-{PAGE_MAX}.")
        self._check_organization(organization)
        if project is None:
            target = only_project(await self._discover(counts=False), BACKEND)
        else:
            target = await self._project(project)
        body = await self._get("tickets/board", {"repository_id": target.id})
        board = parse(wire.BoardEnvelope, body, BACKEND, "the board").board

        async def column(word: AgentsMeshStatus, items: list[wire.BoardTicket]) -> BoardColumn:
            status = AGENTSMESH_STATUS.canonical(word)
            total = len(items)
            if total >= BOARD_COLUMN_CAP:
                counted = await self._list({"repository_id": target.id, "status": word.value, "limit": 1})
                total = counted.total if counted.total is not None else total
            tickets = tuple(
                board_ticket_record(t, status, target.id, place) for place, t in enumerate(items[:per_column])
            )
            return BoardColumn(status=status, total=total, tickets=tickets)

        columns = await gather([lambda c=c: column(c.status, c.tickets) for c in board.columns])
        return Board(project=target, columns=tuple(columns))

    async def _tickets_of(self, repository: str) -> list[Ticket]:
        """Every ticket of one project (of all, for a ticket without one): for what no filter answers."""
        found: list[Ticket] = []
        scope = {"repository_id": repository} if repository else {}
        while True:
            page = await self._list({**scope, "limit": PAGE_MAX, "offset": len(found)})
            found += (ticket_record(t) for t in page.tickets)
            if not page.tickets or (page.total is not None and len(found) >= page.total):
                return found
