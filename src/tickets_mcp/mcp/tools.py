"""The tools (14, and create_tickets and move_tickets in the opt-in bulk set): names and arguments are the contract."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from tickets_mcp.core.access import Action
from tickets_mcp.core.tracker import BULK_MAX, MoveDraft, TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import HISTORY_MAX, HISTORY_SHOWN, Priority, Status, Ticket, TicketSort, TicketType
from tickets_mcp.domain.rules import plural
from tickets_mcp.mcp import arguments as a
from tickets_mcp.mcp import render
from tickets_mcp.mcp.consent import Consent, DeletionConfirmation, ask_user, confirmed, not_deleted
from tickets_mcp.mcp.server import AppState, TrackerServer, tracker_for

# destructive and idempotent hints only mean something for tools that write, so read tools leave them out.
# A hint at its default (readOnlyHint false, idempotentHint false) is left out too: it costs tokens on
# every tools/list and tells a client nothing it does not already assume.
READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
CREATE = ToolAnnotations(destructive_hint=False, open_world_hint=False)
EDIT = ToolAnnotations(destructive_hint=False, idempotent_hint=True, open_world_hint=False)
DELETE = ToolAnnotations(destructive_hint=True, idempotent_hint=True, open_world_hint=False)
# list_tickets counts matches up to here and then says "1000+": enough to tell an agent to narrow
# its filters, at a fraction of an exact count's cost on a large project. list_projects has exact totals.
COUNT_LIMIT = 1000

Ctx = Context[AppState]

# What each tool needs: LocalTracker refuses a call without it, and a token is not shown the tool.
TOOL_ACTIONS: Mapping[str, Action] = {
    "get_workspace_context": Action.BROWSE,
    "list_organizations": Action.BROWSE,
    "list_projects": Action.BROWSE,
    "create_project": Action.MANAGE,
    "update_project": Action.MANAGE,
    "delete_project": Action.MANAGE,
    "list_tickets": Action.READ,
    "get_ticket": Action.READ,
    "get_board": Action.READ,
    "create_ticket": Action.FILE,
    "create_tickets": Action.FILE,
    "add_comment": Action.COMMENT,
    "update_ticket": Action.EDIT,
    "move_ticket": Action.EDIT,
    "move_tickets": Action.EDIT,
    "delete_ticket": Action.EDIT,
}


# Built on first use: create_tickets and move_tickets are opt-in. A model built at import costs every
# start about a millisecond.
_ON_FIRST_USE = ConfigDict(defer_build=True)


class NewTicketItem(BaseModel):
    """One ticket of create_tickets: create_ticket's arguments."""

    model_config = _ON_FIRST_USE

    title: a.Title
    project: a.ProjectRef = None
    type: a.TicketType = "task"
    description: a.Description = ""
    priority: a.Priority = "medium"
    status: a.Status = "backlog"
    assignee: a.Assignee = None
    labels: a.Labels = None
    parent: a.OptionalSlug = None
    idempotency_key: a.IdempotencyKey = None
    not_duplicate: bool = False

    def draft(self, project: str | None) -> TicketDraft:
        return TicketDraft(
            title=self.title,
            project=self.project or project,
            type=TicketType(self.type),
            description=self.description,
            priority=Priority(self.priority),
            status=Status(self.status),
            assignee=self.assignee,
            labels=self.labels or (),
            parent=self.parent,
            idempotency_key=self.idempotency_key,
            check_duplicates=not self.not_duplicate,
        )


class MoveItem(BaseModel):
    """One move of move_tickets: move_ticket's arguments."""

    model_config = _ON_FIRST_USE

    slug: a.Slug
    status: a.Status
    before: a.OptionalSlug = None
    after: a.OptionalSlug = None
    version: a.Version = None


def text(body: str, structured: dict[str, Any] | None = None) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=body)], structured_content=structured)


def saved(verb: str, ticket: Ticket) -> CallToolResult:
    return text(
        render.ticket_saved(verb, ticket),
        {"slug": ticket.slug, "status": ticket.status.value, "version": ticket.version},
    )


# The resolvers of the destructive tools (see consent.py): each only says what to ask the user.


async def confirm_ticket_deletion(
    slug: str, confirm: bool, ctx: Ctx
) -> DeletionConfirmation | Elicit[DeletionConfirmation]:
    async def question() -> str:
        impact = await tracker_for(ctx).ticket_deletion(slug)
        return f"Delete {render.ticket_deletion_impact(impact)}? This cannot be undone."

    return await ask_user(ctx, confirm, question)


async def confirm_project_deletion(
    project: str, confirm: bool, organization: str | None, ctx: Ctx
) -> DeletionConfirmation | Elicit[DeletionConfirmation]:
    async def question() -> str | None:
        impact = await tracker_for(ctx).project_deletion(project, organization=organization)
        if impact.tickets:
            return None  # refused anyway: no point asking the user
        return f"Delete {render.project_deletion_impact(impact)}?"

    return await ask_user(ctx, confirm, question)


