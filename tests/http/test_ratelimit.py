"""Rate limits per token over HTTP: the bucket's arithmetic, then a real `serve` where one token runs out
while another does not, over MCP (a tool error the agent reads) and REST (429 with Retry-After)."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager

import httpx2
import pytest
from mcp.client.streamable_http import streamable_http_client

from mcp import Client
from tests.fixtures.http_server import ServerProcess, bearer, running_server
from tests.fixtures.stores import Location
from tests.fixtures.tool_calls import call, text_of
from tickets_mcp.errors import Invalid, RateLimited
from tickets_mcp.http.ratelimit import Rate, RateLimiter, caller_key

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def store_kind() -> str:
    return "sqlite"  # the buckets live in the process, whatever the store


def test_a_bucket_allows_its_burst_then_refills_evenly() -> None:
    limiter = RateLimiter(Rate(3, 60.0))
    assert [limiter.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a", now=0.0) == pytest.approx(20.0)  # one request every 20 s
    assert limiter.take("b", now=0.0) == 0.0  # another caller has its own bucket
    assert limiter.take("a", now=10.0) == pytest.approx(10.0)  # refused requests cost nothing
    assert limiter.take("a", now=20.0) == 0.0
    fresh = RateLimiter(Rate(3, 60.0))
    for _ in range(3):
        fresh.check("a")
    with pytest.raises(RateLimited, match=r"this token may make 3/min requests; retry after 20 s") as refused:
        fresh.check("a")
    assert refused.value.retry_after == 20.0


@pytest.mark.parametrize(("text", "rate"), [("120/min", Rate(120, 60.0)), ("5/s", Rate(5, 1.0)), ("off", None)])
def test_rates_read_as_people_write_them(text: str, rate: Rate | None) -> None:
    assert Rate.parse(text) == rate


def test_a_bad_rate_says_what_to_write() -> None:
    with pytest.raises(Invalid, match=r"Rate limit '5 per minute' is not valid\. Use e\.g\. 120/min"):
        Rate.parse("5 per minute")


def test_callers_are_keyed_by_a_digest_of_their_token_never_the_token() -> None:
    key = caller_key("pk_secret", "127.0.0.1")
    assert key.startswith("token:") and "pk_secret" not in key and key == caller_key("pk_secret", "10.0.0.1")
    assert caller_key(None, "10.0.0.1") == "address:10.0.0.1"


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[ServerProcess]:
    # The board asks for a token here too, so its pages count against one.
    env = {"TICKETS_RATE_LIMIT": "3/min", "TICKETS_BOARD_LOCAL": "0"}
    with running_server(module_store_location, env=env) as process:
        yield process


@asynccontextmanager
async def mcp_as(server: ServerProcess, token: str) -> AsyncGenerator[Client]:
    async with (
        httpx2.AsyncClient(headers=bearer(token), timeout=30.0) as http,
        Client(streamable_http_client(server.mcp_url, http_client=http)) as client,
    ):
        yield client


async def test_a_token_over_its_limit_is_told_when_to_retry_and_others_are_not_slowed(server: ServerProcess) -> None:
    busy, other, third = (server.create_token("--user", "alice") for _ in range(3))
    async with mcp_as(server, busy) as client:  # connecting, and the tools/list the SDK sends first, count too
        replies = [await client.call_tool("list_projects", {}) for _ in range(3)]
    assert not replies[0].is_error and replies[-1].is_error
    assert text_of(replies[-1]) == "Rate limited: this token may make 3/min requests; retry after 20 s."
    refused_at = time.monotonic()
    async with mcp_as(server, other) as client:
        assert "INBOX" in await call(client, "list_projects")
    async with httpx2.AsyncClient(base_url=server.url, timeout=30.0) as http:
        limited = await http.get("/api/v1/native/projects", headers=bearer(busy))
        fine = await http.get("/api/v1/native/projects", headers=bearer(third))
    # The wait left counts down: by a second more on a machine slow enough to take one since (a busy CI).
    retry = int(limited.headers["retry-after"])
    assert limited.status_code == 429 and 20 - math.ceil(time.monotonic() - refused_at) <= retry <= 20
    assert f"retry after {retry} s" in limited.text and busy not in limited.text
    assert fine.status_code == 200


def test_a_board_session_counts_against_its_tokens_limit_shared_with_rest(server: ServerProcess) -> None:
    token = server.create_token("--user", "alice")
    with httpx2.Client(base_url=server.url, timeout=30.0) as browser:
        login = browser.post("/board/login", data={"token": token, "next": "/board/"}, headers={"Origin": server.url})
        assert login.status_code == 303  # a login writes a session: it counts too
        assert browser.get("/board/INBOX").status_code == 200
        assert browser.get("/api/v1/native/projects", headers=bearer(token)).status_code == 200  # the same bucket
        limited = browser.get("/board/INBOX")
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "20")
        assert "retry after 20 s" in limited.text and token not in limited.text
        polled = browser.get("/board/INBOX", headers={"Accept": "text/html-fragment"})  # what board.js sends
        assert polled.status_code == 429 and polled.headers["retry-after"] == "20"
        again = browser.post("/board/login", data={"token": token, "next": "/board/"}, headers={"Origin": server.url})
        assert (again.status_code, again.headers["retry-after"]) == (429, "20")
        assert "retry after 20 s" in again.text and "set-cookie" not in again.headers
