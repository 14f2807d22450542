"""Bad input at start: one line on stderr that says what is wrong and what to do, exit code 2, no
traceback, and nothing changed on disk, from the stdio server and from serve, info, migrate and backup.

The stdio server runs with stdin an open pipe nobody writes to (see tests/fixtures/cli_runs.py): it must end on
its own, not when the client next speaks.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.fixtures.cli_runs import TICKETS_MCP, assert_one_line, clean_env, run_silent
from tests.fixtures.http_server import ServerProcess, running_server

COMMANDS = {
    "stdio": (),
    "serve": ("serve", "--port", "0"),
    "info": ("info",),
    "migrate": ("migrate",),
    "backup": ("backup", "{backup}"),
}


def tickets_mcp(db: Path, command: str, backup: Path) -> list[str]:
    return [*TICKETS_MCP, "--db", str(db), *(arg.format(backup=backup) for arg in COMMANDS[command])]


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file and folder under `root` with its mtime and content: equal snapshots, nothing changed."""

    def entries() -> Iterator[tuple[str, tuple[int, bytes]]]:
        for path in [root, *sorted(root.rglob("*"))]:
            content = path.read_bytes() if path.is_file() else b""
            yield str(path.relative_to(root)), (path.stat().st_mtime_ns, content)

    return dict(entries())


def aged(path: Path) -> Path:
    """`path` with an mtime a day old, so that a write now would show in it."""
    day_ago = path.stat().st_mtime - 86_400
    os.utime(path, (day_ago, day_ago))
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_a_db_path_naming_a_folder_is_one_line_and_nothing_is_written_in_it(tmp_path: Path, command: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "notes.txt").write_text("not ours")
    aged(folder / "notes.txt")
    aged(folder)
    before = snapshot(tmp_path)

    ended = run_silent(tickets_mcp(folder, command, tmp_path / "backups" / "copy.db"), clean_env())

    line = assert_one_line(ended, f"{folder} is a folder", "Point --db or TICKETS_DB at a file")
    assert str(folder / "tracker.db") in line  # what to point at instead
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_that_is_not_a_database_is_one_line_and_left_untouched(tmp_path: Path, command: str) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("These are my notes, not a database.\n" * 20)
    aged(notes)
    aged(tmp_path)
    before = snapshot(tmp_path)

    ended = run_silent(tickets_mcp(notes, command, tmp_path / "backups" / "copy.db"), clean_env())

    assert_one_line(ended, f"{notes} is not a tickets-mcp database", "Point --db or TICKETS_DB at another file")
    assert snapshot(tmp_path) == before  # the file, its mtime, and no journal or backup beside it


@pytest.mark.parametrize("command", COMMANDS)
def test_another_applications_sqlite_database_is_one_line_and_left_untouched(tmp_path: Path, command: str) -> None:
    other = tmp_path / "notes.sqlite"
    with closing(sqlite3.connect(other)) as conn, conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('buy milk')")
    aged(other)
    aged(tmp_path)
    before = snapshot(tmp_path)

    ended = run_silent(tickets_mcp(other, command, tmp_path / "backups" / "copy.db"), clean_env())

    line = assert_one_line(ended, f"{other} holds another application's database", "Point --db or TICKETS_DB")
    assert "notes" in line  # the tables it found
    assert snapshot(tmp_path) == before


def test_info_on_a_path_in_a_missing_folder_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "missing" / "tracker.db"
    ended = run_silent([*TICKETS_MCP, "--db", str(db), "info"], clean_env())
    assert ended.code == 0, ended.stderr
    assert f"database: {db} (not created yet)" in ended.stdout
    assert not db.parent.exists()


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[ServerProcess]:
    with running_server(tmp_path / "team.db") as server:
        yield server


@pytest.mark.slow
def test_a_wrong_remote_token_ends_the_stdio_server_with_one_line_before_the_client_speaks(
    remote: ServerProcess,
) -> None:
    command = [*TICKETS_MCP, "--backend", "native", "--url", remote.url]
    ended = run_silent(command, clean_env({"TICKETS_TOKEN": "pk_not-a-real-token"}))
    assert_one_line(ended, "native rejected the token", "TICKETS_TOKEN")
    assert "pk_not-a-real-token" not in ended.stderr
    assert ended.stdout == ""