def register_tools(server: TrackerServer) -> None:
    @server.tool(annotations=READ)
    async def get_workspace_context(ctx: Ctx) -> CallToolResult:
        """Start here: your organizations, their projects (codes for slugs), members, and valid statuses, priorities and types."""  # noqa: E501
        return text(render.workspace(await tracker_for(ctx).workspace()))

    @server.tool(annotations=READ)
    async def list_organizations(ctx: Ctx) -> CallToolResult:
        """List the organizations you belong to."""
        return text(render.organizations(await tracker_for(ctx).list_organizations()))

    @server.tool(annotations=READ)
    async def list_projects(ctx: Ctx, organization: a.OrganizationRef = None) -> CallToolResult:
        """List projects with their codes and open/total ticket counts."""
        return text(render.projects(await tracker_for(ctx).list_projects(organization)))

    @server.tool(annotations=CREATE)
    async def create_project(
        ctx: Ctx,
        name: a.ProjectName,
        code: Annotated[str | None, Field(max_length=10, description="2-10 letters/digits, e.g. WEB")] = None,
        description: a.Description = "",
        organization: a.OrganizationRef = None,
    ) -> CallToolResult:
        """Create a project. Its code prefixes ticket slugs; derived from the name if omitted."""
        project = await tracker_for(ctx).create_project(
            name, code=code, description=description, organization=organization
        )
        return text(render.project_saved("Created", project), {"code": project.code, "id": project.id})

    @server.tool(annotations=EDIT)
    async def update_project(
        ctx: Ctx,
        project: Annotated[str, Field(max_length=100), a.lean("Project code, name or id")],
        name: Annotated[str | None, Field(max_length=36)] = None,
        description: Annotated[str | None, Field(max_length=65_536)] = None,
        organization: a.OrganizationRef = None,
        default: bool | None = None,
    ) -> CallToolResult:
        """Rename a project, change its description, or (default=true, owners only) make it the default
        project, where REST clients naming only the organization file tickets. The code never changes."""
        saved_project = await tracker_for(ctx).update_project(
            project, name=name, description=description, organization=organization, default=default
        )
        return text(render.project_saved("Updated", saved_project), {"code": saved_project.code})

    @server.tool(annotations=DELETE)
    async def delete_project(
        ctx: Ctx,
        project: Annotated[str, Field(max_length=100), a.lean("Project code, name or id")],
        confirmation: Annotated[Consent, Resolve(confirm_project_deletion)],
        confirm: a.Confirm = False,
        organization: a.OrganizationRef = None,
    ) -> CallToolResult:
        """Delete an empty project; refused while it holds tickets. The user is asked to confirm."""
        tracker = tracker_for(ctx)
        if not confirmed(confirmation):
            impact = await tracker.project_deletion(project, organization=organization)
            if impact.tickets:
                return text(
                    f"Not deleted: project {impact.project.code} holds {plural(impact.tickets, 'ticket')}. "
                    "Delete or move them first."
                )
            return text(not_deleted(ctx, render.project_deletion_impact(impact)))
        impact = await tracker.delete_project(project, organization=organization)
        return text(f"Deleted {render.project_deletion_impact(impact)}.", {"deleted": impact.project.code})

    @server.tool(annotations=READ)
    async def list_tickets(
        ctx: Ctx,
        project: a.ProjectRef = None,
        status: a.Statuses = None,
        type: a.TicketTypes = None,
        priority: a.Priorities = None,
        assignee: a.Assignee = None,
        labels: a.Labels = None,
        parent: a.OptionalSlug = None,
        query: Annotated[
            str | None, Field(max_length=200, description="Words in title, description or comments")
        ] = None,
        updated_since: Annotated[str | None, Field(max_length=40), a.lean("ISO date, e.g. 2026-11-01")] = None,
        sort: Annotated[a.SortName | None, Field(description="Default: relevance with a query, else created")] = None,
        order: a.Order = "desc",
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Field(max_length=200), a.lean()] = None,
        organization: a.OrganizationRef = None,
    ) -> CallToolResult:
        """Find tickets; filters combine with AND. Page with the cursor the result gives."""
        page = await tracker_for(ctx).list_tickets(
            TicketFilter(
                project=project,
                organization=organization,
                statuses=[Status(s) for s in status or ()],
                types=[TicketType(t) for t in type or ()],
                priorities=[Priority(p) for p in priority or ()],
                assignee=assignee,
                labels=labels or (),
                parent=parent,
                text=query,
                updated_since=updated_since,
                sort=TicketSort(sort or ("relevance" if query else "created")),
                descending=order == "desc",
                limit=limit,
                cursor=server.cursors.open(cursor),
                count_limit=COUNT_LIMIT,
            )
        )
        signed = page.model_copy(update={"next_cursor": server.cursors.seal(page.next_cursor)})
        return text(render.ticket_page(signed))

    @server.tool(annotations=READ)
    async def get_ticket(
        ctx: Ctx, slug: a.Slug, history: Annotated[int, Field(ge=0, le=HISTORY_MAX)] = HISTORY_SHOWN
    ) -> CallToolResult:
        """Show a ticket with its description, sub-tasks, comments and latest changes."""
        return text(render.ticket_detail(await tracker_for(ctx).get_ticket(slug, history=history)))

    @server.tool(annotations=CREATE)
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
            idempotency_key=idempotency_key,
            check_duplicates=not not_duplicate,
        )
        return saved("Created", await tracker_for(ctx).create_ticket(draft))

    @server.tool(annotations=EDIT)
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
    ) -> CallToolResult:
        """Change the given fields of a ticket; others stay as they are."""
        ticket = await tracker_for(ctx).update_ticket(
            slug,
            TicketChanges(
                title=title,
                type=TicketType(type) if type else None,
                description=description,
                priority=Priority(priority) if priority else None,
                status=Status(status) if status else None,
                assignee=assignee,
                labels=labels,
                parent=parent,
            ),
            version=version,
        )
        return saved("Updated", ticket)

    @server.tool(annotations=EDIT)
    async def move_ticket(
        ctx: Ctx,
        slug: a.Slug,
        status: a.Status,
        before: Annotated[a.OptionalSlug, a.lean("Place above this slug")] = None,
        after: Annotated[a.OptionalSlug, a.lean("Place below this slug")] = None,
        version: a.Version = None,
    ) -> CallToolResult:
        """Move a ticket to a board column, last in it or next to another ticket of that column."""
        ticket = await tracker_for(ctx).move_ticket(slug, Status(status), before=before, after=after, version=version)
        return saved("Moved", ticket)

    @server.tool(annotations=DELETE)
    async def delete_ticket(
        ctx: Ctx,
        slug: a.Slug,
        confirmation: Annotated[Consent, Resolve(confirm_ticket_deletion)],
        confirm: a.Confirm = False,
    ) -> CallToolResult:
        """Delete a ticket with its sub-tasks and comments. The user is asked to confirm."""
        tracker = tracker_for(ctx)
        if not confirmed(confirmation):
            impact = await tracker.ticket_deletion(slug)
            return text(not_deleted(ctx, render.ticket_deletion_impact(impact)))
        impact = await tracker.delete_ticket(slug)
        return text(
            f"Deleted {render.ticket_deletion_impact(impact)}.",
            {"deleted": [impact.slug, *impact.subtasks]},
        )

    @server.tool(annotations=READ)
    async def get_board(
        ctx: Ctx,
        project: a.ProjectRef = None,
        per_column: Annotated[int, Field(ge=1, le=100)] = 10,
        organization: a.OrganizationRef = None,
    ) -> CallToolResult:
        """Show a project's Kanban board: columns in workflow order with counts and their top tickets."""
        board = await tracker_for(ctx).get_board(project, per_column=per_column, organization=organization)
        return text(render.board(board))

    @server.tool(annotations=CREATE)
    async def add_comment(ctx: Ctx, slug: a.Slug, body: a.Body) -> CallToolResult:
        """Comment on a ticket."""
        comment = await tracker_for(ctx).add_comment(slug, body)
        return text(f"Commented on {comment.ticket_slug} (comment {comment.id}).", {"comment_id": comment.id})


