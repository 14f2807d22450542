"""The connections the server opens to a host someone else named: a webhook's receiver (dispatch/), an OAuth
client's metadata document (http/oauth/client_documents.py). Each goes to an address the host resolves to, checked.

A URL can be checked when it is given (domain/webhooks.check_url), but a name can resolve elsewhere later (DNS
rebinding: public when checked, 127.0.0.1 when fetched). So every connection resolves the name itself, refuses it
if any address it gets is one the `Targets` do not allow (domain/webhooks.Targets), and connects to a checked
address, never to the name again. TLS still verifies the certificate against the name.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

import anyio
import httpcore2

from tickets_mcp.domain.webhooks import Targets

Resolve = Callable[[str, int], Awaitable[list[str]]]


class RefusedTarget(httpcore2.ConnectError):
    """The host resolves to an address the targets do not allow; nothing was sent."""


class Unresolved(httpcore2.ConnectError):
    """The host's name did not resolve."""


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` names, in the order the resolver gives (an IP literal is its own address)."""
    try:
        found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Unresolved(f"{host} does not resolve ({getattr(exc, 'strerror', None) or exc})") from exc
    addresses: list[str] = []
    for *_, sockaddr in found:
        if sockaddr[0] not in addresses:
            addresses.append(str(sockaddr[0]))
    return addresses


class GuardedNetwork(httpcore2.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses `targets` allow."""

    def __init__(self, targets: Targets, lookup: Resolve = resolve) -> None:
        self._targets = targets
        self._lookup = lookup
        # httpcore defines AnyIOBackend only where anyio is installed, which the type checker cannot tell.
        self._inner = cast(httpcore2.AsyncNetworkBackend, httpcore2.AnyIOBackend())

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):  # the name's lookup counts against the connect timeout
                addresses = await self._lookup(host, port)
        except TimeoutError:
            raise httpcore2.ConnectTimeout(f"{host} did not resolve in time") from None
        if not addresses:
            raise Unresolved(f"{host} resolves to no address")
        for address in addresses:
            refusal = self._targets.refusal(address)
            if refusal is not None:
                named = "" if address == host else f"{host} resolves to {address}: "
                raise RefusedTarget(f"refused: {named}{refusal} ({self._targets.remedy})")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore2.ConnectError as exc:  # the next address may answer
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise RefusedTarget("refused: connections are made over TCP only")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)
