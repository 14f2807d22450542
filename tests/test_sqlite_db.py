"""The SQLite connection pool and its transactions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tracker_mcp.errors import Conflict
from tracker_mcp.store.sqlite.db import Database

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
