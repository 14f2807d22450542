"""Read timeouts and connection caps for `tickets-mcp serve`, which uvicorn does not have.

uvicorn closes an idle keep-alive connection, but never one still sending its request: a client that
connects and sends nothing, half its headers or half its body holds a socket and a file descriptor for
as long as it likes, and enough of them stop the server from accepting anything (slowloris). Here:

- a request's line and headers must arrive within the header timeout of the connection opening (or of
  the previous response ending), and its body within the body timeout of the headers;
- one client address may hold only so many connections; over that, a new one is refused at once;
- the server holds only so many connections, never more than its open-file limit allows. At the cap, a
  new connection evicts the oldest one still waiting for its request headers or, when there is none, the
  oldest one still sending its request body: a client still sending holds nothing a fast one needs, so
  /healthz and real clients keep getting in while slow connections are held, whichever part they stall
  in. Only when every connection has its whole request in and is being served is a new one refused.

This is a subclass of uvicorn's h11 protocol, passed as `uvicorn.Config(http=...)`, rather than a
wrapper around asyncio transports: it reads h11's own record of where the request is (`their_state`:
waiting for headers, reading the body, done) instead of parsing the bytes a second time, and it
overrides only the protocol's asyncio callbacks plus `on_response_complete`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from tickets_mcp.http.settings import (
    ENV_HEADER_TIMEOUT,
    ENV_MAX_CONNECTIONS,
    ENV_MAX_CONNECTIONS_PER_ADDRESS,
    ServeSettings,
)

logger = logging.getLogger(__name__)

WARN_EVERY = 60.0  # seconds between warnings that summarise what the limits turned away
DEFAULT_BACKLOG = 2048  # uvicorn's
FILES_KEPT = 32  # files besides connections: the database and its pool, logs, the listening socket

Phase = Literal["headers", "body"]


@dataclass(frozen=True, slots=True)
class Capacity:
    max_connections: int
    backlog: int  # the listen queue, and how many connections asyncio accepts in one go
    file_limit: int | None  # the open-file limit, when it lowered the configured cap


def raise_file_limit() -> int | None:
    """Raise this process's open-file limit to its hard limit (as Go's runtime does); the limit now in force.

    The soft limit is often 1024 while the hard one is far higher: without this, a thousand idle
    sockets would leave the server unable to accept anything or open its database.
    """
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # above the kernel's nr_open: keep the limit we have
    return None if soft == resource.RLIM_INFINITY else soft


def capacity(configured: int, file_limit: int | None) -> Capacity:
    """How many connections to hold, and the listen backlog, under an open-file limit.

    asyncio accepts up to `backlog` connections in one go, before any of them is admitted or evicted,
    and the sockets it closes are released only on a later turn of the loop: so connections get at most
    half the files, and two batches of accepts must fit in the other half. Otherwise a flood of
    connections runs the process out of files, and asyncio stops accepting for a second at a time.
    """
    if file_limit is None:
        return Capacity(configured, DEFAULT_BACKLOG, None)
    allowed = max(1, file_limit // 2)
    max_connections = min(configured, allowed)
    backlog = max(8, min(DEFAULT_BACKLOG, (file_limit - max_connections - FILES_KEPT) // 2))
    return Capacity(max_connections, backlog, file_limit if max_connections < configured else None)


def raw_response(status: int, reason: str, why: str) -> bytes:
    """A complete HTTP/1.1 response that closes the connection, in the app's error shape."""
    body = json.dumps({"message": f"{status} {reason}: {why}"}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\nconnection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class ConnectionLimits:
    """What every connection of one server shares: the caps, and who holds which connection."""

    def __init__(
        self, *, header_timeout: float, body_timeout: float, max_connections: int, max_per_address: int
    ) -> None:
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        self._open: set[GuardedH11Protocol] = set()
        self._per_address: Counter[str] = Counter()
        # Connections still sending their request, oldest first, by the part they are sending: the first to
        # go when the server is full. Headers go before bodies, whose requests the app has begun.
        self._sending: dict[Phase, dict[GuardedH11Protocol, None]] = {"headers": {}, "body": {}}
        self._turned_away: Counter[str] = Counter()
        self._warned_at = -WARN_EVERY

    @classmethod
    def of(cls, settings: ServeSettings, max_connections: int) -> ConnectionLimits:
        return cls(
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            max_connections=max_connections,
            max_per_address=settings.max_connections_per_address,
        )

    def admit(self, connection: GuardedH11Protocol) -> bytes | None:
        """Count a new connection in, or return the response refusing it."""
        address = connection.address
        if address is not None and 0 < self.max_per_address <= self._per_address[address]:
            self.note("refused over the per-address cap")
            return raw_response(
                503,
                "Service Unavailable",
                f"{address} already has {self.max_per_address} connections open, the most one address may "
                f"({ENV_MAX_CONNECTIONS_PER_ADDRESS}); reuse them (keep-alive) or close some.",
            )
        if len(self._open) >= self.max_connections:
            oldest = next((c for sending in self._sending.values() for c in sending), None)
            if oldest is None:
                self.note("refused with every connection busy")
                return raw_response(
                    503,
                    "Service Unavailable",
                    f"the server holds {self.max_connections} connections, its cap ({ENV_MAX_CONNECTIONS}), "
                    "all busy; retry shortly.",
                )
            self.note(f"evicted while sending {'headers' if oldest.phase == 'headers' else 'a body'}")
            oldest.drop()
        self._open.add(connection)
        if address is not None:
            self._per_address[address] += 1
        return None

    def release(self, connection: GuardedH11Protocol) -> None:
        if connection not in self._open:
            return
        self._open.discard(connection)
        for sending in self._sending.values():
            sending.pop(connection, None)
        address = connection.address
        if address is not None:
            self._per_address[address] -= 1
            if self._per_address[address] <= 0:
                del self._per_address[address]

    def sending(self, connection: GuardedH11Protocol, phase: Phase | None) -> None:
        """Note which part of its request `connection` is now sending (None: the request is in)."""
        for part, sending in self._sending.items():
            if part != phase:
                sending.pop(connection, None)
            elif connection in self._open:
                sending[connection] = None

    def note(self, what: str) -> None:
        """Count a connection turned away; warn with the counts at most once a minute."""
        self._turned_away[what] += 1
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY:
            counts = ", ".join(f"{n} {what}" for what, n in self._turned_away.items())
            logger.warning(
                "Connection limits turned connections away: %s (in the last %d s at most)", counts, WARN_EVERY
            )
            self._turned_away.clear()
            self._warned_at = now


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with read deadlines and connection caps; see the module's docstring."""

    limits: ClassVar[ConnectionLimits]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.phase: Phase | None = None
        self._deadline: asyncio.TimerHandle | None = None

    @classmethod
    def bound_to(cls, limits: ConnectionLimits) -> type[GuardedH11Protocol]:
        """The protocol class for one server (uvicorn makes each connection's protocol from a class)."""
        return type(cls.__name__, (cls,), {"limits": limits})

    @property
    def address(self) -> str | None:
        return self.client[0] if self.client else None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        refusal = self.limits.admit(self)
        if refusal is not None:
            transport.write(refusal)
            transport.close()
            return
        self._follow_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._enter(None)
        self.limits.release(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_request()

    def drop(self) -> None:
        """Close the connection now, and stop counting it at once (not when asyncio reports it lost)."""
        self._enter(None)
        self.limits.release(self)
        self.transport.close()

    def _follow_request(self) -> None:
        """Start the deadline of the part of the request h11 is waiting for, if that part changed."""
        if self.transport.is_closing():
            self._enter(None)
        elif self.conn.their_state is h11.IDLE:
            self._enter("headers")
        elif self.conn.their_state is h11.SEND_BODY:
            self._enter("body")
        else:
            self._enter(None)  # the request is in; the app's time is not the client's to spend

    def _enter(self, phase: Phase | None) -> None:
        if phase == self.phase:
            return
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.phase = phase
        self.limits.sending(self, phase)
        if phase == "headers":
            self._deadline = self.loop.call_later(self.limits.header_timeout, self._too_slow, phase)
        elif phase == "body":
            self._deadline = self.loop.call_later(self.limits.body_timeout, self._too_slow, phase)

    def _too_slow(self, phase: Phase) -> None:
        self._deadline = None
        if self.phase != phase or self.transport.is_closing():
            return
        if phase == "headers" and self.conn.trailing_data[0]:
            # A request begun but not finished gets a reason; a connection that sent nothing, none.
            timeout, variable = self.limits.header_timeout, ENV_HEADER_TIMEOUT
            self.transport.write(
                raw_response(
                    408,
                    "Request Timeout",
                    f"the request headers did not arrive within {timeout:g} s ({variable}).",
                )
            )
        # A slow body gets no reply: the app is already reading it, so only closing can end the request.
        self.limits.note(f"closed for slow {'headers' if phase == 'headers' else 'bodies'}")
        self.drop()
