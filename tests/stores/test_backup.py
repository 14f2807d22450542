"""`tickets-mcp backup` and `restore` on both stores: a consistent copy of a live tracker, restored whole."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from tests.fixtures.postgres import create_database, drop_database, server_url
from tickets_mcp.cli.main import main
from tickets_mcp.cli.workspace import open_local_store
from tickets_mcp.config import Settings
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketDraft
from tickets_mcp.domain import Ticket
from tickets_mcp.errors import Conflict
from tickets_mcp.stores import Store
from tickets_mcp.stores.backup import COUNTED, backup, restore
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.location import PostgresUrl

pytestmark = pytest.mark.anyio


async def fill(location: Path | PostgresUrl, tickets: int) -> None:
    store, user = await open_local_store(Settings(db=location, username="alice"))
    try:
        tracker = LocalTracker(store, Principal(user_id=user.id, username=user.username))
        for n in range(tickets):
            ticket = (await tracker.create_ticket(TicketDraft(title=f"Ticket {n}", labels=("backup",)))).ticket
            if n % 3 == 0:
                await tracker.add_comment(ticket.slug, f"comment on {n}")
    finally:
        await store.close()


async def inbox_ticket(store: Store, number: int) -> Ticket | None:
    organizations = [o.id for o in await store.all_organizations()]
    (inbox,) = [p for p in await store.list_projects(organizations, counts=False) if p.code == "INBOX"]
    return await store.find_ticket(inbox.id, number)


def sqlite_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in COUNTED}
    finally:
        conn.close()


async def test_a_sqlite_backup_taken_while_writing_restores_to_a_consistent_tracker(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    await fill(db, 30)
    stop = threading.Event()

    def write_while_backing_up() -> None:
        conn = sqlite3.connect(db, timeout=30)
        while not stop.is_set():
            with conn:
                conn.execute("INSERT INTO events (at, subject, action, changes) VALUES ('now', 'x', 'bench', '{}')")
        conn.close()

    writer = threading.Thread(target=write_while_backing_up)
    writer.start()
    try:
        summary = backup(db, tmp_path / "backups" / "copy.db")
    finally:
        stop.set()
        writer.join()
    assert summary.rows["tickets"] == 30 and summary.rows["comments"] == 10
    restored = tmp_path / "restored.db"
    assert restore(summary.path, restored).rows == summary.rows
    assert sqlite_counts(restored) == summary.rows
    # The restored file is a working tracker: it opens, and numbering carries on after the last ticket.
    store = await open_store(restored)
    try:
        page = await inbox_ticket(store, 30)
        assert page is not None and page.title == "Ticket 29"
    finally:
        await store.close()


async def test_backup_and_restore_never_overwrite(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    await fill(db, 1)
    taken = backup(db, tmp_path / "copy.db")
    with pytest.raises(Conflict, match="never overwrites a file"):
        backup(db, taken.path)
    with pytest.raises(Conflict, match="already holds a database"):
        restore(taken.path, db)


def test_the_cli_backs_up_and_restores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, copy, restored = tmp_path / "live.db", tmp_path / "copy.db", tmp_path / "restored.db"
    assert main(["--db", str(db), "migrate"]) == 0
    assert main(["--db", str(db), "backup", str(copy)]) == 0
    assert "Backed up" in capsys.readouterr().out
    assert main(["--db", str(restored), "restore", str(copy)]) == 0
    assert sqlite_counts(restored) == sqlite_counts(db)
    assert main(["--db", str(db), "restore", str(copy)]) == 2
    assert "never overwrites" in capsys.readouterr().err


async def test_a_postgresql_backup_restores_into_an_empty_database_with_equal_row_counts(tmp_path: Path) -> None:
    source, target = create_database(server_url()), create_database(server_url())
    try:
        await fill(PostgresUrl(source), 25)
        taken = backup(PostgresUrl(source), tmp_path / "tracker.dump")
        assert taken.rows["tickets"] == 25 and taken.rows["comments"] == 9
        assert restore(taken.path, PostgresUrl(target)).rows == taken.rows
        with pytest.raises(Conflict, match="already holds a tracker"):
            restore(taken.path, PostgresUrl(target))
        store = await open_store(PostgresUrl(target))
        try:
            found = await inbox_ticket(store, 25)
            assert found is not None and found.title == "Ticket 24"
        finally:
            await store.close()
    finally:
        drop_database(source)
        drop_database(target)
