"""What a tool answers: compact text for the model, and a few fields a program can read without parsing it."""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult, TextContent

from tickets_mcp.domain import Ticket, rules
from tickets_mcp.domain.similarity import Filed
from tickets_mcp.errors import Invalid
from tickets_mcp.mcp import render


def text(body: str, structured: dict[str, Any] | None = None) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=body)], structured_content=structured)


def saved(verb: str, ticket: Ticket, named: str) -> CallToolResult:
    """An updated or moved ticket: the caller named its slug, so a program needs only its new version, unless
    the slug named was an old one of a ticket moved to another project since."""
    old = old_slug(named, ticket)
    structured: dict[str, Any] = (
        {"version": ticket.version} if old is None else {"slug": ticket.slug, "version": ticket.version}
    )
    return text(render.ticket_saved(verb, ticket, old), structured)


def old_slug(named: str, ticket: Ticket) -> str | None:
    """The slug the caller named `ticket` by, when it is one the ticket had before it moved to another project."""
    try:
        asked = rules.parse_slug(rules.split_organization(named)[1])
    except Invalid:
        return None
    now = rules.parse_slug(rules.split_organization(ticket.slug)[1])
    return None if asked == now else f"{asked[0]}-{asked[1]}"


def created(filed: Filed) -> CallToolResult:
    """A filed ticket, and the open tickets most like it so that the agent can link or undo it: in the text
    only, where they cost 4 tokens a slug; structuredContent would repeat them for 4 more."""
    return text(render.ticket_filed(filed), {"slug": filed.ticket.slug})  # a new ticket is at version 1
