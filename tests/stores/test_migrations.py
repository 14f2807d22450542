"""Schema migrations: applied at start, recorded, idempotent, and never run on a newer database."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from tickets_mcp.errors import BackendUnavailable
from tickets_mcp.stores.sqlite import SqliteStore
from tickets_mcp.stores.sqlite.migrations import LATEST, MIGRATIONS, migrate

pytestmark = pytest.mark.anyio


def recorded_versions(db_path: Path) -> list[int]:
    conn = sqlite3.connect(db_path)
    try:
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_new_database_gets_every_migration_recorded(db_path: Path) -> None:
    store = await SqliteStore.open(db_path)
    await store.close()
    assert recorded_versions(db_path) == [m.version for m in MIGRATIONS]
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


async def test_opening_again_applies_nothing_twice(db_path: Path) -> None:
    for _ in range(3):
        store = await SqliteStore.open(db_path)
        await store.close()
    assert recorded_versions(db_path) == [m.version for m in MIGRATIONS]


async def test_stores_opening_a_new_file_at_once_migrate_it_exactly_once(db_path: Path) -> None:
    stores: list[SqliteStore] = []

    async def open_one() -> None:
        stores.append(await SqliteStore.open(db_path))

    async with anyio.create_task_group() as group:
        for _ in range(6):
            group.start_soon(open_one)
    for store in stores:
        await store.close()
    assert recorded_versions(db_path) == [m.version for m in MIGRATIONS]


async def test_a_database_from_a_newer_version_is_refused_and_left_untouched(db_path: Path) -> None:
    store = await SqliteStore.open(db_path)
    await store.close()
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("INSERT INTO schema_migrations VALUES (?, 'from the future', 'later')", (LATEST + 1,))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = digest(db_path)
    with pytest.raises(BackendUnavailable) as refused:
        await SqliteStore.open(db_path)
    message = str(refused.value)
    assert f"schema version {LATEST + 1}" in message and "Upgrade tickets-mcp" in message
    assert digest(db_path) == before


def test_the_cli_reports_a_newer_database_clearly_and_exits_non_zero(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)")
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'future', 'later')")
    conn.close()
    before = digest(db_path)
    result = subprocess.run(
        [sys.executable, "-m", "tickets_mcp", "--db", str(db_path), "migrate"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "schema version 99" in result.stderr and "Traceback" not in result.stderr
    assert digest(db_path) == before


def test_migrate_and_info_commands_create_and_describe_the_database(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "dir" / "t.db"
    migrate = subprocess.run(
        [sys.executable, "-m", "tickets_mcp", "--db", str(db), "migrate"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Database ready" in migrate.stderr
    info = subprocess.run(
        [sys.executable, "-m", "tickets_mcp", "--db", str(db), "info"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert f"schema version: {LATEST} (this build: {LATEST})" in info.stdout


def test_migration_9_scopes_project_codes_to_their_organization_and_keeps_every_row(db_path: Path) -> None:
    """It rebuilds the projects table others reference: rows, ids and references survive, and
    foreign keys are still enforced afterwards."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    migrate(conn, str(db_path), upto=8)
    conn.execute("INSERT INTO organizations VALUES ('o1', 'One', 'one', 'now'), ('o2', 'Two', 'two', 'now')")
    conn.execute("INSERT INTO projects (id, organization_id, name, code, ticket_counter, created_at) "
                 "VALUES ('p1', 'o1', 'Web', 'WEB', 1, 'now')")  # fmt: skip
    conn.execute("INSERT INTO tickets (project_id, number, type, title, status, priority, position, created_at, "
                 "updated_at) VALUES ('p1', 1, 'bug', 'kept', 'todo', 2, 1.0, 'now', 'now')")  # fmt: skip
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO projects (id, organization_id, name, code, created_at) "
                     "VALUES ('p2', 'o2', 'Web', 'WEB', 'now')")  # fmt: skip

    migrate(conn, str(db_path))
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("SELECT p.code, p.ticket_counter, t.title FROM tickets t JOIN projects p "
                        "ON p.id = t.project_id").fetchall() == [("WEB", 1, "kept")]  # fmt: skip
    conn.execute("INSERT INTO projects (id, organization_id, name, code, created_at) "
                 "VALUES ('p2', 'o2', 'Web', 'WEB', 'now')")  # fmt: skip
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO projects (id, organization_id, name, code, created_at) "
                     "VALUES ('p3', 'o2', 'Other', 'WEB', 'now')")  # fmt: skip
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO tickets (project_id, number, type, title, status, priority, position, "
                     "created_at, updated_at) VALUES ('no', 1, 'bug', 'x', 'todo', 2, 1.0, 'now', 'now')")  # fmt: skip
    conn.close()
