"""Who is looking at the board: the local user on a loopback-only server, else whoever logged in with a token.

Local access. `serve` bound to a loopback address, with no public URL and no extra host names, is
reachable only from this machine, like the SQLite file behind it; the board then opens for requests
from a loopback address without a login and acts as the local user (`TICKETS_USER`), the user the
stdio server acts as. A request that came through a proxy (any of PROXY_HEADERS) is not local,
whatever its socket says. `TICKETS_BOARD_LOCAL=0` asks for a token even there. The risk: whoever can
open a TCP connection to the loopback port (another OS user on a shared host, a proxy that forwards
to 127.0.0.1 without adding those headers) is the local user.

Sessions. Anywhere else the login form takes a token (`pk_`, or an `amk_` key) and sets a cookie
holding the token's SHA-256 digest (what the database stores, never the token itself), an expiry and
an HMAC of both. Every request looks the digest up again, so a revoked token is out on its next
request. The cookie is HttpOnly, SameSite=Lax (a link from elsewhere keeps the session), limited to
/board and Secure unless the page was loaded from a loopback name. The HMAC key comes from
`TICKETS_STATE_KEY` (so replicas share sessions); without one each process makes its own and a restart
logs everyone out.

Writes. Every POST (logging in and out too) must carry an `Origin` equal to the page's own; SameSite=Lax
keeps the cookie off cross-site POSTs too, and on a local server (no cookie at all) the Origin check is what stops
another web page from writing through the visitor's browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from fastapi import Request

from tickets_mcp.environment import env
from tickets_mcp.errors import PermissionDenied
from tickets_mcp.http.ops import is_loopback
from tickets_mcp.http.ratelimit import RateLimiter, token_key
from tickets_mcp.http.settings import LOOPBACK_NAMES, ServeSettings
from tickets_mcp.identity import TOKEN_FORMAT, digest, principal_of_digest
from tickets_mcp.store import Store
from tickets_mcp.tracker import Principal

SESSION_COOKIE = "tracker_board"
SESSION_SECONDS = 12 * 3600
BOARD_PATH = "/board"
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
        secrets_in_use = [key.encode() for key in settings.state_keys] or [secrets.token_bytes(32)]
        # A key of its own for sessions, so a session MAC can never be replayed as sealed request state.
        self._keys = [hmac.new(key, b"tickets-mcp board session", hashlib.sha256).digest() for key in secrets_in_use]

    # Sessions

    def seal(self, token: str, now: float | None = None) -> str:
        """The cookie value for a token that just logged in: its digest, expiry and MAC; never the token."""
        expires = int((now if now is not None else time.time()) + SESSION_SECONDS)
        payload = f"{digest(token)}.{expires}"
        return f"{payload}.{self._mac(self._keys[0], payload)}"

    def unseal(self, value: str, now: float | None = None) -> str | None:
        """The token digest of a valid, unexpired cookie; None for anything else."""
        token_digest, _, rest = value.partition(".")
        expires, _, mac = rest.partition(".")
        # isdigit() alone takes "²", which int() refuses; compare_digest refuses non-ASCII str.
        if not (expires.isascii() and expires.isdigit() and mac.isascii()):
            return None
        if int(expires) < (now if now is not None else time.time()):
            return None
        payload = f"{token_digest}.{expires}"
        if any(hmac.compare_digest(mac.encode(), self._mac(key, payload).encode()) for key in self._keys):
            return token_digest
        return None

    @staticmethod
    def _mac(key: bytes, payload: str) -> str:
        return base64.urlsafe_b64encode(hmac.new(key, payload.encode(), hashlib.sha256).digest()).decode().rstrip("=")

    def cookie_secure(self, request: Request) -> bool:
        """Secure unless the page was loaded from a loopback name (browsers keep Secure cookies there anyway)."""
        host = (request.url.hostname or "").strip("[]").lower()
        return not (host in LOOPBACK_NAMES or is_loopback(host))

    # Who is calling

    def is_local_request(self, request: Request) -> bool:
        if not self.local_enabled or any(name in request.headers for name in PROXY_HEADERS):
            return False
        client = request.client
        return is_loopback(client.host if client is not None else None)

    async def viewer(self, request: Request) -> Viewer | None:
        """The caller, or None when it must log in first."""
        store = store_of(request)
        if self.is_local_request(request):
            user = await store.find_user(self.settings.store.username)
            if user is not None:
                return Viewer(Principal(user_id=user.id, username=user.username, client=CLIENT), local=True)
        sealed = request.cookies.get(SESSION_COOKIE)
        token_digest = self.unseal(sealed) if sealed else None
        if token_digest is None:
            return None
        principal = await board_principal(store, token_digest)
        return Viewer(principal, local=False, token_digest=token_digest) if principal is not None else None

    def admit(self, request: Request, viewer: Viewer) -> None:
        """RateLimited when the viewer's token is over `serve --rate-limit`, shared with its MCP and REST calls."""
        limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
        if limiter is not None and viewer.token_digest is not None:
            limiter.check(token_key(viewer.token_digest))

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


async def login(store: Store, token: str) -> Principal | None:
    """The principal a token typed into the login form stands for; None if it stands for none."""
    token = token.strip()
    return await board_principal(store, digest(token)) if TOKEN_FORMAT.fullmatch(token) else None


def store_of(request: Request) -> Store:
    return request.app.state.store


async def board_principal(store: Store, token_digest: str) -> Principal | None:
    """A session's principal; a project token has none (it may only file tickets: no board to read)."""
    principal = await principal_of_digest(store, token_digest, CLIENT)
    return principal if principal is not None and principal.project_id is None else None
