"""Who is looking at the board: the local user on a loopback-only server, else whoever logged in with a token.

Local access. `serve` bound to a loopback address, with no public URL and no extra host names, is
reachable only from this machine, like the SQLite file behind it; the board then opens for requests
from a loopback address without a login and acts as the local user (`TICKETS_USER`), the user the
stdio server acts as. A request that came through a proxy (`came_through_a_proxy`: X-Forwarded-For,
Via, any `*-ip` header and the like) is not local, whatever its socket says. `TICKETS_BOARD_LOCAL=0`
asks for a token even there. The risk: whoever can open a TCP connection to the loopback port (another
OS user on a shared host, a proxy that forwards to 127.0.0.1 without adding those headers) is the local
user.

Sessions. Anywhere else the login form takes a token (`pk_`, or an `amk_` key) and starts a session in
the store: the cookie holds 256 random bits, the store their SHA-256 digest (as for tokens) with the
token's id and an expiry. Every request reads the session, its token and user in one indexed query, so
a logout (which deletes the session) or a revoked token is out on its next request, on every replica.
The cookie is HttpOnly, SameSite=Lax (a link from elsewhere keeps the session), limited to /board and
Secure unless the page was loaded from a loopback name.

Writes. Every POST (logging in and out too) must carry an `Origin` equal to the page's own; SameSite=Lax
keeps the cookie off cross-site POSTs too, and on a local server (no cookie at all) the Origin check is what stops
another web page from writing through the visitor's browser.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import SplitResult, urlsplit

from fastapi import Request

from tickets_mcp.core.backend import Backend
from tickets_mcp.core.tokens import TOKEN_FORMAT, digest
from tickets_mcp.core.tracker import Principal
from tickets_mcp.domain.rules import format_timestamp
from tickets_mcp.environment import env
from tickets_mcp.errors import PermissionDenied
from tickets_mcp.http.auth import backend_of
from tickets_mcp.http.ops import is_loopback
from tickets_mcp.http.ratelimit import RateLimiter, token_key
from tickets_mcp.http.settings import LOOPBACK_NAMES, ServeSettings

SESSION_COOKIE = "tracker_board"
SESSION_SECONDS = 12 * 3600
SESSION_FORMAT = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
CLIENT = "board"  # what the audit trail names as the client of changes made on the board
ENV_BOARD_LOCAL = "TICKETS_BOARD_LOCAL"
OFF = frozenset({"0", "off", "false", "no"})
# What proxies, load balancers and CDNs add to say who the client was; any one of them means a request
# was relayed, so its loopback socket says nothing about where it came from.
PROXY_HEADERS = (
    "forwarded", "forwarded-for", "via",
    "x-forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port",
    "x-forwarded-server", "x-forwarded-prefix", "x-original-forwarded-for",
    "x-real-ip", "x-client-ip", "x-cluster-client-ip", "client-ip", "true-client-ip",
    "cf-connecting-ip", "fastly-client-ip", "x-envoy-external-address", "x-azure-clientip",
)  # fmt: skip


def came_through_a_proxy(headers: Iterable[str]) -> bool:
    """Whether any header names a client's address the way proxies do: the known ones, and any other
    `*-ip` or `*forwarded*` header (X-ProxyUser-Ip, Akamai-Client-IP, ...): a list is never complete."""
    return any(
        name in PROXY_HEADERS or name.endswith(("-ip", "clientip")) or "forwarded" in name
        for name in (header.lower() for header in headers)
    )


@dataclass(frozen=True, slots=True)
class Viewer:
    principal: Principal
    local: bool  # let in as the local user, without a login
    token_digest: str | None = None  # the session's token: its requests count against that token's rate limit


def local_access_allowed(settings: ServeSettings) -> bool:
    """Whether this server can only be reached from this machine, so the board may open without a login."""
    if env(ENV_BOARD_LOCAL, "").strip().lower() in OFF:
        return False
    host = settings.host.strip("[]").lower()
    bound_to_loopback = host in LOOPBACK_NAMES or is_loopback(host)
    return bound_to_loopback and settings.public_url is None and not settings.extra_allowed_hosts


class BoardAccess:
    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.local_enabled = local_access_allowed(settings)

    # Sessions

    async def start_session(self, backend: Backend, token_id: int) -> str:
        """Record a session for the token that just logged in; returns the cookie value (never the token)."""
        secret = secrets.token_urlsafe(32)
        expires = format_timestamp(datetime.now(UTC) + timedelta(seconds=SESSION_SECONDS))
        await backend.start_session(digest(secret), token_id, expires)
        return secret

    async def end_session(self, request: Request) -> None:
        """Delete the request's session from the store, so a copy of its cookie opens nothing anywhere."""
        if (secret := session_secret(request)) is not None:
            await backend_of(request).end_session(digest(secret))

    def cookie_secure(self, request: Request) -> bool:
        """Secure unless the page was loaded from a loopback name (browsers keep Secure cookies there anyway)."""
        host = (request.url.hostname or "").strip("[]").lower()
        return not (host in LOOPBACK_NAMES or is_loopback(host))

    # Who is calling

    def is_local_request(self, request: Request) -> bool:
        if not self.local_enabled or came_through_a_proxy(request.headers.keys()):
            return False
        client = request.client
        return is_loopback(client.host if client is not None else None)

    async def viewer(self, request: Request) -> Viewer | None:
        """The caller, or None when it must log in first."""
        backend = backend_of(request)
        if self.is_local_request(request):
            return Viewer(replace(backend.local_principal, client=CLIENT), local=True)
        secret = session_secret(request)
        found = await backend.session(digest(secret), CLIENT) if secret is not None else None
        if found is None or not reads_board(found[0]):
            return None
        return Viewer(found[0], local=False, token_digest=found[1])

    def admit(self, request: Request, token_digest: str | None) -> None:
        """RateLimited when the token (a viewer's, or one logging in) is over `serve --rate-limit`, shared with
        its MCP and REST calls. The local user has no token and no limit."""
        limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
        if limiter is not None and token_digest is not None:
            limiter.check(token_key(token_digest))

    # Cross-site request forgery

    def check_origin(self, request: Request) -> None:
        """Refuse a write whose Origin is missing or not this page's own scheme, host and port."""
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            raise PermissionDenied("This form must be sent from the board's own page (no Origin header came).")
        # Behind a TLS proxy the page's origin is the public URL's, not the address uvicorn saw.
        own = [str(request.base_url), *([self.settings.public_url] if self.settings.public_url else [])]
        if not any(_same_origin(urlsplit(origin), urlsplit(url)) for url in own):
            raise PermissionDenied("Changes are accepted only from the board's own pages, not from another site.")


def _same_origin(a: SplitResult, b: SplitResult) -> bool:
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


async def login(backend: Backend, token: str) -> Principal | None:
    """The principal a token typed into the login form stands for; None if it stands for none."""
    token = token.strip()
    principal = await backend.principal_of_digest(digest(token), CLIENT) if TOKEN_FORMAT.fullmatch(token) else None
    return principal if principal is not None and reads_board(principal) else None


def reads_board(principal: Principal) -> bool:
    """A project token may only file tickets: it has no board to read."""
    return principal.project_id is None


def session_secret(request: Request) -> str | None:
    """The session cookie's value if it has the shape start_session gives it: anything else costs no query."""
    value = request.cookies.get(SESSION_COOKIE)
    return value if value is not None and SESSION_FORMAT.fullmatch(value) else None
