"""Seed 002, ABF issues: issues per project by number, open/closed, users as objects, labels with colors.

A group is an organization; a project's `id` is its integer number, as in the seed (its UUID or code is
accepted too). Every path also answers without its `.json` suffix (seed 003). Timestamps are Unix
seconds written as strings and `number` is a string in issue objects, as in the seed's examples. A
user's `url` answers that user, to whoever shares an organization with them. The documents are
wire/abf.py's, which the abf backend reads too.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from tickets_mcp.core.tracker import ME, UNASSIGNED, TicketChanges, TicketDraft, TicketFilter, TicketSort, Tracker
from tickets_mcp.domain import Role, Ticket, rules
from tickets_mcp.domain.vocabulary import ABF_STATUS, AbfStatus
from tickets_mcp.errors import NotFound, PermissionDenied
from tickets_mcp.http.rest import paging
from tickets_mcp.http.rest.paging import Page, add_ticket_page_headers, page_per_page
from tickets_mcp.http.rest.support import (
    People,
    TrackerDep,
    as_it_is,
    could_be_a_ticket,
    error_responses,
    find_project,
    from_unix,
    operation_ids,
    people,
    project_number,
)
from tickets_mcp.wire.abf import (
    IssueChangeRequest,
    IssueEnvelope,
    IssueList,
    IssueResult,
    IssueResultEnvelope,
    NewIssueRequest,
    UserEnvelope,
    issue_document,
    user_document,
)

router = APIRouter(
    prefix="/api/v1",
    tags=["ABF issues (seed 002)"],
    responses=error_responses(),
    generate_unique_id_function=operation_ids("abf"),
)

PageDep = Annotated[Page, Depends(page_per_page)]
# A project's `id` in a path: its integer number, as in the seed, or its UUID or code.
ProjectId = int | str


class AbfSort(StrEnum):
    SUBMITTED = "submitted"
    UPDATED = "updated"


class Direction(StrEnum):
    ASC = "asc"
    DESC = "desc"


class AbfFilter(StrEnum):
    ASSIGNED = "assigned"
    CREATED = "created"
    ALL = "all"


def issue_query(
    status_filter: Annotated[AbfStatus, Query(alias="status")] = AbfStatus.OPEN,
    labels: Annotated[str | None, Query(description="Comma-separated label names, e.g. Bug,Feature")] = None,
    sort: AbfSort = AbfSort.SUBMITTED,
    direction: Direction = Direction.DESC,
    since: Annotated[int | None, Query(description="Only issues updated at or after this Unix time.")] = None,
) -> TicketFilter:
    """The parameters every issue list shares, as a canonical filter."""
    return TicketFilter(
        statuses=ABF_STATUS.meaning(status_filter),
        labels=[name for name in (labels or "").split(",") if name.strip()],
        sort=TicketSort.UPDATED if sort is AbfSort.UPDATED else TicketSort.CREATED,
        descending=direction is Direction.DESC,
        updated_since=from_unix("since", since) if since is not None else None,
    )


IssueQuery = Annotated[TicketFilter, Depends(issue_query)]


async def issues_page(
    tracker: Tracker, query: TicketFilter, page: Page, request: Request, response: Response
) -> IssueList:
    found = await tracker.list_tickets(
        replace(query, limit=page.size, offset=page.offset, count_limit=paging.COUNT_LIMIT)
    )
    users = await (await people(tracker)).naming(tracker, found.tickets)
    add_ticket_page_headers(response, page, found)
    return IssueList(
        issues=[issue_document(t, users.find, project_number(t)) for t in found.tickets], url=request.url.path
    )


def filtered(query: TicketFilter, which: AbfFilter) -> TicketFilter:
    if which is AbfFilter.ASSIGNED:
        return replace(query, assignee=ME)
    if which is AbfFilter.CREATED:
        return replace(query, reporter=ME)
    return query


FilterQuery = Annotated[AbfFilter, Query(alias="filter", description="assigned (default), created or all")]


# Each route is also served without `.json`. Decorators apply bottom-up, so the `.json` path is registered
# first and `/issues/11.json` is never read as the number "11.json".
@router.get("/user/issues", include_in_schema=False)
@router.get(
    "/user/issues.json",
    summary="Issues across the projects you own or are a member of",
    operation_id="abf_list_user_issues",
)
@router.get("/issues", include_in_schema=False)
@router.get("/issues.json", summary="Issues across all your projects, group projects included")
async def list_all_issues(
    tracker: TrackerDep,
    params: IssueQuery,
    page: PageDep,
    request: Request,
    response: Response,
    which: FilterQuery = AbfFilter.ASSIGNED,
) -> IssueList:
    # Every project belongs to an organization (a group), so "all your projects" and "projects you own
    # or are a member of" are the same set here: one handler serves both lists.
    return await issues_page(tracker, filtered(params, which), page, request, response)


@router.get("/group/{id}/issues", include_in_schema=False)
@router.get("/group/{id}/issues.json", summary="Issues of one group (organization)")
async def list_group_issues(
    id: str,
    tracker: TrackerDep,
    params: IssueQuery,
    page: PageDep,
    request: Request,
    response: Response,
    which: FilterQuery = AbfFilter.ASSIGNED,
) -> IssueList:
    query = replace(filtered(params, which), organization=id)
    return await issues_page(tracker, query, page, request, response)


@router.get("/projects/{id}/issues", include_in_schema=False)
@router.get("/projects/{id}/issues.json", summary="Issues of one project")
async def list_project_issues(
    id: ProjectId,
    tracker: TrackerDep,
    params: IssueQuery,
    page: PageDep,
    request: Request,
    response: Response,
    assignee: Annotated[str | None, Query(description="A username, none (unassigned) or * (anyone).")] = None,
    creator: Annotated[str | None, Query(description="A username.")] = None,
) -> IssueList:
    # `*` (anyone) is the Tracker's own word for it, so the store reads one page, not the whole project.
    query = replace(params, project=str(id), assignee=assignee, reporter=creator or None)
    return await issues_page(tracker, query, page, request, response)


@router.get("/projects/{id}/issues/{number}", include_in_schema=False)
@router.get("/projects/{id}/issues/{number}.json", summary="One issue by its number")
async def get_issue(id: ProjectId, number: int, tracker: TrackerDep) -> IssueEnvelope:
    _, ticket = await issue_in(tracker, str(id), number)
    users = await (await people(tracker)).naming(tracker, [ticket])
    return IssueEnvelope(issue=issue_document(ticket, users.find, project_number(ticket)))


async def issue_in(tracker: Tracker, project_id: str, number: int) -> tuple[str, Ticket]:
    """Issue `number` of the project and the slug that names it; 404 in the seed's words when no issue has it."""
    project = await find_project(tracker, project_id)
    slug = rules.in_organization(project.organization_id, f"{project.code}-{number}")
    missing = NotFound(
        f"Issue {number} not found in project {project_id}.",
        hint=f"List the project's issue numbers with GET /api/v1/projects/{project_id}/issues.json?status=all.",
    )
    if not could_be_a_ticket(number):
        raise missing
    try:
        return slug, (await tracker.get_ticket(slug)).ticket
    except NotFound:
        raise missing from None


