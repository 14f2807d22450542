"""What `tickets-mcp serve` is configured with: flags first, then environment variables, then defaults."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tickets_mcp.config import Settings
from tickets_mcp.environment import env
from tickets_mcp.errors import Invalid

if TYPE_CHECKING:  # the stdio server reads these settings' names for --help, never a rate limit
    from tickets_mcp.http.ratelimit import Rate

ENV_HOST = "TICKETS_HOST"
ENV_PORT = "TICKETS_PORT"
ENV_PUBLIC_URL = "TICKETS_PUBLIC_URL"
ENV_ALLOWED_HOSTS = "TICKETS_ALLOWED_HOSTS"
ENV_STATE_KEY = "TICKETS_STATE_KEY"
ENV_RATE_LIMIT = "TICKETS_RATE_LIMIT"
ENV_HEADER_TIMEOUT = "TICKETS_HEADER_TIMEOUT"
ENV_BODY_TIMEOUT = "TICKETS_BODY_TIMEOUT"
ENV_MAX_CONNECTIONS = "TICKETS_MAX_CONNECTIONS"
ENV_MAX_CONNECTIONS_PER_ADDRESS = "TICKETS_MAX_CONNECTIONS_PER_ADDRESS"
ENV_MCP_SESSIONS_PER_TOKEN = "TICKETS_MCP_SESSIONS_PER_TOKEN"  # noqa: S105 - a variable name, not a secret
ENV_MCP_SESSION_IDLE_TIMEOUT = "TICKETS_MCP_SESSION_IDLE_TIMEOUT"
ENV_OAUTH = "TICKETS_OAUTH"
ENV_OAUTH_REGISTRATION = "TICKETS_OAUTH_REGISTRATION"
ENV_OAUTH_PRIVATE_CLIENTS = "TICKETS_OAUTH_PRIVATE_CLIENTS"
ENV_OAUTH_CA_FILE = "TICKETS_OAUTH_CA_FILE"
ENV_OAUTH_UNUSED_CLIENTS = "TICKETS_OAUTH_UNUSED_CLIENTS"
DEFAULT_OAUTH_UNUSED_CLIENTS = 1000
STATE_KEY_MIN_LENGTH = 32

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8740
DEFAULT_MAX_BODY = 1_048_576
# What a reverse proxy would allow (nginx waits 60 s for headers, Node.js 60 s): shorter, since every
# client here is a program sending small requests. The body is at most DEFAULT_MAX_BODY.
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 100
# Sessions cost about 33 KB each; a hundred per token leaves room for a fleet of agents sharing one
# token, and ten minutes idle outlasts a pause in a conversation (a client re-initializes after a 404).
DEFAULT_MCP_SESSIONS_PER_TOKEN = 100
DEFAULT_MCP_SESSION_IDLE_TIMEOUT = 600.0
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - names, not a bind
HOST_NAME = re.compile(r"[a-z0-9.-]{1,253}|[0-9a-f:.]{2,45}")


@dataclass(frozen=True, slots=True)
class ServeSettings:
    store: Settings
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    # The URL clients use to reach this server (behind a proxy it differs from host:port); its host
    # is accepted by DNS-rebinding protection and the board takes forms posted from it.
    public_url: str | None = None
    allow_query_token: bool = False
    # /metrics answers anyone; by default only loopback clients and callers with a valid token.
    metrics_public: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY
    extra_allowed_hosts: tuple[str, ...] = field(default=())
    # Keys sealing the request state of confirmation round trips and signing cursors; replicas share them
    # so a round trip or a listing started on one goes on on another. The first seals, all unseal
    # (rotation). Empty: a key per process.
    state_keys: tuple[str, ...] = field(default=(), repr=False)
    rate_limit: Rate | None = None  # requests each token may make (see http/ratelimit.py); None: no limit
    keep_alive_seconds: int = 5  # idle keep-alive connections are closed after this
    # A request's line and headers must arrive within header_timeout of the connection opening (or of the
    # previous response), its body within body_timeout of the headers: a slow client cannot hold a socket.
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS  # lowered at start to what the open-file limit allows
    max_connections_per_address: int = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS  # 0: none (behind a proxy)
    mcp_sessions_per_token: int = DEFAULT_MCP_SESSIONS_PER_TOKEN  # session-era MCP sessions (HTTP and SSE)
    mcp_session_idle_timeout: float = DEFAULT_MCP_SESSION_IDLE_TIMEOUT  # with no request in flight this long
    graceful_shutdown_seconds: int = 10  # on SIGTERM, requests in flight get this long to finish
    # OAuth 2.1 (http/oauth): served unless turned off, where the issuer can be (https, or a loopback URL).
    oauth: bool = True
    oauth_registration: bool = True  # dynamic client registration (RFC 7591), for clients without a CIMD URL
    oauth_private_clients: bool = False  # fetch client metadata documents from private addresses too
    oauth_ca_file: str | None = None  # a CA bundle for client metadata documents on an internal CA
    # Registered clients nobody consented to yet, in the last day, past which /register says to try later.
    oauth_unused_clients: int = DEFAULT_OAUTH_UNUSED_CLIENTS

    @classmethod
    def from_env(
        cls,
        store: Settings,
        *,
        host: str | None = None,
        port: int | None = None,
        public_url: str | None = None,
        allowed_hosts: list[str] | None = None,
        allow_query_token: bool = False,
        metrics_public: bool = False,
        rate_limit: str | None = None,
    ) -> ServeSettings:
        host_value = (host or env(ENV_HOST) or DEFAULT_HOST).strip()
        port_text = env(ENV_PORT, "").strip()
        if port is None and port_text:
            if not port_text.isdigit():
                raise Invalid("port", f"{ENV_PORT} must be a port number, not {port_text!r}.")
            port = int(port_text)
        port_value = DEFAULT_PORT if port is None else port
        if not 0 <= port_value <= 65535:
            raise Invalid("port", f"Port {port_value} is out of range.", hint="Use 1-65535, or 0 for any free port.")
        from tickets_mcp.http.ratelimit import Rate

        url = public_url or env(ENV_PUBLIC_URL) or None
        env_hosts = [h for h in env(ENV_ALLOWED_HOSTS, "").split(",") if h.strip()]
        return cls(
            store=store,
            host=host_value,
            port=port_value,
            public_url=validate_public_url(url) if url else None,
            allow_query_token=allow_query_token,
            metrics_public=metrics_public,
            extra_allowed_hosts=tuple(validate_host_name(h) for h in [*(allowed_hosts or ()), *env_hosts]),
            state_keys=state_keys_from(env(ENV_STATE_KEY, "")),
            rate_limit=Rate.parse(rate_limit or env(ENV_RATE_LIMIT, "")),
            header_timeout=positive_seconds(ENV_HEADER_TIMEOUT, DEFAULT_HEADER_TIMEOUT),
            body_timeout=positive_seconds(ENV_BODY_TIMEOUT, DEFAULT_BODY_TIMEOUT),
            max_connections=count(ENV_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS, minimum=1),
            max_connections_per_address=count(ENV_MAX_CONNECTIONS_PER_ADDRESS, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS),
            mcp_sessions_per_token=count(ENV_MCP_SESSIONS_PER_TOKEN, DEFAULT_MCP_SESSIONS_PER_TOKEN, minimum=1),
            mcp_session_idle_timeout=positive_seconds(ENV_MCP_SESSION_IDLE_TIMEOUT, DEFAULT_MCP_SESSION_IDLE_TIMEOUT),
            oauth=switch(ENV_OAUTH, default=True),
            oauth_registration=switch(ENV_OAUTH_REGISTRATION, default=True),
            oauth_private_clients=switch(ENV_OAUTH_PRIVATE_CLIENTS, default=False),
            oauth_ca_file=ca_file(env(ENV_OAUTH_CA_FILE, "").strip()),
            oauth_unused_clients=count(ENV_OAUTH_UNUSED_CLIENTS, DEFAULT_OAUTH_UNUSED_CLIENTS, minimum=1),
        )

    @property
    def listen_url(self) -> str:
        """The address the server is bound to, as a URL."""
        return f"http://{f'[{self.host}]' if ':' in self.host else self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Where clients reach the server: the public URL, else the address it listens on."""
        if self.public_url:
            return self.public_url.rstrip("/")
        if self.host in WILDCARD_HOSTS:
            return f"http://127.0.0.1:{self.port}"
        return self.listen_url

    @property
    def oauth_issuer(self) -> str | None:
        """Where the authorization server is, when it is served (see oauth_off_reason)."""
        return self.base_url if self.oauth and self.oauth_off_reason is None else None

    @property
    def oauth_off_reason(self) -> str | None:
        """Why OAuth cannot be served although asked for, or None. The issuer is the URL clients use: it must be
        https (RFC 8414), bar a server only this machine reaches, and known (a public URL), not guessed."""
        if not self.oauth:
            return None
        if self.public_url:
            if urlsplit(self.public_url).scheme == "https":
                return None
            return f"it needs an https:// public URL, not {self.public_url}"
        host = self.host.strip("[]").lower()
        if host in LOOPBACK_NAMES and not self.extra_allowed_hosts:
            return None
        return "it needs the URL clients reach this server by: set --public-url https://... (TICKETS_PUBLIC_URL)"

    @property
    def allowed_host_names(self) -> frozenset[str]:
        """Host names a request may name in Host and Origin: loopback, the bound and public hosts, extras."""
        names = set(LOOPBACK_NAMES) | {name.lower() for name in self.extra_allowed_hosts}
        if self.host not in WILDCARD_HOSTS:
            names.add(self.host.lower().strip("[]"))
        if self.public_url:
            public_host = urlsplit(self.public_url).hostname
            if public_host:
                names.add(public_host)
        return frozenset(names)


