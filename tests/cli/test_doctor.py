"""`tickets-mcp doctor`: says in a few lines that a backend works for an agent, or in one line what is wrong."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from tests.fixtures.cli_runs import TICKETS_MCP, assert_one_line, clean_env, run_silent
from tests.fixtures.redmine_peer import URL, RedminePeer, needs_redmine
from tests.fixtures.remote_contract import nowhere
from tickets_mcp.cli.doctor import describe
from tickets_mcp.domain import Organization, OrganizationWorkspace, Role, User, Workspace
from tickets_mcp.errors import PermissionDenied


@pytest.fixture(scope="module")
def peer() -> Iterator[RedminePeer]:
    found = RedminePeer()
    yield found
    found.admin.http.close()


@needs_redmine
def test_a_working_key_is_described_without_being_shown(peer: RedminePeer) -> None:
    anyio.run(peer.new_project)  # a project alice is a member of, whatever ran before on this Redmine
    ended = run_silent(
        [*TICKETS_MCP, "doctor", "--backend", "redmine", "--url", URL], clean_env({"TICKETS_TOKEN": peer.token})
    )
    assert ended.code == 0, ended.stderr
    lines = ended.stdout.splitlines()
    assert lines[0].startswith(f"ok: redmine at {URL} answers and accepts the token as alice (Alice ")
    assert lines[1].startswith("projects: ") and lines[2] == "role: member in redmine"
    assert lines[3] == "cannot: " + "; ".join(sorted(capability.value for capability in peer.missing))
    assert peer.token not in ended.stdout + ended.stderr


@needs_redmine
def test_a_key_redmine_rejects_is_one_line(peer: RedminePeer) -> None:
    bogus = "5" * 40
    ended = run_silent(
        [*TICKETS_MCP, "doctor", "--backend", "redmine", "--url", URL], clean_env({"TICKETS_TOKEN": bogus})
    )
    line = assert_one_line(ended, "redmine rejected the token", "TICKETS_TOKEN")
    assert bogus not in line


def test_a_url_where_nothing_answers_is_one_line() -> None:
    flags = ["--backend", "gitlab", "--url", nowhere()]
    ended = run_silent([*TICKETS_MCP, *flags, "doctor"], clean_env({"TICKETS_TOKEN": "glpat-whatever"}))
    assert_one_line(ended, "gitlab did not answer", "could not connect", "check the URL")


def test_a_token_that_sees_no_project_is_what_is_wrong() -> None:
    organization = Organization(id="redmine", name="Redmine", slug="redmine")
    workspace = Workspace(
        user=User(id=7, username="dora", name="Dora"),
        organizations=(OrganizationWorkspace(organization=organization, role=Role.MEMBER, projects=(), members=()),),
    )
    with pytest.raises(PermissionDenied, match="accepts the token as dora, who sees no project"):
        describe("redmine", "https://redmine.example", workspace)


def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`tickets-mcp doctor | head -0`: the reader is gone before the first line; no traceback."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [*TICKETS_MCP, "--db", str(tmp_path / "t.db"), "doctor"], stdout=write, stderr=subprocess.PIPE,
            env=clean_env(), timeout=60, check=False, text=True,
        )  # fmt: skip
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")
