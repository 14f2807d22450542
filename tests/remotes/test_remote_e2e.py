"""End to end in front of a remote tracker: the MCP SDK client drives `python -m tickets_mcp --backend NAME
--url URL` over stdio (its token in TICKETS_TOKEN), which works through that backend's REST API on a real
`tickets-mcp serve` on SQLite.

Every tool is called once; each either works or answers a tool error that names the backend and the
capability its API lacks, never a silent success.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import pytest

from mcp import Client, StdioServerParameters
from tests.fixtures.http_server import ServerProcess, running_server
from tests.fixtures.tool_calls import PROJECT_TOOLS, TOOLS, board_column, call, call_error, slug_of
from tickets_mcp.domain import Capability
from tickets_mcp.remotes.abf import AbfTracker
from tickets_mcp.remotes.agentsmesh import AgentsMeshTracker
from tickets_mcp.remotes.base import RemoteTracker
from tickets_mcp.remotes.bugtome import BugToMeTracker

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TIMEOUT = 60  # seconds for a whole test: a hang fails instead of blocking the run


@dataclass(frozen=True)
class Backend:
    adapter: type[RemoteTracker]
    url: str  # path after the server's address
    token: tuple[str, ...]  # `tickets-mcp token create` arguments
    done: str  # the status a move goes to


BACKENDS = {
    "agentsmesh": Backend(
        AgentsMeshTracker,
        "/api/v1/ext/orgs/local",
        ("--kind", "organization", "--user", "alice", "--organization", "local", "--scopes", "tickets:write"),
        "in_progress",
    ),
    "bugtome": Backend(BugToMeTracker, "", ("--user", "alice"), "done"),
    "abf": Backend(AbfTracker, "/api/v1", ("--user", "alice"), "done"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("remote-e2e") / "tracker.db") as running:
        yield running


def stdio_env(token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS_")}
    env.update({"TICKETS_TOKEN": token, "PYTHONUNBUFFERED": "1"})
    return env


def command(server: ServerProcess, backend: str) -> list[str]:
    return ["-m", "tickets_mcp", "--backend", backend, "--url", server.url + BACKENDS[backend].url]


@asynccontextmanager
async def remote_client(server: ServerProcess, backend: str) -> AsyncGenerator[Client]:
    token = server.create_token(*BACKENDS[backend].token)
    params = StdioServerParameters(command=sys.executable, args=command(server, backend), env=stdio_env(token))
    async with Client(params, read_timeout_seconds=20) as client:
        yield client


@pytest.mark.parametrize("backend", sorted(BACKENDS))
async def test_every_tool_works_or_names_what_the_backends_api_lacks(server: ServerProcess, backend: str) -> None:
    missing = BACKENDS[backend].adapter.missing
    called: set[str] = set()

    async def use(tool: str, needs: Capability | None = None, **arguments: object) -> str:
        """The tool's answer where the backend can do it; else its error, which must name backend and limit."""
        called.add(tool)
        if needs is not None and needs in missing:
            refusal = await call_error(client, tool, **arguments)
            assert f"The {backend} backend cannot {needs.value}" in refusal, refusal
            return refusal
        return await call(client, tool, **arguments)

    with anyio.fail_after(TIMEOUT):
        async with remote_client(server, backend) as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
            workspace = await use("get_workspace_context")
            assert f"backend: {backend}; it cannot " in workspace
            assert "organization " in workspace and "statuses: backlog" in workspace
            assert (await use("list_organizations")).strip()
            slug = slug_of(await use("create_ticket", title="Filed from stdio", project="INBOX", labels=["remote"]))
            assert slug in await use("list_tickets", project="INBOX")
            assert "Filed from stdio" in await use("get_ticket", slug=slug)
            assert " open=" in await use("list_projects")
            await use("update_ticket", Capability.EDIT_TICKETS, slug=slug, title="Renamed from stdio")
            await use("move_ticket", Capability.MOVE_TICKETS, slug=slug, status=BACKENDS[backend].done)
            await use("get_board", Capability.BOARD, project="INBOX")
            await use("add_comment", Capability.COMMENT, slug=slug, body="Hello from stdio")
            await use("create_project", Capability.MANAGE_PROJECTS, name="Remote Project")
            await use("update_project", Capability.MANAGE_PROJECTS, project="INBOX", name="Renamed Inbox")
            await use("delete_project", Capability.MANAGE_PROJECTS, project="INBOX", confirm=True)
            deleted = await use("delete_ticket", Capability.DELETE_TICKETS, slug=slug, confirm=True)
            if Capability.DELETE_TICKETS in missing:
                assert (await call(client, "get_ticket", slug=slug)).startswith(f"{slug}: ")
            else:
                assert deleted.startswith(f"Deleted {slug}")
                assert "not found" in await call_error(client, "get_ticket", slug=slug)
    assert called == (TOOLS | PROJECT_TOOLS) - {"enable_tools"}  # the projects set runs when called, listed or not


async def test_agentsmesh_tickets_change_move_and_leave_the_board_through_stdio(server: ServerProcess) -> None:
    with anyio.fail_after(TIMEOUT):
        async with remote_client(server, "agentsmesh") as client:
            first = slug_of(await call(client, "create_ticket", title="First", project="INBOX", type="bug"))
            second = slug_of(await call(client, "create_ticket", title="Second", project="INBOX", priority="high"))
            saved = await call(client, "update_ticket", slug=first, title="First, renamed", labels=["ui"])
            assert saved.startswith(f"Updated {first} (backlog, version ")
            assert (await call(client, "move_ticket", slug=first, status="in_review")).startswith(f"Moved {first}")
            refusal = await call_error(client, "move_ticket", slug=second, status="in_review", after=first)
            assert refusal.startswith("The agentsmesh backend cannot order tickets within a column")
            board = await call(client, "get_board", project="INBOX")
            assert board_column(board, "in_review") == [first]
            assert second in board_column(board, "backlog")
            detail = await call(client, "get_ticket", slug=first)
            assert "First, renamed" in detail and "status=in_review" in detail and "labels=ui" in detail
            not_yet = await call(client, "delete_ticket", slug=second)
            assert not_yet.startswith(f"Not deleted. Not confirmed. This would delete {second}.")
            assert second in await call(client, "list_tickets", project="INBOX")


def test_a_token_the_backend_rejects_stops_the_server_at_start_with_one_line(server: ServerProcess) -> None:
    bogus = "amk_" + "7" * 40
    done = subprocess.run(
        [sys.executable, *command(server, "agentsmesh")],
        env=stdio_env(bogus),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("tickets-mcp: agentsmesh rejected the token"), done.stderr
    assert "Traceback" not in done.stderr and bogus not in done.stderr
