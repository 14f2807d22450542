"""Tokens and reaches as last read, kept while the database's identity version stays the one they were read at.

The version is one row that triggers bump on every change to who may do what (identity_version.py). A
request reads it first: when it has not moved, its token and its caller's reach come from here and cost
no query; when it has, everything kept is dropped and read again. Each entry is stored with the version
read in the same snapshot as the entry itself, and kept only if that is still the current one, so a slow
request cannot put back what a newer version replaced.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

from tickets_mcp.domain import Token
from tickets_mcp.stores.port import Identified, Reach

K = TypeVar("K")
V = TypeVar("V")

ENTRIES_MAX = 4096  # of each kind: tokens by digest, reaches by caller; the least recently used goes first


class _Recent(Generic[K, V]):
    """A mapping bounded to its `size` most recently used entries."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


ReachKey = tuple[int, str | None]


class IdentityCache:
    """One process's tokens (by digest) and reaches (by user and organization), all read at `version`."""

    def __init__(self, size: int = ENTRIES_MAX) -> None:
        self.version: int | None = None
        self._tokens: _Recent[str, Identified] = _Recent(size)
        self._reaches: _Recent[ReachKey, Reach] = _Recent(size)

    def seen(self, version: int) -> None:
        """The database is at `version` now: what was read at another is dropped."""
        if version != self.version:
            self._tokens.clear()
            self._reaches.clear()
            self.version = version

    def token(self, digest: str) -> Identified | None:
        return self._tokens.get(digest)

    def reach(self, key: ReachKey) -> Reach | None:
        return self._reaches.get(key)

    def keep_token(self, digest: str, found: Identified) -> None:
        if self._current(found.version):
            self._tokens.put(digest, found)

    def keep_reach(self, key: ReachKey, version: int, reach: Reach) -> None:
        if self._current(version):
            self._reaches.put(key, reach)

    def used(self, digest: str, token: Token) -> None:
        """The token's use was recorded (its last_used_at, which bumps no version): keep the new one."""
        found = self._tokens.get(digest)
        if found is not None and found.token.id == token.id:
            self._tokens.put(digest, Identified(token, found.user, found.version))

    def _current(self, version: int) -> bool:
        """Whether what was read at `version` may be kept: it is the newest seen (a newer one drops the rest)."""
        if self.version is None or version > self.version:
            self.seen(version)
        return version == self.version
