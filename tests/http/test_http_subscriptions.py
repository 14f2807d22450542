"""Resource subscriptions over streamable HTTP, the whole `serve` app in process: a change made through
REST reaches an MCP client subscribed to it, in a session (the handshake era: on the session's GET
stream) and on a listen stream (2026-07-28: the stream is the listen request's own response).

The app is reached through a streaming ASGI transport (tests/fixtures/asgi_stream.py), as a socket would
carry it: httpx2's own answers a stream only once it has ended.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import anyio
import httpx2
import pytest
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mcp import Client
from tests.fixtures.asgi_stream import StreamingASGITransport, streaming
from tests.fixtures.http_server import bearer
from tests.fixtures.stores import Location
from tests.fixtures.subscriptions import WAIT_SECONDS, Heard, Watch, next_uri, subscribe
from tests.fixtures.tool_calls import call, slug_of
from tickets_mcp.cli.servers import http_app
from tickets_mcp.config import Settings
from tickets_mcp.core import admin
from tickets_mcp.domain import TokenKind
from tickets_mcp.http.settings import ServeSettings
from tickets_mcp.stores import Store

pytestmark = pytest.mark.anyio

BOARD = "tracker://projects/INBOX/board"


@dataclass(frozen=True)
class Served:
    transport: StreamingASGITransport
    store: Store
    url: str

    async def token(self, kind: TokenKind = TokenKind.PERSONAL, **options: str) -> dict[str, str]:
        issued = await admin.create_token(self.store, kind=kind, username="alice", name="subscriber", **options)
        return bearer(issued.secret)

    def http(self, headers: dict[str, str]) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=self.transport, base_url=self.url, headers=headers, timeout=30.0)

    @asynccontextmanager
    async def mcp(self, headers: dict[str, str], mode: str, heard: Heard | None = None) -> AsyncGenerator[Client]:
        async with (
            self.http(headers) as http,
            Client(
                streamable_http_client(f"{self.url}/mcp", http_client=http), mode=mode, message_handler=heard
            ) as client,
        ):
            yield client


@asynccontextmanager
async def served(db: Location) -> AsyncGenerator[Served]:
    """The whole `serve` app in process, its lifespan running."""
    settings = ServeSettings.from_env(Settings(db=db, username="alice"))
    app = http_app(settings)
    async with app.router.lifespan_context(app), streaming(app) as transport:
        yield Served(transport, app.state.backend.store, settings.base_url)


async def test_a_session_over_streamable_http_hears_a_ticket_changed_through_rest(store_location: Location) -> None:
    async with served(store_location) as server:
        token = await server.token()
        heard = Heard()
        async with server.mcp(token, "legacy", heard) as client, server.http(token) as rest:
            slug = slug_of(await call(client, "create_ticket", title="Changed over REST"))
            await subscribe(client, f"tracker://tickets/{slug}")
            await subscribe(client, BOARD)
            with anyio.fail_after(WAIT_SECONDS):  # the session's GET stream, which carries its notifications
                await server.transport.streams_opened.wait()
            changed = await rest.patch(f"/api/v1/native/tickets/{slug}", json={"priority": "urgent"})
            assert changed.status_code == 200, changed.text
            assert {await heard.next(), await heard.next()} == {f"tracker://tickets/{slug}", BOARD}
            moved = await rest.post(f"/api/v1/native/tickets/{slug}/move", json={"status": "done"})
            assert moved.status_code == 200, moved.text
            assert {await heard.next(), await heard.next()} == {f"tracker://tickets/{slug}", BOARD}


async def test_a_listen_stream_over_streamable_http_hears_a_board_changed_through_rest(
    store_location: Location,
) -> None:
    async with served(store_location) as server:
        token = await server.token()
        async with (
            server.mcp(token, "auto") as client,
            server.http(token) as rest,
            client.listen(resource_subscriptions=[BOARD]) as stream,
        ):
            filed = await rest.post("/api/v1/native/tickets", json={"title": "Filed over REST"})
            assert filed.status_code == 201, filed.text
            assert await next_uri(stream) == BOARD


@pytest.mark.parametrize("mode", ["legacy", "auto"], ids=["legacy-handshake", "2026-07-28"])
async def test_a_token_that_may_not_read_tickets_may_not_watch_them(store_location: Location, mode: str) -> None:
    async with served(store_location) as server:
        owner = await server.token()
        projects_only = await server.token(TokenKind.ORGANIZATION, organization_ref="local", scopes="projects:read")
        async with server.mcp(owner, mode) as client:
            slug = slug_of(await call(client, "create_ticket", title="Not for every key"))
        async with server.mcp(projects_only, mode) as client, AsyncExitStack() as stack:
            watch = Watch(client, None if mode == "auto" else Heard(), stack)
            for uri in (f"tracker://tickets/{slug}", BOARD):
                with pytest.raises(MCPError, match=f"Cannot subscribe to {uri}: .*tickets:read"):
                    await watch.start(uri)
