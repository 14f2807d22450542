"""Operating `tickets-mcp serve`: liveness, readiness, Prometheus metrics and JSON log lines, on real servers."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families

from mcp import Client
from tests.fixtures.http_server import ServerProcess, bearer, running_server
from tests.fixtures.stdio_client import RawServer
from tests.fixtures.tool_calls import call, call_error, connect
from tickets_mcp.mcp.server import UNKNOWN_TOOL, ToolOutcome, TrackerServer

# A proxy on the same machine says who its client was; uvicorn believes it from loopback peers only.
FROM_AFAR = {"X-Forwarded-For": "203.0.113.7"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server with JSON logs at DEBUG, the most a server logs, shared by the module's tests."""
    db = tmp_path_factory.mktemp("ops") / "tracker.db"
    with running_server(db, env={"TICKETS_LOG_FORMAT": "json", "TICKETS_LOG_LEVEL": "DEBUG"}) as process:
        yield process


@pytest.fixture(scope="module")
def token(live: ServerProcess) -> str:
    return live.create_token("--user", "alice", "--name", "ops")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def mcp_client(url: str, token: str) -> AsyncGenerator[Client]:
    async with (
        httpx2.AsyncClient(headers=bearer(token), timeout=30.0) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def scrape(server: ServerProcess, **kwargs: Any) -> Samples:
    response = httpx2.get(f"{server.url}/metrics", timeout=10, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


# Liveness and readiness


@pytest.mark.slow
def test_liveness_and_readiness_answer_without_a_token_and_whatever_host_a_load_balancer_sends(
    live: ServerProcess,
) -> None:
    for headers in ({}, {"Host": "10.1.2.3:8740"}, {"Host": "lb.internal", "Origin": "http://lb.internal"}):
        health = httpx2.get(f"{live.url}/healthz", headers=headers, timeout=10)
        assert (health.status_code, health.text) == (200, "ok")
        ready = httpx2.get(f"{live.url}/readyz", headers=headers, timeout=10)
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert httpx2.head(f"{live.url}/readyz", headers={"Host": "lb.internal"}, timeout=10).status_code == 200


@pytest.mark.slow
def test_every_other_route_keeps_its_dns_rebinding_protection(live: ServerProcess, token: str) -> None:
    stranger = {"Host": "attacker.example"}
    assert httpx2.post(f"{live.url}/healthz", headers=stranger, timeout=10).status_code == 421
    assert httpx2.get(f"{live.url}/metrics", headers=stranger, timeout=10).status_code == 421
    assert httpx2.get(f"{live.url}/api/v1/projects/INBOX", headers={**stranger, **bearer(token)}).status_code == 421


@pytest.mark.slow
def test_readiness_fails_with_a_reason_while_the_database_file_is_gone_and_recovers_when_it_is_back(
    tmp_path: Path,
) -> None:
    db = tmp_path / "tracker.db"
    with running_server(db) as server:
        assert httpx2.get(f"{server.url}/readyz", timeout=10).status_code == 200
        db.rename(tmp_path / "elsewhere.db")  # the server still has the old file open; new writes would be lost
        ready = httpx2.get(f"{server.url}/readyz", timeout=10)
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable"
        assert "removed or replaced" in body["reason"]
        assert str(tmp_path) not in ready.text
        assert httpx2.get(f"{server.url}/healthz", timeout=10).status_code == 200  # alive: no restart loop
        (tmp_path / "elsewhere.db").rename(db)
        assert httpx2.get(f"{server.url}/readyz", timeout=10).status_code == 200
    assert "Not ready: The database file was removed or replaced" in server.stderr


# Metrics


@pytest.mark.slow
@pytest.mark.anyio
async def test_metrics_count_tool_calls_and_rest_requests_by_tool_and_route_template(
    live: ServerProcess, token: str
) -> None:
    before = scrape(live)
    async with mcp_client(live.mcp_url, token) as client:
        await call(client, "get_workspace_context")
        await call(client, "get_workspace_context")
        await call(client, "create_ticket", title="Counted")
        await call_error(client, "get_ticket", slug="INBOX-9999")
        await call_error(client, "no_such_tool")
    async with httpx2.AsyncClient(base_url=live.url, timeout=30) as http:
        for _ in range(3):
            assert (await http.get("/api/v1/ext/orgs/local/tickets", headers=bearer(token))).status_code == 200
        assert (await http.get("/api/v1/ext/orgs/local/tickets")).status_code == 401
        assert (await http.get("/api/v1/ext/orgs/nope/tickets", headers=bearer(token))).status_code == 404
        assert (await http.get("/no/such/path")).status_code == 404
        assert (await http.get("/healthz", headers={"Host": "lb.internal"})).status_code == 200
        assert (await http.get("/api/v1/projects/INBOX", headers={"Host": "attacker.example"})).status_code == 421
    after = scrape(live)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("tickets_mcp_tool_calls_total", tool="get_workspace_context") == 2
    assert grew("tickets_mcp_tool_calls_total", tool="create_ticket") == 1
    assert grew("tickets_mcp_tool_calls_total", tool="get_ticket") == 1
    assert grew("tickets_mcp_tool_errors_total", tool="get_ticket", kind="tool") == 1
    assert grew("tickets_mcp_tool_errors_total", tool="get_workspace_context", kind="tool") == 0
    assert grew("tickets_mcp_tool_calls_total", tool=UNKNOWN_TOOL) == 1  # the name a caller made up is not a label
    assert not any(labels and ("tool", "no_such_tool") in labels for _, labels in after)
    assert grew("tickets_mcp_tool_duration_seconds_count", tool="get_workspace_context") == 2
    assert value(after, "tickets_mcp_tool_duration_seconds_bucket", tool="create_ticket", le="+Inf") >= 1
    assert value(after, "tickets_mcp_tool_calls_total", tool="delete_project") == 0  # every tool has a series

    project = "/api/v1/ext/orgs/{org}/tickets"
    assert grew("tracker_http_requests_total", route=project, method="GET", status="2xx") == 3
    assert grew("tracker_http_requests_total", route=project, method="GET", status="4xx") == 2
    assert grew("tracker_http_request_duration_seconds_count", route=project, method="GET") == 5
    assert grew("tracker_http_requests_total", route="/mcp", method="POST", status="2xx") >= 5
    assert grew("tracker_http_requests_total", route="(unmatched)", method="GET", status="4xx") == 1
    assert grew("tracker_http_requests_total", route="(refused)", method="GET", status="4xx") == 1
    assert grew("tracker_http_requests_total", route="/healthz", method="GET", status="2xx") == 1
    routes = {dict(labels).get("route") for name, labels in after if name == "tracker_http_requests_total"}
    assert not any(route and ("local" in route or "nope" in route or "/no/such" in route) for route in routes)

    assert value(after, "tracker_store_connections_max") >= 1
    assert value(after, "tracker_store_connections", state="in_use") == 0  # nothing in flight during a scrape
    assert value(after, "tracker_store_connections", state="idle") >= 1
    assert ("tracker_store_connection_waiters", frozenset()) in after


@pytest.mark.slow
def test_metrics_answer_loopback_clients_and_token_holders_and_refuse_anyone_else(
    live: ServerProcess, token: str
) -> None:
    scrape(live)
    scrape(live, headers={**FROM_AFAR, **bearer(token)})
    scrape(live, headers={**FROM_AFAR, "X-API-Key": token})
    refused = httpx2.get(f"{live.url}/metrics", headers=FROM_AFAR, timeout=10)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert "tracker_" not in refused.text
    bad = httpx2.get(f"{live.url}/metrics", headers={**FROM_AFAR, **bearer("pk_" + "x" * 43)}, timeout=10)
    assert bad.status_code == 401


@pytest.mark.slow
def test_metrics_public_lets_anyone_read_them(tmp_path: Path) -> None:
    with running_server(tmp_path / "tracker.db", "--metrics-public") as server:
        assert "tracker_http_requests_total" in str(scrape(server, headers=FROM_AFAR))


@pytest.mark.anyio
async def test_tool_calls_are_counted_where_they_are_dispatched_on_any_transport(server: TrackerServer) -> None:
    seen: list[tuple[str, ToolOutcome]] = []
    server.observe_tool_call = lambda tool, seconds, outcome: seen.append((tool, outcome))
    async with connect(server) as client:  # in memory, as stdio dispatches
        await call(client, "list_projects")
        await call_error(client, "get_ticket", slug="INBOX-404")
        await call_error(client, "list_projects", colour="red")
        await call_error(client, "made_up")
    assert seen == [
        ("list_projects", "ok"),
        ("get_ticket", "tool_error"),
        ("list_projects", "tool_error"),
        (UNKNOWN_TOOL, "tool_error"),
    ]


@pytest.mark.slow
def test_the_stdio_server_never_imports_the_http_stack_or_prometheus(server_env: dict[str, str]) -> None:
    with RawServer(server_env, command=(sys.executable, "-X", "importtime", "-m", "tickets_mcp")) as stdio:
        stdio.initialize()
        assert not stdio.call_tool("get_workspace_context", {}).get("isError")
        stdio.close()
    imported = {
        line.rsplit("|", 1)[-1].strip() for line in stdio.stderr.splitlines() if line.startswith("import time:")
    }
    assert "tickets_mcp.mcp.tools" in imported  # the listing is real
    # uvicorn and starlette come with the SDK itself (its HTTP transports), so they are not ours to keep out.
    serve_only = {"prometheus_client", "fastapi", "tickets_mcp.http.app", "tickets_mcp.http.metrics"}
    assert not serve_only & imported


# Logs


@pytest.mark.slow
@pytest.mark.anyio
async def test_json_log_lines_parse_and_never_carry_a_token(live: ServerProcess) -> None:
    secret = live.create_token("--user", "alice", "--name", "logged")
    async with mcp_client(live.mcp_url, secret) as client:
        await call(client, "list_projects")
    async with httpx2.AsyncClient(base_url=live.url, timeout=30) as http:
        tickets = "/api/v1/ext/orgs/local/tickets"
        assert (await http.get(tickets, headers=bearer(secret))).status_code == 200
        assert (await http.get(tickets, headers={"PRIVATE-TOKEN": secret})).status_code == 200
        # Refused (query tokens are off by default), but the URL reaches the access log all the same.
        assert (await http.get(tickets, params={"private_token": secret})).status_code == 401
        assert (await http.get("/metrics", headers={**FROM_AFAR, **bearer(secret)})).status_code == 200
    lines = [line for line in live.stderr.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    access = [entry for entry in entries if entry["logger"] == "uvicorn.access"]
    assert {"client", "method", "path", "status"} <= access[-1].keys()
    assert any(entry["path"] == "/api/v1/ext/orgs/local/tickets?private_token=***" for entry in access)
    assert any(entry["logger"] == "tickets_mcp" and "serving http://" in entry["message"] for entry in entries)
    assert secret not in live.stderr
    assert secret.partition("_")[2][:12] not in live.stderr  # no part of it either
