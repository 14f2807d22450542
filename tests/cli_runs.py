"""The real `tickets-mcp` command run to its end, as a person or an MCP client starts it.

`run_silent` keeps stdin an open pipe nobody writes to, as under an MCP client that has not spoken yet
or a person who started the stdio server by hand: the process must end on its own, and a hang fails the
test after TIMEOUT seconds instead of blocking the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pytest

TIMEOUT = 60  # seconds a process may take to end on its own
TICKETS_MCP = (sys.executable, "-m", "tickets_mcp")


@dataclass(frozen=True)
class Ended:
    code: int
    stdout: str
    stderr: str


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without TICKETS_ settings, with user alice and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS_")}
    return env | {"TICKETS_USER": "alice", "PYTHONUNBUFFERED": "1"} | dict(extra or {})


def run_silent(command: Sequence[str], env: Mapping[str, str]) -> Ended:
    """Run `command` with stdin a pipe kept open and never written to, until it ends by itself."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(list(command), stdin=subprocess.PIPE, stdout=out, stderr=err, env=dict(env))
        try:
            code = process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            err.seek(0)
            pytest.fail(f"{' '.join(command)} was still running after {TIMEOUT} s: {err.read().decode()}")
        finally:
            assert process.stdin is not None
            process.stdin.close()
        out.seek(0)
        err.seek(0)
        return Ended(code, out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def assert_one_line(ended: Ended, *words: str) -> str:
    """Exit code 2, no traceback, and exactly one line on stderr holding each of `words`; returns it."""
    assert ended.code == 2, ended.stderr
    assert "Traceback" not in ended.stderr and "ExceptionGroup" not in ended.stderr, ended.stderr
    lines = ended.stderr.splitlines()
    assert len(lines) == 1, ended.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]
