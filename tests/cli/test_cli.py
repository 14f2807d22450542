"""The command line: what a person sees when starting tickets-mcp by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.helpers_processes import REPO
from tests.fixtures.stores import Location, table_names, table_rows


def test_help_names_the_flags_and_environment_variables() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tickets_mcp", "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    for word in ["--db", "--sqlite-synchronous", "TICKETS_DB", "TICKETS_USER", "migrate"]:
        assert word in result.stdout


def test_a_bad_environment_value_is_a_clear_error(server_env: dict[str, str]) -> None:
    env = {**server_env, "TICKETS_SQLITE_SYNCHRONOUS": "sometimes"}
    result = subprocess.run(
        [sys.executable, "-m", "tickets_mcp", "info"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "full or normal" in result.stderr and "Traceback" not in result.stderr


def run_example(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    """examples/file_bug.py as a user runs it (its demo command fails unless `arguments` name another)."""
    command = [sys.executable, str(REPO / "examples" / "file_bug.py"), *arguments]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.slow
def test_the_example_agent_files_a_bug_from_a_failing_command(
    server_env: dict[str, str], store_location: Location
) -> None:
    result = run_example(server_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Created INBOX-1 (backlog, version 1)." in result.stdout
    assert "## backlog (1)" in result.stdout
    ((title, type_, description),) = table_rows(store_location, "SELECT title, type, description FROM tickets")
    assert type_ == "bug"
    assert "JSONDecodeError" in title
    assert "**When** running" in description and "exits with code 1" in description

    # The same failure again: no twin, a comment on the open ticket.
    again = run_example(server_env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Not filed: it looks like INBOX-1 " in again.stdout and "## backlog (1)" in again.stdout
    ((comment,),) = table_rows(store_location, "SELECT body FROM comments")
    assert str(comment).startswith("Seen again: ") and "exited with code 1" in str(comment)


@pytest.mark.slow
def test_the_example_agent_files_nothing_when_the_command_succeeds(
    server_env: dict[str, str], store_location: Location
) -> None:
    result = run_example(server_env, "--", sys.executable, "-c", "pass")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "nothing to file" in result.stdout
    if isinstance(store_location, Path):
        assert not store_location.exists()
    else:
        assert table_names(store_location) == []


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param(["token", "revoke", "999999999999999999999999"], id="token id past any integer column"),
        pytest.param(["token", "revoke", "--", "-5"], id="negative token id"),
        pytest.param(["org", "add", "", "--owner", "alice"], id="empty organization name"),
        pytest.param(["org", "add", "\n\u202e", "--owner", "alice"], id="organization name of invisible characters"),
        pytest.param(["--db", "postgresql://nobody@127.0.0.1:1/x", "info"], id="driver message of two lines"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(server_env: dict[str, str], arguments: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tickets_mcp", *arguments],
        capture_output=True, text=True, env=server_env, timeout=60, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stderr.count("\n")) == (2, 1), result.stderr
    assert result.stderr.startswith("tickets-mcp: ") and "Traceback" not in result.stderr
