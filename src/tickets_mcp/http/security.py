"""Transport safety for every route, MCP and REST alike: DNS-rebinding protection and a body size limit.

A web page on a host the attacker controls can make a browser send requests to this server by
pointing its DNS name at 127.0.0.1; such requests carry the attacker's name in Host (421) and the
page's Origin (403). Only names this server is reached by are accepted: loopback, the bound
address, the public URL's host and any configured extras. Ports are not compared: a request that
names one of these hosts was aimed at this machine on purpose, whatever port a proxy put in front.

The OAuth endpoints a browser-based client calls from its own page (metadata, token, registration,
revocation: `cross_origin_paths`) skip the Origin check, not the Host check: they answer CORS, act on no
cookie, and a token request needs a code and its PKCE verifier, which no other page has.

Health probes are the other exception: load balancers and orchestrators call them by IP address or by
a name of their own, so GET and HEAD on `open_paths` skip the Host and Origin checks. That is safe
because those routes change nothing and reveal only whether the server can serve; every other route,
/metrics included, keeps the rebinding protection.

A route that takes large bodies (a file upload) is read as it comes instead, within its own limit
(`streamed`): its handler checks the caller's token before it reads a byte, and the body is refused with
413 as soon as it passes the limit, never held whole before the route runs.

Refusals use the seeds' error shape, `{"message": "<status> <reason>: <why>"}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickets_mcp.http.errors import ErrorShape, error_body

# A Host header: a DNS name or IPv4 address, or a bracketed IPv6 address, with an optional port.
HOST_HEADER = re.compile(r"(?P<name>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


@dataclass(frozen=True, slots=True)
class StreamedBody:
    """A request whose route reads its body as it comes, up to `max_bytes`; `too_large` says why past it."""

    max_bytes: int
    too_large: str


class BodyTooLarge(Exception):
    """A streamed body went past its limit: TransportGuard answers 413 (the route never sees its end)."""


class TransportGuard:
    """ASGI middleware in front of the whole app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Collection[str],
        max_body_bytes: int,
        open_paths: Collection[str] = (),
        cross_origin_paths: Collection[str] = (),
        error_shapes: Sequence[ErrorShape] = (),
        streamed: Callable[[Scope], StreamedBody | None] = lambda scope: None,
    ) -> None:
        self.app = app
        self.streamed = streamed
        self.error_shapes = error_shapes
        self.allowed_hosts = frozenset(name.lower() for name in allowed_hosts)
        self.max_body_bytes = max_body_bytes
        self.open_paths = frozenset(open_paths)
        self.cross_origin_paths = frozenset(cross_origin_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host")
        origin = headers.get("origin")
        if self.is_probe(scope):
            await self.limit_body(scope, receive, send, headers)
        elif not self.host_allowed(host):
            shown = "no Host header" if host is None else f"Host {host[:100]!r}"
            why = (
                f"{shown} is not served here; to accept it, start tickets-mcp serve with --public-url or --allow-host."
            )
            await refuse(scope, send, self.error_shapes, 421, "Misdirected Request", why)
        elif origin is not None and not self.origin_allowed(origin) and scope["path"] not in self.cross_origin_paths:
            await refuse(
                scope,
                send,
                self.error_shapes,
                403,
                "Forbidden",
                f"requests from origin {origin[:100]!r} are not accepted.",
            )
        elif scope["type"] == "http" and (streamed := self.streamed(scope)) is not None:
            await self.stream_body(scope, receive, send, headers, streamed)
        elif scope["type"] == "http":
            await self.limit_body(scope, receive, send, headers)
        else:
            await self.app(scope, receive, send)

    def is_probe(self, scope: Scope) -> bool:
        return scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and scope["path"] in self.open_paths

    def host_allowed(self, host: str | None) -> bool:
        if host is None:
            return False
        match = HOST_HEADER.fullmatch(host.strip())
        return match is not None and self.name_allowed(match["name"])

    def origin_allowed(self, origin: str) -> bool:
        try:
            parts = urlsplit(origin)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            return False
        return parts.scheme in ("http", "https") and parts.hostname is not None and self.name_allowed(parts.hostname)

    def name_allowed(self, name: str) -> bool:
        return name.lower().strip("[]").removesuffix(".") in self.allowed_hosts

    async def limit_body(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        """Read the whole body (chunked ones too) before the app runs, refusing it once past the limit."""
        too_large = f"the request body exceeds {self.max_body_bytes} bytes."
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await refuse(scope, send, self.error_shapes, 413, "Content Too Large", too_large)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its whole request: nothing to answer
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await refuse(scope, send, self.error_shapes, 413, "Content Too Large", too_large)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def stream_body(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers, streamed: StreamedBody
    ) -> None:
        """Run the app with a body it reads as it comes, refused (413) once past `streamed.max_bytes`:
        at once when its Content-Length says so, else when the bytes that came pass it."""
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > streamed.max_bytes:
            await refuse(scope, send, self.error_shapes, 413, "Content Too Large", streamed.too_large)
            return
        received = 0
        answered = False

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > streamed.max_bytes:
                    raise BodyTooLarge
            return message

        async def answering(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded, answering)
        except BodyTooLarge:
            if not answered:
                await refuse(scope, send, self.error_shapes, 413, "Content Too Large", streamed.too_large)


async def refuse(scope: Scope, send: Send, shapes: Sequence[ErrorShape], status: int, reason: str, why: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": f"{status} {reason}"})
        return
    document, media_type = error_body(shapes, scope["path"], status, f"{status} {reason}: {why}")
    body = json.dumps(document).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
