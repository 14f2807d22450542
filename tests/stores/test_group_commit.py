"""Group commit on SQLite: concurrent writes share a transaction, and each still ends as if it had its own.

`Database.write` runs every write queued while another commits in one transaction. These tests hold
the writer busy so that a batch forms for certain, then check what each caller heard against what a
fresh connection finds in the file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from tickets_mcp.errors import Conflict, NotFound
from tickets_mcp.stores.sqlite.db import Database

pytestmark = pytest.mark.anyio


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    database = Database(db_path, synchronous="full")
    await database.write(lambda c: c.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT UNIQUE)"))
    await database.write(lambda c: c.execute("CREATE TABLE refs (note_id INTEGER REFERENCES notes(id))"))
    yield database
    await database.close()


def stored(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT body FROM notes ORDER BY id")]


def insert(body: str) -> Callable[[sqlite3.Connection], int]:
    return lambda c: int(c.execute("INSERT INTO notes (body) VALUES (?) RETURNING id", (body,)).fetchone()[0])


def missing(c: sqlite3.Connection) -> None:
    c.execute("INSERT INTO notes (body) VALUES ('written, then undone')")
    raise NotFound("The ticket no longer exists.")


class Writer:
    """Holds the write lock with a write that blocks on its thread until released, so others queue up."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.started = threading.Event()
        self.release = threading.Event()

    def blocking(self, c: sqlite3.Connection) -> str:
        self.started.set()
        self.release.wait(10)
        return "first"

    async def queue_behind(self, writes: list[Callable[[sqlite3.Connection], Any]]) -> list[Any]:
        """Run `writes` concurrently behind the blocking write; each result or the error it raised."""
        results: list[Any] = [None] * len(writes)

        async def one(i: int) -> None:
            try:
                results[i] = await self.db.write(writes[i])
            except Exception as exc:
                results[i] = exc

        async with anyio.create_task_group() as tg:
            tg.start_soon(self.db.write, self.blocking)
            await anyio.to_thread.run_sync(self.started.wait, 10)
            for i in range(len(writes)):
                tg.start_soon(one, i)
            await anyio.wait_all_tasks_blocked()  # every write is queued behind the lock
            self.release.set()
        return results


async def test_writes_queued_behind_a_commit_share_the_next_one(db: Database, db_path: Path) -> None:
    commits = db.commits
    results = await Writer(db).queue_behind([insert(f"note {i}") for i in range(40)])
    assert sorted(results) == list(range(1, 41))
    assert stored(db_path) == [f"note {i}" for i in range(40)]
    assert (db.commits - commits, db.writes) == (2, 43)  # the blocking write, then all 40 at once


async def test_a_failing_write_in_a_batch_is_undone_alone_and_the_others_are_kept(db: Database, db_path: Path) -> None:
    writes = [insert("a"), missing, insert("b"), insert("a"), insert("c")]
    results = await Writer(db).queue_behind(writes)
    assert results[0] == 1 and isinstance(results[1], NotFound) and isinstance(results[3], Conflict)
    assert "collides with a concurrent one" in str(results[3])
    assert stored(db_path) == ["a", "b", "c"]
    assert results[2] < results[4]  # ids as the stored rows have them: the undone rows left no trace


async def test_when_the_commit_fails_every_write_of_the_batch_fails_and_none_is_kept(
    db: Database, db_path: Path
) -> None:
    def dangling(c: sqlite3.Connection) -> None:  # a foreign key checked only at COMMIT
        c.execute("PRAGMA defer_foreign_keys = ON")
        c.execute("INSERT INTO refs (note_id) VALUES (999)")

    results = await Writer(db).queue_behind([insert("x"), dangling, insert("y")])
    assert all(isinstance(r, Conflict) for r in results), results
    assert stored(db_path) == []
    assert await db.write(insert("after")) == 1  # the connection went back clean
    assert stored(db_path) == ["after"]


async def test_a_write_cancelled_while_it_waits_is_never_carried_out(db: Database, db_path: Path) -> None:
    writer = Writer(db)
    async with anyio.create_task_group() as tg:
        tg.start_soon(db.write, writer.blocking)
        await anyio.to_thread.run_sync(writer.started.wait, 10)
        with anyio.move_on_after(0.05):
            await db.write(insert("cancelled"))
        writer.release.set()
    assert await db.write(insert("kept")) == 1
    assert stored(db_path) == ["kept"]


async def test_a_write_alone_fails_with_its_own_error(db: Database, db_path: Path) -> None:
    with pytest.raises(NotFound):
        await db.write(missing)
    await db.write(insert("a"))
    with pytest.raises(Conflict):
        await db.write(insert("a"))
    assert (stored(db_path), db.commits, db.writes) == (["a"], 3, 3)
