"""This project's own REST API: the Tracker protocol one to one, in the canonical model's JSON.

Every operation the MCP tools offer is here, so `tickets-mcp --backend native --url …` in front of a
`tickets-mcp serve` loses nothing. Names resolve as in the tools (project code, id or name; slugs
like WEB-42); errors follow seed 003 (`{"message": …}` with 400/401/403/404/409). Replies are the
domain records (src/tickets_mcp/domain/models.py); the bodies are wire/native.py's, which the native
backend sends.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    HISTORY_MAX,
    HISTORY_SHOWN,
    Board,
    Comment,
    Linked,
    LinkKind,
    Milestone,
    Priority,
    Project,
    ProjectDeletion,
    Relocation,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    TicketSort,
    TicketType,
    TimeEntry,
    Workspace,
)
from tickets_mcp.domain.enums import StatusFilterName, statuses_named
from tickets_mcp.http.rest.paging import COUNT_LIMIT, CountLimit, CursorsDep, Offset
from tickets_mcp.http.rest.support import TrackerDep, error_responses, operation_ids
from tickets_mcp.wire.native import (
    Milestones,
    MilestoneSave,
    Move,
    NewComment,
    NewLink,
    NewProject,
    NewTicket,
    NewTimeEntry,
    Organizations,
    ProjectChanges,
    ProjectMove,
    Projects,
    TicketEdit,
)

PREFIX = "/api/v1/native"
router = APIRouter(
    prefix=PREFIX,
    tags=["native"],
    responses=error_responses(),
    generate_unique_id_function=operation_ids("native"),
)


OrganizationQuery = Annotated[str | None, Query(description="Organization slug, id or name.")]


@router.get("/workspace", summary="Who you are, your organizations, projects and members")
async def workspace(tracker: TrackerDep) -> Workspace:
    return await tracker.workspace()


@router.get("/organizations", summary="Your organizations")
async def list_organizations(tracker: TrackerDep) -> Organizations:
    return Organizations(await tracker.list_organizations())


@router.get("/projects", summary="Projects, with ticket counts")
async def list_projects(tracker: TrackerDep, organization: OrganizationQuery = None) -> Projects:
    return Projects(await tracker.list_projects(organization))


@router.post("/projects", status_code=status.HTTP_201_CREATED, summary="Create a project")
async def create_project(body: NewProject, tracker: TrackerDep) -> Project:
    return await tracker.create_project(
        body.name, code=body.code, description=body.description, organization=body.organization
    )


@router.patch(
    "/projects/{project}", summary="Rename a project, change its description or estimate unit, or make it the default"
)
async def update_project(
    project: str, body: ProjectChanges, tracker: TrackerDep, organization: OrganizationQuery = None
) -> Project:
    saved = None
    if body.estimate_unit is not None:
        saved = await tracker.set_estimate_unit(project, body.estimate_unit, organization=organization)
    if saved is None or any(value is not None for value in (body.name, body.description, body.default)):
        saved = await tracker.update_project(
            project, name=body.name, description=body.description, organization=organization, default=body.default
        )
    return saved


@router.get("/projects/{project}/deletion", summary="What deleting a project would take with it")
async def project_deletion(
    project: str, tracker: TrackerDep, organization: OrganizationQuery = None
) -> ProjectDeletion:
    return await tracker.project_deletion(project, organization=organization)


@router.delete("/projects/{project}", summary="Delete an empty project")
async def delete_project(project: str, tracker: TrackerDep, organization: OrganizationQuery = None) -> ProjectDeletion:
    return await tracker.delete_project(project, organization=organization)


@router.get("/tickets", summary="Find tickets; filters combine with AND; page with cursor or offset")
async def list_tickets(
    tracker: TrackerDep,
    cursors: CursorsDep,
    project: str | None = None,
    organization: OrganizationQuery = None,
    status_filter: Annotated[list[StatusFilterName] | None, Query(alias="status")] = None,
    type: Annotated[list[TicketType] | None, Query()] = None,
    priority: Annotated[list[Priority] | None, Query()] = None,
    assignee: str | None = None,
    reporter: str | None = None,
    labels: Annotated[list[str] | None, Query()] = None,
    parent: str | None = None,
    milestone: Annotated[str | None, Query(description='A milestone\'s name, or "none".')] = None,
    blocked: bool | None = None,
    blocking: bool | None = None,
    overdue: bool = False,
    due_before: str | None = None,
    due_after: str | None = None,
    query: Annotated[str | None, Query(max_length=200)] = None,
    updated_since: str | None = None,
    sort: TicketSort = TicketSort.CREATED,
    descending: bool = True,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    offset: Offset = 0,
    count_limit: CountLimit = COUNT_LIMIT,
) -> TicketPage:
    page = await tracker.list_tickets(
        TicketFilter(
            project=project,
            organization=organization,
            statuses=statuses_named(status_filter or ()),
            types=type or (),
            priorities=priority or (),
            assignee=assignee,
            reporter=reporter,
            labels=labels or (),
            parent=parent,
            milestone=milestone,
            blocked=blocked,
            blocking=blocking,
            overdue=overdue,
            due_before=due_before,
            due_after=due_after,
            text=query,
            updated_since=updated_since,
            sort=sort,
            descending=descending,
            limit=limit,
            cursor=cursors.open(cursor),
            offset=offset,
            count_limit=count_limit,
        )
    )
    return page.model_copy(update={"next_cursor": cursors.seal(page.next_cursor)})


@router.post("/tickets", status_code=status.HTTP_201_CREATED, summary="File a ticket")
async def create_ticket(body: NewTicket, tracker: TrackerDep) -> Ticket:
    return (await tracker.create_ticket(TicketDraft(**body.model_dump()))).ticket


@router.get("/tickets/{slug}", summary="A ticket with its sub-tasks and comments")
async def get_ticket(
    slug: str, tracker: TrackerDep, history: Annotated[int, Query(ge=0, le=HISTORY_MAX)] = HISTORY_SHOWN
) -> TicketDetail:
    return await tracker.get_ticket(slug, history=history)


@router.patch("/tickets/{slug}", summary="Change a ticket's fields")
async def update_ticket(slug: str, body: TicketEdit, tracker: TrackerDep) -> Ticket:
    changes = body.model_dump(exclude={"version"})
    return await tracker.update_ticket(slug, TicketChanges(**changes), version=body.version)


@router.post("/tickets/{slug}/move", summary="Move a ticket to a column, optionally before or after another")
async def move_ticket(slug: str, body: Move, tracker: TrackerDep) -> Ticket:
    return await tracker.move_ticket(slug, body.status, before=body.before, after=body.after, version=body.version)


@router.post(
    "/tickets/{slug}/project",
    summary="Move a ticket and its sub-tasks to another project of its organization; its old slug keeps finding it",
)
async def move_to_project(slug: str, body: ProjectMove, tracker: TrackerDep) -> Relocation:
    return await tracker.move_to_project(slug, body.project, version=body.version)


@router.get("/tickets/{slug}/deletion", summary="What deleting a ticket would take with it")
async def ticket_deletion(slug: str, tracker: TrackerDep) -> TicketDeletion:
    return await tracker.ticket_deletion(slug)


@router.delete("/tickets/{slug}", summary="Delete a ticket with its comments")
async def delete_ticket(slug: str, tracker: TrackerDep) -> TicketDeletion:
    return await tracker.delete_ticket(slug)


@router.post("/tickets/{slug}/comments", status_code=status.HTTP_201_CREATED, summary="Comment on a ticket")
async def add_comment(slug: str, body: NewComment, tracker: TrackerDep) -> Comment:
    return await tracker.add_comment(slug, body.body)


@router.get("/board", summary="A project's Kanban board, columns in workflow order")
async def get_board(
    tracker: TrackerDep,
    project: str | None = None,
    organization: OrganizationQuery = None,
    per_column: Annotated[int, Query(ge=1, le=100)] = 20,
    milestone: str | None = None,
) -> Board:
    return await tracker.get_board(project, per_column=per_column, organization=organization, milestone=milestone)


@router.post("/tickets/{slug}/links", summary="Link a ticket to another, read from it: WEB-3 blocked_by WEB-1")
async def link_tickets(slug: str, body: NewLink, tracker: TrackerDep) -> Linked:
    return await tracker.link_tickets(slug, body.kind, body.other, close_as_duplicate=body.close)


@router.delete("/tickets/{slug}/links/{kind}/{other}", summary="Remove a link")
async def unlink_tickets(slug: str, kind: LinkKind, other: str, tracker: TrackerDep) -> Linked:
    return await tracker.link_tickets(slug, kind, other, unlink=True)


@router.post("/tickets/{slug}/time", status_code=status.HTTP_201_CREATED, summary="Log time spent on a ticket")
async def log_time(slug: str, body: NewTimeEntry, tracker: TrackerDep) -> TimeEntry:
    return await tracker.log_time(slug, body.hours, spent_on=body.spent_on, note=body.note)


@router.get("/projects/{project}/milestones", summary="A project's milestones with their progress")
async def list_milestones(
    project: str, tracker: TrackerDep, closed: bool = False, organization: OrganizationQuery = None
) -> Milestones:
    return Milestones(await tracker.list_milestones(project, closed=closed, organization=organization))


@router.put(  # {name:path}: a milestone may be named Q3/Q4
    "/projects/{project}/milestones/{name:path}", summary="Create a milestone, or change the one of that name"
)
async def save_milestone(
    project: str, name: str, body: MilestoneSave, tracker: TrackerDep, organization: OrganizationQuery = None
) -> Milestone:
    return await tracker.save_milestone(
        project, name, rename=body.rename, start_date=body.start_date, due_date=body.due_date, closed=body.closed,
        open_tickets=body.open_tickets, organization=organization,
    )  # fmt: skip
