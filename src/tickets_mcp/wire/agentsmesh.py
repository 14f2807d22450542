"""Seed 001, AgentsMesh: one organization's tickets, its Kanban board, and the bodies that file, change
and move a ticket.

`tickets-mcp serve` answers with these documents (http/rest/agentsmesh.py) and the agentsmesh backend
reads them and sends the bodies (remotes/agentsmesh.py). A repository is a project, named by its
integer number; users are numeric ids (`assignee_id`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from tickets_mcp.domain import Label, Priority, Status, Ticket, TicketType
from tickets_mcp.domain.vocabulary import AGENTSMESH_STATUS, AgentsMeshStatus
from tickets_mcp.wire.values import Count, Document, IntegerId, IsoSeconds, ProjectReference, stored, version_of

SLUG_EXAMPLE = "AM-123"


def _seed_status(value: Any) -> Any:
    # The seed's board example names its first column "open"; its status table says backlog.
    return AgentsMeshStatus.BACKLOG.value if value == "open" else value


MeshStatus = Annotated[AgentsMeshStatus, BeforeValidator(_seed_status)]


def _numbered(slug: str) -> str:
    if not slug.rpartition("-")[2].isdigit():
        raise ValueError("a ticket slug ends with its number, e.g. AM-42")
    return slug


Slug = Annotated[str, AfterValidator(_numbered)]

# The project's number, which we always send as an integer; another server may name it as text (a UUID).
RepositoryId = Annotated[int | str | None, WithJsonSchema({"type": "integer"}, mode="serialization")]


class MeshTicket(Document):
    id: int
    slug: Slug = Field(examples=["AM-42"])
    type: TicketType = TicketType.TASK
    title: str
    description: str = ""  # not in the seed; tickets-mcp serve sends it
    status: MeshStatus
    priority: Priority = Priority.MEDIUM
    assignee_id: int | None = None
    repository_id: RepositoryId = Field(default=None, description="The project's number.", examples=[1])
    labels: list[str] = Field(default_factory=list[str])
    parent_slug: str | None = None
    created_at: IsoSeconds = Field(examples=["2025-01-10T08:00:00Z"])
    updated_at: IsoSeconds


class TicketList(Document):
    tickets: list[MeshTicket]
    total: Count = None
    limit: Count = None
    offset: Count = None


class TicketEnvelope(Document):
    ticket: MeshTicket


class BoardTicket(Document):
    id: int
    slug: Slug
    title: str
    type: TicketType = TicketType.TASK
    priority: Priority = Priority.MEDIUM
    assignee_id: int | None = None


class BoardColumn(Document):
    status: MeshStatus
    tickets: list[BoardTicket]


class Board(Document):
    columns: list[BoardColumn]


class BoardEnvelope(Document):
    board: Board


class NewMeshTicket(Document):
    title: str = Field(description="1-500 characters.", examples=["Implement user auth"])
    type: TicketType = TicketType.TASK
    description: str = ""
    priority: Priority = Priority.MEDIUM
    status: AgentsMeshStatus = AgentsMeshStatus.BACKLOG
    assignee_id: IntegerId | None = None
    repository_id: ProjectReference | None = Field(
        default=None, description="Project number (its UUID or code also work).", examples=[1]
    )
    labels: list[str] = Field(default_factory=list[str])
    parent_slug: str | None = Field(default=None, examples=[SLUG_EXAMPLE])


class MeshTicketChanges(Document):
    """Only the fields sent change; `assignee_id` or `parent_slug` sent as null clears it."""

    title: str | None = None
    type: TicketType | None = None
    description: str | None = None
    priority: Priority | None = None
    status: AgentsMeshStatus | None = None
    assignee_id: IntegerId | None = None
    labels: list[str] | None = None
    parent_slug: str | None = None


class StatusChange(Document):
    status: AgentsMeshStatus


class Message(Document):
    message: str


# Records as documents: what `tickets-mcp serve` answers. Users are named by their ids: `id_of` gives a
# username's id (None for nobody).

IdOf = Callable[[str | None], int | None]


def ticket_document(ticket: Ticket, id_of: IdOf, repository_id: int) -> MeshTicket:
    return MeshTicket(
        id=ticket.id,
        slug=ticket.slug,
        type=ticket.type,
        title=ticket.title,
        description=ticket.description,
        status=AGENTSMESH_STATUS.word(ticket.status),
        priority=ticket.priority,
        assignee_id=id_of(ticket.assignee),
        repository_id=repository_id,
        labels=[label.name for label in ticket.labels],
        parent_slug=ticket.parent,
        created_at=datetime.fromisoformat(ticket.created_at),
        updated_at=datetime.fromisoformat(ticket.updated_at),
    )


def board_ticket_document(ticket: Ticket, id_of: IdOf) -> BoardTicket:
    return BoardTicket(
        id=ticket.id,
        slug=ticket.slug,
        title=ticket.title,
        type=ticket.type,
        priority=ticket.priority,
        assignee_id=id_of(ticket.assignee),
    )


# Documents as records: what the agentsmesh backend reads. A user is written as its id.


def _number(slug: str) -> int:
    return int(slug.rpartition("-")[2])


def _user(user_id: int | None) -> str | None:
    return str(user_id) if user_id is not None else None


def ticket_record(ticket: MeshTicket) -> Ticket:
    return Ticket(
        id=ticket.id,
        project_id=str(ticket.repository_id) if ticket.repository_id is not None else "",
        number=_number(ticket.slug),
        slug=ticket.slug,
        type=ticket.type,
        title=ticket.title,
        description=ticket.description,
        status=AGENTSMESH_STATUS.canonical(ticket.status),
        priority=ticket.priority,
        assignee=_user(ticket.assignee_id),
        reporter=None,
        labels=tuple(Label(name=name, color="") for name in ticket.labels),
        parent=ticket.parent_slug,
        position=0,
        version=version_of(ticket.updated_at),
        created_at=stored(ticket.created_at),
        updated_at=stored(ticket.updated_at),
        closed_at=None,
        closed_by=None,
    )


def board_ticket_record(item: BoardTicket, status: Status, project_id: str, place: int) -> Ticket:
    """A board card as a ticket: the seed's board shows no labels, parent, description or times."""
    return Ticket(
        id=item.id, project_id=project_id, number=_number(item.slug), slug=item.slug, type=item.type,
        title=item.title, description="", status=status, priority=item.priority, assignee=_user(item.assignee_id),
        reporter=None, labels=(), parent=None, position=place, version=0, created_at="", updated_at="",
        closed_at=None, closed_by=None,
    )  # fmt: skip
