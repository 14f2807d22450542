"""MCP over HTTP: a real `tickets-mcp serve` driven by the SDK's streamable HTTP and SSE clients and by raw
JSON-RPC; tokens made with the admin CLI; per-token tool lists; SIGTERM while writes are in flight."""

from __future__ import annotations

import json
import re
import signal
import socket
import sys
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import anyio
import httpx2
import pytest
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import MCPServer

from mcp import Client
from tests.fixtures.elicitation import DECLINE, ScriptedUser
from tests.fixtures.http_server import ServerProcess, bearer, running_server
from tests.fixtures.stores import Location, location_arg, table_rows
from tests.fixtures.tool_calls import EVERY_TOOL, READ_TOOLS, TOOLS, call, call_error, slug_of
from tickets_mcp.cli.main import main
from tickets_mcp.cli.workspace import open_local_store
from tickets_mcp.config import Settings
from tickets_mcp.core import admin
from tickets_mcp.core.local_backend import LocalBackend
from tickets_mcp.core.tracker import Principal
from tickets_mcp.domain import Role
from tickets_mcp.mcp.server import AppState, create_server
from tickets_mcp.mcp.tools import TOOL_ACTIONS

MODERN = "2026-07-28"
CLIENT_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[ServerProcess]:
    """One server for the module's tests on each store; each test makes the tokens it needs."""
    with running_server(module_store_location) as process:
        yield process


@pytest.fixture(scope="module")
def owner_token(server: ServerProcess) -> str:
    return server.create_token("--user", "alice", "--name", "owner")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def http_client(url: str, headers: dict[str, str], **kwargs: Any) -> AsyncGenerator[Client]:
    """The SDK client over streamable HTTP, sending `headers` (the token) with every request."""
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30.0, verify=False) as http,
        Client(streamable_http_client(url, http_client=http), **kwargs) as client,
    ):
        yield client


async def tool_names(url: str, token: str) -> set[str]:
    async with http_client(url, bearer(token)) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


def modern_request(token: str, method: str, params: dict[str, Any], request_id: int = 1) -> dict[str, Any]:
    """Keyword arguments for httpx2 to send one stateless 2026-07-28 JSON-RPC request."""
    headers = {
        **bearer(token),
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": method,
    }
    if method == "tools/call":
        headers["Mcp-Name"] = params["name"]
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**params, "_meta": CLIENT_META}}
    return {"headers": headers, "json": body}


def response_message(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC response in a JSON body or in the `data:` lines of an SSE body."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:"):
                message = cast(dict[str, Any], json.loads(line[5:]))
                if "result" in message or "error" in message:
                    return message
        raise AssertionError(f"no response in the event stream: {response.text[:500]}")
    return cast(dict[str, Any], response.json())


def stored_titles(db: Location) -> dict[str, str]:
    """slug -> title of every ticket stored, read with the plain driver."""
    rows = table_rows(db, "SELECT p.code, t.number, t.title FROM tickets t JOIN projects p ON p.id = t.project_id")
    return {f"{code}-{number}": title for code, number, title in rows}


# The SDK clients on the real server


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"], ids=["2026-07-28", "legacy-handshake"])
async def test_sdk_client_over_streamable_http_creates_and_reads_tickets(
    server: ServerProcess, owner_token: str, mode: str
) -> None:
    async with http_client(server.mcp_url, bearer(owner_token), mode=mode) as client:
        slug = slug_of(await call(client, "create_ticket", title=f"Login fails ({mode})", priority="high"))
        detail = await call(client, "get_ticket", slug=slug)
        assert f"Login fails ({mode})" in detail
        assert re.search(r"\nhistory \(1\):\nby alice token=owner client=mcp:\n \S+ \S+ created$", detail), detail
        assert slug in await call(client, "list_tickets", query=mode)
    assert stored_titles(server.db)[slug] == f"Login fails ({mode})"


@pytest.mark.slow
@pytest.mark.anyio
async def test_legacy_sse_client_creates_and_reads_tickets(server: ServerProcess, owner_token: str) -> None:
    async with Client(sse_client(f"{server.url}/sse", headers=bearer(owner_token)), mode="legacy") as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
        slug = slug_of(await call(client, "create_ticket", title="Filed over SSE"))
        assert "Filed over SSE" in await call(client, "get_ticket", slug=slug)


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.parametrize("header", ["X-API-Key", "PRIVATE-TOKEN"])
async def test_token_in_an_api_key_header_is_accepted_like_a_bearer_token(
    server: ServerProcess, owner_token: str, header: str
) -> None:
    async with http_client(server.mcp_url, {header: owner_token}) as client:
        assert "INBOX" in await call(client, "list_projects")