def positive_seconds(name: str, default: float) -> float:
    """A number of seconds from the environment variable `name`, e.g. 10 or 0.5."""
    text = env(name, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise Invalid(
            name.lower(), f"{name} must be a number of seconds above 0, not {text!r}.", hint=f"e.g. {default:g}"
        )
    return seconds


def switch(name: str, *, default: bool) -> bool:
    """An on/off environment variable: 1/on/true/yes or 0/off/false/no."""
    text = env(name, "").strip().lower()
    if not text:
        return default
    if text in ("1", "on", "true", "yes"):
        return True
    if text in ("0", "off", "false", "no"):
        return False
    raise Invalid(name.lower(), f"{name} must be on or off (1 or 0), not {text!r}.")


def ca_file(path: str) -> str | None:
    if path and not Path(path).is_file():
        raise Invalid(ENV_OAUTH_CA_FILE.lower(), f"{ENV_OAUTH_CA_FILE} names no file: {path!r}.")
    return path or None


def count(name: str, default: int, *, minimum: int = 0) -> int:
    """A whole number from the environment variable `name`, at least `minimum`."""
    text = env(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < minimum:
        raise Invalid(
            name.lower(), f"{name} must be a whole number of at least {minimum}, not {text!r}.", hint=f"e.g. {default}"
        )
    return int(text)


def validate_public_url(url: str) -> str:
    parts = urlsplit(url.strip())
    example = "e.g. https://tracker.example.com or http://10.0.0.5:8740"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("public_url", f"{url!r} is not an http(s) URL.", hint=f"Give the URL clients use, {example}.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise Invalid(
            "public_url",
            f"{url!r} has a path; the server is served at the root of its host.",
            hint=f"Give scheme, host and port only, {example}.",
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise Invalid("public_url", f"{url!r} has an invalid port.", hint=example) from None
    return f"{parts.scheme}://{parts.netloc}"


def validate_host_name(name: str) -> str:
    cleaned = name.strip().lower().strip("[]")
    if not HOST_NAME.fullmatch(cleaned):
        raise Invalid("allowed_hosts", f"{name!r} is not a host name.", hint="Give a name like tracker.lan or an IP.")
    return cleaned


def state_keys_from(value: str) -> tuple[str, ...]:
    """TICKETS_STATE_KEY: one secret, or several separated by commas while rotating (the first seals)."""
    keys = tuple(key.strip() for key in value.split(",") if key.strip())
    if any(len(key) < STATE_KEY_MIN_LENGTH for key in keys):
        raise Invalid(
            "state_key",
            f"{ENV_STATE_KEY} must be at least {STATE_KEY_MIN_LENGTH} characters per key.",
            hint='Generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"',
        )
    return keys
