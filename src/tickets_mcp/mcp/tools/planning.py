"""The planning tools (the `planning` set): link tickets, keep milestones, log time.

Due dates, estimates and milestones of a ticket are arguments of create_ticket, update_ticket, list_tickets
and get_board, which the default list shows without them until the set is switched on (tools/__init__.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.types import CallToolResult
from pydantic import Field

from tickets_mcp.domain import LinkKind
from tickets_mcp.mcp import arguments as a
from tickets_mcp.mcp import render_planning as render
from tickets_mcp.mcp.context import Ctx, tracker_for
from tickets_mcp.mcp.tools.results import text

LinkName = Literal["blocks", "blocked_by", "duplicates", "duplicated_by", "relates_to"]


async def link_tickets(
    ctx: Ctx,
    slug: a.Slug,
    kind: LinkName,
    other: Annotated[str, Field(max_length=a.SLUG_MAX), a.lean("The other ticket's slug")],
    unlink: bool = False,
    close: Annotated[bool, Field(description="With duplicates: also close slug as canceled")] = False,
) -> CallToolResult:
    """Link two tickets, read as "slug KIND other" (WEB-3 blocked_by WEB-1); unlink=true removes the link."""
    linked = await tracker_for(ctx).link_tickets(slug, LinkKind(kind), other, unlink=unlink, close_as_duplicate=close)
    return text(render.linked(linked), {"version": linked.ticket.version})


async def list_milestones(
    ctx: Ctx, project: a.ProjectRef = None, closed: bool = False, organization: a.OrganizationRef = None
) -> CallToolResult:
    """A project's milestones (sprints, versions) with progress and overdue tickets; closed=true adds closed ones."""
    milestones = await tracker_for(ctx).list_milestones(project, closed=closed, organization=organization)
    return text(render.milestones(milestones))


async def save_milestone(
    ctx: Ctx,
    name: Annotated[str, Field(min_length=1, max_length=100)],
    project: a.ProjectRef = None,
    rename: Annotated[str | None, Field(max_length=100)] = None,
    start: a.Day = None,
    due: a.Day = None,
    closed: bool | None = None,
    open_tickets: Annotated[
        str | None, Field(max_length=100), a.lean("On close: keep, none, or a milestone to move them to")
    ] = None,
    organization: a.OrganizationRef = None,
) -> CallToolResult:
    """Create a milestone, or change the one of that name: rename, dates, close or reopen."""
    milestone = await tracker_for(ctx).save_milestone(
        project, name, rename=rename, start_date=start, due_date=due, closed=closed, open_tickets=open_tickets,
        organization=organization,
    )  # fmt: skip
    return text("Saved " + render.milestone_line(milestone) + ".", {"milestone": milestone.name})


async def log_time(
    ctx: Ctx,
    slug: a.Slug,
    hours: Annotated[float, Field(gt=0, le=1000)],
    on: a.Day = None,
    note: Annotated[str, Field(max_length=1000)] = "",
) -> CallToolResult:
    """Log time spent on a ticket (default: today)."""
    entry = await tracker_for(ctx).log_time(slug, hours, spent_on=on, note=note)
    return text(f"Logged {entry.hours:g}h on {entry.ticket_slug} for {entry.spent_on}.", {"entry_id": entry.id})
