"""Remote trackers behind the Tracker protocol: one adapter per REST API, over one careful HTTP client."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tickets_mcp.config import RemoteSettings
    from tickets_mcp.remotes.base import RemoteTracker

# backend name -> module holding its adapter's `open_adapter(settings)`; imported only when chosen.
ADAPTERS = {
    "native": "tickets_mcp.remotes.native",
    "bugtome": "tickets_mcp.remotes.bugtome",
    "agentsmesh": "tickets_mcp.remotes.agentsmesh",
    "abf": "tickets_mcp.remotes.abf",
    "gitlab": "tickets_mcp.remotes.gitlab",
    "github": "tickets_mcp.remotes.github",
    "redmine": "tickets_mcp.remotes.redmine",
    "jira": "tickets_mcp.remotes.jira",
    "linear": "tickets_mcp.remotes.linear",
}


async def open_remote(settings: RemoteSettings) -> RemoteTracker:
    """The adapter for `settings.backend`, connected and checked (its token answers a first request)."""
    from tickets_mcp.errors import Unsupported

    module_name = ADAPTERS.get(settings.backend)
    try:
        module = importlib.import_module(module_name) if module_name else None
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        module = None
    if module is None:
        raise Unsupported(f"The {settings.backend} backend is not available in this version of tickets-mcp.")
    adapter: RemoteTracker = await module.open_adapter(settings)
    return adapter
