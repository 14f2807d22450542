"""An agent's session in front of the live Redmine: the MCP SDK client drives `python -m tickets_mcp --backend
redmine --url URL` over stdio, with alice's API key in TICKETS_TOKEN, as a desktop client would spawn it.

It is the session the native backend's tests walk (tests/remotes/test_remote_e2e.py): every tool, once, with
what a model reads back checked at each step, then what a model gets wrong.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager

import anyio
import pytest
from mcp.types import TextContent

from mcp import Client, StdioServerParameters
from tests.fixtures.redmine_peer import URL, RedminePeer, needs_redmine
from tests.fixtures.tool_calls import TOOLS, board_column, call, call_error, slug_of
from tickets_mcp.domain import Project

pytestmark = [pytest.mark.anyio, pytest.mark.slow, needs_redmine]

TIMEOUT = 90  # seconds for a whole test: a hang fails instead of blocking the run


@pytest.fixture(scope="module")
def peer() -> Iterator[RedminePeer]:
    found = RedminePeer()
    yield found
    found.admin.http.close()


def stdio_env(token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS_")}
    env.update({"TICKETS_TOKEN": token, "PYTHONUNBUFFERED": "1"})
    return env


@asynccontextmanager
async def redmine_client(peer: RedminePeer) -> AsyncGenerator[Client]:
    args = ["-m", "tickets_mcp", "--backend", "redmine", "--url", URL]
    params = StdioServerParameters(command=sys.executable, args=args, env=stdio_env(peer.token))
    async with Client(params, read_timeout_seconds=30) as client:
        yield client


async def test_a_whole_session_over_stdio(peer: RedminePeer) -> None:
    project: Project = await peer.new_project()
    code = project.code
    called: set[str] = set()

    async def use(tool: str, **arguments: object) -> str:
        called.add(tool)
        return await call(client, tool, **arguments)

    with anyio.fail_after(TIMEOUT):
        async with redmine_client(peer) as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
            workspace = await use("get_workspace_context")
            assert "backend: redmine; it cannot " in workspace and code in workspace
            assert "Redmine at" in await use("list_organizations")
            assert code in await use("list_projects")
            filed = await use(
                "create_ticket", title="Checkout fails on Safari", project=code, type="bug", priority="high",
                description="Steps: pay with Apple Pay.", labels=["web"], assignee="bob",
            )  # fmt: skip
            slug = slug_of(filed)
            assert slug.startswith(f"{code}-")
            second = slug_of(await use("create_ticket", title="Export to CSV", project=code, type="feature"))
            listed = await use("list_tickets", project=code)
            assert slug in listed and second in listed
            assert second in await use("list_tickets", project=code, query="csv")
            detail = await use("get_ticket", slug=slug)
            assert "Checkout fails on Safari" in detail and "Apple Pay" in detail and "labels=web" in detail
            assert f"assignee={peer.user('bob')}" in detail and "priority=high" in detail
            updated = await use("update_ticket", slug=slug, title="Checkout fails on Safari 17", assignee="me")
            assert updated.startswith(f"Updated {slug}")
            assert (await use("move_ticket", slug=slug, status="in_review")).startswith(f"Moved {slug}")
            board = await use("get_board", project=code)
            assert board_column(board, "in_review") == [slug] and second in board_column(board, "backlog")
            assert f"Commented on {slug}" in await use("add_comment", slug=slug, body="Fixed in the *next* release.")
            read_back = await use("get_ticket", slug=slug)
            assert "Fixed in the *next* release." in read_back and "status backlog→in_review" in read_back
            await use("list_organizations")
            # What the agent gets wrong: each answered with what to do, nothing changed.
            stale = await call_error(client, "update_ticket", slug=slug, title="Stale", version=1)
            assert "version" in stale
            assert "no status for todo" in await call_error(client, "move_ticket", slug=second, status="todo")
            assert "not found" in await call_error(client, "get_ticket", slug=f"{code}-999999")
            assert "cannot create, rename and delete projects" in await call_error(
                client, "create_project", name="From the agent"
            )
            not_yet = await use("delete_ticket", slug=second)
            assert not_yet.startswith(f"Not deleted. Not confirmed. This would delete {second}.")
            assert (await use("delete_ticket", slug=second, confirm=True)).startswith(f"Deleted {second}")
            assert "not found" in await call_error(client, "get_ticket", slug=second)
            assert second not in await use("list_tickets", project=code)
    assert called == TOOLS - {"enable_tools"} | {"list_organizations", "list_projects"}


async def test_files_are_attached_read_and_deleted_over_stdio(peer: RedminePeer) -> None:
    project: Project = await peer.new_project()
    with anyio.fail_after(TIMEOUT):
        async with redmine_client(peer) as client:
            await call(client, "enable_tools", sets=["files"])
            slug = slug_of(await call(client, "create_ticket", title="Crash on save", project=project.code))
            attached = await client.call_tool("attach_file", {"slug": slug, "name": "trace.log", "text": "KeyError\n"})
            assert not attached.is_error and attached.structured_content is not None
            file_id = attached.structured_content["attachment_id"]
            assert "trace.log" in await call(client, "get_ticket", slug=slug)
            head, body = (await client.call_tool("read_attachment", {"slug": slug, "attachment": file_id})).content
            assert isinstance(head, TextContent) and "«trace.log» text/plain 9 bytes" in head.text
            assert isinstance(body, TextContent) and "KeyError" in body.text
            deleted = await call(client, "delete_attachment", slug=slug, attachment=file_id, confirm=True)
            assert deleted.startswith("Deleted"), deleted
            assert "no attachment" in await call_error(client, "read_attachment", slug=slug, attachment=file_id)


def test_a_key_redmine_rejects_stops_the_server_at_start_with_one_line(peer: RedminePeer) -> None:
    bogus = "9" * 40
    done = subprocess.run(
        [sys.executable, "-m", "tickets_mcp", "--backend", "redmine", "--url", URL],
        env=stdio_env(bogus), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("tickets-mcp: redmine rejected the token"), done.stderr
    assert "Traceback" not in done.stderr and bogus not in done.stderr and done.stderr.count("\n") == 1
