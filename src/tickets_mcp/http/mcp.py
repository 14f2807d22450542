"""MCP over HTTP: the SDK's streamable HTTP transport at /mcp and the legacy SSE transport at /sse.

Every request needs a tracker token. The SDK's bearer middleware asks `StoreTokenVerifier`, which
looks the token up on each request (so a revoked token fails on its next request), and answers a
missing or bad token with 401, a `WWW-Authenticate` header and the RFC 9728 protected-resource
metadata URL. The tools read the caller back with `get_access_token()`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl, Field
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tickets_mcp.http.ratelimit import RateLimiter, caller_key
from tickets_mcp.http.settings import ServeSettings
from tickets_mcp.identity import authenticate
from tickets_mcp.server import AppState, TrackerServer, create_server
from tickets_mcp.store import Store
from tickets_mcp.tracker import Principal

MCP_PATH = "/mcp"
SSE_PATH = "/sse"
SSE_MESSAGES_PATH = "/sse/messages/"
TOKEN_HEADERS = ("x-api-key", "private-token")  # seeds 001 and 003; Authorization: Bearer wins


class TrackerAccessToken(AccessToken):
    """The SDK's access token carrying who the token stands for."""

    token: str = Field(repr=False)
    principal: Principal


class StoreTokenVerifier(TokenVerifier):
    """Checks a token against the store on every request."""

    def __init__(self, mount: McpMount) -> None:
        self._mount = mount

    async def verify_token(self, token: str) -> AccessToken | None:
        principal = await authenticate(self._mount.store, token)
        if principal is None:
            return None
        return TrackerAccessToken(
            token=token,
            # client_id and subject tie an MCP session to the token that opened it (the SDK compares them).
            client_id=f"token-{principal.token_id}",
            subject=principal.username,
            scopes=sorted(principal.scopes or ()),
            principal=principal,
        )


def principal_of_request() -> Principal | None:
    """The caller of the MCP request being handled, as the bearer middleware found it."""
    token = get_access_token()
    return token.principal if isinstance(token, TrackerAccessToken) else None


class HeaderTokens:
    """Lets MCP clients send the token as `X-API-Key` or `PRIVATE-TOKEN`, as REST clients may.

    The SDK's bearer middleware reads only `Authorization: Bearer`, so such a header is copied there.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            if "authorization" not in headers:
                token = next((headers[name].strip() for name in TOKEN_HEADERS if headers.get(name, "").strip()), None)
                if token is not None:
                    raw = [*scope["headers"], (b"authorization", f"Bearer {token}".encode("latin-1"))]
                    scope = {**scope, "headers": raw}
        await self.app(scope, receive, send)


class McpMount:
    """Builds the MCP server for `tickets-mcp serve`, puts its routes on the app and runs it."""

    def __init__(self, settings: ServeSettings) -> None:
        self._settings = settings
        self._store: Store | None = None
        self.rate_limiter = RateLimiter(settings.rate_limit) if settings.rate_limit is not None else None
        self.resource_url = f"{settings.base_url}{MCP_PATH}"
        self.server: TrackerServer = create_server(
            self._lifespan,
            log_level=settings.store.log_level,
            auth=AuthSettings.model_validate(
                {
                    # Tokens come from `tickets-mcp token create`, not from an OAuth server; the metadata
                    # still has to name an issuer, and this server is the one that knows its tokens.
                    "issuer_url": settings.base_url,
                    "resource_server_url": self.resource_url,
                    "required_scopes": None,
                    "validate_token_resource": False,  # our tokens are not bound to a resource
                }
            ),
            token_verifier=StoreTokenVerifier(self),
            state_keys=settings.state_keys,
            exposure=settings.store.exposure,
        )

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("The MCP mount is not running.")
        return self._store

    @property
    def metadata_path(self) -> str:
        return urlsplit(str(build_resource_metadata_url(AnyHttpUrl(self.resource_url)))).path

    @asynccontextmanager
    async def _lifespan(self, _: MCPServer[AppState]) -> AsyncGenerator[AppState]:
        # Entered once by the streamable HTTP manager and once per SSE connection: all share one store.
        yield AppState(store=self.store, principal_of_request=principal_of_request, admit=self._admit)

    def _admit(self) -> None:
        """Count a tool call against its token's rate limit (RateLimited when over it)."""
        if self.rate_limiter is not None:
            token = get_access_token()
            self.rate_limiter.check(caller_key(token.token if token is not None else None, None))

    def install(self, app: Starlette) -> None:
        """Add /mcp, /sse, the SSE message endpoint and the protected-resource metadata to `app`."""
        settings = self._settings
        # security.TransportGuard checks Host and Origin for the whole app, so the SDK's own check
        # (which would refuse a public host it was not told about) stays off.
        transport_security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
        streamable = self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            transport_security=transport_security,
            max_request_body_size=settings.max_body_bytes,
        )
        sse = self.server.sse_app(
            sse_path=SSE_PATH,
            message_path=SSE_MESSAGES_PATH,
            transport_security=transport_security,
            max_request_body_size=settings.max_body_bytes,
        )
        # Each SDK app keeps its auth middleware and its own routes; ours only send the paths there.
        # First in the router: an MCP call is matched at once instead of after every REST route.
        app.router.routes[:0] = [
            Route(MCP_PATH, HeaderTokens(streamable), methods=["GET", "POST", "DELETE"]),
            Route(self.metadata_path, streamable, methods=["GET", "OPTIONS"]),
            Route(SSE_PATH, HeaderTokens(sse), methods=["GET"]),
            Route(SSE_MESSAGES_PATH, HeaderTokens(sse), methods=["POST"]),
        ]

    @asynccontextmanager
    async def running(self, store: Store) -> AsyncGenerator[None]:
        """Serve MCP on `store` while the app runs (call install() first)."""
        self._store = store
        try:
            async with self.server.session_manager.run():
                yield
        finally:
            self._store = None