def register_bulk_tools(server: MCPServer[AppState]) -> None:
    """create_tickets and move_tickets: only on a server whose tool sets include bulk, since building a
    tool's argument model costs start-up time every other server would pay for nothing."""

    @server.tool(annotations=CREATE)
    async def create_tickets(
        ctx: Ctx,
        tickets: Annotated[list[NewTicketItem], Field(min_length=1, max_length=BULK_MAX)],
        project: Annotated[str | None, Field(max_length=100), a.lean("For items that name none")] = None,
    ) -> CallToolResult:
        """File up to 100 tickets at once, each with create_ticket's fields. On the local tracker all or none."""

        async def progress(done: int, total: int, message: str) -> None:
            await ctx.report_progress(done, total, message)

        filing = await tracker_for(ctx).create_tickets([item.draft(project) for item in tickets], progress)
        slugs = [o.slug if isinstance(o, Ticket) else None for o in filing.outcomes]
        return text(render.batch("Filed", filing), {"slugs": slugs})

    @server.tool(annotations=EDIT)
    async def move_tickets(
        ctx: Ctx, moves: Annotated[list[MoveItem], Field(min_length=1, max_length=BULK_MAX)]
    ) -> CallToolResult:
        """Move up to 100 tickets at once, each with move_ticket's fields. On the local tracker all or none."""

        async def progress(done: int, total: int, message: str) -> None:
            await ctx.report_progress(done, total, message)

        drafts = [MoveDraft(m.slug, Status(m.status), m.before, m.after, m.version) for m in moves]
        result = await tracker_for(ctx).move_tickets(drafts, progress)
        slugs = [o.slug if isinstance(o, Ticket) else None for o in result.outcomes]
        return text(render.batch("Moved", result), {"slugs": slugs})
