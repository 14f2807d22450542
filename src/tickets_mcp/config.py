"""Settings from flags and environment, where the embedded database lives by default, and PostgreSQL URLs."""

from __future__ import annotations

import getpass
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from tickets_mcp.domain.files import file_limits
from tickets_mcp.environment import env
from tickets_mcp.errors import Invalid
from tickets_mcp.mcp.exposure import Exposure
from tickets_mcp.stores.location import (
    DB_FILE_NAME,
    DEFAULT_POOL_SIZE,
    POSTGRES_SCHEMES,
    PostgresUrl,
    Synchronous,
    mask_password,
)
from tickets_mcp.stores.search import search_budget

ENV_DB = "TICKETS_DB"
ENV_SYNCHRONOUS = "TICKETS_SQLITE_SYNCHRONOUS"
ENV_USER = "TICKETS_USER"
ENV_LOG_LEVEL = "TICKETS_LOG_LEVEL"
ENV_POOL_SIZE = "TICKETS_POOL_SIZE"
ENV_BACKEND = "TICKETS_BACKEND"
ENV_URL = "TICKETS_URL"
ENV_TOKEN = "TICKETS_TOKEN"  # noqa: S105 - the variable's name, not a secret
ENV_TOKEN_FILE = "TICKETS_TOKEN_FILE"  # noqa: S105 - the variable's name, not a secret
TOKEN_FILE_MAX = 16 * 1024  # bytes read of a token file: a token, not a document
REMOTE_BACKENDS = ("native", "bugtome", "agentsmesh", "abf", "gitlab", "github", "redmine", "jira", "linear")
OLD_DATA_DIR_NAME = "tracker-mcp"  # the folder's name before the rename; read, never created
_noted_old_paths: set[Path] = set()
MAX_POOL_SIZE = 1000

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


# `scheme://` of two letters or more: a Windows drive (`C:\\data`, `C:/data`) is a path, never a URL.
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")


def parse_location(value: str) -> Path | PostgresUrl:
    """Where the tracker keeps its data: a `postgresql://` (or `postgres://`) URL, else a SQLite file path.

    A URL of another scheme (`mysql://`, `sqlite://`) is refused rather than taken as a strange relative
    path, and so is a PostgreSQL URL urllib cannot split, so either stops at start in one line.
    """
    scheme = _URL_SCHEME.match(value)
    if scheme is None:
        return Path(value).expanduser()
    accepted = ", ".join(f"{name}://" for name in POSTGRES_SCHEMES)
    if scheme.group(1).lower() not in POSTGRES_SCHEMES:
        raise Invalid(
            "db",
            f"--db or {ENV_DB} names a {scheme.group(1)}:// URL; this server opens {accepted} URLs or a "
            "SQLite file path.",
        )
    try:
        urlsplit(value)
    except ValueError as exc:
        raise Invalid("db", f"The PostgreSQL URL {mask_password(value)} does not parse: {exc}.") from None
    return PostgresUrl(value)


def user_data_root() -> Path:
    """The per-user folder desktop applications keep their data in, on each platform."""
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    if sys.platform == "darwin":
        return home / "Library" / "Application Support"
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")


def default_data_dir() -> Path:
    """The per-user data folder desktop clients expect on each platform."""
    return user_data_root() / "tickets-mcp"


def default_db_path() -> Path:
    """`tickets-mcp/tracker.db` in the user data folder; a tracker left at the old name's default is used instead.

    Until the rename the default was `tracker-mcp/tracker.db`. A user upgrading must find their tickets,
    not a new empty tracker, so while only the old file exists it stays the default (said once on stderr).
    """
    path = default_data_dir() / DB_FILE_NAME
    old = user_data_root() / OLD_DATA_DIR_NAME / DB_FILE_NAME
    if path.exists() or not old.is_file():
        return path
    if old not in _noted_old_paths:
        _noted_old_paths.add(old)
        print(
            f"tickets-mcp: using the tracker at the old default location {old}; move it to {path} "
            f"(or set {ENV_DB} to its path) before the next release stops looking there.",
            file=sys.stderr,
        )
    return old


def local_username() -> str:
    """The stdio user's name: TICKETS_USER, else the login name, reduced to a valid username."""
    raw = env(ENV_USER)
    if not raw:
        try:
            raw = getpass.getuser()
        except (OSError, KeyError):
            raw = "owner"
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-.")[:40]
    return cleaned or "owner"


