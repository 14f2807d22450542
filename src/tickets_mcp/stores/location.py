"""Where a store lives and how it is opened: a SQLite file (its durability) or a PostgreSQL URL (its pool)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

DB_FILE_NAME = "tracker.db"
DEFAULT_POOL_SIZE = 10  # PostgreSQL connections per process
Synchronous = Literal["full", "normal"]  # SQLite durability, see stores/sqlite/db.py
POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True, slots=True)
class PostgresUrl:
    """A PostgreSQL connection URL. It prints with its password masked, so it is safe in messages and logs."""

    url: str

    def __str__(self) -> str:
        return mask_password(self.url)

    def __repr__(self) -> str:
        return f"PostgresUrl({mask_password(self.url)!r})"


def mask_password(url: str) -> str:
    """The URL with any password, in the user part or a `password=` parameter, replaced by `***`.

    A URL urllib cannot split (`postgresql://u:pw@[bad`) is masked by pattern, since it is shown in the
    very message that refuses it.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"(?i)(://[^:/@]*:)[^@]*@|(password=)[^&]*", _masked, url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}{':***' if colon else ''}@{hosts}"
    query = "&".join(
        "password=***" if item.partition("=")[0].lower() == "password" else item
        for item in parts.query.split("&")
    ) if parts.query else ""  # fmt: skip
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _masked(found: re.Match[str]) -> str:
    """The user-part or `password=` match with its secret replaced by `***`."""
    return f"{found.group(1)}***@" if found.group(1) else f"{found.group(2)}***"
