"""Seed 000, BugToMe: its organizations, projects with ticket counts, tickets and the body that files one.

`tickets-mcp serve` answers with these documents (http/rest/bugtome.py) and the bugtome backend reads
them (remotes/bugtome.py). Statuses and priorities are BugToMe's own words (domain/vocabulary.py).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from tickets_mcp.domain import Label, Organization, Project, Ticket, TicketType
from tickets_mcp.domain.vocabulary import BUGTOME_PRIORITY, BUGTOME_STATUS, BugToMePriority, BugToMeStatus
from tickets_mcp.wire.values import Count, Document, IsoSeconds, RemoteId, stored, version_of


class BugToMeOrganization(Document):
    id: RemoteId = Field(examples=["770e8400-e29b-41d4-a716-446655440002"])
    name: str = Field(examples=["Acme Corp"])
    slug: str = Field(examples=["acme-corp"])


class OrganizationList(Document):
    organizations: list[BugToMeOrganization]


class BugToMeProject(Document):
    id: RemoteId
    name: str = Field(examples=["Web Application"])
    code: str = Field(examples=["WEB"])
    description: str = ""
    tickets_count: Count = None
    open_tickets_count: Count = Field(
        default=None, description="Tickets that are not closed (open, in_progress or resolved)."
    )
    created_at: IsoSeconds = Field(examples=["2024-01-01T00:00:00Z"])


class ProjectList(Document):
    projects: list[BugToMeProject]


class BugToMeTicket(Document):
    id: int
    number: int = Field(description="The ticket's number in its project.")
    slug: str = Field(examples=["WEB-42"])
    project_id: RemoteId
    type: TicketType = TicketType.BUG
    title: str
    description: str = ""
    status: BugToMeStatus
    priority: BugToMePriority = BugToMePriority.MEDIUM
    assignee: str | None = Field(default=None, description="Username of the assignee.")
    reporter: str | None = Field(default=None, description="Username of whoever filed it.")
    labels: list[str] = Field(default_factory=list[str])
    parent_slug: str | None = None
    created_at: IsoSeconds
    updated_at: IsoSeconds
    closed_at: IsoSeconds | None = None


class TicketList(Document):
    tickets: list[BugToMeTicket]


class TicketEnvelope(Document):
    ticket: BugToMeTicket


class NewBugToMeTicket(Document):
    title: str = Field(description="One line, 1-500 characters.", examples=["Checkout button does nothing on Safari"])
    project_id: str | None = Field(
        default=None, description="The project's id (or code). May be left out with a project token."
    )
    description: str = Field(default="", description="Markdown.")
    type: TicketType = TicketType.BUG
    priority: BugToMePriority = BugToMePriority.MEDIUM
    status: BugToMeStatus = BugToMeStatus.OPEN
    labels: list[str] = Field(default_factory=list[str])
    assignee: str | None = Field(default=None, description="Username of an organization member.")


# Records as documents: what `tickets-mcp serve` answers.


def organization_document(org: Organization) -> BugToMeOrganization:
    return BugToMeOrganization(id=org.id, name=org.name, slug=org.slug)


def project_document(project: Project) -> BugToMeProject:
    return BugToMeProject(
        id=project.id,
        name=project.name,
        code=project.code,
        description=project.description,
        tickets_count=project.tickets_count or 0,
        open_tickets_count=project.open_tickets_count or 0,
        created_at=datetime.fromisoformat(project.created_at),
    )


def ticket_document(ticket: Ticket) -> BugToMeTicket:
    return BugToMeTicket(
        id=ticket.id,
        number=ticket.number,
        slug=ticket.slug,
        project_id=ticket.project_id,
        type=ticket.type,
        title=ticket.title,
        description=ticket.description,
        status=BUGTOME_STATUS.word(ticket.status),
        priority=BUGTOME_PRIORITY.word(ticket.priority),
        assignee=ticket.assignee,
        reporter=ticket.reporter,
        labels=[label.name for label in ticket.labels],
        parent_slug=ticket.parent,
        created_at=datetime.fromisoformat(ticket.created_at),
        updated_at=datetime.fromisoformat(ticket.updated_at),
        closed_at=datetime.fromisoformat(ticket.closed_at) if ticket.closed_at else None,
    )


# Documents as records: what the bugtome backend reads.


def organization_record(org: BugToMeOrganization) -> Organization:
    return Organization(id=org.id, name=org.name, slug=org.slug)


def project_record(project: BugToMeProject, organization_id: str) -> Project:
    return Project(
        id=project.id,
        organization_id=organization_id,
        name=project.name,
        code=project.code,
        description=project.description,
        created_at=stored(project.created_at),
        tickets_count=project.tickets_count,
        open_tickets_count=project.open_tickets_count,
    )


def ticket_record(ticket: BugToMeTicket) -> Ticket:
    return Ticket(
        id=ticket.id,
        project_id=ticket.project_id,
        number=ticket.number,
        slug=ticket.slug,
        type=ticket.type,
        title=ticket.title,
        description=ticket.description,
        status=BUGTOME_STATUS.canonical(ticket.status),
        priority=BUGTOME_PRIORITY.canonical(ticket.priority),
        assignee=ticket.assignee,
        reporter=ticket.reporter,
        labels=tuple(Label(name=name, color="") for name in ticket.labels),
        parent=ticket.parent_slug,
        position=0,
        version=version_of(ticket.updated_at),
        created_at=stored(ticket.created_at),
        updated_at=stored(ticket.updated_at),
        closed_at=stored(ticket.closed_at) if ticket.closed_at else None,
        closed_by=None,
    )
