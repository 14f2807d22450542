"""SqliteStore: the embedded default store, one file, safe for several processes at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from tickets_mcp.errors import BackendUnavailable
from tickets_mcp.stores.location import Synchronous
from tickets_mcp.stores.port import PoolUsage
from tickets_mcp.stores.sql.connection import Connection
from tickets_mcp.stores.sql.store import SqlStore
from tickets_mcp.stores.sqlite.db import Database, FileId, check_location, file_id, read_only_reason
from tickets_mcp.stores.sqlite.dialect import SQLITE
from tickets_mcp.stores.sqlite.migrations import LATEST, migrate, refuse_newer

T = TypeVar("T")


def _connection(raw: sqlite3.Connection) -> Connection:
    return Connection(raw.execute, SQLITE, raw)


class SqliteEngine:
    """The shared scripts on a SQLite `Database`: reads in worker threads, point lookups on the caller's
    thread, writes through its group commit."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def read_only(self) -> str | None:
        return self.db.read_only

    async def read(self, script: Callable[[Connection], T]) -> T:
        return await self.db.read(lambda raw: script(_connection(raw)))

    async def lookup(self, script: Callable[[Connection], T]) -> T:
        return self.db.lookup(lambda raw: script(_connection(raw)))

    async def peek(self, script: Callable[[Connection], T], *, point: bool = False) -> T:
        # A transaction costs SQLite no round trip: a peek is a lookup, or a read on a worker thread.
        return await (self.lookup(script) if point else self.read(script))

    async def write(self, script: Callable[[Connection], T]) -> T:
        return await self.db.write(lambda raw: script(_connection(raw)))

    def usage(self) -> PoolUsage:
        return self.db.usage()

    async def close(self) -> None:
        await self.db.close()


def _check_writable(path: Path) -> str | None:
    """Why the existing database at `path` cannot be changed (None when it can); for a new one, make its
    folder, or refuse a place it cannot be made in. Nothing is created inside a folder named as `path`."""
    check_location(path)
    if path.exists():
        return read_only_reason(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackendUnavailable(
            f"Cannot create the folder {path.parent} for the database: {exc.strerror or exc}.",
            hint="Point --db or TICKETS_DB at a writable place.",
        ) from None
    if (reason := read_only_reason(path)) is not None:
        raise BackendUnavailable(
            f"Cannot create the database {path}: {reason}.", hint="Point --db or TICKETS_DB at a writable place."
        )
    return None


class SqliteStore(SqlStore):
    """The Store port on one SQLite file. Open it with `SqliteStore.open(path)`."""

    def __init__(self, db: Database, file: FileId) -> None:
        super().__init__(SqliteEngine(db))
        self._db = db
        self._file = file  # the file opened at start, which ping() checks is still the one at the path

    @classmethod
    async def open(cls, path: Path, *, synchronous: Synchronous = "full") -> SqliteStore:
        """Open (creating it and its folder if need be) and migrate the database at `path`.

        A database this process may not change opens read-only if its schema is current, and is
        refused, with what to do, if it would need a write first.
        """
        db = Database(path, synchronous=synchronous)

        def prepare() -> FileId:
            db.read_only = read_only = _check_writable(path)
            found = refuse_newer(path)
            if found == LATEST:
                return file_id(path)  # the usual start: nothing to migrate, no write lock taken
            if read_only is not None:
                needs = "holds no tracker yet" if found == 0 else f"has schema version {found}, not {LATEST}"
                raise BackendUnavailable(
                    f"The database {path} is read-only ({read_only}) and {needs}, so tickets-mcp cannot use it.",
                    hint="Make it writable for this user and run tickets-mcp migrate once, "
                    "or point --db or TICKETS_DB at another file.",
                )
            conn = db.connect()
            try:
                migrate(conn, str(path))
            finally:
                conn.close()
            return file_id(path)

        return cls(db, await anyio.to_thread.run_sync(prepare))

    @property
    def path(self) -> Path:
        return self._db.path

    def _check(self, conn: Connection) -> None:
        conn.all("SELECT 1 FROM sqlite_schema LIMIT 1")  # reads the header page: a real read
        # A connection keeps its file open after the file is deleted or replaced (a backup restored
        # over it), and SQLite goes on answering and even committing there: writes nobody will see.
        try:
            current = file_id(self._db.path)
        except FileNotFoundError:
            current = None
        except OSError as exc:
            raise BackendUnavailable(f"The database file cannot be checked: {exc.strerror or exc}.") from exc
        if current != self._file:
            raise BackendUnavailable(
                "The database file was removed or replaced after the server opened it; writes would be lost.",
                hint="Restart the server to open the file now at its path.",
            )
