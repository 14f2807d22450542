"""How many session-era MCP sessions one token may hold open, over streamable HTTP and legacy SSE together.

The SDK caps sessions for the whole server (10,000) and closes one after an idle period, but does not
count them per caller: one token's `initialize` calls could take every place, and other organizations
got 503. `SessionQuota` sits between TokenGate and the SDK's apps and keeps a ledger per token:

- a streamable HTTP session counts from the response that gives it an `Mcp-Session-Id` until the client
  DELETEs it, a request finds it gone (404), or it has had no request in flight for the idle timeout,
  the same period the SDK is told to close it after (the SDK's idle clock, mirrored here from the
  requests that pass, because the SDK keeps its sessions private);
- a legacy SSE session counts while its GET stream is open.

The stateless 2026-07-28 era opens no session and is never counted: it is what clients should use.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from uuid import uuid4

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.types import JSONRPCRequest, RequestId
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickets_mcp.http.settings import ENV_MCP_SESSIONS_PER_TOKEN

SESSION_HEADER = "mcp-session-id"
VERSION_HEADER = "mcp-protocol-version"
STATELESS_ERA = "2026-07-28"
OVER_QUOTA = -32000  # JSON-RPC's implementation-defined server error


@dataclass(slots=True)
class _Session:
    owner: str
    in_flight: int = 0
    idle_since: float = field(default_factory=time.monotonic)


class SessionLedger:
    """The open sessions of every token: at most `limit` each, idle ones forgotten after `idle_seconds`."""

    def __init__(self, limit: int, idle_seconds: float) -> None:
        self.limit = limit
        self.idle_seconds = idle_seconds
        self._sessions: dict[str, _Session] = {}
        self._by_owner: dict[str, set[str]] = {}
        self._swept_at = time.monotonic()

    def full(self, owner: str) -> bool:
        """Whether `owner` holds its limit of sessions, once its idle ones are forgotten."""
        now = time.monotonic()
        if now - self._swept_at >= self.idle_seconds:  # now and then, the tokens that never came back too
            self._swept_at = now
            self._forget_idle(list(self._sessions), now)
        self._forget_idle(list(self._by_owner.get(owner, ())), now)
        return len(self._by_owner.get(owner, ())) >= self.limit

    def _forget_idle(self, session_ids: list[str], now: float) -> None:
        for session_id in session_ids:
            session = self._sessions[session_id]
            if session.in_flight == 0 and now - session.idle_since >= self.idle_seconds:
                self.close(session_id)

    def open(self, owner: str, session_id: str) -> None:
        self._sessions[session_id] = _Session(owner)
        self._by_owner.setdefault(owner, set()).add(session_id)

    def close(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            owned = self._by_owner[session.owner]
            owned.discard(session_id)
            if not owned:
                del self._by_owner[session.owner]

    def started(self, session_id: str) -> None:
        if (session := self._sessions.get(session_id)) is not None:
            session.in_flight += 1

    def finished(self, session_id: str) -> None:
        if (session := self._sessions.get(session_id)) is not None:
            session.in_flight -= 1
            session.idle_since = time.monotonic()

    def refusal(self) -> str:
        return (
            f"This token already has {self.limit} open MCP sessions, the most one token may hold "
            f"({ENV_MCP_SESSIONS_PER_TOKEN}). End the sessions you no longer use (DELETE /mcp with their "
            f"Mcp-Session-Id header), let idle ones close ({self.idle_seconds:g} s without a request), or use "
            f"the stateless {STATELESS_ERA} protocol, which opens no session."
        )


class SessionQuota:
    """ASGI app in front of the SDK's streamable HTTP (`sse=False`) or SSE app, behind TokenGate."""

    def __init__(self, app: ASGIApp, ledger: SessionLedger, *, sse: bool = False) -> None:
        self.app = app
        self.ledger = ledger
        self.sse = sse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if scope["type"] != "http" or not isinstance(user, AuthenticatedUser):
            await self.app(scope, receive, send)
            return
        owner = user.access_token.client_id
        if self.sse:
            await self._stream(owner, scope, receive, send)
            return
        headers = Headers(scope=scope)
        session_id = headers.get(SESSION_HEADER)
        if session_id is not None:
            await self._in_session(session_id, scope, receive, send)
        elif (version := headers.get(VERSION_HEADER)) is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            await self.app(scope, receive, send)  # the stateless era (as the SDK routes it): no session to count
        else:
            await self._opening(owner, scope, receive, send)

    async def _opening(self, owner: str, scope: Scope, receive: Receive, send: Send) -> None:
        """A session-era request without a session: if the SDK answers with one, the token holds it.

        The place is taken before the SDK runs, so concurrent `initialize` calls cannot pass the limit.
        """
        if self.ledger.full(owner):
            await refuse(send, self.ledger.refusal(), await request_id(receive))
            return
        held = f"opening-{uuid4().hex}"
        self.ledger.open(owner, held)
        self.ledger.started(held)

        async def note_session(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] < 400:
                session_id = Headers(raw=message.get("headers", [])).get(SESSION_HEADER)
                if session_id is not None:
                    self.ledger.close(held)
                    held = session_id
                    self.ledger.open(owner, held)
                    self.ledger.started(held)
            await send(message)

        try:
            await self.app(scope, receive, note_session)
        finally:
            if held.startswith("opening-"):
                self.ledger.close(held)  # no session came of it
            else:
                self.ledger.finished(held)

    async def _in_session(self, session_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        statuses: list[int] = []

        async def note_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        self.ledger.started(session_id)
        try:
            await self.app(scope, receive, note_status)
        finally:
            self.ledger.finished(session_id)
            status = statuses[0] if statuses else None
            if status == 404 or (scope["method"] == "DELETE" and status is not None and status < 300):
                self.ledger.close(session_id)

    async def _stream(self, owner: str, scope: Scope, receive: Receive, send: Send) -> None:
        """A legacy SSE session: counted while its GET stream is open."""
        if self.ledger.full(owner):
            await refuse(send, self.ledger.refusal())
            return
        session_id = f"sse-{uuid4().hex}"
        self.ledger.open(owner, session_id)
        self.ledger.started(session_id)
        try:
            await self.app(scope, receive, send)
        finally:
            self.ledger.close(session_id)


async def request_id(receive: Receive) -> RequestId | None:
    """The id of the JSON-RPC request in the body, or None when it is not one.

    TransportGuard has already read the whole body within the body limit, so this reads it from memory.
    """
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    try:
        request = JSONRPCRequest.model_validate_json(body)
    except ValidationError:
        return None
    return request.id


async def refuse(send: Send, message: str, request_id: RequestId | None = None) -> None:
    """A 429 carrying a JSON-RPC error, as MCP clients read refusals of /mcp."""
    error = {"code": OVER_QUOTA, "message": message}
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
