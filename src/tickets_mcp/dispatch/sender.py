"""One webhook POST: bounded in time and in what is read back, and told in words fit for a delivery log.

httpcore directly (httpx's transport layer): it takes a network backend (tickets_mcp/network.py, which checks every
address a delivery connects to), follows no redirect and reads the answer only as far as asked.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import anyio
import httpcore2

from tickets_mcp import __version__
from tickets_mcp.domain.webhooks import Targets
from tickets_mcp.network import GuardedNetwork, RefusedTarget, Resolve, Unresolved, resolve

USER_AGENT: Final = f"tickets-mcp-webhooks/{__version__}"
ERROR_MAX: Final = 300  # characters of an error kept in the log


@dataclass(frozen=True, slots=True)
class Limits:
    """How long an attempt may take and how much of an answer is read. A receiver should answer at once
    (and do its work later): these are generous for that, and short next to the retry schedule."""

    connect: float = 5.0  # seconds to resolve the name and connect (TLS included)
    exchange: float = 10.0  # seconds each write of the request or read of the answer may wait
    deadline: float = 20.0  # seconds for the whole attempt: a receiver trickling its answer is cut here
    answer_bytes: int = 64 * 1024  # of the answer's body read at most; a longer answer is a failure


@dataclass(frozen=True, slots=True)
class Answer:
    status: int | None  # None when no answer came
    error: str | None  # None: delivered (a 2xx, read whole within the limits)
    received: int = 0  # bytes of the answer's body read


class Sender:
    """POSTs to receivers through one pool of kept-alive connections; use as an async context manager."""

    def __init__(self, targets: Targets, limits: Limits | None = None, lookup: Resolve = resolve) -> None:
        self.limits = limits or Limits()
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(),
            network_backend=GuardedNetwork(targets, lookup),
            max_connections=64,
            keepalive_expiry=30.0,
            retries=0,  # the dispatcher retries, on its schedule
        )

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Answer:
        limits = self.limits
        timeouts = {
            "connect": limits.connect,
            "pool": limits.connect,
            "read": limits.exchange,
            "write": limits.exchange,
        }
        sent = [
            ("User-Agent", USER_AGENT),
            ("Content-Type", "application/json"),
            ("Connection", "keep-alive"),
            *headers.items(),
        ]
        try:
            with anyio.fail_after(limits.deadline):
                async with self._pool.stream(
                    "POST", url, headers=sent, content=body, extensions={"timeout": timeouts}
                ) as response:
                    return await self._read(response)
        except TimeoutError:
            return Answer(None, f"no complete answer within {limits.deadline:g} s")
        except (RefusedTarget, Unresolved) as exc:
            return Answer(None, _cut(str(exc)))
        except httpcore2.ConnectTimeout:
            return Answer(None, f"could not connect within {limits.connect:g} s")
        except httpcore2.ConnectError as exc:
            return Answer(None, _cut(f"could not connect ({_reason(exc)})"))
        except httpcore2.WriteTimeout:
            return Answer(None, f"the receiver took the request no faster than {limits.exchange:g} s allow")
        except httpcore2.ReadTimeout:
            return Answer(None, f"no answer within {limits.exchange:g} s")
        except (httpcore2.NetworkError, httpcore2.ProtocolError) as exc:
            return Answer(None, _cut(f"the connection broke ({_reason(exc)})"))
        except httpcore2.UnsupportedProtocol:
            return Answer(None, "the URL's scheme is not http or https")

    async def _read(self, response: httpcore2.Response) -> Answer:
        """The verdict on an answer, its body read up to the limit: further bytes are left unread and the
        connection closed with the response."""
        cap = self.limits.answer_bytes
        received = 0
        async for chunk in response.aiter_stream():
            received += len(chunk)
            if received > cap:
                return Answer(response.status, f"HTTP {response.status} with more than {cap // 1024} KB", received)
        status = response.status
        if 200 <= status < 300:
            return Answer(status, None, received)
        if 300 <= status < 400:
            return Answer(status, f"HTTP {status}: a redirect, which webhooks do not follow", received)
        return Answer(status, f"HTTP {status}", received)


def _reason(exc: BaseException) -> str:
    """What went wrong in the system's words (`Connection refused`), found under the wrappers' own messages."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and isinstance(seen.errno, int) and not isinstance(seen, ssl.SSLError):
            return os.strerror(seen.errno)
        seen = seen.__cause__ or seen.__context__
    return " ".join(str(exc).split()) or type(exc).__name__


def _cut(text: str) -> str:
    return text if len(text) <= ERROR_MAX else text[: ERROR_MAX - 1] + "…"
