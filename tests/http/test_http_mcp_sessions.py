"""Session-era MCP sessions on a real `tickets-mcp serve`, opened with raw `initialize` calls: a token may
hold only so many (streamable HTTP and legacy SSE together), the one over gets a 429 saying what to do,
another token still gets in, and a session idle past the timeout is closed and frees its place.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx2
import pytest

from tests.fixtures.http_server import ServerProcess, bearer, running_server
from tests.fixtures.stores import Location

PER_TOKEN = 3
IDLE_SECONDS = 1
HANDSHAKE = "2025-11-25"
MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[ServerProcess]:
    """PER_TOKEN sessions per token; idle sessions outlive every test here."""
    env = {"TICKETS_MCP_SESSIONS_PER_TOKEN": str(PER_TOKEN)}
    with running_server(module_store_location, env=env) as process:
        yield process


@pytest.fixture(scope="module")
def idle_server(module_store_location: Location) -> Iterator[ServerProcess]:
    """One session per token, closed after IDLE_SECONDS without a request."""
    env = {"TICKETS_MCP_SESSIONS_PER_TOKEN": "1", "TICKETS_MCP_SESSION_IDLE_TIMEOUT": str(IDLE_SECONDS)}
    with running_server(module_store_location, env=env) as process:
        yield process


def initialize(server: ServerProcess, token: str, request_id: str | int = 1) -> httpx2.Response:
    """A session-era `initialize`: the request that opens a session."""
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {"protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    return httpx2.post(server.mcp_url, json=body, headers={**bearer(token), "Accept": ACCEPT}, timeout=10.0)


def open_session(server: ServerProcess, token: str) -> str:
    response = initialize(server, token)
    assert response.status_code == 200, response.text
    return response.headers["mcp-session-id"]


def ping(server: ServerProcess, token: str, session: str) -> httpx2.Response:
    headers = {**bearer(token), "Accept": ACCEPT, "Mcp-Session-Id": session, "MCP-Protocol-Version": HANDSHAKE}
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    return httpx2.post(server.mcp_url, json=body, headers=headers, timeout=10.0)


def end_session(server: ServerProcess, token: str, session: str) -> None:
    headers = {**bearer(token), "Mcp-Session-Id": session, "MCP-Protocol-Version": HANDSHAKE}
    assert httpx2.delete(server.mcp_url, headers=headers, timeout=10.0).status_code < 400


def stateless_tools_list(server: ServerProcess, token: str) -> httpx2.Response:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    headers = {**bearer(token), "Accept": ACCEPT, "MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list"}
    body = {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": meta}}
    return httpx2.post(server.mcp_url, json=body, headers=headers, timeout=10.0)


def assert_refused_over_quota(response: httpx2.Response, limit: int, request_id: str | int | None) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["id"] == request_id  # the client matches the error to its request
    error = response.json()["error"]
    message = error["message"]
    assert f"{limit} open MCP sessions" in message
    assert "TICKETS_MCP_SESSIONS_PER_TOKEN" in message
    assert "DELETE" in message and "stateless" in message and MODERN in message


def test_a_token_over_its_session_quota_is_refused_with_what_to_do_and_another_token_still_gets_in(
    server: ServerProcess,
) -> None:
    server.cli("user", "add", "quota-other")
    server.cli("org", "add", "--owner", "quota-other", "Quota Other")
    greedy = server.create_token("--user", "alice", "--name", "greedy")
    other = server.create_token("--user", "quota-other", "--name", "other")
    sessions = [open_session(server, greedy) for _ in range(PER_TOKEN)]

    assert_refused_over_quota(initialize(server, greedy), PER_TOKEN, 1)
    assert_refused_over_quota(initialize(server, greedy, "init-7"), PER_TOKEN, "init-7")
    assert open_session(server, other)  # another organization's token is not held up
    assert stateless_tools_list(server, greedy).status_code == 200  # the stateless era needs no session
    assert all(ping(server, greedy, session).status_code == 200 for session in sessions)

    end_session(server, greedy, sessions[0])
    assert open_session(server, greedy)  # an ended session frees its place


def test_legacy_sse_streams_count_against_the_same_quota(server: ServerProcess) -> None:
    token = server.create_token("--user", "alice", "--name", "sse")
    open_session(server, token)
    with ExitStack() as stack, httpx2.Client(headers=bearer(token), timeout=10.0) as client:
        for _ in range(PER_TOKEN - 1):
            stream = stack.enter_context(client.stream("GET", f"{server.url}/sse"))
            assert stream.status_code == 200
        over = client.get(f"{server.url}/sse")
        assert_refused_over_quota(over, PER_TOKEN, None)  # a GET carries no request id


def test_an_idle_session_is_closed_after_the_idle_timeout_and_frees_its_place(idle_server: ServerProcess) -> None:
    token = idle_server.create_token("--user", "alice", "--name", "idle")
    session = open_session(idle_server, token)
    # Refused initialize calls do not touch the open session, so they can poll for its place coming free.
    deadline = time.monotonic() + 15.0
    while (attempt := initialize(idle_server, token)).status_code == 429:
        assert time.monotonic() < deadline, "the idle session still holds the token's only place"
        time.sleep(0.1)  # polling interval
    assert attempt.status_code == 200, attempt.text
    assert ping(idle_server, token, session).status_code == 404  # the idle one is gone, as the SDK says
