"""enable_tools: the tool sets the default list leaves out (projects, bulk) are named in the instructions
and in the switch's own description, and a session lists them when it asks, told by a list-changed
notification on either protocol. The operator's --tools and tier still bound what can be switched on."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ToolListChangedNotification

from mcp import Client, StdioServerParameters
from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.http_server import bearer
from tests.fixtures.stores import Location
from tests.fixtures.tool_calls import BULK_TOOLS, FILE_TOOLS, PROJECT_TOOLS, TOOLS, call, call_error, spawned

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def store_kind() -> str:
    return "sqlite"  # what is listed is the server's business, whatever its store


async def names(client: Client) -> frozenset[str]:
    return frozenset(tool.name for tool in (await client.list_tools()).tools)


async def test_the_instructions_and_the_switch_name_the_tools_left_out(server_env: dict[str, str]) -> None:
    async with spawned(server_env) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        instructions = client.instructions or ""
    assert "enable_tools" in instructions and "bulk" in instructions
    assert not set(listed) & (BULK_TOOLS | PROJECT_TOOLS)
    described = listed["enable_tools"].description or ""
    assert all(name in described for name in ("create_tickets", "move_tickets", "projects"))


async def test_a_session_switches_on_bulk_and_is_told_its_tool_list_changed_over_legacy_stdio(
    server_env: dict[str, str],
) -> None:
    told = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ToolListChangedNotification):
            told.set()

    params = StdioServerParameters(command=sys.executable, args=["-m", "tickets_mcp"], env=server_env)
    async with Client(params, mode="legacy", message_handler=on_message, read_timeout_seconds=30) as client:
        assert client.server_capabilities.tools is not None and client.server_capabilities.tools.list_changed
        before = await names(client)
        reply = await call(client, "enable_tools", sets=[" Bulk"])  # as forgiving as --tools
        with anyio.fail_after(10):
            await told.wait()
        after = await names(client)
        filed = await call(client, "create_tickets", tickets=[{"title": "One"}, {"title": "Two"}], project="INBOX")
    assert reply == "Listed now: create_tickets, move_tickets."
    assert after == before | BULK_TOOLS
    assert filed == "Filed 2 tickets in one transaction: items 1-2 → INBOX-1, INBOX-2."


async def test_a_session_switches_on_projects_and_a_listener_hears_it_on_the_2026_protocol(
    server_env: dict[str, str],
) -> None:
    async with spawned(server_env) as client, client.listen(tools_list_changed=True) as changes:
        reply = await call(client, "enable_tools", sets=["projects", "projects"])
        with anyio.fail_after(10):
            event = await anext(aiter(changes))
        after = await names(client)
        again = await call(client, "enable_tools", sets=["projects"])
    assert type(event).__name__ == "ToolsListChanged"
    assert reply == "Listed now: list_organizations, list_projects, create_project, update_project, delete_project."
    assert after == TOOLS | PROJECT_TOOLS
    assert again.startswith("Nothing to switch on: projects is already listed")


async def test_a_tool_of_a_set_on_request_runs_when_called_before_it_is_listed(server_env: dict[str, str]) -> None:
    async with spawned(server_env) as client:
        created = await call(client, "create_project", name="Payments", code="PAY")
        listed = await names(client)
    assert created == "Created project PAY 'Payments'."
    assert "create_project" not in listed  # calling it does not list it: only enable_tools does


async def test_the_operators_tool_sets_and_tier_bound_what_a_session_can_switch_on(
    server_env: dict[str, str],
) -> None:
    async with spawned(server_env, "--tools", "tickets,comments") as client:
        listed = await names(client)
        refused = await call_error(client, "enable_tools", sets=["bulk"])
        hidden = await call_error(client, "create_tickets", tickets=[{"title": "No"}])
    assert "enable_tools" not in listed
    assert refused.startswith("enable_tools is not available: this server runs with tier full and tool sets")
    assert hidden.startswith("create_tickets is not available")
    async with spawned(server_env, "--tier", "read-only") as client:
        nothing = await call(client, "enable_tools", sets=["bulk"])
        reads = await call(client, "enable_tools", sets=["projects", "bulk"])
        listed = await names(client)
    assert nothing.startswith("Nothing to switch on: bulk")
    assert reads == "Listed now: list_organizations, list_projects."
    assert not listed & BULK_TOOLS and {"list_projects", "list_organizations"} <= listed


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[AppServer]:
    with serving_app(module_store_location) as app:
        yield app


async def test_over_http_what_one_token_switches_on_stays_its_own(server: AppServer) -> None:
    alice, bob = server.create_token("--user", "alice"), server.create_token("--user", "alice")
    async with server.mcp_client(alice) as client:
        await call(client, "enable_tools", sets=["bulk"])
    async with server.mcp_client(alice) as again, server.mcp_client(bob) as other:
        assert await names(again) >= BULK_TOOLS  # a later session of the same token: no session on 2026-07-28
        assert not BULK_TOOLS & await names(other)


async def test_a_legacy_http_session_lists_what_it_switched_on_at_its_next_request(server: AppServer) -> None:
    token = server.create_token("--user", "alice")
    async with (
        server.async_client(headers=bearer(token)) as http,
        Client(streamable_http_client(server.mcp_url, http_client=http), mode="legacy") as client,
    ):
        assert client.protocol_version != "2026-07-28"
        before = await names(client)
        await call(client, "enable_tools", sets=["files"])
        after = await names(client)
    assert not FILE_TOOLS & before and after == before | FILE_TOOLS


async def test_a_set_on_request_named_in_a_requests_header_is_listed_on_a_fresh_server(
    store_location: Location,
) -> None:
    with serving_app(store_location) as fresh:  # nothing switched on or called yet: the set is not built
        token = fresh.create_token("--user", "alice")
        async with fresh.mcp_client(token, headers={"X-Tracker-Tools": "tickets,bulk"}) as client:
            listed = await names(client)
    assert listed >= BULK_TOOLS and not PROJECT_TOOLS & listed
