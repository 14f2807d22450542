"""Seed 001, AgentsMesh: tickets of one organization by slug, the Kanban board, status patches.

Keys (`amk_…` in `X-API-Key`) carry scopes: tickets:read for the reads, tickets:write for the rest.
A repository is a project: `repository_id` is the project's integer number, as in the seed (its UUID or
code is accepted too). The documents are wire/agentsmesh.py's, which the agentsmesh backend reads too.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, status

from tickets_mcp.core.tracker import UNASSIGNED, TicketChanges, TicketDraft, TicketFilter, Tracker
from tickets_mcp.domain import Ticket, TicketType, rules
from tickets_mcp.domain.vocabulary import AGENTSMESH_STATUS, AgentsMeshStatus
from tickets_mcp.errors import NotFound
from tickets_mcp.http.rest import paging
from tickets_mcp.http.rest.paging import MAX_PAGE_SIZE, Limit, Offset
from tickets_mcp.http.rest.support import (
    People,
    TrackerDep,
    as_it_is,
    could_be_a_ticket,
    error_responses,
    operation_ids,
    people,
    project_number,
)
from tickets_mcp.wire.agentsmesh import (
    Board,
    BoardColumn,
    BoardEnvelope,
    MeshTicket,
    MeshTicketChanges,
    Message,
    NewMeshTicket,
    StatusChange,
    TicketEnvelope,
    TicketList,
    board_ticket_document,
    ticket_document,
)

router = APIRouter(
    prefix="/api/v1/ext/orgs/{org}/tickets",
    tags=["AgentsMesh (seed 001)"],
    responses=error_responses(),
    generate_unique_id_function=operation_ids("agentsmesh"),
)

NUMBERED = re.compile(r"\s*[A-Za-z][A-Za-z0-9]{1,9}-(\d+)\s*")  # a slug's shape, whatever its number


def ticket_of(ticket: Ticket, users: People) -> MeshTicket:
    return ticket_document(ticket, users.id_of, project_number(ticket))


async def ticket_in(tracker: Tracker, org: str, slug: str, project_ids: set[str] | None = None) -> Ticket:
    """The ticket, if it lives in organization `org`; 404 otherwise, as if it did not exist."""
    if project_ids is None:
        project_ids = {p.id for p in await tracker.list_projects(org)}
    numbered = NUMBERED.fullmatch(slug)
    if numbered and not could_be_a_ticket(int(numbered.group(1))):
        raise NotFound(f"Ticket {slug.strip()} not found in organization {org!r}.")
    ticket = (await tracker.get_ticket(rules.in_organization(org, slug))).ticket
    if ticket.project_id not in project_ids:
        raise NotFound(f"Ticket {ticket.slug} not found in organization {org!r}.")
    return ticket


@router.get("", summary="List tickets")
async def list_tickets(
    org: str,
    tracker: TrackerDep,
    repository_id: Annotated[
        int | str | None, Query(description="Project number (its UUID or code also work).")
    ] = None,
    status_filter: Annotated[AgentsMeshStatus | None, Query(alias="status")] = None,
    type: TicketType | None = None,
    assignee_id: int | None = None,
    labels: Annotated[str | None, Query(description="Comma-separated; a ticket must carry all of them.")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> TicketList:
    users = await people(tracker, org)
    limit = min(limit, MAX_PAGE_SIZE)
    page = await tracker.list_tickets(
        TicketFilter(
            organization=org,
            project=str(repository_id) if repository_id is not None else None,
            statuses=AGENTSMESH_STATUS.meaning(status_filter) if status_filter else (),
            types=(type,) if type else (),
            assignee=users.username("assignee_id", assignee_id) if assignee_id is not None else None,
            labels=[name for name in (labels or "").split(",") if name.strip()],
            limit=limit,
            offset=offset,
            count_limit=paging.COUNT_LIMIT,
        )
    )
    users = await users.naming(tracker, page.tickets)
    tickets = [ticket_of(t, users) for t in page.tickets]
    return TicketList(tickets=tickets, total=paging.lower_bound(page, offset), limit=limit, offset=offset)


@router.get("/board", summary="Get the Kanban board: one column per status")
async def get_board(
    org: str,
    tracker: TrackerDep,
    repository_id: Annotated[
        int | str | None,
        Query(description="Project number (its UUID or code also work); all projects when left out."),
    ] = None,
) -> BoardEnvelope:
    users = await people(tracker, org)
    projects = (
        [str(repository_id)] if repository_id not in (None, "") else [p.id for p in await tracker.list_projects(org)]
    )
    columns: dict[AgentsMeshStatus, list[Ticket]] = {word: [] for word in AgentsMeshStatus}
    for project in projects:
        board = await tracker.get_board(project, per_column=MAX_PAGE_SIZE, organization=org)
        for column in board.columns:
            columns[AGENTSMESH_STATUS.word(column.status)].extend(column.tickets)
    users = await users.naming(tracker, (t for column in columns.values() for t in column))
    return BoardEnvelope(
        board=Board(
            columns=[
                BoardColumn(status=w, tickets=[board_ticket_document(t, users.id_of) for t in c])
                for w, c in columns.items()
            ]
        )
    )


@router.get("/{slug}", summary="Get a ticket by slug")
async def get_ticket(org: str, slug: str, tracker: TrackerDep) -> TicketEnvelope:
    ticket = await ticket_in(tracker, org, slug)
    users = await (await people(tracker, org)).naming(tracker, [ticket])
    return TicketEnvelope(ticket=ticket_of(ticket, users))


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a ticket")
async def create_ticket(org: str, body: NewMeshTicket, tracker: TrackerDep) -> TicketEnvelope:
    users = await people(tracker, org)
    filed = await tracker.create_ticket(
        TicketDraft(
            title=body.title,
            project=str(body.repository_id) if body.repository_id is not None else None,
            organization=org,
            type=body.type,
            description=body.description,
            priority=body.priority,
            status=AGENTSMESH_STATUS.canonical(body.status),
            assignee=users.username("assignee_id", body.assignee_id) if body.assignee_id is not None else None,
            labels=body.labels,
            parent=body.parent_slug,
        )
    )
    return TicketEnvelope(ticket=ticket_of(filed.ticket, users))


@router.put("/{slug}", summary="Update a ticket; only the fields sent change")
async def update_ticket(org: str, slug: str, body: MeshTicketChanges, tracker: TrackerDep) -> TicketEnvelope:
    current = await ticket_in(tracker, org, slug)
    users = await people(tracker, org)
    sent = body.model_fields_set
    assignee = None
    if "assignee_id" in sent:
        assignee = UNASSIGNED if body.assignee_id is None else users.username("assignee_id", body.assignee_id)
    parent = None
    if "parent_slug" in sent:
        parent = body.parent_slug or UNASSIGNED
    changes = TicketChanges(
        title=body.title,
        type=body.type,
        description=body.description,
        priority=body.priority,
        status=AGENTSMESH_STATUS.canonical(body.status, current.status) if body.status else None,
        assignee=assignee,
        labels=body.labels,
        parent=parent,
    )
    ticket = await as_it_is(tracker, current, changes) or await tracker.update_ticket(
        rules.in_organization(org, current.slug), changes
    )
    return TicketEnvelope(ticket=ticket_of(ticket, await users.naming(tracker, [ticket])))


@router.patch("/{slug}/status", summary="Change only the status")
async def update_status(org: str, slug: str, body: StatusChange, tracker: TrackerDep) -> Message:
    current = await ticket_in(tracker, org, slug)
    await tracker.update_ticket(
        rules.in_organization(org, current.slug),
        TicketChanges(status=AGENTSMESH_STATUS.canonical(body.status, current.status)),
    )
    return Message(message="Status updated")


@router.delete("/{slug}", summary="Delete a ticket and its sub-tasks; deleting it again still answers 200")
async def delete_ticket(org: str, slug: str, tracker: TrackerDep) -> Message:
    project_ids = {p.id for p in await tracker.list_projects(org)}  # an unknown organization stays a 404
    try:
        ticket = await ticket_in(tracker, org, slug, project_ids)
        await tracker.delete_ticket(rules.in_organization(org, ticket.slug))
    except NotFound:
        pass  # seed 003: DELETE is idempotent
    return Message(message="Ticket deleted")
