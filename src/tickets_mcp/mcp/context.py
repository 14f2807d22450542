"""What a tool, resource or prompt is handed: the Tracker acting for this call's caller, and the server's
cursor seal.

The server's state (server.AppState) is built by the entry point and the server registers the handlers,
so the handlers see both only through the protocols here: importing the server would make a circle.
"""

from __future__ import annotations

from typing import Protocol, cast

from mcp.server.mcpserver import Context

from tickets_mcp.core.tracker import Tracker
from tickets_mcp.domain.rules import CursorSeal


class CallerState(Protocol):
    """The server's lifespan state, as handlers use it."""

    def tracker(self, client: str | None = None) -> Tracker:
        """The Tracker acting for the caller; `client` names the MCP client in the audit trail."""
        ...


class SealsCursors(Protocol):
    """The server, as list_tickets uses it: it signs the cursors it hands out (see TrackerServer.cursors)."""

    cursors: CursorSeal


class SwitchesTools(Protocol):
    """The server, as enable_tools uses it (see TrackerServer.switch_on)."""

    async def switch_on(self, ctx: Ctx, toolsets: frozenset[str]) -> list[str]: ...


Ctx = Context[CallerState]


def tracker_for(ctx: Ctx) -> Tracker:
    """The Tracker acting for this call's caller, with the client's name for the audit trail."""
    params = ctx.request_context.session.client_params
    return ctx.request_context.lifespan_context.tracker(params.client_info.name if params is not None else None)


def tool_switch(ctx: Ctx) -> SwitchesTools:
    return cast(SwitchesTools, ctx.mcp_server)


def cursor_seal(ctx: Ctx) -> CursorSeal:
    # The SDK types the server as a plain MCPServer; ours is always a TrackerServer, which keys the seal.
    return cast(SealsCursors, ctx.mcp_server).cursors
