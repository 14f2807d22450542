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
    return text(render.ticket_saved(verb, ticket), _fields(ticket))


def created(filed: Filed) -> CallToolResult:
    """A filed ticket, and the open tickets most like it so that the agent can link or undo it: in the text
    only, where they cost 4 tokens a slug; structuredContent would repeat them for 4 more."""
    return text(render.ticket_filed(filed), _fields(filed.ticket))


def _fields(ticket: Ticket) -> dict[str, Any]:
    """What a program chains the next call with; the status is in the text."""
    return {"slug": ticket.slug, "version": ticket.version}