async def push_access(tracker: Tracker, project: str) -> tuple[bool, People]:
    """Whether the caller may change the project's issues (member or above), and the users it can see.

    A project token may only file tickets, so it has no push access and sees nobody.
    """
    try:
        workspace = await tracker.workspace()
    except PermissionDenied:
        return False, People.of(())
    users = People.of(member.user for org in workspace.organizations for member in org.members)
    for org in workspace.organizations:
        found = rules.pick(
            project, org.projects, lambda p: p.code, lambda p: p.id, lambda p: str(p.number), lambda p: p.name,
            field="project", describe=lambda p: str(p.number),
        )  # fmt: skip
        if found is not None:
            return org.role.may_act_as(Role.MEMBER), users
    return False, users


@router.get("/users/{id}", include_in_schema=False)
@router.get("/users/{id}.json", summary="The user an issue's `url` names: a member of an organization you belong to")
async def get_user(id: int, tracker: TrackerDep) -> UserEnvelope:
    found = (await people(tracker)).by_id.get(id)
    if found is None:  # as for anyone you share no organization with: whether they exist stays unsaid
        raise NotFound(f"User {id} not found.", hint="A user's url comes from an issue of your projects.")
    return UserEnvelope(user=user_document(found))


@router.post("/projects/{id}/issues", status_code=status.HTTP_201_CREATED, include_in_schema=False)
@router.post("/projects/{id}/issues.json", status_code=status.HTTP_201_CREATED, summary="Create an issue")
async def create_issue(id: ProjectId, body: NewIssueRequest, tracker: TrackerDep) -> IssueResultEnvelope:
    issue = body.issue
    push, users = await push_access(tracker, str(id))
    assignee = None
    if push and issue.assignee_id is not None:  # seed 002: dropped silently without push access
        assignee = users.username("assignee_id", issue.assignee_id)
    filed = await tracker.create_ticket(
        TicketDraft(
            title=issue.title,
            project=str(id),
            description=issue.body,
            status=ABF_STATUS.canonical(issue.status),
            assignee=assignee,
            labels=issue.labels if push else (),
        )
    )
    ticket = filed.ticket
    return IssueResultEnvelope(issue=IssueResult(number=ticket.number, message="Issue has been created successfully"))


@router.put("/projects/{id}/issues/{number}", include_in_schema=False)
@router.put("/projects/{id}/issues/{number}.json", summary="Update an issue; only the fields sent change")
async def update_issue(
    id: ProjectId, number: int, body: IssueChangeRequest, tracker: TrackerDep
) -> IssueResultEnvelope:
    slug, current = await issue_in(tracker, str(id), number)
    changes = body.issue
    assignee = None
    if "assignee_id" in changes.model_fields_set:
        if changes.assignee_id is None:
            assignee = UNASSIGNED
        else:
            assignee = (await people(tracker)).username("assignee_id", changes.assignee_id)
    update = TicketChanges(
        title=changes.title,
        description=changes.body,
        status=ABF_STATUS.canonical(changes.status, current.status) if changes.status else None,
        assignee=assignee,
        labels=changes.labels,
    )
    if await as_it_is(tracker, current, update) is None:
        await tracker.update_ticket(slug, update)
    return IssueResultEnvelope(issue=IssueResult(number=number, message="Issue has been updated successfully"))
