"""The real `tickets-mcp` process over stdio, driven by the SDK client on both protocol eras, and on the raw wire."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from mcp.client.session import ElicitationFnT
from mcp.types import ElicitResult, Implementation

from mcp import Client, StdioServerParameters
from tests.fixtures.elicitation import ScriptedUser
from tests.fixtures.stdio_client import RawServer, is_jsonrpc_message
from tests.fixtures.stores import Location, table_rows
from tests.fixtures.tool_calls import DELETE_TOOLS, READ_TOOLS, TOOLS, board_column, call, call_error, text_of

pytestmark = pytest.mark.slow

TIMEOUT = 60  # seconds for a whole test: a hang fails instead of blocking the run
MODES = [
    pytest.param("auto", "2026-07-28", id="2026-07-28"),
    pytest.param("legacy", "2025-11-25", id="legacy-2025-11-25"),
]


@asynccontextmanager
async def stdio_client(
    env: dict[str, str],
    mode: str,
    *,
    name: str = "stdio-test",
    elicitation_callback: ElicitationFnT | None = None,
) -> AsyncGenerator[Client]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "tickets_mcp"], env=env)
    client = Client(
        params,
        mode=mode,
        client_info=Implementation(name=name, version="1"),
        elicitation_callback=elicitation_callback,
        read_timeout_seconds=20,
    )
    async with client:
        yield client


def slug_of(structured: dict[str, object] | None) -> str:
    assert structured is not None
    slug = structured["slug"]
    assert isinstance(slug, str)
    return slug


async def create(client: Client, title: str, **fields: object) -> str:
    result = await client.call_tool("create_ticket", {"title": title, **fields})
    assert not result.is_error, result.content
    return slug_of(result.structured_content)


PAGE_HEAD = re.compile(r"^(\d+) of (\d+) tickets by [\w ]+; (?:more with cursor=(\S+)|that is all)$")


async def list_all(client: Client, limit: int, **filters: object) -> list[str]:
    """Page through list_tickets with the cursor until it is exhausted; every ticket must come exactly once."""
    seen: list[str] = []
    cursor: str | None = None
    total: int | None = None
    for _ in range(100):
        arguments = {**filters, "limit": limit} | ({"cursor": cursor} if cursor else {})
        text = await call(client, "list_tickets", **arguments)
        if text.startswith("No tickets match"):
            assert cursor is None, f"an empty page behind a cursor: {text}"
            return []
        head, legend, *lines = text.splitlines()
        match = PAGE_HEAD.match(head)
        assert match, head
        assert legend.startswith("slug status")
        shown, page_total, cursor = int(match[1]), int(match[2]), match[3]
        assert shown == len(lines) <= limit
        assert total in (None, page_total), "the total changed while paging"
        total = page_total
        seen.extend(line.split(" ", 1)[0] for line in lines)
        if cursor is None:
            break
    else:
        pytest.fail("list_tickets kept handing out cursors")
    assert len(seen) == len(set(seen)), f"a ticket came twice: {seen}"
    assert len(seen) == total, f"saw {len(seen)} of {total}"
    return seen


@dataclass(frozen=True)
class Expected:
    labels: set[str]
    mine: bool
    type: str


def number(slug: str) -> int:
    return int(slug.rsplit("-", 1)[1])


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "protocol"), MODES)
async def test_tools_list_names_the_default_tools_with_read_only_and_destructive_hints(
    server_env: dict[str, str], mode: str, protocol: str
) -> None:
    with anyio.fail_after(TIMEOUT):
        async with stdio_client(server_env, mode) as client:
            assert client.protocol_version == protocol
            tools = (await client.list_tools()).tools
    assert {tool.name for tool in tools} == TOOLS
    assert len(tools) == len(TOOLS)
    for tool in tools:
        hints = tool.annotations
        assert hints is not None, tool.name
        assert bool(hints.read_only_hint) is (tool.name in READ_TOOLS), tool.name  # false is left out
        if tool.name not in READ_TOOLS:
            assert hints.destructive_hint is (tool.name in DELETE_TOOLS), tool.name


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "protocol"), MODES)
async def test_a_whole_working_session_over_stdio_uses_every_tool_end_to_end(
    server_env: dict[str, str], mode: str, protocol: str
) -> None:
    with anyio.fail_after(TIMEOUT):
        async with stdio_client(server_env, mode) as client:
            assert client.protocol_version == protocol
            await _working_session(client)


async def _working_session(client: Client) -> None:
    workspace = await call(client, "get_workspace_context")
    you, now = workspace.splitlines()[0].split("; now: ")
    assert you == "you: alice" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", now), now
    assert "project INBOX 'Inbox'" in workspace
    assert "statuses: backlog,todo,in_progress,in_review,done,canceled" in workspace

    created = await client.call_tool("create_project", {"name": "Web Shop", "code": "WEB", "description": "Storefront"})
    assert not created.is_error
    assert created.structured_content is not None
    assert created.structured_content["code"] == "WEB"

    # Twelve tickets: an epic with three sub-tasks, then a mix of labels, types and assignees.
    expected: dict[str, Expected] = {}

    async def add(title: str, expect: Expected, **fields: object) -> str:
        slug = await create(client, title, type=expect.type, **fields)
        expected[slug] = expect
        return slug

    epic = await add("Checkout flow", Expected({"frontend"}, True, "feature"), project="WEB", labels=["frontend"],
                     assignee="me")  # fmt: skip
    assert epic == "WEB-1"
    await add("Cart button misaligned", Expected({"frontend", "bug"}, True, "bug"), project="WEB", parent=epic,
              labels=["frontend", "bug"], assignee="me")  # fmt: skip
    await add("Payment API timeout", Expected({"backend"}, False, "bug"), project="WEB", parent=epic,
              labels=["backend"], priority="urgent")  # fmt: skip
    await add("Coupon field", Expected({"frontend"}, False, "feature"), project="WEB", parent=epic,
              labels="frontend")  # fmt: skip  # one string where a list is expected
    for n in range(8):
        labels = ["frontend"] if n % 2 else ["backend", "infra"]
        mine = n % 3 == 0
        await add(f"Chore {n}", Expected(set(labels), mine, "task"), project="web", labels=labels,
                  assignee="me" if mine else None)  # fmt: skip  # project codes are case-insensitive
    assert sorted(expected, key=number) == [f"WEB-{i}" for i in range(1, 13)]

    # Listing: pages of 5 through the cursor, newest first, every ticket exactly once.
    everything = await list_all(client, 5, project="WEB")
    assert everything == sorted(expected, key=number, reverse=True)
    assert await list_all(client, 100, project="WEB", order="asc") == sorted(expected, key=number)
    frontend_mine = {slug for slug, e in expected.items() if "frontend" in e.labels and e.mine}
    assert set(await list_all(client, 2, project="WEB", labels=["frontend"], assignee="me")) == frontend_mine
    assert set(await list_all(client, 1, project="WEB", parent=epic)) == {"WEB-2", "WEB-3", "WEB-4"}
    bugs = {slug for slug, e in expected.items() if e.type == "bug"}
    assert set(await list_all(client, 3, project="WEB", type="bug")) == bugs == {"WEB-2", "WEB-3"}
    assert await list_all(client, 3, project="WEB", query="payment") == ["WEB-3"]
    twin = await client.call_tool("create_ticket", {"title": "Payment API timeout", "project": "WEB"})
    assert twin.is_error and "Not filed: it looks like WEB-3 " in text_of(twin)  # nothing filed: still 12
    assert await list_all(client, 3, project="WEB", status="done") == []
    first_page = await call(client, "list_tickets", project="WEB", limit=5)
    cursor = PAGE_HEAD.match(first_page.splitlines()[0])
    assert cursor is not None
    assert cursor[3] is not None
    wrong_query = await call_error(client, "list_tickets", project="WEB", type="bug", limit=5, cursor=cursor[3])
    assert "cursor belongs to a different query" in wrong_query

    # Reading one ticket, and its epic with the sub-tasks.
    detail = await call(client, "get_ticket", slug="web-2")
    assert detail.splitlines()[0] == "WEB-2: «Cart button misaligned»"
    assert "assignee=alice" in detail
    labels = re.search(r" labels=(\S+) ", detail)
    assert labels is not None, detail
    assert set(labels[1].split(",")) == {"frontend", "bug"}
    assert "parent=WEB-1" in detail
    assert "version=1" in detail
    epic_detail = await call(client, "get_ticket", slug=epic)
    assert "sub-tasks (3):" in epic_detail

    # Updating with the version read, then with that stale version again.
    updated = await client.call_tool(
        "update_ticket", {"slug": "WEB-2", "title": "Cart button overlaps the total", "priority": "high", "version": 1}
    )
    assert not updated.is_error
    assert updated.structured_content == {"version": 2}
    stale = await call_error(client, "update_ticket", slug="WEB-2", title="Lost update", version=1)
    assert "(now 2)" in stale and "priority medium→high" in stale
    assert "version=2" in stale  # the hint says what to retry with
    assert "Cart button overlaps the total" in await call(client, "get_ticket", slug="WEB-2")

    # Moving: three tickets into todo, then reordered with before and after.
    for slug in ("WEB-5", "WEB-6", "WEB-7"):
        await call(client, "move_ticket", slug=slug, status="todo")
    assert board_column(await call(client, "get_board", project="WEB"), "todo") == ["WEB-5", "WEB-6", "WEB-7"]
    await call(client, "move_ticket", slug="WEB-7", status="todo", before="WEB-5")
    assert board_column(await call(client, "get_board", project="WEB"), "todo") == ["WEB-7", "WEB-5", "WEB-6"]
    await call(client, "move_ticket", slug="WEB-5", status="todo", after="WEB-6")
    board = await call(client, "get_board", project="WEB")
    assert board_column(board, "todo") == ["WEB-7", "WEB-6", "WEB-5"]
    assert board.splitlines()[0] == "board WEB 'Web Shop': 12 tickets"
    moved = await client.call_tool("move_ticket", {"slug": "WEB-2", "status": "In Progress", "version": 2})
    assert not moved.is_error
    assert moved.structured_content == {"version": 3}
    stale_move = await call_error(client, "move_ticket", slug="WEB-2", status="done", version=2)
    assert "changed since version 2 (now 3)" in stale_move and "status backlog→in_progress" in stale_move
    assert set(await list_all(client, 2, project="WEB", status=["todo", "in_progress"])) == {
        "WEB-2",
        "WEB-5",
        "WEB-6",
        "WEB-7",
    }

    # Commenting.
    commented = await call(client, "add_comment", slug="WEB-2", body="Reproduced on **Safari**.")
    assert commented.startswith("Commented on WEB-2 (comment ")
    detail = await call(client, "get_ticket", slug="WEB-2")
    assert "comments (1):" in detail
    assert "alice" in detail.split("comments (1):", 1)[1]
    assert "Reproduced on **Safari**." in detail

    # Deleting a ticket: refused without confirm, nothing gone; then deleted with its sub-tasks.
    refused = await call(client, "delete_ticket", slug=epic)
    assert refused.startswith("Not deleted.")
    assert "confirm=true" in refused
    assert "WEB-1 with 3 sub-tasks (WEB-2, WEB-3, WEB-4)" in refused
    assert len(await list_all(client, 100, project="WEB")) == 12
    deleted = await client.call_tool("delete_ticket", {"slug": epic, "confirm": True})
    assert not deleted.is_error
    assert deleted.structured_content == {"deleted": ["WEB-1", "WEB-2", "WEB-3", "WEB-4"]}
    assert "WEB-3 was deleted with its parent WEB-1" in await call_error(client, "get_ticket", slug="WEB-3")
    remaining = await list_all(client, 4, project="WEB")
    assert sorted(remaining, key=number) == [f"WEB-{i}" for i in range(5, 13)]

    # A project that holds tickets is not deleted, with or without confirm.
    kept = await call(client, "delete_project", project="WEB")
    assert "Not deleted" in kept
    assert "holds 8 tickets" in kept
    holding = await call_error(client, "delete_project", project="WEB", confirm=True)
    assert "still holds 8 tickets" in holding
    assert len(await list_all(client, 100, project="WEB")) == 8

    # Organizations and projects.
    organizations = await call(client, "list_organizations")
    assert organizations.startswith("local 'Local' id=")
    projects = await call(client, "list_projects")
    assert "INBOX 'Inbox' open=0 total=0" in projects
    assert "WEB 'Web Shop' open=8 total=8" in projects
    renamed = await call(client, "update_project", project="WEB", name="Web Store", description="The shop")
    assert renamed == "Updated project WEB 'Web Store'."
    assert "WEB 'Web Store' open=8 total=8" in await call(client, "list_projects", organization="local")

    # An empty project goes, once confirmed.
    await call(client, "create_project", name="Scratch pad", code="TMP")
    assert "Not deleted" in await call(client, "delete_project", project="TMP")
    assert (await call(client, "delete_project", project="TMP", confirm=True)).startswith("Deleted project TMP")
    assert "TMP" not in await call(client, "list_projects")


def audit_trail(location: Location) -> list[tuple[str, str, str | None]]:
    """(action, subject, client) of every event, oldest first."""
    return [(a, s, c) for a, s, c in table_rows(location, "SELECT action, subject, client FROM events ORDER BY id")]


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "protocol"), MODES)
async def test_the_audit_trail_names_the_client_that_made_each_change(
    server_env: dict[str, str], store_location: Location, mode: str, protocol: str
) -> None:
    with anyio.fail_after(TIMEOUT):
        async with stdio_client(server_env, mode, name="stdio-test") as client:
            assert client.protocol_version == protocol
            slug = await create(client, "Audited")
            await call(client, "update_ticket", slug=slug, priority="high")
            await call(client, "add_comment", slug=slug, body="noted")
            await call(client, "create_project", name="Audit trail", code="AUD")
    trail = audit_trail(store_location)
    startup = [("organization.created", "Local", None), ("project.created", "INBOX", None)]
    assert trail[:2] == startup  # the default workspace, made before any client spoke
    session = trail[2:]
    assert ("ticket.created", slug, "stdio-test") in session, session
    assert ("project.created", "AUD", "stdio-test") in session, session
    assert len(session) >= 4, session
    assert {client for _, _, client in session} == {"stdio-test"}, session


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "protocol"), MODES)
async def test_delete_ticket_keeps_the_ticket_when_the_user_does_not_accept_the_elicitation(
    server_env: dict[str, str], mode: str, protocol: str
) -> None:
    user = ScriptedUser(
        ElicitResult(action="decline"),
        ElicitResult(action="cancel"),
        ElicitResult(action="accept", content={"confirm": False}),
    )
    with anyio.fail_after(TIMEOUT):
        async with stdio_client(server_env, mode, elicitation_callback=user) as client:
            assert client.protocol_version == protocol
            slug = await create(client, "Keep me")
            await call(client, "add_comment", slug=slug, body="context")
            for _ in range(3):
                refused = await call(client, "delete_ticket", slug=slug)
                assert refused.startswith("Not deleted. The user declined."), refused
                assert f"This would delete {slug} with 1 comment." in refused
            assert (await call(client, "get_ticket", slug=slug)).startswith(f"{slug}: «Keep me»")
    assert user.questions == [f"Delete {slug} with 1 comment? This cannot be undone."] * 3


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "protocol"), MODES)
async def test_delete_ticket_deletes_the_ticket_when_the_user_accepts_the_elicitation(
    server_env: dict[str, str], mode: str, protocol: str
) -> None:
    user = ScriptedUser(ElicitResult(action="accept", content={"confirm": True}))
    with anyio.fail_after(TIMEOUT):
        async with stdio_client(server_env, mode, elicitation_callback=user) as client:
            assert client.protocol_version == protocol
            slug = await create(client, "Remove me")
            result = await client.call_tool("delete_ticket", {"slug": slug})
            assert not result.is_error
            assert result.structured_content == {"deleted": [slug]}
            assert f"{slug} was deleted (by" in await call_error(client, "get_ticket", slug=slug)
    assert user.questions == [f"Delete {slug}? This cannot be undone."]


def test_the_console_script_on_a_pipe_writes_only_json_rpc_to_stdout_and_no_banner(server_env: dict[str, str]) -> None:
    script = Path(sys.executable).with_name("tickets-mcp.exe" if sys.platform == "win32" else "tickets-mcp")
    env = server_env | {"TICKETS_LOG_LEVEL": "DEBUG"}  # logging on, and it must go to stderr
    with RawServer(env, command=[str(script)]) as server:
        server.initialize()
        assert "tools" in server.call("tools/list")["result"]
        assert not server.call_tool("get_workspace_context", {})["isError"]
        assert server.call_tool("get_ticket", {"slug": "NOPE-1"})["isError"]
        assert server.call("no/such/method")["error"]["code"] == -32601
        server.send_line(b"not json at all")  # logged, and the log must not reach stdout
        assert server.call("ping")["result"] == {}
        assert server.close() == 0
        stdout, stderr = server.stdout_lines, server.stderr
    assert len(stdout) == 6
    for line in stdout:
        assert line.endswith(b"\n")
        assert is_jsonrpc_message(json.loads(line.decode("utf-8"))), line
    assert "meant to be started by an MCP client" not in stderr
    assert "Invalid JSON" in stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_on_a_terminal_the_banner_goes_to_stderr_and_stdout_stays_empty(
    server_env: dict[str, str], store_location: Location
) -> None:
    import pty

    controller, terminal = pty.openpty()
    try:
        try:
            server = RawServer(server_env, stdin=terminal)
        finally:
            os.close(terminal)  # the child holds its own copy
        with server:
            os.write(controller, b"\x04")  # Ctrl+D at the start of a line: end of input
            assert server.close() == 0
            stdout, stderr = server.stdout_lines, server.stderr
    finally:
        os.close(controller)
    assert stdout == []
    assert "tickets-mcp" in stderr
    assert "meant to be started by an MCP client" in stderr
    assert str(store_location) in stderr
    assert "claude mcp add" in stderr


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "protocol"), MODES)
async def test_confirm_true_after_the_user_declined_asks_again_and_keeps_the_ticket(
    server_env: dict[str, str], mode: str, protocol: str
) -> None:
    user = ScriptedUser(ElicitResult(action="decline"), ElicitResult(action="decline"))
    with anyio.fail_after(TIMEOUT):
        async with stdio_client(server_env, mode, elicitation_callback=user) as client:
            assert client.protocol_version == protocol
            slug = await create(client, "Declined once")
            declined = await call(client, "delete_ticket", slug=slug)
            insisted = await call(client, "delete_ticket", slug=slug, confirm=True)
            kept = await call(client, "get_ticket", slug=slug)
    assert user.questions == [f"Delete {slug}? This cannot be undone."] * 2
    assert kept.startswith(f"{slug}: «Declined once»")
    for reply in (declined, insisted):
        assert reply.startswith("Not deleted. The user declined.") and "confirm" not in reply


def test_ctrl_c_with_calls_in_flight_exits_130_without_a_traceback(tmp_path: Path) -> None:
    """Ctrl-C while creates are queued: the server stops at once, says nothing on stderr (the SDK's
    streams breaking as it stops are the interrupt's echo) and exits 130, as a shell expects."""
    import signal
    import subprocess

    env = dict(os.environ, TICKETS_DB=str(tmp_path / "t.db"), HOME=str(tmp_path))
    server = subprocess.Popen(
        [sys.executable, "-m", "tickets_mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert server.stdin is not None and server.stdout is not None

    def send(message: dict[str, object]) -> None:
        assert server.stdin is not None
        server.stdin.write((json.dumps(message) + "\n").encode())
        server.stdin.flush()

    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello})
    server.stdout.readline()
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    for n in range(1, 200):
        call = {"name": "create_ticket", "arguments": {"title": f"Queued {n}"}}
        send({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": call})
    server.stdout.readline()  # the first create is answered: the rest are in flight or queued
    server.send_signal(signal.SIGINT)
    _, stderr = server.communicate(timeout=30)
    assert b"Traceback" not in stderr, stderr.decode()
    assert server.returncode == 130


@pytest.mark.anyio
async def test_open_and_closed_filter_by_their_group_of_statuses(server_env: dict[str, str]) -> None:
    """The workspace context counts `open=`; a model then asks for status=open and must get those."""
    with anyio.fail_after(TIMEOUT):
        async with stdio_client(server_env, "auto") as client:
            slugs = {status: await create(client, f"A {status} ticket", status=status) for status in STATUS_NAMES}
            opened = set(await list_all(client, 50, status="open"))
            closed = set(await list_all(client, 50, status=["closed"]))
            both = set(await list_all(client, 50, status="open, Closed"))
            schema = next(t for t in (await client.list_tools()).tools if t.name == "list_tickets").input_schema
    open_names = {"backlog", "todo", "in_progress", "in_review"}
    assert opened == {slug for status, slug in slugs.items() if status in open_names}
    assert closed == {slugs["done"], slugs["canceled"]}
    assert both == set(slugs.values())
    assert {"open", "closed"} <= set(json.dumps(schema["properties"]["status"]).replace('"', " ").split())


STATUS_NAMES = ("backlog", "todo", "in_progress", "in_review", "done", "canceled")
