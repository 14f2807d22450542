"""enable_tools: a session switches on the tool sets the default list leaves out (see exposure.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.types import CallToolResult
from pydantic import BeforeValidator, Field

from tickets_mcp.mcp.context import Ctx, tool_switch
from tickets_mcp.mcp.tools.results import text


def _forgiving(value: object) -> object:
    """`Bulk`, ` projects ` name their set, as tool set names do in --tools."""
    return value.strip().lower() if isinstance(value, str) else value


SetName = Annotated[Literal["projects", "bulk", "planning", "files"], BeforeValidator(_forgiving)]


async def enable_tools(ctx: Ctx, sets: Annotated[list[SetName], Field(min_length=1, max_length=4)]) -> CallToolResult:
    """List more tools in this session: projects (manage projects, move tickets between them),
    bulk (create_tickets, move_tickets: up to 100 tickets a call), planning (links, milestones, due dates,
    estimates, time), files (attach files to tickets, read and delete them)."""
    listed = await tool_switch(ctx).switch_on(ctx, frozenset(sets))
    if not listed:
        return text(f"Nothing to switch on: {', '.join(sets)} is already listed or not offered here.")
    return text(f"Listed now: {', '.join(listed)}.", {"tools": listed})