# Authentication


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/mcp", "/sse"])
def test_request_without_a_token_gets_401_naming_both_ways_in(server: ServerProcess, path: str) -> None:
    # The challenge names the resource metadata (RFC 9728), which names this server's own authorization
    # server: a client with no token signs in through OAuth (tests/http/test_oauth.py has the flow).
    with httpx2.Client(base_url=server.url, verify=False) as http:
        if path == "/mcp":
            refused = http.post(path, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        else:
            refused = http.get(path)
        metadata = http.get("/.well-known/oauth-protected-resource/mcp")
    assert refused.status_code == 401
    named = f'resource_metadata="{server.url}/.well-known/oauth-protected-resource/mcp"'
    assert refused.headers["www-authenticate"] == f'Bearer realm="tickets-mcp", {named}'
    assert "tickets-mcp token create --user NAME" in refused.json()["message"]
    assert metadata.status_code == 200 and metadata.json()["authorization_servers"] == [server.url]


@pytest.mark.slow
def test_unknown_or_malformed_tokens_get_401(server: ServerProcess) -> None:
    with httpx2.Client(base_url=server.url, verify=False) as http:
        for token in ("pk_" + "x" * 43, "not-a-token"):
            assert http.post("/mcp", **modern_request(token, "tools/list", {})).status_code == 401


@pytest.mark.slow
def test_revoked_token_is_refused_on_its_next_request(server: ServerProcess) -> None:
    token = server.create_token("--user", "alice", "--name", "soon revoked")
    with httpx2.Client(base_url=server.url, verify=False) as http:
        before = http.post("/mcp", **modern_request(token, "tools/list", {}))
        assert before.status_code == 200
        assert len(response_message(before)["result"]["tools"]) == len(TOOLS)

        server.revoke_token(token)

        after = http.post("/mcp", **modern_request(token, "tools/list", {}))
    assert after.status_code == 401
    assert "invalid_token" in after.headers["www-authenticate"]


# What each token sees and may do


@pytest.mark.slow
@pytest.mark.anyio
async def test_each_kind_of_token_is_shown_only_the_tools_it_may_use(server: ServerProcess, owner_token: str) -> None:
    read_key = server.create_token(
        "--kind", "organization", "--user", "alice", "--organization", "local", "--scopes", "tickets:read"
    )
    project_token = server.create_token("--kind", "project", "--user", "alice", "--project", "INBOX")

    assert await tool_names(server.mcp_url, owner_token) == TOOLS
    assert await tool_names(server.mcp_url, read_key) == READ_TOOLS
    assert await tool_names(server.mcp_url, project_token) == {"create_ticket"}


@pytest.mark.slow
@pytest.mark.anyio
async def test_read_only_key_calling_create_ticket_gets_a_tool_error_naming_the_scope_and_stores_nothing(
    server: ServerProcess, owner_token: str
) -> None:
    read_key = server.create_token(
        "--kind", "organization", "--user", "alice", "--organization", "local", "--scopes", "tickets:read"
    )
    # A ticket of its own to read: under xdist this test may be the first of its module on a worker.
    async with http_client(server.mcp_url, bearer(owner_token)) as owner:
        await call(owner, "create_ticket", title="Readable by the key")
    before = stored_titles(server.db)
    async with http_client(server.mcp_url, bearer(read_key)) as client:
        error = await call_error(client, "create_ticket", title="Should not exist")
        assert "tickets:write" in error
        assert "INBOX" in await call(client, "list_tickets")
    assert stored_titles(server.db) == before


@pytest.mark.slow
@pytest.mark.anyio
async def test_project_token_files_tickets_in_its_project_and_nothing_else(server: ServerProcess) -> None:
    project_token = server.create_token("--kind", "project", "--user", "alice", "--project", "INBOX")
    async with http_client(server.mcp_url, bearer(project_token)) as client:
        slug = slug_of(await call(client, "create_ticket", title="From CI"))
        assert slug.startswith("INBOX-")
        assert "project token" in await call_error(client, "get_ticket", slug=slug)


# Tool lists computed in memory for each role (no network)


@asynccontextmanager
async def acting_as(db: Location, role: Role | None) -> AsyncGenerator[Client]:
    """An in-memory client whose calls carry bob's personal token; bob has `role` in Local (None: no member)."""
    store, _ = await open_local_store(Settings(db=db, username="alice"))
    try:
        bob = await admin.add_user(store, "bob")
        if role is not None:
            await admin.set_member(store, "local", "bob", role)
        principal = Principal(user_id=bob.id, username="bob", token_id=1)

        @asynccontextmanager
        async def lifespan(_: MCPServer[AppState]) -> AsyncGenerator[AppState]:
            yield AppState(tracker_of=LocalBackend(store, principal).tracker, principal_of_request=lambda: principal)

        async with Client(create_server(lifespan)) as client:
            yield client
    finally:
        await store.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("role", "hidden"),
    [
        (Role.OWNER, set[str]()),
        (Role.ADMIN, set[str]()),
        (Role.MEMBER, {"create_project", "update_project", "delete_project"}),
        (
            Role.REPORTER,
            {"create_project", "update_project", "delete_project", "update_ticket", "move_ticket", "delete_ticket"},
        ),
        (None, set(TOOLS)),
    ],
)
async def test_personal_token_is_shown_the_tools_its_role_allows(
    store_location: Location, role: Role | None, hidden: set[str]
) -> None:
    async with acting_as(store_location, role) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS - hidden


