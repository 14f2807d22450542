"""SQLite connections: a small pool, one writer at a time, every write in a `BEGIN IMMEDIATE` transaction.

Group commit: most of a write's cost is its COMMIT (about 20 pages to the WAL, the full-text index's
segment, and with `FULL` an fsync). Writes that arrive while another is being committed wait for it and
then go together in one transaction, each inside a savepoint so that one that fails is undone alone.
Every caller hears back only after the COMMIT that made its own write durable; if that COMMIT fails,
every write of the batch fails with it and none is kept.

Durability: WAL journal with `synchronous=FULL` by default, so a commit is on disk before the caller
hears of it and an acknowledged write survives a process kill and a power cut. `normal` keeps the
database intact on power loss but may drop the last commits; it is several times faster and can be
chosen with `--sqlite-synchronous normal` where that trade is acceptable.

Read-only: a database this process may not change (a read-only file, folder or file system) is opened
read-only, if its schema is current: reads work, and every write is refused with a ReadOnlyStore error
before it reaches SQLite.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import anyio
import anyio.to_thread

from tickets_mcp.errors import BackendUnavailable, Conflict, ReadOnlyStore
from tickets_mcp.stores.location import DB_FILE_NAME, Synchronous
from tickets_mcp.stores.port import PoolUsage

T = TypeVar("T")
BUSY_TIMEOUT_S = 30.0
MAX_BATCH = 64  # writes committed together at most: bounds how long the first of them waits
# SQLite's primary result codes (an extended code keeps its primary one in the low byte).
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_CANTOPEN = 14


@dataclass(eq=False, slots=True)
class _Write:
    """A write waiting for its transaction, then how it ended."""

    fn: Callable[[sqlite3.Connection], Any]
    done: bool = False
    value: Any = None
    error: BaseException | None = None

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


class Database:
    """A pool of connections to one SQLite file, used from worker threads one connection at a time."""

    def __init__(
        self, path: Path, *, synchronous: Synchronous = "full", pool_size: int = 4, read_only: str | None = None
    ) -> None:
        self.path = path
        self.read_only = read_only  # why this process may not change the file; None when it may
        self._synchronous = synchronous
        self._idle: list[sqlite3.Connection] = []
        self._all: list[sqlite3.Connection] = []
        self._pool_size = pool_size
        self._slots = anyio.Semaphore(pool_size)
        # Writers inside this process queue here instead of spinning in SQLite's busy handler;
        # BEGIN IMMEDIATE still serialises them against other processes.
        self._write_lock = anyio.Lock()
        self._queue: list[_Write] = []
        self.commits = 0  # write transactions committed; with `writes`, shows how well commits are shared
        self.writes = 0
        self._lookup_conn: sqlite3.Connection | None = None
        self._lookup_lock = threading.Lock()  # in case two threads' event loops share this pool

    def connect(self) -> sqlite3.Connection:
        try:
            if self.read_only is not None:
                conn = connect_read_only(self.path, check_same_thread=False)
            else:
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise BackendUnavailable(
                f"Cannot open the database at {self.path}: {exc}.",
                hint="Check the path given by --db or TICKETS_DB and its permissions.",
            ) from exc
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if self.read_only is not None:
            return conn  # no journal mode to set: that is a write, and WAL readers need none
        mode = _when_unlocked(conn, "PRAGMA journal_mode = WAL").fetchone()[0]
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
        """Run `fn` in a write transaction that takes the write lock before its first read.

        Whoever holds the lock commits every write queued by then (its own included), so concurrent
        writers share commits instead of queueing for one each.
        """
        if self.read_only is not None:
            raise ReadOnlyStore(str(self.path), self.read_only)
        pending = _Write(fn)
        self._queue.append(pending)
        try:
            async with self._write_lock:
                while not pending.done:
                    batch = self._queue[:MAX_BATCH]
                    del self._queue[:MAX_BATCH]
                    try:
                        await self._run(functools.partial(self._commit, batch=batch))
                    finally:  # cancelled before the batch reached its thread: back to the queue's head
                        self._queue[:0] = [write for write in batch if not write.done]
        except BaseException:
            if pending in self._queue:  # cancelled while waiting: it must not be carried out later
                self._queue.remove(pending)
            raise
        return cast(T, pending.outcome())

    def _commit(self, conn: sqlite3.Connection, *, batch: list[_Write]) -> None:
        """Carry out `batch` in one transaction (on a worker thread); each write learns how it ended.

        The writes run one after another without savepoints: a savepoint makes SQLite's full-text index
        write out what it holds, which would cost each write in a batch about as much as a commit. When
        one fails, the transaction is rolled back and the batch run again, each write then inside a
        savepoint of its own so that the one that fails is undone alone.
        """
        failure: BaseException | None = None
        try:
            if not self._run_batch(conn, batch, savepoints=False):
                self._run_batch(conn, batch, savepoints=True)
            kept = sum(write.error is None for write in batch)
            self.commits += kept > 0
            self.writes += kept
        except BaseException as exc:
            failure = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            for write in batch:
                if failure is not None and write.error is None:  # nothing of the batch was kept
                    write.error = self._translate(failure) if isinstance(failure, Exception) else failure
                write.done = True

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Write], *, savepoints: bool) -> bool:
        """One transaction over `batch`; False (rolled back) when a write failed and savepoints were off."""
        _begin(conn, "BEGIN IMMEDIATE")
        try:
            for write in batch:
                write.error = None
                if savepoints:
                    conn.execute("SAVEPOINT write")
                try:
                    write.value = write.fn(conn)
                except Exception as exc:
                    write.error = self._translate(exc)
                    if not savepoints or len(batch) == 1:
                        conn.execute("ROLLBACK")
                        return len(batch) == 1  # alone, the write's own failure is its outcome
                    conn.execute("ROLLBACK TO write")
                if savepoints:
                    conn.execute("RELEASE write")
            conn.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (disk full, deferred constraint) leaves the transaction open; SQLite may
            # also have rolled back by itself. Either way nothing of the batch was kept.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return True

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

    def _translate(self, exc: Exception) -> Exception:
        """A constraint the checks inside the transaction did not foresee (a race) becomes a Conflict; a
        file that became read-only after it was opened (a remount, a chmod), a ReadOnlyStore."""
        translated: Exception
        if isinstance(exc, sqlite3.IntegrityError):
            translated = Conflict(
                "The change collides with a concurrent one and was not saved.", hint="Read again and retry."
            )
        elif isinstance(exc, sqlite3.OperationalError) and exc.sqlite_errorcode & 0xFF == SQLITE_READONLY:
            translated = ReadOnlyStore(str(self.path), f"SQLite refused to change it ({exc})")
        else:
            return exc
        translated.__cause__ = exc
        return translated


FileId = tuple[int, int]


def check_location(path: Path) -> None:
    """Refuse, before anything opens it, a path that cannot be a database file: a folder."""
    if path.is_dir():
        raise BackendUnavailable(
            f"{path} is a folder, not a database file.",
            hint=f"Point --db or TICKETS_DB at a file, e.g. {path / DB_FILE_NAME}.",
        )


def read_only_reason(path: Path) -> str | None:
    """Why this process may not change the database at `path`, or create it there; None when it may.

    SQLite writes beside the file too (its write-ahead log and shared memory), so the folder counts.
    """
    folder = path.parent
    if sys.platform != "win32" and os.statvfs(path if path.exists() else folder).f_flag & os.ST_RDONLY:
        return "it is on a read-only file system"
    if path.exists() and not os.access(path, os.W_OK):
        return "this user may not write to the file"
    if not os.access(folder, os.W_OK):
        return f"this user may not write to its folder {folder}"
    return None


def connect_read_only(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection that reads the existing database at `path` and never writes to it.

    A database in WAL mode needs a shared-memory file beside it; in a read-only folder SQLite cannot
    make one. When no write-ahead log is waiting there either, the file alone holds every commit and
    is opened as immutable (read without locks); otherwise that error stands. Raises sqlite3.Error
    when the file cannot be read or is not a database.
    """
    uri = path.resolve().as_uri()

    def opened(parameters: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            f"{uri}?{parameters}",
            uri=True,
            isolation_level=None,
            check_same_thread=check_same_thread,
            timeout=BUSY_TIMEOUT_S,
        )
        try:
            conn.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchall()  # SQLite opens the file lazily
        except BaseException:
            conn.close()
            raise
        return conn

    try:
        return opened("mode=ro")
    except sqlite3.OperationalError as exc:
        log = path.with_name(path.name + "-wal")
        if exc.sqlite_errorcode & 0xFF != SQLITE_CANTOPEN or (log.exists() and log.stat().st_size > 0):
            raise
    return opened("mode=ro&immutable=1")


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
    _when_unlocked(conn, begin)


def _when_unlocked(conn: sqlite3.Connection, sql: str) -> sqlite3.Cursor:
    """Execute `sql`, again while another process holds the lock: past SQLite's busy timeout when it holds
    it for long, and after a short pause where SQLite refuses at once rather than wait (switching a file
    to WAL while another connection is writing it in rollback mode, as when two servers create it)."""
    deadline = time.monotonic() + 2 * BUSY_TIMEOUT_S
    pause = 0.001
    while True:
        try:
            return conn.execute(sql)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in (SQLITE_BUSY, SQLITE_LOCKED):
                raise
            if time.monotonic() > deadline:
                raise BackendUnavailable(
                    "The database stayed locked by another process for too long.",
                    hint="Retry shortly; if it persists, look for a stuck tickets-mcp process.",
                ) from exc
        time.sleep(pause)  # a backoff between attempts, not a wait for a state
        pause = min(2 * pause, 0.05)
