"""The product is tickets-mcp: no user-facing text names the old tracker-mcp, whose settings still work once more.

On PyPI `tracker-mcp` is somebody else's project, so a user who follows a stale line installs it. The old
`TRACKER_*` variables and the old default data folder keep a user's configuration and tickets working for
one release, and say so.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tickets_mcp.cli.main import parser

REPO = Path(__file__).resolve().parent.parent
OLD_NAME = re.compile(r"tracker[-_]mcp", re.IGNORECASE)
# The only places the old name may stand: notes that say it was renamed or is deprecated.
DEPRECATION_NOTE = re.compile(r"renamed|deprecat|the rename|old default|OLD_DATA_DIR_NAME|was called", re.I)


def user_facing_files() -> Iterator[Path]:
    yield REPO / "README.md"
    yield REPO / "server.json"
    yield REPO / "pyproject.toml"
    yield REPO / "bench" / "README.md"
    yield from (REPO / "docs").rglob("*.md")
    yield from (p for p in (REPO / "examples").rglob("*") if p.is_file())
    yield from (REPO / "src" / "tickets_mcp").rglob("*.py")  # every message the program prints
    yield from (REPO / "src" / "tickets_mcp").rglob("*.js")


def every_help_text() -> Iterator[tuple[str, str]]:
    """The --help of the command and of each subcommand, nested ones included."""
    pending: list[tuple[str, argparse.ArgumentParser]] = [("tickets-mcp", parser())]
    while pending:
        name, command = pending.pop()
        yield name, command.format_help()
        for action in command._actions:  # pyright: ignore[reportPrivateUsage] - argparse has no public walk
            if isinstance(action, argparse._SubParsersAction):  # pyright: ignore[reportPrivateUsage]
                for sub_name, sub in action.choices.items():  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
                    assert isinstance(sub, argparse.ArgumentParser)
                    pending.append((f"{name} {sub_name}", sub))


def old_name_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if OLD_NAME.search(line) and not DEPRECATION_NOTE.search(line)]


def test_no_user_facing_file_names_tracker_mcp_outside_a_deprecation_note() -> None:
    found = {
        str(path.relative_to(REPO)): lines
        for path in user_facing_files()
        if (lines := old_name_lines(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_help_of_every_command_names_tickets_mcp_and_never_tracker_mcp() -> None:
    helps = dict(every_help_text())
    assert {"tickets-mcp", "tickets-mcp serve", "tickets-mcp token create", "tickets-mcp backup"} <= set(helps)
    for name, text in helps.items():
        assert not OLD_NAME.search(text), name
    assert "tickets-mcp" in helps["tickets-mcp"]


def test_the_scan_finds_the_old_name_where_a_line_is_not_a_deprecation_note() -> None:
    assert old_name_lines('pip install "tracker-mcp[serve]"\nimport tracker_mcp') != []
    assert old_name_lines("TRACKER_DB is deprecated; rename it TICKETS_DB (tracker-mcp was renamed)") == []


def run(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tickets_mcp", *arguments]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment with no TICKETS_ or TRACKER_ setting and a data folder of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKETS_", "TRACKER_"))}
    env.update({"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"})
    return env


def test_an_old_tracker_variable_still_works_and_says_once_that_it_is_deprecated(
    clean_env: dict[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "old-setting.db"
    env = {**clean_env, "TRACKER_DB": str(db), "TRACKER_USER": "carol", "TRACKER_LOG_LEVEL": "ERROR"}
    assert run(env, "migrate").returncode == 0
    result = run(env, "info")
    assert result.returncode == 0, result.stderr
    assert f"database: {db} (exists)" in result.stdout
    notes = [line for line in result.stderr.splitlines() if "deprecated" in line]
    assert sorted(notes) == sorted(
        f"tickets-mcp: TRACKER_{name} is deprecated and will stop working in the next release; "
        f"rename it TICKETS_{name}."
        for name in ("DB", "USER", "LOG_LEVEL")
    )


def test_a_tickets_variable_wins_over_its_old_twin_without_a_note(clean_env: dict[str, str], tmp_path: Path) -> None:
    env = {**clean_env, "TICKETS_DB": str(tmp_path / "new.db"), "TRACKER_DB": str(tmp_path / "old.db")}
    result = run(env, "info")
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "new.db") in result.stdout
    assert str(tmp_path / "old.db") not in result.stdout + result.stderr
    assert "deprecated" not in result.stderr


def test_a_tracker_at_the_old_default_location_is_used_with_a_note(clean_env: dict[str, str], tmp_path: Path) -> None:
    old = tmp_path / "data" / "tracker-mcp" / "tracker.db"
    assert run({**clean_env, "TICKETS_DB": str(old)}, "migrate").returncode == 0
    result = run(clean_env, "info")
    assert result.returncode == 0, result.stderr
    assert f"database: {old} (exists)" in result.stdout
    assert f"using the tracker at the old default location {old}" in result.stderr
    assert str(tmp_path / "data" / "tickets-mcp" / "tracker.db") in result.stderr  # where to move it
    assert not (tmp_path / "data" / "tickets-mcp").exists()


def test_the_new_default_location_wins_once_it_holds_a_tracker(clean_env: dict[str, str], tmp_path: Path) -> None:
    old = tmp_path / "data" / "tracker-mcp" / "tracker.db"
    new = tmp_path / "data" / "tickets-mcp" / "tracker.db"
    for path in (old, new):
        assert run({**clean_env, "TICKETS_DB": str(path)}, "migrate").returncode == 0
    result = run(clean_env, "info")
    assert f"database: {new} (exists)" in result.stdout
    assert "old default" not in result.stderr


def test_with_no_tracker_anywhere_the_default_is_the_new_folder(clean_env: dict[str, str], tmp_path: Path) -> None:
    result = run(clean_env, "info")
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "data" / "tickets-mcp" / "tracker.db") in result.stdout
    assert not (tmp_path / "data" / "tracker-mcp").exists()
