"""Seed 000, BugToMe: organizations → projects with ticket counts → tickets, and filing a ticket.

Personal tokens (`pk_`) read and file; a project token (`proj_`) only files tickets in its project.
The documents are wire/bugtome.py's, which the bugtome backend reads too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from tickets_mcp.core.tracker import TicketDraft, TicketFilter
from tickets_mcp.domain.vocabulary import BUGTOME_PRIORITY, BUGTOME_STATUS, BugToMePriority, BugToMeStatus
from tickets_mcp.http.rest import paging
from tickets_mcp.http.rest.paging import Page, add_ticket_page_headers, add_total_headers, page_per_page
from tickets_mcp.http.rest.support import TrackerDep, error_responses, field_named, operation_ids
from tickets_mcp.wire.bugtome import (
    NewBugToMeTicket,
    OrganizationList,
    ProjectList,
    TicketEnvelope,
    TicketList,
    organization_document,
    project_document,
    ticket_document,
)

router = APIRouter(
    prefix="/api/v1",
    tags=["BugToMe (seed 000)"],
    responses=error_responses(),
    generate_unique_id_function=operation_ids("bugtome"),
)

PageDep = Annotated[Page, Depends(page_per_page)]


@router.get("/mcp/organizations", summary="List the organizations you belong to")
async def list_organizations(tracker: TrackerDep, page: PageDep, response: Response) -> OrganizationList:
    organizations = await tracker.list_organizations()
    add_total_headers(response, page, len(organizations))
    return OrganizationList(organizations=[organization_document(o) for o in page.cut(organizations)])


@router.get("/mcp/organizations/{organization_id}/projects", summary="List an organization's projects")
async def list_projects(organization_id: str, tracker: TrackerDep, page: PageDep, response: Response) -> ProjectList:
    projects = await tracker.list_projects(organization_id)
    add_total_headers(response, page, len(projects))
    return ProjectList(projects=[project_document(p) for p in page.cut(projects)])


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
            count_limit=paging.COUNT_LIMIT,
        )
    )
    add_ticket_page_headers(response, page, found)
    return TicketList(tickets=[ticket_document(t) for t in found.tickets])


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
        filed = await tracker.create_ticket(draft)
    return TicketEnvelope(ticket=ticket_document(filed.ticket))
