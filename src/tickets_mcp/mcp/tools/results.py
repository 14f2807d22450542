"""What a tool answers: compact text for the model, and a few fields a program can read without parsing it."""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult, TextContent

from tickets_mcp.domain import Ticket
from tickets_mcp.domain.similarity import Filed
from tickets_mcp.mcp import render


def text(body: str, structured: dict[str, Any] | None = None) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=body)], structured_content=structured)


def saved(verb: str, ticket: Ticket) -> CallToolResult:
    """An updated or moved ticket: the caller named its slug, so a program needs only its new version."""
    return text(render.ticket_saved(verb, ticket), {"version": ticket.version})


def created(filed: Filed) -> CallToolResult:
    """A filed ticket, and the open tickets most like it so that the agent can link or undo it: in the text
    only, where they cost 4 tokens a slug; structuredContent would repeat them for 4 more."""
    return text(render.ticket_filed(filed), {"slug": filed.ticket.slug})  # a new ticket is at version 1
