"""Safety tiers and tool sets: what each tier lists (a snapshot per tier, from the real server over stdio),
refusals of hidden tools, and HTTP headers that narrow what the server shows but never widen it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from mcp import Client
from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.http_server import bearer
from tests.fixtures.stores import Location, table_rows
from tests.fixtures.tool_calls import (
    BULK_TOOLS,
    EVERY_TOOL,
    FILE_TOOLS,
    PLANNING_TOOLS,
    PROJECT_TOOLS,
    TOOLS,
    call,
    call_error,
    spawned,
)
from tickets_mcp.core.access import Tier
from tickets_mcp.errors import Invalid
from tickets_mcp.mcp.exposure import Exposure
from tickets_mcp.mcp.tools import ALWAYS, TOOLSETS

pytestmark = pytest.mark.anyio

READ_ONLY = frozenset({"get_workspace_context", "list_tickets", "get_ticket", "get_board", "enable_tools"})
NO_DELETE = READ_ONLY | {"create_ticket", "update_ticket", "move_ticket", "add_comment"}
EVERY_READ = READ_ONLY - {"enable_tools"} | {
    "list_organizations",
    "list_projects",
    "list_milestones",
    "read_attachment",
}
SNAPSHOTS = {  # (--tier, --tools) -> tools/list, by name; naming sets leaves none to switch on
    ("read-only", "all"): EVERY_READ,
    ("no-delete", "all"): EVERY_READ
    | NO_DELETE - {"enable_tools"}
    | {"create_project", "update_project"}
    | BULK_TOOLS
    | PLANNING_TOOLS
    | {"attach_file"},
    ("full", "all"): EVERY_TOOL - {"enable_tools"},
    ("full", "tickets,board,comments"): TOOLS - {"enable_tools"},
    ("full", "comments"): frozenset({"get_workspace_context", "add_comment"}),
    ("no-delete", "board,tickets"): frozenset({"get_workspace_context", "get_board", "move_ticket"})
    | {"list_tickets", "get_ticket", "create_ticket", "update_ticket"},
    ("read-only", "projects"): frozenset({"get_workspace_context", "list_organizations", "list_projects"}),
}


@pytest.fixture(scope="module")
def store_kind() -> str:
    return "sqlite"  # tiers are the server's, whatever its store; stdio and HTTP are both below


def test_every_tool_is_in_a_set_and_every_mutating_tool_names_its_tier() -> None:
    in_sets = frozenset[str]().union(*TOOLSETS.values())
    assert in_sets | ALWAYS == EVERY_TOOL and not in_sets & ALWAYS
    assert {tool for tool in EVERY_TOOL if Exposure().allows(tool)} == TOOLS  # projects and bulk on request
    assert {tool for tool in EVERY_TOOL if Exposure().offers(tool)} == EVERY_TOOL
    assert {tool for tool in TOOLS if Exposure(Tier.READ_ONLY).allows(tool)} == READ_ONLY
    assert Exposure(Tier.READ_ONLY).on_request() == {
        "files": ["read_attachment"],
        "planning": ["list_milestones"],
        "projects": ["list_organizations", "list_projects"],
    }
    assert Exposure.from_env(tools="tickets").on_request() == {}  # the operator named the sets
    assert PROJECT_TOOLS | BULK_TOOLS | PLANNING_TOOLS | FILE_TOOLS == EVERY_TOOL - TOOLS


@pytest.mark.parametrize(
    ("tier", "tools", "problem"),
    [
        ("readonly", None, "Unknown tier 'readonly' in --tier or TICKETS_TIER. Use one of: read-only, no-delete, "
                           "full."),
        (None, "tickets,wiki", "Unknown tool set 'wiki' in --tools or TICKETS_TOOLS. Use all or some of: projects, "
                               "tickets, board, comments, bulk, planning, files."),
    ],
)  # fmt: skip
def test_a_bad_setting_is_refused_with_the_valid_values(tier: str | None, tools: str | None, problem: str) -> None:
    with pytest.raises(Invalid) as refused:
        Exposure.from_env(tier, tools)
    assert str(refused.value) == problem


def test_headers_narrow_the_servers_exposure_and_never_widen_it() -> None:
    server = Exposure.from_env("no-delete", "tickets,board")
    assert server.narrowed({}) is server
    wider = server.narrowed({"x-tracker-tier": "full", "x-tracker-tools": "all"})  # bulk too, but not here
    assert (wider.tier, wider.toolsets) == (Tier.NO_DELETE, frozenset({"tickets", "board"}))
    narrower = server.narrowed({"x-tracker-tier": "read-only", "x-tracker-tools": "board,comments"})
    assert (narrower.tier, narrower.toolsets) == (Tier.READ_ONLY, frozenset({"board"}))
    assert [t for t in sorted(TOOLS) if narrower.allows(t)] == ["get_board", "get_workspace_context"]
    with pytest.raises(Invalid, match="X-Tracker-Tier"):
        server.narrowed({"x-tracker-tier": "root"})


@pytest.mark.parametrize(("tier", "tools"), list(SNAPSHOTS))
async def test_tools_list_per_tier_over_stdio(server_env: dict[str, str], tier: str, tools: str) -> None:
    async with spawned(server_env, "--tier", tier, "--tools", tools) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
    assert listed == SNAPSHOTS[(tier, tools)]


async def test_a_hidden_tool_called_anyway_is_refused_naming_the_setting_and_changes_nothing(
    server_env: dict[str, str], store_location: Location
) -> None:
    async with spawned({**server_env, "TICKETS_TIER": "read-only"}) as client:
        await call(client, "list_tickets")
        refusal = await call_error(client, "create_ticket", title="Should not be filed", project="INBOX")
        deleting = await call_error(client, "delete_ticket", slug="INBOX-1", confirm=True)
    assert refusal == (
        "create_ticket is not available: this server runs with tier read-only. tools/list shows what you have."
    )
    assert deleting.startswith("delete_ticket is not available")
    assert table_rows(store_location, "SELECT COUNT(*) FROM tickets") == [(0,)]


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[AppServer]:
    with serving_app(module_store_location, tier="no-delete") as app:
        yield app


@asynccontextmanager
async def http(server: AppServer, **headers: str) -> AsyncGenerator[Client]:
    token = server.create_token("--user", "alice")
    sent = {**bearer(token), **{name.replace("_", "-"): value for name, value in headers.items()}}
    async with server.mcp_client(headers=sent) as mcp:
        yield mcp


async def listed(server: AppServer, **headers: str) -> frozenset[str]:
    async with http(server, **headers) as client:
        return frozenset(tool.name for tool in (await client.list_tools()).tools)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, NO_DELETE),
        ({"x_tracker_tier": "full"}, NO_DELETE),  # asking for more gets the server's own
        ({"x_tracker_tier": "read-only"}, READ_ONLY),
        ({"x_tracker_tools": "board"}, frozenset({"get_workspace_context", "get_board", "move_ticket"})),
        (
            {"x_tracker_tier": "read-only", "x_tracker_tools": "board"},
            frozenset({"get_workspace_context", "get_board"}),
        ),
    ],
)
async def test_request_headers_narrow_the_http_tool_list(
    server: AppServer, headers: dict[str, str], expected: frozenset[str]
) -> None:
    assert await listed(server, **headers) == expected


async def test_a_narrowed_request_is_refused_what_it_left_out(server: AppServer) -> None:
    async with http(server, x_tracker_tier="read-only") as client:
        refusal = await call_error(client, "create_ticket", title="Not from a read-only request", project="INBOX")
    assert refusal.startswith("create_ticket is not available: with this request's X-Tracker-* headers, tier read-only")
    async with http(server, x_tracker_tier="full") as client:
        refusal = await call_error(client, "delete_ticket", slug="INBOX-1", confirm=True)
    assert "this server runs with tier no-delete" in refusal


async def test_a_bad_header_gets_an_error_with_the_valid_values(server: AppServer) -> None:
    async with http(server, x_tracker_tools="wiki") as client:
        with pytest.raises(MCPError) as refused:
            await client.list_tools()
        assert "Unknown tool set 'wiki' in X-Tracker-Tools" in str(refused.value)
        result: Any = await client.call_tool("list_tickets", {})
        assert result.is_error
        assert "Use all or some of: projects, tickets, board, comments, bulk" in result.content[0].text
