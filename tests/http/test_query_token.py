"""Seed 003 allows `?private_token=`; tokens in URLs leak into logs, so it is refused unless allowed."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from tests.fixtures.http_server import running_server
from tickets_mcp.logs import redact

pytestmark = pytest.mark.slow


def test_a_token_in_the_query_string_is_refused_by_default_with_a_challenge_naming_the_header(tmp_path: Path) -> None:
    with running_server(tmp_path / "tracker.db") as server:
        token = server.create_token("--user", "alice")
        response = httpx2.get(f"{server.url}/api/v1/mcp/organizations", params={"private_token": token}, timeout=30)
        assert (response.status_code, response.json()) == (401, {"message": "401 Unauthorized"})
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="tickets-mcp", error="invalid_request"')
        assert "PRIVATE-TOKEN" in challenge and token not in challenge


def test_the_query_string_token_works_when_the_server_allows_it(tmp_path: Path) -> None:
    with running_server(tmp_path / "tracker.db", "--allow-query-token") as server:
        token = server.create_token("--user", "alice")
        response = httpx2.get(f"{server.url}/api/v1/mcp/organizations", params={"private_token": token}, timeout=30)
        assert response.status_code == 200
        assert response.json()["organizations"][0]["slug"] == "local"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_percent_encoded_token_in_the_url_never_reaches_the_log(tmp_path: Path, log_format: str) -> None:
    logging = {"TICKETS_LOG_LEVEL": "DEBUG", "TICKETS_LOG_FORMAT": log_format}
    with running_server(tmp_path / "tracker.db", "--allow-query-token", env=logging) as server:
        token = server.create_token("--user", "alice")
        encoded = token.replace("_", "%5F")
        twice = token.replace("_", "%255F")
        urls = [
            f"{server.url}/api/v1/mcp/organizations?private%5Ftoken={encoded}",
            f"{server.url}/api/v1/mcp/organizations?private_token={twice}",
            f"{server.url}/api/v1/mcp/{encoded}?%70rivate_token=x",
        ]
        with httpx2.Client(timeout=30, verify=False) as client:
            statuses = [client.get(url).status_code for url in urls]
        assert statuses[0] == 200  # the encoded form authenticates, so it is as secret as the plain one
        server.stop()
        for secret in (token, token[3:], encoded, encoded[5:], twice, twice[7:]):
            assert secret not in server.stderr
        assert "/api/v1/mcp/organizations?private_token=***" in server.stderr  # logged, masked


def test_a_percent_encoded_token_refused_without_the_flag_never_reaches_the_log(tmp_path: Path) -> None:
    with running_server(tmp_path / "tracker.db", env={"TICKETS_LOG_LEVEL": "INFO"}) as server:
        token = server.create_token("--user", "alice")
        encoded = token.replace("_", "%5F")
        response = httpx2.get(f"{server.url}/api/v1/mcp/organizations?private%5Ftoken={encoded}", timeout=30)
        assert response.status_code == 401
        server.stop()
        assert "/api/v1/mcp/organizations?private_token=***" in server.stderr
        for secret in (token, token[3:], encoded, encoded[5:]):
            assert secret not in server.stderr


def test_a_long_url_is_logged_in_time_linear_in_its_length(tmp_path: Path) -> None:
    """Masking scans each run of URL characters once: a 40,000-character URL took 23 s to log at INFO, and
    held up every other request meanwhile (the access line is written on the event loop)."""
    shapes = ("z", "a.", "%", "pk_", "a:", "&token=")
    with running_server(tmp_path / "tracker.db", env={"TICKETS_LOG_LEVEL": "INFO"}) as server:
        # Quadratic masking took 23 s for one such URL; 15 s leaves room for a loaded CI machine.
        with httpx2.Client(timeout=15, verify=False) as client:
            for shape in shapes:
                query = shape * (40_000 // len(shape))
                try:
                    status = client.get(f"{server.url}/api/v1/mcp/organizations?q={query}").status_code
                except httpx2.ReadError:  # refused (431) and closed while the client still sent: a reset
                    continue
                assert status in (401, 414, 431)
            assert client.get(f"{server.url}/healthz").status_code == 200
        server.stop()
    assert "/api/v1/mcp/organizations?q=zzz" in server.stderr  # the long lines were logged


def test_masking_finds_secrets_inside_long_runs_of_url_characters() -> None:
    url = "/x?" + "a." * 5000 + "&private%5Ftoken=pk%5Fabcdefghijkl&" + "z" * 5000
    masked = redact(f"GET {url} postgresql://me:hunter2@" + "a." * 5000 + "db/x")
    assert "abcdefghijkl" not in masked and "hunter2" not in masked
    assert "private_token=***" in masked and "me:***@" in masked
