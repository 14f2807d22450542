"""What a tool answers: compact text for the model, and a few fields a program can read without parsing it."""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult, TextContent

from tickets_mcp.domain import Ticket
from tickets_mcp.mcp import render


def text(body: str, structured: dict[str, Any] | None = None) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=body)], structured_content=structured)


def saved(verb: str, ticket: Ticket) -> CallToolResult:
    return text(
        render.ticket_saved(verb, ticket),
        {"slug": ticket.slug, "status": ticket.status.value, "version": ticket.version},
    )
