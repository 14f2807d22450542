"""The servers `tickets-mcp` runs, each handed the Backend the entry point opens for it.

The MCP server and the HTTP app open nothing themselves: they are given how to open their backend when
they start (their lifespan) and close it when they stop. Tests build them here, as the commands do.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from tickets_mcp.cli.workspace import open_backend, open_local_backend
from tickets_mcp.config import Settings
from tickets_mcp.mcp.server import TrackerServer, build_server

if TYPE_CHECKING:  # the HTTP front end's packages are an extra ("serve"), never loaded by the stdio server
    from fastapi import FastAPI

    from tickets_mcp.http.settings import ServeSettings


def stdio_server(settings: Settings) -> TrackerServer:
    """The MCP server over the store or remote `settings` names, opened when the server starts."""
    return build_server(settings, partial(open_backend, settings))


def http_app(settings: ServeSettings) -> FastAPI:
    """The ASGI app `tickets-mcp serve` runs (MCP, REST, the board), over the store `settings` names,
    opened when the app starts, with a webhook dispatcher beside it."""
    from tickets_mcp.http.app import create_app

    return create_app(settings, partial(open_local_backend, settings.store, deliver_webhooks=True))


async def prepare_store(settings: ServeSettings) -> None:
    """Create or migrate the database and the default workspace before the port opens."""
    async with open_local_backend(settings.store):
        pass
