"""Seed 000, BugToMe: organizations → projects with ticket counts → tickets, and filing a ticket.

Personal tokens (`pk_`) read and file; a project token (`proj_`) only files tickets in its project.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field

from tickets_mcp.core.tracker import TicketDraft, TicketFilter
from tickets_mcp.domain import Organization, Project, Ticket, TicketType
from tickets_mcp.domain.vocabulary import BUGTOME_PRIORITY, BUGTOME_STATUS, BugToMePriority, BugToMeStatus
from tickets_mcp.http.rest.paging import Page, add_total_headers, page_per_page
from tickets_mcp.http.rest.support import TrackerDep, error_responses, field_named, iso_seconds, operation_ids

router = APIRouter(
    prefix="/api/v1",
    tags=["BugToMe (seed 000)"],
    responses=error_responses(),
    generate_unique_id_function=operation_ids("bugtome"),
)

PageDep = Annotated[Page, Depends(page_per_page)]


class BugToMeOrganization(BaseModel):
    id: str = Field(examples=["770e8400-e29b-41d4-a716-446655440002"])
    name: str = Field(examples=["Acme Corp"])
    slug: str = Field(examples=["acme-corp"])


class OrganizationList(BaseModel):
    organizations: list[BugToMeOrganization]


class BugToMeProject(BaseModel):
    id: str
    name: str = Field(examples=["Web Application"])
    code: str = Field(examples=["WEB"])
    description: str
    tickets_count: int
    open_tickets_count: int = Field(description="Tickets that are not closed (open, in_progress or resolved).")
    created_at: str = Field(examples=["2024-01-01T00:00:00Z"])


class ProjectList(BaseModel):
    projects: list[BugToMeProject]


class BugToMeTicket(BaseModel):
    id: int
    number: int = Field(description="The ticket's number in its project.")
    slug: str = Field(examples=["WEB-42"])
    project_id: str
    type: TicketType
    title: str
    description: str
    status: BugToMeStatus
    priority: BugToMePriority
    assignee: str | None = Field(description="Username of the assignee.")
    reporter: str | None = Field(description="Username of whoever filed it.")
    labels: list[str]
    parent_slug: str | None
    created_at: str
    updated_at: str
    closed_at: str | None


class TicketList(BaseModel):
    tickets: list[BugToMeTicket]


class TicketEnvelope(BaseModel):
    ticket: BugToMeTicket


class NewBugToMeTicket(BaseModel):
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


def organization_of(org: Organization) -> BugToMeOrganization:
    return BugToMeOrganization(id=org.id, name=org.name, slug=org.slug)


def project_of(project: Project) -> BugToMeProject:
    return BugToMeProject(
        id=project.id,
        name=project.name,
        code=project.code,
        description=project.description,
        tickets_count=project.tickets_count or 0,
        open_tickets_count=project.open_tickets_count or 0,
        created_at=iso_seconds(project.created_at),
    )


def ticket_of(ticket: Ticket) -> BugToMeTicket:
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
        created_at=iso_seconds(ticket.created_at),
        updated_at=iso_seconds(ticket.updated_at),
        closed_at=iso_seconds(ticket.closed_at) if ticket.closed_at else None,
    )


@router.get("/mcp/organizations", summary="List the organizations you belong to")
async def list_organizations(tracker: TrackerDep, page: PageDep, response: Response) -> OrganizationList:
    organizations = await tracker.list_organizations()
    add_total_headers(response, page, len(organizations))
    return OrganizationList(organizations=[organization_of(o) for o in page.cut(organizations)])


@router.get("/mcp/organizations/{organization_id}/projects", summary="List an organization's projects")
async def list_projects(organization_id: str, tracker: TrackerDep, page: PageDep, response: Response) -> ProjectList:
    projects = await tracker.list_projects(organization_id)
    add_total_headers(response, page, len(projects))
    return ProjectList(projects=[project_of(p) for p in page.cut(projects)])


@router.get("/mcp/organizations/{organization_id}/tickets", summary="List an organization's tickets, newest first")
async def list_tickets(
    organization_id: str,
    tracker: TrackerDep,
    page: PageDep,
    response: Response,
    project_id: Annotated[str | None, Query(description="Only this project's tickets (id or code).")] = None,
    status_filter: Annotated[BugToMeStatus | None, Query(alias="status")] = None,
    priority: BugToMePriority | None = None,
) -> TicketList:
    found = await tracker.list_tickets(
        TicketFilter(
            organization=organization_id,
            project=project_id,
            statuses=BUGTOME_STATUS.meaning(status_filter) if status_filter else (),
            priorities=BUGTOME_PRIORITY.meaning(priority) if priority else (),
            limit=page.size,
            offset=page.offset,
        )
    )
    add_total_headers(response, page, found.total)
    return TicketList(tickets=[ticket_of(t) for t in found.tickets])


@router.post("/tickets", status_code=status.HTTP_201_CREATED, summary="File a ticket")
async def create_ticket(body: NewBugToMeTicket, tracker: TrackerDep) -> TicketEnvelope:
    draft = TicketDraft(
        title=body.title,
        project=body.project_id,
        type=body.type,
        description=body.description,
        priority=BUGTOME_PRIORITY.canonical(body.priority),
        status=BUGTOME_STATUS.canonical(body.status),
        assignee=body.assignee,
        labels=body.labels,
    )
    with field_named("project", "project_id"):
        ticket = await tracker.create_ticket(draft)
    return TicketEnvelope(ticket=ticket_of(ticket))
