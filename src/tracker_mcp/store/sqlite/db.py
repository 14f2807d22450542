"""SQLite connections: a small pool, one writer at a time, every write in a `BEGIN IMMEDIATE` transaction.

Durability: WAL journal with `synchronous=FULL` by default, so a commit is on disk before the caller
hears of it and an acknowledged write survives a process kill and a power cut. `normal` keeps the
database intact on power loss but may drop the last commits; it is several times faster and can be
chosen with `--sqlite-synchronous normal` where that trade is acceptable.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from tracker_mcp.config import Synchronous
from tracker_mcp.errors import BackendUnavailable, Conflict
from tracker_mcp.store.base import PoolUsage

T = TypeVar("T")
BUSY_TIMEOUT_S = 30.0


class Database:
    """A pool of connections to one SQLite file, used from worker threads one connection at a time."""

    def __init__(self, path: Path, *, synchronous: Synchronous = "full", pool_size: int = 4) -> None:
        self.path = path
        self._synchronous = synchronous
        self._idle: list[sqlite3.Connection] = []
        self._all: list[sqlite3.Connection] = []
        self._pool_size = pool_size
        self._slots = anyio.Semaphore(pool_size)
        # Writers inside this process queue here instead of spinning in SQLite's busy handler;
        # BEGIN IMMEDIATE still serialises them against other processes.
        self._write_lock = anyio.Lock()
        self._lookup_conn: sqlite3.Connection | None = None
        self._lookup_lock = threading.Lock()  # in case two threads' event loops share this pool

    def connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
        except sqlite3.OperationalError as exc:
            raise BackendUnavailable(
                f"Cannot open the database at {self.path}: {exc}.",
                hint="Check the path given by --db or TRACKER_DB and its permissions.",
            ) from exc
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            conn.close()
            raise BackendUnavailable(f"The database at {self.path} cannot use WAL mode (got {mode}).")
        conn.execute(f"PRAGMA synchronous = {self._synchronous.upper()}")
        return conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        async with self._slots:
            conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = await anyio.to_thread.run_sync(self.connect)
                self._all.append(conn)
            try:
                return await anyio.to_thread.run_sync(fn, conn)
            finally:
                self._idle.append(conn)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one read transaction: all its queries see the same snapshot."""
        return await self._run(lambda conn: run_in_transaction(conn, fn, "BEGIN"))

    def lookup(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a point lookup (a few index probes) in one read transaction on the caller's thread.

        A hop to a worker thread costs 0.1 ms, more than such a read; in WAL mode a reader does not
        wait for writers, so the event loop is held for tens of microseconds only. Anything whose
        cost grows with the data (lists, counts, searches) goes through `read` instead.
        """
        with self._lookup_lock:
            if self._lookup_conn is None:
                self._lookup_conn = self.connect()
                self._all.append(self._lookup_conn)
            return run_in_transaction(self._lookup_conn, fn, "BEGIN")

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one write transaction that takes the write lock before its first read."""
        async with self._write_lock:
            try:
                return await self._run(lambda conn: run_in_transaction(conn, fn, "BEGIN IMMEDIATE"))
            except sqlite3.IntegrityError as exc:
                # The checks inside the transaction come first; this is a race they did not foresee.
                raise Conflict(
                    "The change collides with a concurrent one and was not saved.", hint="Read again and retry."
                ) from exc

    def usage(self) -> PoolUsage:
        """The pool's connections now; the lookup connection, used on the caller's thread, is not counted."""
        opened = sum(conn is not self._lookup_conn for conn in self._all)
        idle = len(self._idle)
        return PoolUsage(
            in_use=opened - idle,
            idle=idle,
            max_size=self._pool_size,
            waiting=self._slots.statistics().tasks_waiting,
        )

    async def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._idle.clear()
        self._lookup_conn = None


FileId = tuple[int, int]


def file_id(path: Path) -> FileId:
    """Which file `path` names (device and inode): tells a file apart from another put in its place."""
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def run_in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T], begin: str) -> T:
    _begin(conn, begin)
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        # A failed COMMIT (disk full, deferred constraint) leaves the transaction open; SQLite may
        # also have rolled back by itself. Either way the connection must go back to the pool clean.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _begin(conn: sqlite3.Connection, begin: str) -> None:
    """BEGIN, waiting past SQLite's busy timeout while another process holds the lock for long."""
    deadline = time.monotonic() + 2 * BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute(begin)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise BackendUnavailable(
                    "The database stayed locked by another process for too long.",
                    hint="Retry shortly; if it persists, look for a stuck tracker-mcp process.",
                ) from exc
