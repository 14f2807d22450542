"""Seed 003 allows `?private_token=`; tokens in URLs leak into logs, so it is refused unless allowed."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from tests.http_server import running_server

pytestmark = pytest.mark.slow


def test_a_token_in_the_query_string_is_refused_by_default_with_a_message_naming_the_header(tmp_path: Path) -> None:
    with running_server(tmp_path / "tracker.db") as server:
        token = server.create_token("--user", "alice")
        response = httpx2.get(f"{server.url}/api/v1/mcp/organizations", params={"private_token": token}, timeout=30)
        assert response.status_code == 401
        assert "PRIVATE-TOKEN" in response.json()["message"]
        assert token not in response.text
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_query_string_token_works_when_the_server_allows_it(tmp_path: Path) -> None:
    with running_server(tmp_path / "tracker.db", "--allow-query-token") as server:
        token = server.create_token("--user", "alice")
        response = httpx2.get(f"{server.url}/api/v1/mcp/organizations", params={"private_token": token}, timeout=30)
        assert response.status_code == 200
        assert response.json()["organizations"][0]["slug"] == "local"
