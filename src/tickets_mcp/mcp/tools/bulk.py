"""create_tickets and move_tickets: many tickets in one call, in the opt-in bulk tool set."""

from __future__ import annotations

from typing import Annotated

from mcp.types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from tickets_mcp.core.tracker import BULK_MAX, MoveDraft, TicketDraft
from tickets_mcp.domain import Priority, Status, Ticket, TicketType
from tickets_mcp.mcp import arguments as a
from tickets_mcp.mcp import render
from tickets_mcp.mcp.context import Ctx, tracker_for
from tickets_mcp.mcp.tools.results import text

# Built on first use: the bulk tools are only registered on a server that shows them (TrackerServer.add_tools),
# and a model built at import costs every start about a millisecond.
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


def items_like(tool: str, required: list[str]) -> WithJsonSchema:
    """The listed schema of a list whose items take another tool's arguments: a pointer to that tool
    rather than its schema again (create_ticket's costs 240 tokens). The items are still checked whole,
    and a mistake is refused naming the item and the field."""
    return WithJsonSchema(
        {"type": "array", "items": {"type": "object", "required": required}, "description": f"Each: {tool}'s arguments"}
    )


async def create_tickets(
    ctx: Ctx,
    tickets: Annotated[
        list[NewTicketItem], Field(min_length=1, max_length=BULK_MAX), items_like("create_ticket", ["title"])
    ],
    project: Annotated[str | None, Field(max_length=100), a.lean("For items that name none")] = None,
) -> CallToolResult:
    """File up to 100 tickets at once. On the local tracker all or none."""

    async def progress(done: int, total: int, message: str) -> None:
        await ctx.report_progress(done, total, message)

    filing = await tracker_for(ctx).create_tickets([item.draft(project) for item in tickets], progress)
    slugs = [o.slug if isinstance(o, Ticket) else None for o in filing.outcomes]
    return text(render.batch("Filed", filing), {"slugs": slugs})


async def move_tickets(
    ctx: Ctx,
    moves: Annotated[
        list[MoveItem], Field(min_length=1, max_length=BULK_MAX), items_like("move_ticket", ["slug", "status"])
    ],
) -> CallToolResult:
    """Move up to 100 tickets at once. On the local tracker all or none."""

    async def progress(done: int, total: int, message: str) -> None:
        await ctx.report_progress(done, total, message)

    drafts = [MoveDraft(m.slug, Status(m.status), m.before, m.after, m.version) for m in moves]
    result = await tracker_for(ctx).move_tickets(drafts, progress)
    slugs = [o.slug if isinstance(o, Ticket) else None for o in result.outcomes]
    return text(render.batch("Moved", result), {"slugs": slugs})
