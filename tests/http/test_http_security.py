"""Transport safety for the whole HTTP app: DNS-rebinding protection (Host 421, Origin 403) and the body limit
(413), first on the middleware alone in memory, then on a real `tickets-mcp serve`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest
from starlette.types import Receive, Scope, Send

from tests.fixtures.http_server import ServerProcess, bearer, running_server
from tickets_mcp.config import Settings
from tickets_mcp.errors import Invalid
from tickets_mcp.http.security import TransportGuard
from tickets_mcp.http.settings import DEFAULT_MAX_BODY, ServeSettings

LIMIT = 1000
STORE = Settings(db=Path("unused.db"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def echo_length(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that answers 200 with the number of body bytes it received."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(size).encode()})


def guarded() -> httpx2.AsyncClient:
    guard = TransportGuard(echo_length, allowed_hosts={"localhost", "127.0.0.1", "::1", "tracker.example.com"},
                           max_body_bytes=LIMIT)  # fmt: skip
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=guard), base_url="http://127.0.0.1:8740")


async def chunks(total: int, size: int = 100) -> AsyncIterator[bytes]:
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


# The middleware alone


@pytest.mark.anyio
@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:8740", "localhost:8740", "LOCALHOST", "[::1]:8740", "localhost.:80", "tracker.example.com",
     "Tracker.Example.com:443"],
)  # fmt: skip
async def test_hosts_this_server_is_reached_by_are_accepted_on_any_port(host: str) -> None:
    async with guarded() as client:
        assert (await client.get("/", headers={"Host": host})).status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:8740", "localhost.evil.example", "127.0.0.1.evil.example", "evil@localhost",
     "localhost:8740/x", "[::2]:8740", "tracker.example.com.evil.example", ""],
)  # fmt: skip
async def test_foreign_hosts_are_refused_with_421_in_the_seeds_error_shape(host: str) -> None:
    async with guarded() as client:
        response = await client.get("/", headers={"Host": host})
    assert response.status_code == 421
    assert response.json()["message"].startswith("421 Misdirected Request: ")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "origin", ["http://localhost:3000", "http://127.0.0.1:8740", "https://tracker.example.com", "http://[::1]:6274"]
)
async def test_local_and_public_origins_are_accepted(origin: str) -> None:
    async with guarded() as client:
        assert (await client.get("/", headers={"Origin": origin})).status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "null", "file://", "http://localhost.evil.example", "ftp://localhost", "http://x:y"],
)
async def test_foreign_origins_are_refused_with_403(origin: str) -> None:
    async with guarded() as client:
        response = await client.get("/", headers={"Origin": origin})
    assert response.status_code == 403
    assert response.json()["message"].startswith("403 Forbidden: ")


@pytest.mark.anyio
async def test_body_up_to_the_limit_reaches_the_app_whole_also_when_chunked() -> None:
    async with guarded() as client:
        assert (await client.post("/", content=b"x" * LIMIT)).text == str(LIMIT)
        assert (await client.post("/", content=chunks(LIMIT))).text == str(LIMIT)


@pytest.mark.anyio
async def test_body_over_the_limit_is_refused_with_413_with_or_without_content_length() -> None:
    async with guarded() as client:
        declared = await client.post("/", content=b"x" * (LIMIT + 1))
        chunked = await client.post("/", content=chunks(LIMIT + 1))
    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.json()["message"] == f"413 Content Too Large: the request body exceeds {LIMIT} bytes."


# Settings


def test_accepted_host_names_are_loopback_the_bound_address_the_public_host_and_extras(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TICKETS_ALLOWED_HOSTS", "tracker.lan, Build-01")
    settings = ServeSettings.from_env(
        STORE, host="10.0.0.5", public_url="https://Tracker.Example.com:8443/", allowed_hosts=["[fd00::1]"]
    )
    assert settings.allowed_host_names == {
        "localhost", "127.0.0.1", "::1", "10.0.0.5", "tracker.example.com", "tracker.lan", "build-01", "fd00::1",
    }  # fmt: skip
    assert settings.base_url == "https://Tracker.Example.com:8443"


def test_a_wildcard_bind_accepts_only_loopback_and_configured_names() -> None:
    settings = ServeSettings.from_env(STORE, host="0.0.0.0", port=9000)
    assert settings.allowed_host_names == {"localhost", "127.0.0.1", "::1"}
    assert settings.base_url == "http://127.0.0.1:9000"


def test_flags_win_over_environment_which_wins_over_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETS_HOST", "::1")
    monkeypatch.setenv("TICKETS_PORT", "9001")
    from_env = ServeSettings.from_env(STORE)
    assert (from_env.host, from_env.port, from_env.base_url) == ("::1", 9001, "http://[::1]:9001")
    flagged = ServeSettings.from_env(STORE, host="127.0.0.1", port=9002)
    assert (flagged.host, flagged.port) == ("127.0.0.1", 9002)


@pytest.mark.parametrize(
    ("public_url", "problem"),
    [("tracker.example.com", "not an http"), ("https://tracker.example.com/mcp", "has a path"),
     ("https://tracker.example.com:99999", "invalid port"), ("ftp://tracker.example.com", "not an http")],
)  # fmt: skip
def test_a_public_url_clients_cannot_use_as_the_server_root_is_refused(public_url: str, problem: str) -> None:
    with pytest.raises(Invalid, match=problem):
        ServeSettings.from_env(STORE, public_url=public_url)


# A real server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("http-security") / "tracker.db") as process:
        yield process


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/mcp", "/sse", "/openapi.json", "/api/v1/x"])
def test_real_server_refuses_a_foreign_host_and_origin_on_every_route(server: ServerProcess, path: str) -> None:
    with httpx2.Client(base_url=server.url) as http:
        wrong_host = http.get(path, headers={"Host": "evil.example"})
        wrong_origin = http.get(path, headers={"Origin": "http://evil.example"})
    assert wrong_host.status_code == 421
    assert "evil.example" in wrong_host.json()["message"]
    assert wrong_origin.status_code == 403
    assert "evil.example" in wrong_origin.json()["message"]


@pytest.mark.slow
def test_real_server_accepts_a_local_origin(server: ServerProcess) -> None:
    with httpx2.Client(base_url=server.url) as http:
        response = http.get("/openapi.json", headers={"Origin": "http://localhost:6274"})
    assert response.status_code == 200


@pytest.mark.slow
def test_real_server_serves_the_openapi_document_but_no_page_that_loads_scripts_from_elsewhere(
    server: ServerProcess,
) -> None:
    with httpx2.Client(base_url=server.url) as http:
        document = http.get("/openapi.json")
        pages = [http.get(path) for path in ("/docs", "/redoc", "/docs/oauth2-redirect")]
    assert document.status_code == 200 and document.json()["info"]["title"] == "tickets-mcp"
    for page in pages:
        assert page.status_code == 404, page.url
        assert "cdn." not in page.text and "<script" not in page.text


@pytest.mark.slow
def test_real_server_refuses_a_body_over_the_limit_with_413_also_when_chunked(server: ServerProcess) -> None:
    token = server.create_token("--user", "alice")
    too_big = DEFAULT_MAX_BODY + 1

    def stream() -> Iterator[bytes]:
        for start in range(0, too_big, 65536):
            yield b" " * min(65536, too_big - start)

    with httpx2.Client(base_url=server.url, headers=bearer(token)) as http:
        declared = http.post("/mcp", content=b" " * too_big, headers={"Content-Type": "application/json"})
        chunked = http.post("/mcp", content=stream(), headers={"Content-Type": "application/json"})
    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.json()["message"].startswith("413 Content Too Large")


@pytest.mark.slow
def test_configured_public_url_host_is_accepted(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    public = "https://tracker.example.com"
    with (
        running_server(tmp_path_factory.mktemp("public") / "tracker.db", "--public-url", public) as server,
        httpx2.Client(base_url=server.url) as http,
    ):
        proxied = {"Host": "tracker.example.com", "Origin": public}
        refused = http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=proxied)
        openapi = http.get("/openapi.json", headers=proxied)
        foreign = http.get("/openapi.json", headers={"Host": "evil.example"})
    assert refused.status_code == 401  # past the rebinding check, at authentication
    assert openapi.status_code == 200
    assert foreign.status_code == 421
