"""MCP over HTTP: the SDK's streamable HTTP transport at /mcp and the legacy SSE transport at /sse.

Every request needs a token: one made with `tickets-mcp token create`, or an OAuth access token from this
server's own authorization server (http/oauth), which the 401 challenge names through RFC 9728's
`resource_metadata` so that a client with no token configured can start the OAuth flow. With OAuth off
(TICKETS_OAUTH=0, or a public URL that is not HTTPS) nothing is advertised: a client that finds metadata
starts a flow the server could not finish. `TokenGate` looks the token up on each request (so a revoked
token or grant fails on its next request) and answers a missing token and a wrong one with different
401s; the tools read the caller back with `get_access_token()`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware, get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import Field
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tickets_mcp.core.access import Tier
from tickets_mcp.core.backend import Backend
from tickets_mcp.core.tokens import UngrantedToken
from tickets_mcp.core.tracker import Principal
from tickets_mcp.errors import BackendUnavailable, Invalid
from tickets_mcp.http.auth import token_of
from tickets_mcp.http.errors import REALM, RETRY_UNAVAILABLE_S, Unauthorized
from tickets_mcp.http.oauth.paths import RESOURCE_METADATA_PREFIX
from tickets_mcp.http.ratelimit import RateLimiter, caller_key
from tickets_mcp.http.sessions import SessionLedger, SessionQuota
from tickets_mcp.http.settings import ServeSettings
from tickets_mcp.mcp.exposure import TIER_HEADER
from tickets_mcp.mcp.server import AppState, TrackerServer, create_server

MCP_PATH = "/mcp"
SSE_PATH = "/sse"
SSE_MESSAGES_PATH = "/sse/messages/"
HOW_TO_GET_ONE = "Make one with `tickets-mcp token create --user NAME` and send it as Authorization: Bearer <token>."
MISSING = f"401 Unauthorized: this server needs a token. {HOW_TO_GET_ONE}"
MISSING_OR_OAUTH = (
    "401 Unauthorized: this server needs a token: let your client sign in through OAuth (it is offered), "
    "or make one with `tickets-mcp token create --user NAME` and send it as Authorization: Bearer <token>."
)
NOT_VALID = f"401 Unauthorized: the token is not valid (revoked, mistyped or made for another server). {HOW_TO_GET_ONE}"
# RFC 6750: a request without a token gets the bare challenge, one with a bad token the error code.
NOT_VALID_CHALLENGE = f'{REALM}, error="invalid_token", error_description="The token is not valid."'


class TrackerAccessToken(AccessToken):
    """The SDK's access token carrying who the token stands for."""

    token: str = Field(repr=False)
    principal: Principal


def principal_of_request() -> Principal | None:
    """The caller of the MCP request being handled, as TokenGate found it."""
    token = get_access_token()
    return token.principal if isinstance(token, TrackerAccessToken) else None


class TokenGate:
    """Lets a request through to the SDK's MCP app only with a valid token, in `Authorization: Bearer`,
    `X-API-Key` or `PRIVATE-TOKEN` (as REST clients may send it), and hands the SDK the caller.

    The SDK reads the caller where its own bearer middleware would have put it: `scope["user"]` (which
    ties an MCP session to the token that opened it) and `get_access_token()`.
    """

    def __init__(self, app: ASGIApp, mount: McpMount) -> None:
        self.app = AuthContextMiddleware(app)
        self._mount = mount

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            token = token_of(Request(scope), allow_query_token=False)
        except Unauthorized as exc:  # a token in the URL, refused wherever it is sent
            await refuse(send, f"401 Unauthorized: {exc}", self._mount.challenge)
            return
        if token is None:
            mount = self._mount
            await refuse(send, MISSING_OR_OAUTH if mount.challenge != REALM else MISSING, mount.challenge)
            return
        try:
            principal = await self._mount.backend.authenticate(token)
        except UngrantedToken as exc:
            await refuse(send, f"401 Unauthorized: {exc}", self._mount.invalid_challenge)
            return
        except BackendUnavailable as exc:
            await refuse(send, f"503 Service Unavailable: {exc}", status=503, retry_after=RETRY_UNAVAILABLE_S)
            return
        if principal is None:
            await refuse(send, NOT_VALID, self._mount.invalid_challenge)
            return
        if (tier_text := Request(scope).headers.get(TIER_HEADER, "").strip()) != "":
            # Checked here, not where a handler narrows the tool list: the SDK accepts initialize without
            # reading it, and a client then fails on its next call with an error that names nothing.
            try:
                Tier.parse(tier_text, "X-Tracker-Tier")
            except Invalid as exc:
                await refuse(send, f"400 Bad Request: {exc}", status=400)
                return
        access = TrackerAccessToken(
            token=token,
            # client_id and subject tie an MCP session to the token that opened it (the SDK compares them).
            client_id=f"token-{principal.token_id}",
            subject=principal.username,
            scopes=sorted(principal.scopes or ()),
            principal=principal,
        )
        scope = {**scope, "user": AuthenticatedUser(access), "auth": AuthCredentials(access.scopes)}
        await self.app(scope, receive, send)


