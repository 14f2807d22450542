"""The native backend: another `tickets-mcp serve`, through its own REST API (/api/v1/native).

That API is the Tracker protocol one to one in the canonical model's JSON, so this adapter lacks
nothing: every tool works, the server decides names, permissions and versions, and its errors come
back as the same error classes. A laptop's stdio server can so act on a team's tracker.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

import httpx2
from pydantic import BaseModel

from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    HISTORY_SHOWN,
    Board,
    Capability,
    Comment,
    Organization,
    Project,
    ProjectDeletion,
    Relocation,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    Workspace,
)
from tickets_mcp.remotes.base import RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy, RemoteClient
from tickets_mcp.remotes.mapping import parse
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
            cursor=query.cursor, count_limit=query.count_limit,
        )  # fmt: skip
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
        body = wire.NewTicket(
            title=draft.title, project=draft.project, organization=draft.organization, type=draft.type,
            description=draft.description, priority=draft.priority, status=draft.status, assignee=draft.assignee,
            labels=list(draft.labels), parent=draft.parent,
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
        edit = wire.TicketEdit(
            title=changes.title, type=changes.type, description=changes.description, priority=changes.priority,
            status=changes.status, assignee=changes.assignee, parent=changes.parent, version=version,
            labels=list(changes.labels) if changes.labels is not None else None,
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
        self.refuse_milestone_board(milestone)
        params = {**_present(project=project, organization=organization), "per_column": per_column}
        return parse(Board, await self._get("board", params), BACKEND, "the board")

    async def add_comment(self, slug: str, body: str) -> Comment:
        reply = await self._send("POST", f"tickets/{_segment(slug)}/comments", wire.NewComment(body=body))
        return parse(Comment, reply, BACKEND, "the new comment")

    async def move_to_project(self, slug: str, project: str, *, version: int | None = None) -> Relocation:
        body = wire.ProjectMove(project=project, version=version)
        reply = await self._send("POST", f"tickets/{_segment(slug)}/project", body)
        return parse(Relocation, reply, BACKEND, "the moved ticket")


def _present(**values: Any) -> dict[str, Any]:
    """The values that are set, enums as their values: what a query string or a partial body carries."""
    return {key: getattr(value, "value", value) for key, value in values.items() if value is not None}


def _segment(name: str) -> str:
    """A name as one path segment: project names may hold spaces."""
    return quote(name, safe="")
