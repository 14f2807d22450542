"""Bad input at start: one line on stderr that says what is wrong and what to do, exit code 2, no
traceback.

The stdio server runs with stdin an open pipe nobody writes to (see tests/cli_runs.py): it must end on
its own, not when the client next speaks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_runs import TICKETS_MCP, assert_one_line, clean_env, run_silent
from tests.http_server import ServerProcess, running_server


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