async def refuse(
    send: Send, message: str, challenge: str | None = None, *, status: int = 401, retry_after: int | None = None
) -> None:
    """A refusal (a 401 with its challenge unless told otherwise) in the app's error shape (`{"message": ...}`).

    Unlike the REST dialects' bare `401 Unauthorized` (seed 003), the message says what went wrong and what
    to do: no seed governs /mcp, and an MCP client shows this text to whoever configures it.
    """
    body = json.dumps({"message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if challenge is not None:
        headers.append((b"www-authenticate", challenge.encode()))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class McpMount:
    """Builds the MCP server for `tickets-mcp serve`, puts its routes on the app and runs it."""

    def __init__(self, settings: ServeSettings) -> None:
        self._settings = settings
        self._backend: Backend | None = None
        # RFC 9728 §5.1: with OAuth served, a 401 names the resource's metadata, where clients find the server.
        self.challenge, self.invalid_challenge = REALM, NOT_VALID_CHALLENGE
        if (issuer := settings.oauth_issuer) is not None:
            named = f', resource_metadata="{issuer}{RESOURCE_METADATA_PREFIX}{MCP_PATH}"'
            self.challenge, self.invalid_challenge = REALM + named, NOT_VALID_CHALLENGE + named
        self.rate_limiter = RateLimiter(settings.rate_limit) if settings.rate_limit is not None else None
        # No `auth` for the SDK: its bearer middleware would advertise an OAuth authorization server
        # (the RFC 9728 metadata and `resource_metadata`) that does not exist; TokenGate checks tokens.
        self.server: TrackerServer = create_server(
            self._lifespan,
            log_level=settings.store.log_level,
            state_keys=settings.state_keys,
            exposure=settings.store.exposure,
            body_max=settings.max_body_bytes,
        )

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            raise RuntimeError("The MCP mount is not running.")
        return self._backend

    @asynccontextmanager
    async def _lifespan(self, _: MCPServer[AppState]) -> AsyncGenerator[AppState]:
        # Entered once by the streamable HTTP manager and once per SSE connection: all share one backend.
        backend = self.backend
        yield AppState(
            tracker_of=backend.tracker,
            principal_of_request=principal_of_request,
            admit=self._admit,
            changes=backend.changes,
            switch_toolsets=backend.switch_on_toolsets,
        )

    def _admit(self) -> None:
        """Count any MCP request, not only a tool call, against its token's rate limit (RateLimited when over it)."""
        if self.rate_limiter is not None:
            token = get_access_token()
            self.rate_limiter.check(caller_key(token.token if token is not None else None, None))

    def install(self, app: Starlette) -> None:
        """Add /mcp, /sse and the SSE message endpoint to `app`, each behind TokenGate."""
        settings = self._settings
        # security.TransportGuard checks Host and Origin for the whole app, so the SDK's own check
        # (which would refuse a public host it was not told about) stays off.
        transport_security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
        streamable = self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            transport_security=transport_security,
            max_request_body_size=settings.max_body_bytes,
            session_idle_timeout=settings.mcp_session_idle_timeout,
        )
        sse = self.server.sse_app(
            sse_path=SSE_PATH,
            message_path=SSE_MESSAGES_PATH,
            transport_security=transport_security,
            max_request_body_size=settings.max_body_bytes,
        )
        sessions = SessionLedger(settings.mcp_sessions_per_token, settings.mcp_session_idle_timeout)
        # Each SDK app keeps its own routes; ours only send the paths there, past the token check.
        # First in the router: an MCP call is matched at once instead of after every REST route.
        app.router.routes[:0] = [
            Route(MCP_PATH, TokenGate(SessionQuota(streamable, sessions), self), methods=["GET", "POST", "DELETE"]),
            Route(SSE_PATH, TokenGate(SessionQuota(sse, sessions, sse=True), self), methods=["GET"]),
            Route(SSE_MESSAGES_PATH, TokenGate(sse, self), methods=["POST"]),
        ]

    @asynccontextmanager
    async def running(self, backend: Backend) -> AsyncGenerator[None]:
        """Serve MCP on `backend` while the app runs (call install() first)."""
        self._backend = backend
        try:
            async with self.server.subscriptions.watching(backend.changes), self.server.session_manager.run():
                yield
        finally:
            self._backend = None
