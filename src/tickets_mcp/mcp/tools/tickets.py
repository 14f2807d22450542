"""The tools about tickets and their comments: find, read, file, change, delete, comment."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult
from pydantic import Field

from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import HISTORY_BRIEF, HISTORY_MAX, Priority, Status, TicketSort, TicketType
from tickets_mcp.domain.enums import statuses_named
from tickets_mcp.errors import AlreadyDeleted, Invalid
from tickets_mcp.mcp import arguments as a
from tickets_mcp.mcp import render
from tickets_mcp.mcp.consent import Consent, DeletionConfirmation, ask_user, confirmed, not_deleted
from tickets_mcp.mcp.context import Ctx, cursor_seal, tracker_for
from tickets_mcp.mcp.tools.results import created, saved, text

# list_tickets counts matches up to here and then says "1000+": enough to tell an agent to narrow
# its filters, at a fraction of an exact count's cost on a large project. list_projects has exact totals.
COUNT_LIMIT = 1000


async def list_tickets(
    ctx: Ctx,
    project: a.ProjectRef = None,
    status: a.Statuses = None,
    type: a.TicketTypes = None,
    priority: a.Priorities = None,
    assignee: a.Assignee = None,
    labels: a.Labels = None,
    parent: a.OptionalSlug = None,
    query: Annotated[str | None, Field(max_length=200, description="Words in title, description or comments")] = None,
    updated_since: Annotated[str | None, Field(max_length=40), a.lean("ISO date, or ago: 1h, 2d, yesterday")] = None,
    sort: Annotated[a.SortName | None, Field(description="Default: relevance with a query, else created")] = None,
    order: a.Order | None = None,  # default: asc for due (the soonest first), else desc
    limit: Annotated[int, Field(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Field(max_length=200), a.lean()] = None,
    organization: a.OrganizationRef = None,
    milestone: a.Milestone = None,
    blocked: Annotated[bool | None, Field(description="true: has an open blocker")] = None,
    blocking: Annotated[bool | None, Field(description="true: blocks an open ticket")] = None,
    overdue: Annotated[bool, Field(description="Open and past its due date")] = False,
    due_before: a.Day = None,
    due_after: a.Day = None,
) -> CallToolResult:
    """Find tickets; filters combine with AND. Page with the cursor the result gives."""
    cursors = cursor_seal(ctx)
    page = await tracker_for(ctx).list_tickets(
        TicketFilter(
            project=project,
            organization=organization,
            statuses=statuses_named(status or ()),
            types=[TicketType(t) for t in type or ()],
            priorities=[Priority(p) for p in priority or ()],
            assignee=assignee,
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
            sort=TicketSort(sort or ("relevance" if query else "created")),
            descending=order == "desc" if order else sort != "due",  # the soonest due first
            limit=limit,
            cursor=cursors.open(cursor),
            count_limit=COUNT_LIMIT,
        )
    )
    signed = page.model_copy(update={"next_cursor": cursors.seal(page.next_cursor)})
    # The time a row is listed by, when the row does not say it already (the default order is the slug's).
    time_field = "updated" if sort == "updated" or updated_since else "created" if sort == "created" else None
    if sort == "due" or overdue or due_before or due_after:
        time_field = None  # each row shows its due date
    return text(render.ticket_page(signed, time_field))


async def get_ticket(
    ctx: Ctx, slug: a.Slug, history: Annotated[int, Field(ge=0, le=HISTORY_MAX)] = HISTORY_BRIEF
) -> CallToolResult:
    """Show a ticket with its description, sub-tasks, comments and latest changes."""
    return text(render.ticket_detail(await tracker_for(ctx).get_ticket(slug, history=history)))


async def create_ticket(
    ctx: Ctx,
    title: a.Title,
    project: a.ProjectRef = None,
    type: a.TicketType = "task",
    description: a.Description = "",
    priority: a.Priority = "medium",
    status: a.Status = "backlog",
    assignee: a.Assignee = None,
    labels: a.Labels = None,
    parent: Annotated[a.OptionalSlug, a.lean("Parent slug for a sub-task")] = None,
    idempotency_key: a.IdempotencyKey = None,
    not_duplicate: bool = False,
    due: a.Day = None,
    estimate: a.Estimate = None,
    milestone: a.Milestone = None,
) -> CallToolResult:
    """File a ticket; returns its slug, or an open look-alike instead unless not_duplicate."""
    draft = TicketDraft(
        title=title,
        project=project,
        type=TicketType(type),
        description=description,
        priority=Priority(priority),
        status=Status(status),
        assignee=assignee,
        labels=labels or (),
        parent=parent,
        due_date=due,
        estimate=None if estimate == "none" else estimate,
        milestone=milestone,
        idempotency_key=idempotency_key,
        check_duplicates=not not_duplicate,
    )
    return created(await tracker_for(ctx).create_ticket(draft))


async def update_ticket(
    ctx: Ctx,
    slug: a.Slug,
    title: Annotated[str | None, Field(min_length=1, max_length=500)] = None,
    type: a.TicketType | None = None,
    description: Annotated[str | None, Field(max_length=65_536)] = None,
    priority: a.Priority | None = None,
    status: a.Status | None = None,
    assignee: a.Assignee = None,
    labels: Annotated[a.Labels, Field(description="Replaces all labels; [] clears")] = None,
    parent: Annotated[a.OptionalSlug, a.lean("Parent slug, or 'none'")] = None,
    version: a.Version = None,
    due: Annotated[a.Day, a.lean("YYYY-MM-DD, friday, +3d, or 'none'")] = None,
    estimate: a.Estimate = None,
    milestone: a.Milestone = None,
    project: Annotated[a.ProjectRef, a.lean("Move it (and its sub-tasks) to this project")] = None,
) -> CallToolResult:
    """Change the given fields of a ticket; others stay as they are."""
    changes = TicketChanges(
        title=title,
        type=TicketType(type) if type else None,
        description=description,
        priority=Priority(priority) if priority else None,
        status=Status(status) if status else None,
        assignee=assignee,
        labels=labels,
        parent=parent,
        due_date=due,
        estimate=estimate,
        milestone=milestone,
    )
    if project is not None:
        return await move_and_update(ctx, slug, project, changes, version)
    return saved("Updated", await tracker_for(ctx).update_ticket(slug, changes, version=version), slug)


async def move_and_update(
    ctx: Ctx, slug: str, project: str, changes: TicketChanges, version: int | None
) -> CallToolResult:
    """update_ticket with a project: the move alone. Other fields sent with it are refused before anything is
    done: they would name the new project's labels, milestone or parent, and a move followed by a refused
    change would leave half of the call done."""
    if named := [name for name in TicketChanges.__slots__ if getattr(changes, name) is not None]:
        raise Invalid(
            "project",
            f"A move to another project goes alone; {', '.join(named)} came with it, so nothing was done.",
            hint=f"Send update_ticket slug={slug} project={project} first, then the other fields on its new slug.",
        )
    moved = await tracker_for(ctx).move_to_project(slug, project, version=version)
    return text(render.relocation(moved), {"slug": moved.ticket.slug, "version": moved.ticket.version})


async def confirm_ticket_deletion(
    slug: str, confirm: bool, ctx: Ctx
) -> DeletionConfirmation | Elicit[DeletionConfirmation]:
    """delete_ticket's resolver (see consent.py): what to ask the user."""

    async def question() -> str | None:
        try:
            impact = await tracker_for(ctx).ticket_deletion(slug)
        except AlreadyDeleted:
            return None  # nothing to ask about: the tool says it is gone
        return f"Delete {render.ticket_deletion_impact(impact)}? This cannot be undone."

    return await ask_user(ctx, confirm, question)


async def delete_ticket(
    ctx: Ctx,
    slug: a.Slug,
    confirmation: Annotated[Consent, Resolve(confirm_ticket_deletion)],
    confirm: a.Confirm = False,
) -> CallToolResult:
    """Delete a ticket with its sub-tasks and comments. The user is asked to confirm."""
    tracker = tracker_for(ctx)
    try:
        if not confirmed(confirmation):
            impact = await tracker.ticket_deletion(slug)
            return text(not_deleted(ctx, render.ticket_deletion_impact(impact)))
        impact = await tracker.delete_ticket(slug)
    except AlreadyDeleted as gone:  # the tool is idempotent: deleting it again is done, not a mistake
        return text(render.already_deleted(gone))
    return text(f"Deleted {render.ticket_deletion_impact(impact)}.", {"deleted": [impact.slug, *impact.subtasks]})


async def add_comment(ctx: Ctx, slug: a.Slug, body: a.Body) -> CallToolResult:
    """Comment on a ticket."""
    comment = await tracker_for(ctx).add_comment(slug, body)
    return text(f"Commented on {comment.ticket_slug} (comment {comment.id}).", {"comment_id": comment.id})
