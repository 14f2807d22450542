"""The SQLite connection pool and its transactions."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import anyio
import anyio.from_thread
import pytest

from tickets_mcp.errors import BackendUnavailable, Conflict, ReadOnlyStore
from tickets_mcp.stores import PoolUsage
from tickets_mcp.stores.sqlite import SqliteStore
from tickets_mcp.stores.sqlite.db import Database

pytestmark = pytest.mark.anyio


async def test_a_failed_commit_returns_the_connection_to_the_pool_outside_any_transaction(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db", pool_size=1)

    def schema(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.execute(
            "CREATE TABLE child (id INTEGER PRIMARY KEY, "
            "parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
        )

    await db.write(schema)

    def orphan(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO child (parent_id) VALUES (42)")  # fails only at COMMIT

    with pytest.raises(Conflict) as refused:
        await db.write(orphan)
    assert isinstance(refused.value.__cause__, sqlite3.IntegrityError)

    def valid(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO parent (id) VALUES (1)")
        conn.execute("INSERT INTO child (parent_id) VALUES (1)")
        return int(conn.execute("SELECT COUNT(*) FROM child").fetchone()[0])

    assert await db.write(valid) == 1
    await db.close()


async def test_an_error_inside_a_write_rolls_everything_back(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db", pool_size=1)
    await db.write(lambda conn: conn.execute("CREATE TABLE t (v TEXT)"))

    def half(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES ('half')")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await db.write(half)
    assert await db.read(lambda conn: conn.execute("SELECT COUNT(*) FROM t").fetchone()[0]) == 0
    await db.close()


async def test_the_pool_reports_connections_lent_idle_and_callers_waiting(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db", pool_size=1)
    assert db.usage() == PoolUsage(in_use=0, idle=0, max_size=1, waiting=0)
    lent = anyio.Event()
    release = anyio.Event()
    seen: list[PoolUsage] = []

    def hold(_: sqlite3.Connection) -> None:
        anyio.from_thread.run_sync(lent.set)
        anyio.from_thread.run(release.wait)

    async def second_reader() -> None:
        await db.read(lambda conn: conn.execute("SELECT 1").fetchone())

    async with anyio.create_task_group() as tg:
        tg.start_soon(db.read, hold)
        await lent.wait()
        tg.start_soon(second_reader)
        await anyio.wait_all_tasks_blocked()
        seen.append(db.usage())
        release.set()
    assert seen == [PoolUsage(in_use=1, idle=0, max_size=1, waiting=1)]
    assert db.usage() == PoolUsage(in_use=0, idle=1, max_size=1, waiting=0)
    await db.close()


async def test_a_ping_fails_once_the_database_file_is_removed_or_replaced(tmp_path: Path) -> None:
    # SQLite keeps answering, and committing, on a file that is no longer at its path: writes nobody sees.
    path = tmp_path / "tracker.db"
    store = await SqliteStore.open(path)
    await store.ping()
    path.rename(tmp_path / "moved.db")
    with pytest.raises(BackendUnavailable, match="removed or replaced"):
        await store.ping()
    (tmp_path / "moved.db").rename(path)
    await store.ping()
    path.rename(tmp_path / "old.db")
    await (await SqliteStore.open(path)).close()  # a new database at the same path
    with pytest.raises(BackendUnavailable, match="removed or replaced"):
        await store.ping()
    await store.close()


async def test_a_write_on_a_database_opened_read_only_is_refused_and_reads_still_work(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    writable = Database(path, pool_size=1)
    await writable.write(lambda conn: conn.execute("CREATE TABLE t (v TEXT)"))
    await writable.close()
    db = Database(path, pool_size=1, read_only="it is on a read-only file system")
    assert await db.read(lambda conn: conn.execute("SELECT COUNT(*) FROM t").fetchone()[0]) == 0
    with pytest.raises(ReadOnlyStore) as refused:
        await db.write(lambda conn: conn.execute("INSERT INTO t VALUES ('x')"))
    assert str(refused.value).startswith(f"The database {path} is read-only: it is on a read-only file system;")
    assert "reads still work" in str(refused.value)
    await db.close()


async def test_sqlite_refusing_a_write_as_read_only_is_a_read_only_store_error(tmp_path: Path) -> None:
    # A file that turns read-only after it was opened (a remount, a chmod) answers SQLITE_READONLY,
    # as query_only does: the caller hears what is wrong, not "Error executing tool".
    db = Database(tmp_path / "t.db", pool_size=1)
    await db.write(lambda conn: conn.execute("CREATE TABLE t (v TEXT)"))
    await db.read(lambda conn: conn.execute("PRAGMA query_only = ON"))
    with pytest.raises(ReadOnlyStore, match="is read-only: SQLite refused to change it") as refused:
        await db.write(lambda conn: conn.execute("INSERT INTO t VALUES ('x')"))
    assert isinstance(refused.value.__cause__, sqlite3.OperationalError)
    await db.close()


async def test_a_folder_given_as_the_database_is_refused_before_anything_is_created_in_it(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="is a folder, not a database file") as refused:
        await SqliteStore.open(tmp_path)
    assert refused.value.hint == f"Point --db or TICKETS_DB at a file, e.g. {tmp_path / 'tracker.db'}."
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 - one look at a folder the test owns


def test_switching_to_wal_waits_for_another_process_creating_the_same_new_file(tmp_path: Path) -> None:
    # Two servers started at once on a new file: while one holds the lock on the file it is creating (still
    # in rollback mode), SQLite refuses the other's switch to WAL at once, without its busy timeout.
    path = tmp_path / "tracker.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE first (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO first VALUES (1)")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        conn = Database(path).connect()
    finally:
        release.join()
        other.close()
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT x FROM first").fetchall() == [(1,)]
    finally:
        conn.close()
