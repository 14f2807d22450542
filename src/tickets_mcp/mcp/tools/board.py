"""The tools about a project's Kanban board: read it, move a ticket on it."""

from __future__ import annotations

from typing import Annotated

from mcp.types import CallToolResult
from pydantic import Field

from tickets_mcp.domain import Status
from tickets_mcp.mcp import arguments as a
from tickets_mcp.mcp import board_app, render
from tickets_mcp.mcp.context import Ctx, tracker_for
from tickets_mcp.mcp.tools.results import saved, text


async def get_board(
    ctx: Ctx,
    project: a.ProjectRef = None,
    per_column: Annotated[int, Field(ge=1, le=100)] = 10,
    organization: a.OrganizationRef = None,
    milestone: Annotated[str | None, Field(max_length=100), a.lean("Only this milestone's tickets")] = None,
) -> CallToolResult:
    """Show a project's Kanban board: columns in workflow order with counts and their top tickets."""
    board = await tracker_for(ctx).get_board(
        project, per_column=per_column, organization=organization, milestone=milestone
    )
    # The cards for the board's MCP App, to a client that shows it; the text is the same for every client.
    apps = board_app.with_apps(ctx.request_context)
    return text(render.board(board), board_app.board_content(board) if apps else None)


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
    return saved("Moved", ticket, slug)
