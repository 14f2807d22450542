"""Rate limits per caller over HTTP: a token bucket for each token, so one busy agent slows only itself.

`--rate-limit 120/min` (or TICKETS_RATE_LIMIT; /s, /min and /h) lets each token make that many
requests, in bursts of up to that many, refilled evenly. Off by default. Every request counts: each
MCP request, a connection's initialize included (server.app.TrackerServer.admit_request), each REST
call and each board page. A request over the limit is answered, never queued: an MCP tool call gets a
tool error the agent reads ("retry after 4 s"), any other MCP request a JSON-RPC error with the wait
(RATE_LIMITED), a REST call or board page a 429 with `Retry-After`. Requests without a token are keyed
by the client's address. Buckets live in the process: each replica limits on its own.
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from tickets_mcp.core.tokens import digest
from tickets_mcp.errors import Invalid, RateLimited

PERIODS = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "hour": 3600.0}
MAX_CALLERS = 100_000  # buckets kept at most; the least recently used go first (a full bucket is no loss)


@dataclass(frozen=True, slots=True)
class Rate:
    requests: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """`120/min` and the like; `off` or empty: no limit."""
        value = text.strip().lower()
        if value in ("", "off", "0"):
            return None
        found = re.fullmatch(r"(\d+)\s*/\s*([a-z]+)", value)
        if not found or int(found[1]) < 1 or found[2] not in PERIODS:
            raise Invalid(
                "rate_limit",
                f"Rate limit {text.strip()!r} is not valid.",
                hint="Use e.g. 120/min, 5/s or 1000/h, or off.",
            )
        return cls(int(found[1]), PERIODS[found[2]])

    def __str__(self) -> str:
        unit = {1.0: "s", 60.0: "min", 3600.0: "h"}[self.seconds]
        return f"{self.requests}/{unit}"


@dataclass
class RateLimiter:
    rate: Rate
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict[str, tuple[float, float]])

    def take(self, caller: str, now: float | None = None) -> float:
        """Spend one request of `caller`'s bucket: 0 when allowed, else the seconds until one is free."""
        now = time.monotonic() if now is None else now
        capacity, per_second = float(self.rate.requests), self.rate.requests / self.rate.seconds
        tokens, since = self._buckets.pop(caller, (capacity, now))
        tokens = min(capacity, tokens + (now - since) * per_second)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / per_second
        self._buckets[caller] = (tokens - 1 if wait == 0 else tokens, now)
        if len(self._buckets) > MAX_CALLERS:
            self._buckets.popitem(last=False)
        return wait

    def check(self, caller: str) -> None:
        """Raise RateLimited, with the wait, when `caller` is over the limit."""
        wait = self.take(caller)
        if wait:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(
                f"Rate limited: this token may make {self.rate} requests; retry after {seconds} s.",
                retry_after=float(seconds),
            )


def caller_key(credential: str | None, address: str | None) -> str:
    """Who a request counts against: its token's digest (never the token itself), else its address."""
    if credential:
        return token_key(digest(credential))
    return f"address:{address or 'unknown'}"


def token_key(token_digest: str) -> str:
    """The bucket of the token with this digest (identity.digest): a board session knows its token by the digest."""
    return "token:" + token_digest
