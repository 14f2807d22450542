"""The board inside the conversation: an MCP App (the `io.modelcontextprotocol/ui` extension, spec 2026-01-26).

get_board names a `ui://` resource, one HTML document (board_app.html) that the host shows in a sandboxed
iframe. It draws the cards from get_board's structured content, and moves and comments only through the
host's `tools/call` (move_ticket with the card's version, add_comment), so every change is a tool call the
host sees, allows and records, made as the user the host connected as. It never talks to our HTTP API: its
CSP allows no connection at all.

Only a client that declares Apps (with the app's MIME type) is shown any of it: the tool's `_meta.ui`, the
resource in resources/list and the structured content. Every other client sees the tools, resources and
text it saw before, token for token. The document is read from the package when a host first asks for it.
"""

from __future__ import annotations

import hashlib
import re
from base64 import b64encode
from collections.abc import Iterable, Sequence
from functools import cache
from importlib.resources import files
from typing import Any, Final

from mcp.server.apps import APP_MIME_TYPE, Apps, client_supports_apps
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver.resources import Resource
from mcp.types import Resource as ListedResource
from mcp.types import Tool

from tickets_mcp.domain import Board, Ticket

BOARD_APP_URI: Final = "ui://tickets-mcp/board.html"
TOOL_META: Final = {"ui": {"resourceUri": BOARD_APP_URI}}
# What the app may reach beyond its own document: nothing (hosts build their CSP from this; spec 2026-01-26).
RESOURCE_META: Final[dict[str, Any]] = {"ui": {"csp": {}, "prefersBorder": True}}
# The document's own policy, stricter than any host's default: only its one script and one style block run.
POLICY: Final = (
    "default-src 'none'; script-src '{script}'; style-src '{style}'; img-src data:; connect-src 'none'; "
    "frame-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"
)


class BoardAppResource(Resource):
    """The app's document, built when first read (start-up never reads the file)."""

    async def read(self) -> str:
        return board_app_html()


@cache
def board_app_html() -> str:
    """board_app.html with its Content-Security-Policy filled in: the hashes of its inline script and style,
    so that no other script (a title someone managed to get parsed as markup, say) could run."""
    html = files("tickets_mcp.mcp").joinpath("board_app.html").read_text(encoding="utf-8")
    script = _only(re.findall(r"<script>(.*?)</script>", html, re.S))
    style = _only(re.findall(r"<style>(.*?)</style>", html, re.S))
    return html.replace("{policy}", POLICY.format(script=_sha256(script), style=_sha256(style)), 1)


def apps_extension() -> Apps:
    """The extension MCPServer advertises (`capabilities.extensions`), with the app's resource."""
    apps = Apps()
    apps.add_resource(
        BoardAppResource(
            uri=BOARD_APP_URI,
            name="board",
            title="Kanban board",
            description="The board get_board shows, for people: drag a card to move it, comment on it.",
            mime_type=APP_MIME_TYPE,
            meta=RESOURCE_META,
        )
    )
    return apps


def with_apps(ctx: ServerRequestContext[Any, Any] | None) -> bool:
    return ctx is not None and client_supports_apps(ctx)


def tools_for(ctx: ServerRequestContext[Any, Any] | None, tools: list[Tool]) -> list[Tool]:
    """`tools` as this client sees them: without their `_meta.ui` unless it declared Apps."""
    if with_apps(ctx):
        return tools
    return [_without_ui(tool) if tool.meta and "ui" in tool.meta else tool for tool in tools]


def resources_for(ctx: ServerRequestContext[Any, Any], resources: Iterable[ListedResource]) -> list[ListedResource]:
    """`resources` without the app's, unless this client declared Apps (spec: servers MAY leave it out)."""
    shown = with_apps(ctx)
    return [resource for resource in resources if shown or not str(resource.uri).startswith("ui://")]


def _without_ui(tool: Tool) -> Tool:
    meta = {key: value for key, value in (tool.meta or {}).items() if key != "ui"}
    return tool.model_copy(update={"meta": meta or None})


def board_content(board: Board) -> dict[str, Any]:
    """What the app draws: each column's cards with the version a move must name."""
    return {
        "project": board.project.code,
        "name": board.project.name,
        "milestone": board.milestone,
        "columns": [
            {"status": str(column.status), "total": column.total, "tickets": [_card(t) for t in column.tickets]}
            for column in board.columns
        ],
    }


def _card(ticket: Ticket) -> dict[str, Any]:
    return {
        "slug": ticket.slug,
        "title": ticket.title,
        "type": str(ticket.type),
        "priority": str(ticket.priority),
        "assignee": ticket.assignee,
        "labels": [label.name for label in ticket.labels],
        "version": ticket.version,
    }


def _only(found: Sequence[str]) -> str:
    if len(found) != 1:
        raise ValueError(f"board_app.html must hold exactly one inline block of each kind, not {len(found)}")
    return found[0]


def _sha256(code: str) -> str:
    return "sha256-" + b64encode(hashlib.sha256(code.encode()).digest()).decode()