@dataclass(frozen=True, slots=True)
class RemoteSettings:
    """A remote tracker the tools work in front of, instead of a local store."""

    backend: str  # one of REMOTE_BACKENDS
    url: str
    token: str = field(repr=False)

    @classmethod
    def from_env(cls, backend: str | None, url: str | None, token_file: str | None = None) -> RemoteSettings | None:
        """None for the local store; flags win over TICKETS_BACKEND and TICKETS_URL. The token comes from
        --token-file, else TICKETS_TOKEN, else the file TICKETS_TOKEN_FILE names: never from the command
        line, where every user of the machine can read it (ps)."""
        name = (backend or env(ENV_BACKEND) or "local").strip().lower()
        if name == "local":
            return None
        if name not in REMOTE_BACKENDS:
            known = ", ".join(REMOTE_BACKENDS)
            raise Invalid("backend", f"Unknown backend {name!r}.", hint=f"Use local or one of: {known}.")
        address = (url or env(ENV_URL) or "").strip()
        path = token_file or (None if env(ENV_TOKEN) else env(ENV_TOKEN_FILE))
        secret = read_token_file(path) if path else (env(ENV_TOKEN) or "").strip()
        if not address:
            raise Invalid("url", f"The {name} backend needs its address.", hint=f"Pass --url or set {ENV_URL}.")
        if urlsplit(address).scheme.lower() not in ("http", "https"):
            raise Invalid("url", f"{mask_password(address)} is not an http:// or https:// URL.")
        if not secret:
            raise Invalid(
                "token", f"The {name} backend needs an API token.", hint=f"Set {ENV_TOKEN}, or pass --token-file."
            )
        return cls(backend=name, url=address, token=secret)


def read_token_file(path: str) -> str:
    """The token a file holds (its first line, stripped); a file that cannot be read is named, never shown."""
    try:
        with open(path, "rb") as file:
            raw = file.read(TOKEN_FILE_MAX + 1)
    except OSError as exc:
        raise Invalid("token_file", f"Cannot read the token file {path}: {exc.strerror or exc}.") from None
    if len(raw) > TOKEN_FILE_MAX:
        raise Invalid("token_file", f"The token file {path} is over {TOKEN_FILE_MAX // 1024} KB: not a token.")
    lines = raw.decode("utf-8-sig", errors="replace").strip().splitlines()  # a BOM an editor wrote is no token
    if not lines or not lines[0].strip():
        raise Invalid("token_file", f"The token file {path} is empty.", hint="Write the token on its first line.")
    return lines[0].strip()


@dataclass(frozen=True, slots=True)
class Settings:
    db: Path | PostgresUrl
    synchronous: Synchronous = "full"
    username: str = "owner"
    log_level: LogLevel = "WARNING"
    pool_size: int = DEFAULT_POOL_SIZE  # PostgreSQL connections per process; SQLite ignores it
    remote: RemoteSettings | None = None  # set: the tools work in front of this remote tracker instead
    exposure: Exposure = field(default_factory=Exposure)  # which tools are shown: tier and tool sets

    @classmethod
    def from_env(
        cls,
        *,
        db: str | None = None,
        synchronous: str | None = None,
        log_level: str | None = None,
        backend: str | None = None,
        url: str | None = None,
        token_file: str | None = None,
        tier: str | None = None,
        tools: str | None = None,
    ) -> Settings:
        """Flags win over environment variables, which win over defaults."""
        db_value = db or env(ENV_DB)
        sync_value = (synchronous or env(ENV_SYNCHRONOUS) or "full").lower()
        if sync_value not in ("full", "normal"):
            raise Invalid("synchronous", f"SQLite synchronous must be full or normal, not {sync_value!r}.")
        level = (log_level or env(ENV_LOG_LEVEL) or "WARNING").upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise Invalid("log_level", f"Log level must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {level!r}.")
        search_budget()  # a wrong value is refused at start, not at the first search
        file_limits()  # and so are the attachment limits
        pool_text = env(ENV_POOL_SIZE, "").strip() or str(DEFAULT_POOL_SIZE)
        if not pool_text.isdigit() or not 1 <= int(pool_text) <= MAX_POOL_SIZE:
            raise Invalid("pool_size", f"{ENV_POOL_SIZE} must be 1-{MAX_POOL_SIZE}, not {pool_text!r}.")
        return cls(
            db=parse_location(db_value) if db_value else default_db_path(),
            synchronous=sync_value,
            username=local_username(),
            log_level=level,
            pool_size=int(pool_text),
            remote=RemoteSettings.from_env(backend, url, token_file),
            exposure=Exposure.from_env(tier, tools),
        )
