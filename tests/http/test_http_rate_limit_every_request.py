"""`serve --rate-limit` counts every MCP request, not only tool calls (issue 15, item 9).

A real `serve` at 10/min: once a token's budget is spent, each kind of request it sends is refused in
the form the SDK client surfaces: a tool call as a tool error the model reads, any other request as a
JSON-RPC error with the wait, opening a new connection too. Notifications are not counted (they have no
answer to carry a refusal, and a cancel must get through). stdio has no limit.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.types import ErrorData, PromptReference, ResourceTemplateReference

from mcp import Client
from tests.fixtures.http_server import ServerProcess, bearer, running_server, server_env
from tests.fixtures.stores import Location, location_arg
from tests.fixtures.tool_calls import call, call_error, spawned
from tickets_mcp.mcp.errors import RATE_LIMITED

pytestmark = pytest.mark.anyio
LIMIT = "10/min"
RETRY = r"retry after [1-6] s"  # one request every 6 s refills the bucket
REFUSAL = re.compile(rf"Rate limited: this token may make {LIMIT} requests; {RETRY}\.")


@pytest.fixture(scope="module")
def store_kind() -> str:
    return "sqlite"  # the buckets live in the process, whatever the store


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[ServerProcess]:
    with running_server(module_store_location, "--rate-limit", LIMIT) as process:
        yield process


def spend(server: ServerProcess, token: str) -> None:
    """Use up the token's budget with REST calls (the same bucket), until one is refused."""
    with httpx2.Client(base_url=server.url, headers=bearer(token), timeout=30.0) as http:
        for _ in range(11):
            if http.get("/api/v1/native/projects").status_code == 429:
                return
    raise AssertionError("11 requests at 10/min were all answered")


@asynccontextmanager
async def mcp_as(server: ServerProcess, token: str, mode: str) -> AsyncGenerator[Client]:
    async with (
        httpx2.AsyncClient(headers=bearer(token), timeout=30.0) as http,
        Client(streamable_http_client(server.mcp_url, http_client=http), mode=mode) as client,  # pyright: ignore[reportArgumentType]
    ):
        yield client


REQUESTS: dict[str, Callable[[Client], Awaitable[Any]]] = {
    "tools/list": lambda c: c.list_tools(cache_mode="bypass"),
    "resources/list": lambda c: c.list_resources(cache_mode="bypass"),
    "resources/templates/list": lambda c: c.list_resource_templates(cache_mode="bypass"),
    "resources/read": lambda c: c.read_resource("tracker://projects/INBOX/board", cache_mode="bypass"),
    "prompts/list": lambda c: c.list_prompts(cache_mode="bypass"),
    "prompts/get": lambda c: c.get_prompt("triage_board", {"project": "INBOX"}),
    "completion/complete (slugs)": lambda c: c.complete(
        ResourceTemplateReference(type="ref/resource", uri="tracker://tickets/{slug}"), {"name": "slug", "value": ""}
    ),
    "completion/complete (projects)": lambda c: c.complete(
        PromptReference(type="ref/prompt", name="triage_board"), {"name": "project", "value": ""}
    ),
}


async def ping(client: Client) -> None:
    with warnings.catch_warnings():  # the SDK warns on every ping: the 2026-07-28 era has none
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        await client.send_ping()  # pyright: ignore[reportDeprecated]


LEGACY_ONLY: dict[str, Callable[[Client], Awaitable[Any]]] = {"ping": ping}


async def refusal_of(request: Awaitable[Any]) -> ErrorData | None:
    """The JSON-RPC error a request got, None if it was answered."""
    try:
        await request
    except MCPError as exc:
        return exc.error
    return None


@pytest.mark.parametrize("mode", ["auto", "legacy"], ids=["2026-07-28", "legacy-handshake"])
async def test_every_request_of_a_token_over_its_limit_is_refused_with_the_wait(
    server: ServerProcess, mode: str
) -> None:
    token = server.create_token("--user", "alice")
    async with mcp_as(server, token, mode) as client:
        refusals: dict[str, ErrorData | None] = {}
        for kind, send in (REQUESTS | (LEGACY_ONLY if mode == "legacy" else {})).items():
            spend(server, token)
            refusals[kind] = await refusal_of(send(client))
        answered = [kind for kind, error in refusals.items() if error is None]
        assert answered == []
        for kind, error in refusals.items():
            assert error is not None and error.code == RATE_LIMITED and REFUSAL.fullmatch(error.message), (kind, error)
            assert error.data in ({"retryAfter": s} for s in range(1, 7)), (kind, error.data)
        spend(server, token)
        assert REFUSAL.fullmatch(await call_error(client, "list_projects"))
        spend(server, token)
        assert REFUSAL.fullmatch(await call_error(client, "no_such_tool"))  # counted before the name is looked up
    spend(server, token)
    # A new connection is a request too (initialize or server/discover); the SDK raises it in its task groups.
    with pytest.RaisesGroup(pytest.RaisesExc(MCPError, match=RETRY), flatten_subgroups=True):
        async with mcp_as(server, token, mode):
            pass


async def test_a_token_within_its_limit_makes_each_kind_of_request_and_others_are_not_counted(
    server: ServerProcess,
) -> None:
    busy, other = server.create_token("--user", "alice"), server.create_token("--user", "alice")
    spend(server, busy)
    async with mcp_as(server, other, "auto") as client:
        for send in list(REQUESTS.values())[:6]:
            await send(client)
        assert "INBOX" in await call(client, "list_projects")


async def test_the_legacy_sse_transport_counts_every_request_too(server: ServerProcess) -> None:
    token = server.create_token("--user", "alice")
    async with Client(sse_client(f"{server.url}/sse", headers=bearer(token)), mode="legacy") as client:
        spend(server, token)
        with pytest.raises(MCPError, match=RETRY):
            await client.read_resource("tracker://projects/INBOX/board", cache_mode="bypass")


async def test_stdio_has_no_rate_limit_even_with_the_variable_set(store_location: Location) -> None:
    env = server_env({"TICKETS_DB": location_arg(store_location), "TICKETS_RATE_LIMIT": "1/min"})
    async with spawned(env) as client:
        for _ in range(3):
            for send in REQUESTS.values():
                await send(client)
            assert "INBOX" in await call(client, "list_projects")
