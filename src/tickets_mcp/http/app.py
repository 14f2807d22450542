"""`tickets-mcp serve`: one ASGI app for MCP over HTTP and SSE, the REST dialects and OpenAPI."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace

import uvicorn
from fastapi import FastAPI

from tickets_mcp import __version__
from tickets_mcp.core.backend import Backend
from tickets_mcp.errors import Invalid
from tickets_mcp.http.connections import ConnectionLimits, GuardedH11Protocol, capacity, raise_file_limit
from tickets_mcp.http.errors import install_error_handlers
from tickets_mcp.http.oauth.paths import CROSS_ORIGIN_PATHS
from tickets_mcp.http.security import TransportGuard
from tickets_mcp.http.settings import ENV_MAX_CONNECTIONS, ServeSettings
from tickets_mcp.logs import announce


def create_app(settings: ServeSettings, backend: Callable[[], AbstractAsyncContextManager[Backend]]) -> FastAPI:
    """The app over the Backend that `backend` opens when the app starts and closes when it stops (the entry
    point, cli/servers.py, hands it the store `settings` names)."""
    from tickets_mcp.http import board, mcp, rest
    from tickets_mcp.http.auth import authenticate_first
    from tickets_mcp.http.metrics import Metrics, RequestMetrics
    from tickets_mcp.http.ops import PROBE_PATHS, ops_router
    from tickets_mcp.http.rest import native_files, terraform
    from tickets_mcp.http.rest.hints import in_rest_words

    mcp_mount = mcp.McpMount(settings)
    metrics = Metrics()
    metrics.know_tools(mcp_mount.server.tool_actions)
    mcp_mount.server.observe_tool_call = metrics.observe_tool_call

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncGenerator[None]:
        async with backend() as opened:
            app.state.backend = opened
            app.state.settings = settings
            metrics.backend = opened
            try:
                async with mcp_mount.running(opened):
                    yield
            finally:
                metrics.backend = None

    app = FastAPI(
        title="tickets-mcp",
        version=__version__,
        description="A ticket tracker for AI agents: MCP at /mcp (and legacy SSE at /sse), REST at /api/v1.",
        lifespan=lifespan,
        # FastAPI's /docs and /redoc pages load their scripts from a CDN, on the board's origin; the
        # document itself stays at /openapi.json for any viewer to load.
        docs_url=None,
        redoc_url=None,
    )
    app.state.rate_limiter = mcp_mount.rate_limiter  # one bucket per token for MCP and REST alike
    app.state.cursors = mcp_mount.server.cursors  # one key signs MCP's and REST's cursors alike
    install_error_handlers(
        app, shapes=[terraform.ERROR_SHAPE], authenticate_first=authenticate_first, in_caller_words=in_rest_words
    )
    app.include_router(ops_router(metrics))
    rest.include_routers(app)
    if (issuer := settings.oauth_issuer) is not None:
        from tickets_mcp.http.oauth import routes as oauth

        oauth.install(app, settings, issuer, mcp.MCP_PATH)  # before the board: its /board/{code} takes any name
    board.install(app, settings)
    mcp_mount.install(app)
    app.add_middleware(
        TransportGuard,
        allowed_hosts=settings.allowed_host_names,
        max_body_bytes=settings.max_body_bytes,
        open_paths=PROBE_PATHS,
        cross_origin_paths=CROSS_ORIGIN_PATHS,
        error_shapes=[terraform.ERROR_SHAPE],
        streamed=native_files.streamed_upload,
    )
    # Added last, so it runs first: it also counts what TransportGuard refuses.
    app.add_middleware(RequestMetrics, metrics=metrics, routes=lambda: app.router.routes)
    return app


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the app is built so that port 0 becomes a real port first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio disables Nagle's algorithm only on sockets whose proto
    # says TCP, and accepted sockets inherit it. Without it every reply written in several pieces
    # (headers, event, end of stream) waits for the client's delayed ACK: 40 ms per call.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise Invalid(
            "port", f"Cannot listen on {host}:{port}: {exc.strerror or exc}.", hint="Pick another --host or --port."
        ) from None
    except BaseException:
        sock.close()
        raise
    return sock


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, settings: ServeSettings) -> None:
        super().__init__(config)
        self.settings = settings

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            settings = self.settings
            public = f" (public URL {settings.public_url})" if settings.public_url else ""
            announce(
                f"tickets-mcp {__version__} serving {settings.listen_url}{public}: MCP at /mcp, legacy SSE at /sse, "
                f"REST at /api/v1, the board at /board/, health at /healthz and /readyz, metrics at /metrics; "
                f"database {settings.store.db}"
            )
            if (reason := settings.oauth_off_reason) is not None:
                announce(
                    f"OAuth sign-in is off: {reason}. Until then every client needs a token; TICKETS_OAUTH=0 turns "
                    "OAuth off without this notice.",
                    logging.WARNING,
                )
            from tickets_mcp.http.board.access import local_access_allowed

            if local_access_allowed(settings):
                announce(
                    f"The board lets in any connection to {settings.listen_url} from this machine as "
                    f"{settings.store.username}, without a login; to ask for a token instead, set "
                    "TICKETS_BOARD_LOCAL=0 (or serve behind a proxy with --public-url)."
                )


def serve(settings: ServeSettings, app_for: Callable[[ServeSettings], FastAPI]) -> None:
    """Run the app `app_for` builds under uvicorn until SIGINT or SIGTERM, then finish requests in flight and
    close the store. The app is built once the port is bound, so that port 0 is the real port in its settings."""
    sock = bind(settings.host, settings.port)
    with sock:
        if settings.port == 0:
            settings = replace(settings, port=sock.getsockname()[1])
        room = capacity(settings.max_connections, raise_file_limit())
        if room.file_limit is not None:
            announce(
                f"The open-file limit ({room.file_limit}) lets this server hold at most {room.max_connections} "
                f"connections, fewer than {settings.max_connections} ({ENV_MAX_CONNECTIONS}); raise it (ulimit -Hn) "
                "to hold more.",
                logging.WARNING,
            )
        config = uvicorn.Config(
            app_for(settings),
            # Read timeouts and connection caps (http/connections.py), on uvicorn's h11 protocol; no
            # WebSocket upgrade, which would hand the connection to a protocol outside those limits.
            http=GuardedH11Protocol.bound_to(ConnectionLimits.of(settings, room.max_connections)),
            ws="none",
            backlog=room.backlog,
            log_config=None,  # uvicorn's loggers pass their lines to the root logger: logs.configure's format
            log_level=settings.store.log_level.lower(),
            access_log=True,  # INFO lines: shown from --log-level INFO down
            timeout_keep_alive=settings.keep_alive_seconds,
            timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
            server_header=False,
            lifespan="on",
        )
        _Server(config, settings).run(sockets=[sock])