@pytest.mark.anyio
async def test_a_hidden_tool_called_anyway_is_refused_as_the_tracker_refuses_it(store_location: Location) -> None:
    async with acting_as(store_location, Role.REPORTER) as client:
        slug = slug_of(await call(client, "create_ticket", title="Reported"))
        assert "may not change tickets" in await call_error(client, "move_ticket", slug=slug, status="done")


def test_every_tool_names_the_action_it_needs() -> None:
    assert set(TOOL_ACTIONS) == EVERY_TOOL


# The command


def test_serve_without_fastapi_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)  # what an install without the serve extra looks like
    monkeypatch.delitem(sys.modules, "tickets_mcp.http.app", raising=False)
    assert main(["--db", str(db_path), "serve"]) == 2
    assert 'pip install "tickets-mcp[serve]"' in capsys.readouterr().err


def test_serve_on_a_port_in_use_says_so(capsys: pytest.CaptureFixture[str], store_location: Location) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["--db", location_arg(store_location), "serve", "--port", str(taken.getsockname()[1])]) == 2
    assert "Cannot listen on 127.0.0.1:" in capsys.readouterr().err


@pytest.mark.anyio
async def test_accepted_connections_send_small_writes_at_once(anyio_backend: str) -> None:
    # asyncio turns Nagle's algorithm off only when the listening socket says IPPROTO_TCP; with it
    # on, each streamed reply (headers, event, end of stream) waited 40 ms for a delayed ACK.
    if anyio_backend != "asyncio":
        pytest.skip("uvicorn serves on asyncio")
    import asyncio

    from tickets_mcp.http.app import bind

    nodelay: list[int] = []

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        nodelay.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    listening = bind("127.0.0.1", 0)
    server = await asyncio.start_server(accepted, sock=listening)
    async with server:
        reader, writer = await asyncio.open_connection(*listening.getsockname()[:2])
        await reader.read()
        writer.close()
    assert nodelay and nodelay[0] != 0


# Shutdown


@pytest.mark.slow
@pytest.mark.anyio
async def test_sigterm_while_creates_are_in_flight_loses_no_acknowledged_create(store_location: Location) -> None:
    workers, acks_before_sigterm = 8, 40
    acknowledged: dict[str, str] = {}  # slug -> title
    failures: list[str] = []
    enough = anyio.Event()
    at_signal = 0  # acknowledged when SIGTERM was sent
    with running_server(store_location) as server:
        token = server.create_token("--user", "alice")

        async def create_until_refused(worker: int) -> None:
            async with httpx2.AsyncClient(base_url=server.url, timeout=30.0, verify=False) as http:
                for n in range(10_000):
                    title = f"worker {worker} ticket {n}"
                    request = modern_request(
                        token, "tools/call", {"name": "create_ticket", "arguments": {"title": title}}
                    )
                    try:
                        response = await http.post("/mcp", **request)
                    except httpx2.TransportError:
                        return  # the server has stopped taking requests
                    if response.status_code != 200:
                        failures.append(f"{response.status_code}: {response.text[:200]}")
                        return
                    result = response_message(response)["result"]
                    if result.get("isError"):
                        failures.append(json.dumps(result)[:200])
                        return
                    acknowledged[result["structuredContent"]["slug"]] = title
                    if len(acknowledged) >= acks_before_sigterm:
                        enough.set()

        async with anyio.create_task_group() as group:
            for worker in range(workers):
                group.start_soon(create_until_refused, worker)
            await enough.wait()
            at_signal = len(acknowledged)
            server.process.send_signal(signal.SIGTERM)
        code = server.stop()

    assert code in (0, -signal.SIGTERM), server.stderr
    assert failures == [], server.stderr
    assert "Traceback" not in server.stderr
    stored = stored_titles(server.db)
    lost = {slug: title for slug, title in acknowledged.items() if stored.get(slug) != title}
    assert lost == {}
    assert len(acknowledged) > at_signal, "the creates in flight at SIGTERM should have been answered"


# Confirmation of destructive tools over HTTP


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["streamable-2026-07-28", "streamable-legacy", "sse-legacy"])
async def test_confirm_true_after_the_user_declined_asks_again_and_deletes_nothing_over_http(
    server: ServerProcess, owner_token: str, transport: str
) -> None:
    user = ScriptedUser(DECLINE, DECLINE)
    if transport == "sse-legacy":
        connection = Client(sse_client(f"{server.url}/sse", headers=bearer(owner_token)), mode="legacy",
                            elicitation_callback=user)  # fmt: skip
    else:
        mode = "legacy" if transport == "streamable-legacy" else "auto"
        connection = http_client(server.mcp_url, bearer(owner_token), mode=mode, elicitation_callback=user)
    async with connection as client:
        slug = slug_of(await call(client, "create_ticket", title=f"Declined over {transport}"))
        declined = await call(client, "delete_ticket", slug=slug)
        insisted = await call(client, "delete_ticket", slug=slug, confirm=True)
    assert user.questions == [f"Delete {slug}? This cannot be undone."] * 2
    assert stored_titles(server.db)[slug] == f"Declined over {transport}"
    for reply in (declined, insisted):
        assert reply.startswith("Not deleted. The user declined.") and "confirm" not in reply
