"""The native backend: another `tickets-mcp serve`, through its own REST API (/api/v1/native).

That API is the Tracker protocol one to one in the canonical model's JSON, planning included (links,
milestones, due dates, estimates, time), so this adapter lacks only attachments: every other tool works,
the server decides names, permissions, versions and planning's rules, and its errors come back as the
same error classes. A laptop's stdio server can so act on a team's tracker.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

import httpx2
from pydantic import BaseModel, ValidationError

from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    HISTORY_SHOWN,
    Board,
    Capability,
    Comment,
    EstimateUnit,
    Linked,
    LinkKind,
    Milestone,
    Organization,
    Project,
    ProjectDeletion,
    Relocation,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    TimeEntry,
    Workspace,
)
from tickets_mcp.errors import Invalid
from tickets_mcp.remotes.base import RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy, RemoteClient
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.remotes.planning import check_link, clears
from tickets_mcp.wire import native as wire

BACKEND = "native"
BASE = "api/v1/native"


async def open_adapter(
    settings: RemoteSettings, *, policy: Policy | None = None, transport: httpx2.AsyncBaseTransport | None = None
) -> NativeTracker:
    auth = {"authorization": f"Bearer {settings.token}"}
    client = RemoteClient(BACKEND, settings.url, auth, policy=policy, transport=transport)
    tracker = NativeTracker(client)
    async with client.closed_on_failure():
        await tracker.list_organizations()  # a wrong URL or token fails here, at start, not at the first tool call
    return tracker


class NativeTracker(RemoteTracker):
    name: ClassVar[str] = BACKEND
    maps: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.MANAGE_PROJECTS,
            Capability.EDIT_TICKETS,
            Capability.MOVE_TICKETS,
            Capability.ORDER_COLUMNS,
            Capability.DELETE_TICKETS,
            Capability.COMMENT,
            Capability.BOARD,
            Capability.SUBTASKS,
            Capability.LINKS,
            Capability.MILESTONES,
            Capability.DUE_DATES,
            Capability.ESTIMATES,
            Capability.TIME_TRACKING,
        }
    )

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return (await self.client.request("GET", f"{BASE}/{path}", params=params)).body

    async def _send(self, method: str, path: str, body: BaseModel | None = None) -> Any:
        sent = body.model_dump(mode="json", exclude_none=True) if body is not None else None
        return (await self.client.request(method, f"{BASE}/{path}", json_body=sent)).body

    async def workspace(self) -> Workspace:
        return self.with_capabilities(parse(Workspace, await self._get("workspace"), BACKEND, "the workspace"))

    async def list_organizations(self) -> list[Organization]:
        return parse(wire.Organizations, await self._get("organizations"), BACKEND, "the organizations").root

    async def list_projects(self, organization: str | None = None) -> list[Project]:
        found = await self._get("projects", _present(organization=organization))
        return parse(wire.Projects, found, BACKEND, "the projects").root

    async def create_project(
        self, name: str, *, code: str | None = None, description: str = "", organization: str | None = None
    ) -> Project:
        body = wire.NewProject(name=name, code=code, description=description, organization=organization)
        return parse(Project, await self._send("POST", "projects", body), BACKEND, "the new project")

    async def update_project(
        self, project: str, *, name: str | None = None, description: str | None = None,
        organization: str | None = None, default: bool | None = None,
    ) -> Project:  # fmt: skip
        changes = wire.ProjectChanges(name=name, description=description, default=default)
        reply = await self.client.request(
            "PATCH", f"{BASE}/projects/{_segment(project)}", params=_present(organization=organization),
            json_body=changes.model_dump(mode="json", exclude_none=True), idempotent=True,
        )  # fmt: skip
        return parse(Project, reply.body, BACKEND, "the changed project")

    async def project_deletion(self, project: str, *, organization: str | None = None) -> ProjectDeletion:
        found = await self._get(f"projects/{_segment(project)}/deletion", _present(organization=organization))
        return parse(ProjectDeletion, found, BACKEND, "what deleting the project takes")

    async def delete_project(self, project: str, *, organization: str | None = None) -> ProjectDeletion:
        reply = await self.client.request(
            "DELETE", f"{BASE}/projects/{_segment(project)}", params=_present(organization=organization)
        )
        return parse(ProjectDeletion, reply.body, BACKEND, "the deleted project")

    async def find_tickets(self, query: TicketFilter) -> TicketPage:
        params = _present(
            project=query.project, organization=query.organization, assignee=query.assignee,
            reporter=query.reporter, parent=query.parent, query=query.text, updated_since=query.updated_since,
            cursor=query.cursor, count_limit=query.count_limit, milestone=query.milestone,
            due_before=query.due_before, due_after=query.due_after,
        )  # fmt: skip
        for key, flag in (("blocked", query.blocked), ("blocking", query.blocking)):
            if flag is not None:
                params[key] = str(flag).lower()
        if query.overdue:
            params["overdue"] = "true"
        params.update(sort=query.sort.value, descending=str(query.descending).lower(), limit=query.limit)
        if query.offset:
            params["offset"] = query.offset
        for key, values in (("status", query.statuses), ("type", query.types), ("priority", query.priorities)):
            if values:
                params[key] = [v.value for v in values]
        if query.labels:
            params["labels"] = list(query.labels)
        return parse(TicketPage, await self._get("tickets", params), BACKEND, "a ticket list")

    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail:
        found = await self._get(f"tickets/{_segment(slug)}", {"history": history})
        return parse(TicketDetail, found, BACKEND, "a ticket")

    async def file_ticket(self, draft: TicketDraft) -> Ticket:
        body = _body(
            wire.NewTicket, title=draft.title, project=draft.project, organization=draft.organization,
            type=draft.type, description=draft.description, priority=draft.priority, status=draft.status,
            assignee=draft.assignee, labels=list(draft.labels), parent=draft.parent, due_date=draft.due_date,
            estimate=_estimate(draft.estimate), milestone=draft.milestone,
        )  # fmt: skip
        try:
            return parse(Ticket, await self._send("POST", "tickets", body), BACKEND, "the new ticket")
        except Ambiguous:
            found = await self._recently_filed(draft)
            if found is None:
                raise
            return found

    async def _recently_filed(self, draft: TicketDraft) -> Ticket | None:
        """The ticket an unanswered create made, if it did: same title and project among the newest."""
        page = await self.list_tickets(
            TicketFilter(project=draft.project, organization=draft.organization, text=draft.title[:200], limit=20)
        )
        return next((t for t in page.tickets if t.title == draft.title.strip()), None)

    async def change(self, slug: str, changes: TicketChanges, version: int | None) -> Ticket:
        edit = _body(
            wire.TicketEdit, title=changes.title, type=changes.type, description=changes.description,
            priority=changes.priority, status=changes.status, assignee=changes.assignee, parent=changes.parent,
            labels=list(changes.labels) if changes.labels is not None else None, due_date=changes.due_date,
            estimate=_estimate(changes.estimate), milestone=changes.milestone, version=version,
        )  # fmt: skip
        body = edit.model_dump(mode="json", exclude_none=True)
        reply = await self.client.request("PATCH", f"{BASE}/tickets/{_segment(slug)}", json_body=body, idempotent=True)
        return parse(Ticket, reply.body, BACKEND, "the changed ticket")

    async def move_ticket(
        self, slug: str, status: Status, *, before: str | None = None, after: str | None = None,
        version: int | None = None,
    ) -> Ticket:  # fmt: skip
        body = wire.Move(status=status, before=before, after=after, version=version).model_dump(
            mode="json", exclude_none=True
        )
        # Moving to a place is idempotent: sent twice, the ticket ends where it was asked to be.
        reply = await self.client.request(
            "POST", f"{BASE}/tickets/{_segment(slug)}/move", json_body=body, idempotent=version is None
        )
        return parse(Ticket, reply.body, BACKEND, "the moved ticket")

    async def ticket_deletion(self, slug: str) -> TicketDeletion:
        found = await self._get(f"tickets/{_segment(slug)}/deletion")
        return parse(TicketDeletion, found, BACKEND, "what deleting the ticket takes")

    async def delete_ticket(self, slug: str) -> TicketDeletion:
        return parse(
            TicketDeletion, await self._send("DELETE", f"tickets/{_segment(slug)}"), BACKEND, "the deleted ticket"
        )

    async def get_board(
        self,
        project: str | None = None,
        *,
        per_column: int = 20,
        organization: str | None = None,
        milestone: str | None = None,
    ) -> Board:
        params = {**_present(project=project, organization=organization, milestone=milestone), "per_column": per_column}
        return parse(Board, await self._get("board", params), BACKEND, "the board")

    async def add_comment(self, slug: str, body: str) -> Comment:
        reply = await self._send("POST", f"tickets/{_segment(slug)}/comments", wire.NewComment(body=body))
        return parse(Comment, reply, BACKEND, "the new comment")

    async def move_to_project(self, slug: str, project: str, *, version: int | None = None) -> Relocation:
        body = wire.ProjectMove(project=project, version=version)
        reply = await self._send("POST", f"tickets/{_segment(slug)}/project", body)
        return parse(Relocation, reply, BACKEND, "the moved ticket")

    # Planning: the server keeps links, milestones, estimates and time, and applies its own rules to them.

    async def link_tickets(
        self, slug: str, kind: LinkKind, other: str, *, unlink: bool = False, close_as_duplicate: bool = False
    ) -> Linked:
        check_link(slug, kind, other, unlink=unlink, close_as_duplicate=close_as_duplicate)
        if unlink:
            path = f"tickets/{_segment(slug)}/links/{kind.value}/{_segment(other)}"
            return parse(Linked, await self._send("DELETE", path), BACKEND, "the ticket unlinked")
        body = _body(wire.NewLink, kind=kind, other=other, close=close_as_duplicate)
        reply = await self._send("POST", f"tickets/{_segment(slug)}/links", body)
        return parse(Linked, reply, BACKEND, "the ticket linked")

    async def list_milestones(
        self, project: str | None = None, *, closed: bool = False, organization: str | None = None
    ) -> list[Milestone]:
        named = await self._project_named(project, organization)
        params = {**_present(organization=organization), "closed": str(closed).lower()}
        found = await self._get(f"projects/{_segment(named)}/milestones", params)
        return parse(wire.Milestones, found, BACKEND, "the milestones").root

    async def save_milestone(
        self, project: str | None, name: str, *, rename: str | None = None, start_date: str | None = None,
        due_date: str | None = None, closed: bool | None = None, open_tickets: str | None = None,
        organization: str | None = None,
    ) -> Milestone:  # fmt: skip
        named = await self._project_named(project, organization)
        body = _body(
            wire.MilestoneSave, rename=rename, start_date=start_date, due_date=due_date, closed=closed,
            open_tickets=open_tickets,
        )  # fmt: skip
        # The name is one segment, its slashes escaped: the server's route takes a name holding one (Q3/Q4).
        reply = await self.client.request(
            "PUT", f"{BASE}/projects/{_segment(named)}/milestones/{_segment(name)}",
            params=_present(organization=organization), json_body=body.model_dump(mode="json", exclude_none=True),
        )  # fmt: skip
        return parse(Milestone, reply.body, BACKEND, "the milestone")

    async def set_estimate_unit(
        self, project: str | None, unit: EstimateUnit, *, organization: str | None = None
    ) -> Project:
        named = await self._project_named(project, organization)
        reply = await self.client.request(
            "PATCH", f"{BASE}/projects/{_segment(named)}", params=_present(organization=organization),
            json_body=wire.ProjectChanges(estimate_unit=unit).model_dump(mode="json", exclude_none=True),
            idempotent=True,
        )  # fmt: skip
        return parse(Project, reply.body, BACKEND, "the changed project")

    async def log_time(self, slug: str, hours: float, *, spent_on: str | None = None, note: str = "") -> TimeEntry:
        body = _body(wire.NewTimeEntry, hours=hours, spent_on=spent_on, note=note)
        reply = await self._send("POST", f"tickets/{_segment(slug)}/time", body)
        return parse(TimeEntry, reply, BACKEND, "the time entry")

    async def _project_named(self, project: str | None, organization: str | None) -> str:
        """The project a planning call's path names: the one given, else the one the server would pick (the
        only one, or the organization's default when it is named), since a path cannot leave it out."""
        if project is not None:
            return project
        projects = await self.list_projects(organization)
        if len(projects) == 1:
            return projects[0].id
        default = next((p for p in projects if p.default), None)
        if organization is not None and default is not None:
            return default.id
        if not projects:
            raise Invalid("project", "There is no project yet.", hint="create_project makes one.")
        raise Invalid("project", "Several projects exist; say which one.", choices=[p.code for p in projects[:20]])


Body = TypeVar("Body", bound=BaseModel)


def _body(model: type[Body], **values: Any) -> Body:
    """A wire body, its fields checked here as the server would: a bad one is Invalid before anything is sent."""
    try:
        return model(**values)
    except ValidationError as exc:
        problem = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in problem["loc"]) or "body"
        raise Invalid(field, f"{field}: {problem['msg']}.") from None


def _estimate(value: float | str | None) -> float | str | None:
    """An estimate as the wire carries it: a number, or "none" to clear it."""
    if value is None or not isinstance(value, str):
        return value
    if clears(value):
        return "none"
    try:
        return float(value)
    except ValueError:
        raise Invalid("estimate", f"{value!r} is not an estimate.", hint="Send hours or points, or none.") from None


def _present(**values: Any) -> dict[str, Any]:
    """The values that are set, enums as their values: what a query string or a partial body carries."""
    return {key: getattr(value, "value", value) for key, value in values.items() if value is not None}


def _segment(name: str) -> str:
    """A name as one path segment: project names may hold spaces."""
    return quote(name, safe="")
