"""`tickets-mcp serve`'s app in this process, for tests of what it answers rather than of the process.

    with serving_app(store_location) as server:                # a SQLite Path or a PostgresUrl
        token = server.create_token("--user", "alice")         # `tickets-mcp token create`, in process
        with server.client(headers=bearer(token)) as http:     # or `async with server.async_client()`
            http.get("/api/v1/native/projects")

It offers what tests/http_server.py's ServerProcess offers (`url`, `db`, `cli`, `create_token`,
`revoke_token`, `client`, `async_client`, `seed`), so a suite moves between the two by its fixture line alone,
but it costs a few milliseconds where a process costs about a second per module and store.

The app runs, its lifespan (store, MCP sessions) entered, on an event loop in a thread of its own
(an anyio blocking portal), as it would in its own process: tests drive it from synchronous code, from
their own event loop, and from `anyio.run` inside fixtures alike. Requests reach it through httpx2's
ASGITransport, which buffers each response whole: a stream that never ends (SSE) and anything about
sockets (slow clients, connection caps, signals, start failures) stay with ServerProcess. An exception
the app raises answers 500, as uvicorn would. Admin commands run in this process for both (`Served`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
import httpx2
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI

from tests.http_server import USERNAME, Served
from tests.stores import Location
from tickets_mcp.cli.servers import http_app
from tickets_mcp.config import Settings
from tickets_mcp.http.settings import ServeSettings
from tickets_mcp.mcp.exposure import Exposure
from tickets_mcp.stores import Store

T = TypeVar("T")


class AppServer(Served):
    """The app of `http_app(settings)` serving in this process; `url` is the address it believes it has."""

    def __init__(self, settings: ServeSettings, portal: BlockingPortal, app: FastAPI) -> None:
        super().__init__(settings.store.db, settings.base_url)
        self.settings = settings
        self._portal = portal
        self._app = app
        self._transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)

    def seed(self, seed: Callable[[Store], Awaitable[T]]) -> T:
        # On the app's own store and loop, where the app would write: no second connection to open.
        store: Store = self._app.state.backend.store
        return self._portal.call(seed, store)

    def client(self, *, timeout: float = 30.0, **options: Any) -> httpx2.Client:
        return httpx2.Client(transport=_ToPortal(self), base_url=self.url, timeout=timeout, **options)

    def async_client(self, *, timeout: float = 30.0, **options: Any) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=_ToPortalAsync(self), base_url=self.url, timeout=timeout, **options)

    def answer_from_portal(self, request: httpx2.Request) -> httpx2.Response:
        """The app's whole response to a request whose body is read, waited for from another thread."""
        return self._portal.call(self._answer, request)

    async def _answer(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._transport.handle_async_request(request)
        body = b"".join([part async for part in response.aiter_raw()])
        return httpx2.Response(response.status_code, headers=response.headers, stream=httpx2.ByteStream(body))


class _ToPortal(httpx2.BaseTransport):
    """A synchronous client's requests, answered by the app on its loop."""

    def __init__(self, server: AppServer) -> None:
        self._server = server

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        return self._server.answer_from_portal(request)


class _ToPortalAsync(httpx2.AsyncBaseTransport):
    """An asynchronous client's requests, answered by the app on its loop while the client's loop goes on."""

    def __init__(self, server: AppServer) -> None:
        self._server = server

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        return await anyio.to_thread.run_sync(self._server.answer_from_portal, request)


@contextmanager
def serving_app(db: Location, *, tools: str | None = None, tier: str | None = None) -> Generator[AppServer]:
    """The app serving `db` as `tickets-mcp --db DB serve` would, as user alice, with `--tools` and `--tier`;
    the store is created or migrated, with alice's workspace, before the block starts."""
    store = Settings(db=db, username=USERNAME, exposure=Exposure.from_env(tier, tools))
    settings = ServeSettings(store=store)
    app = http_app(settings)
    with (
        start_blocking_portal(name="tickets-mcp-app") as portal,
        portal.wrap_async_context_manager(app.router.lifespan_context(app)),
    ):
        yield AppServer(settings, portal, app)
