"""A database this process may not change: reads are served, every change is refused with a clear error
(a tool error over MCP, 503 over REST), and what would need a write first is refused at start in one line.

The database is made read-only for the child process only (see tests/fixtures/read_only.py): its folder, so SQLite
cannot even keep its shared-memory file beside it, or the file alone.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import threading
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any, cast

import anyio
import httpx2
import pytest

from tests.fixtures.cli_runs import TICKETS_MCP, TIMEOUT, assert_one_line, clean_env, run_silent
from tests.fixtures.helpers_processes import prepare_database, tracker_for
from tests.fixtures.http_server import READY_LINE, bearer
from tests.fixtures.read_only import ReadOnly
from tests.fixtures.stdio_client import RawServer
from tickets_mcp.core.tracker import TicketDraft
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.sqlite.migrations import MIGRATIONS, migrate

pytestmark = pytest.mark.slow

WHAT = ["folder", "file"]  # what is read-only: the database's folder (and so the file), or the file alone
PREVIOUS = MIGRATIONS[-2].version  # the schema of the build before this one (versions may skip a number)


async def _fill(db: Path) -> None:
    await prepare_database(db)  # user alice, organization Local, project INBOX
    store = await open_store(db)
    try:
        await (await tracker_for(store)).create_ticket(TicketDraft(title="Written before"))
    finally:
        await store.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A tracker with alice's workspace and ticket INBOX-1, closed: nothing but the file is left in its folder."""
    path = tmp_path / "data" / "tracker.db"
    anyio.run(_fill, path)
    assert [p.name for p in path.parent.iterdir()] == ["tracker.db"]
    return path


def read_only_path(db: Path, what: str) -> Path:
    return db.parent if what == "folder" else db


@pytest.mark.parametrize("what", WHAT)
def test_the_stdio_server_serves_reads_and_answers_a_change_with_a_tool_error(
    db: Path, what: str, read_only: ReadOnly
) -> None:
    with (
        read_only(read_only_path(db, what), [*TICKETS_MCP, "--db", str(db)]) as command,
        RawServer(clean_env(), command=command) as server,
    ):
        server.initialize()
        assert "INBOX" in text(server.call_tool("get_workspace_context", {}))
        assert "Written before" in text(server.call_tool("list_tickets", {}))
        assert "Written before" in text(server.call_tool("get_ticket", {"slug": "INBOX-1"}))
        created = server.call_tool("create_ticket", {"title": "Never written"})
        updated = server.call_tool("update_ticket", {"slug": "INBOX-1", "title": "Never changed"})
        assert server.close() == 0, server.stderr
    for refused in (created, updated):
        assert refused["isError"] is True
        message = text(refused)
        assert f"The database {db} is read-only: " in message and "reads still work" in message
        assert "make it writable" in message
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT title FROM tickets").fetchall() == [("Written before",)]


def text(result: dict[str, Any]) -> str:
    """The text of a tools/call result as it came over the wire."""
    blocks = cast(list[dict[str, Any]], result["content"])
    return str(blocks[0]["text"])


def test_info_migrate_and_backup_work_on_a_read_only_database(db: Path, tmp_path: Path, read_only: ReadOnly) -> None:
    copy = tmp_path / "copy.db"
    for command in (["info"], ["migrate"], ["backup", str(copy)]):
        with read_only(db.parent, [*TICKETS_MCP, "--db", str(db), *command]) as argv:
            ended = run_silent(argv, clean_env())
        assert ended.code == 0, ended.stderr
        assert "Traceback" not in ended.stderr
    with contextlib.closing(sqlite3.connect(copy)) as conn:
        assert conn.execute("SELECT title FROM tickets").fetchall() == [("Written before",)]


@pytest.mark.parametrize("what", WHAT)
@pytest.mark.parametrize("command", [(), ("serve", "--port", "0"), ("migrate",)], ids=["stdio", "serve", "migrate"])
def test_a_read_only_database_that_needs_a_schema_upgrade_is_refused_in_one_line(
    tmp_path: Path, what: str, command: tuple[str, ...], read_only: ReadOnly
) -> None:
    db = tmp_path / "data" / "tracker.db"
    db.parent.mkdir()
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        migrate(conn, str(db), upto=PREVIOUS)
    before = db.read_bytes()
    with read_only(read_only_path(db, what), [*TICKETS_MCP, "--db", str(db), *command]) as argv:
        ended = run_silent(argv, clean_env())
    assert_one_line(ended, f"The database {db} is read-only", f"schema version {PREVIOUS}", "tickets-mcp migrate")
    assert db.read_bytes() == before


def test_a_user_without_a_workspace_in_a_read_only_database_is_refused_in_one_line(
    db: Path, read_only: ReadOnly
) -> None:
    with read_only(db.parent, [*TICKETS_MCP, "--db", str(db)]) as argv:
        ended = run_silent(argv, clean_env({"TICKETS_USER": "bob"}))
    assert_one_line(ended, "Cannot start as user bob", "read-only", "set TICKETS_USER")


@contextlib.contextmanager
def serving(command: Sequence[str]) -> Generator[str]:
    """`command` (a `serve --port 0`) until it announces its URL, which the block gets; SIGTERM after."""
    process = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=clean_env())  # fmt: skip
    watchdog = threading.Timer(TIMEOUT, process.kill)  # a server that never announces itself fails the test
    watchdog.start()
    try:
        assert process.stderr is not None
        seen: list[str] = []
        for line in process.stderr:
            seen.append(line)
            if (found := READY_LINE.search(line)) is not None:
                yield found.group(1)
                break
        else:
            pytest.fail(f"serve did not start (exit {process.wait()}):\n{''.join(seen)}")
    finally:
        watchdog.cancel()
        process.send_signal(signal.SIGTERM)
        process.wait(TIMEOUT)
        assert process.stderr is not None
        process.stderr.close()


def test_serve_answers_reads_and_refuses_changes_with_503(db: Path, read_only: ReadOnly) -> None:
    made = subprocess.run([*TICKETS_MCP, "--db", str(db), "token", "create", "--user", "alice"],
                          capture_output=True, text=True, env=clean_env(), timeout=TIMEOUT, check=True)  # fmt: skip
    headers = bearer(made.stdout.strip())
    with (
        read_only(db.parent, [*TICKETS_MCP, "--db", str(db), "serve", "--port", "0"]) as argv,
        serving(argv) as url,
        httpx2.Client(base_url=f"{url}/api/v1/native", headers=headers, timeout=TIMEOUT, verify=False) as client,
    ):
        read = client.get("/tickets/INBOX-1")
        assert read.status_code == 200, read.text
        assert read.json()["ticket"]["title"] == "Written before"
        refused = client.post("/tickets", json={"title": "Never written", "project": "INBOX"})
        assert refused.status_code == 503, refused.text
        assert f"The database {db} is read-only" in refused.json()["message"]
