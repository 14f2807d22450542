"""A PostgreSQL database that goes away while `serve` runs: every front end answers 503 with a short
Retry-After in its own error shape, soon, instead of a 500 after the pool's 30 s wait."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.http_server import bearer
from tests.fixtures.postgres import create_database, drop_database, server_url
from tickets_mcp.stores.location import PostgresUrl

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
SOON_S = 15  # well under the pool's default 30 s wait for a connection


@pytest.fixture(scope="module")
def gone() -> Iterator[tuple[AppServer, str]]:
    """A server started on a database of its own, with a token made, then the database dropped."""
    url = create_database(server_url())
    try:
        with serving_app(PostgresUrl(url)) as server:
            token = server.create_token("--user", "alice")
            drop_database(url)
            yield server, token
    finally:
        drop_database(url)


@pytest.mark.parametrize(
    ("path", "shaped"),
    [("/api/v1/native/tickets", "message"), ("/api/v1/projects/prj-x", "errors")],  # native; Terraform's JSON:API
)
def test_a_rest_request_gets_a_503_soon_in_its_dialects_shape(
    gone: tuple[AppServer, str], path: str, shaped: str
) -> None:
    server, token = gone
    with server.client(headers=bearer(token)) as client:
        started = time.monotonic()
        answered = client.get(path)
    assert time.monotonic() - started < SOON_S
    assert answered.status_code == 503, answered.text
    assert 1 <= int(answered.headers["retry-after"]) <= 30
    assert shaped in answered.json() and "PostgreSQL" in answered.text


def test_an_mcp_request_gets_a_503_soon(gone: tuple[AppServer, str]) -> None:
    server, token = gone
    headers = {**bearer(token), "Accept": "application/json, text/event-stream"}
    with server.client(headers=headers) as client:
        started = time.monotonic()
        answered = client.post("/mcp", json=INITIALIZE)
    assert time.monotonic() - started < SOON_S
    assert answered.status_code == 503, answered.text
    assert 1 <= int(answered.headers["retry-after"]) <= 30
    assert "PostgreSQL" in answered.json()["message"]
