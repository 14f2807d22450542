"""Bad arguments to any tool give a tool error the model can act on, and change nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from mcp import Client
from tests.fixtures.stores import Location, snapshot
from tests.fixtures.tool_calls import PROJECT_TOOLS, TOOLS, call, call_error, connect
from tickets_mcp.cli.servers import stdio_server
from tickets_mcp.config import Settings
from tickets_mcp.mcp.server import TrackerServer

pytestmark = pytest.mark.anyio

LONG = "x" * 70_000

# One valid call per tool, against the fixture data below.
VALID: dict[str, dict[str, Any]] = {
    "get_workspace_context": {},
    "list_organizations": {},
    "list_projects": {},
    "create_project": {"name": "Valid Project"},
    "update_project": {"project": "INBOX", "name": "Renamed Inbox"},
    "delete_project": {"project": "EMPTY", "confirm": True},
    "list_tickets": {"project": "INBOX"},
    "get_ticket": {"slug": "INBOX-1"},
    "create_ticket": {"title": "Valid", "project": "INBOX"},
    "update_ticket": {"slug": "INBOX-1", "title": "Changed"},
    "move_ticket": {"slug": "INBOX-1", "status": "todo"},
    "delete_ticket": {"slug": "INBOX-1", "confirm": True},
    "get_board": {"project": "INBOX"},
    "add_comment": {"slug": "INBOX-1", "body": "Valid"},
    "enable_tools": {"sets": ["bulk"]},
}
REQUIRED = {
    "create_project": ["name"],
    "update_project": ["project"],
    "delete_project": ["project"],
    "get_ticket": ["slug"],
    "create_ticket": ["title"],
    "update_ticket": ["slug"],
    "move_ticket": ["slug", "status"],
    "delete_ticket": ["slug"],
    "add_comment": ["slug", "body"],
    "enable_tools": ["sets"],
}
MISTYPED: dict[str, list[tuple[str, Any]]] = {
    "list_projects": [("organization", 5)],
    "create_project": [("name", 42), ("code", ["WEB"])],
    "update_project": [("project", {"code": "INBOX"}), ("name", False)],
    "delete_project": [("confirm", "maybe"), ("project", 1)],
    "list_tickets": [("limit", "many"), ("status", 3), ("priority", "critical"), ("sort", "random"), ("labels", 1)],
    "get_ticket": [("slug", 42)],
    "create_ticket": [("title", ["a"]), ("type", "epic"), ("priority", 2), ("labels", {"a": 1}), ("status", None)],
    "update_ticket": [("version", "latest"), ("status", "doing"), ("title", 1)],
    "move_ticket": [("status", "somewhere"), ("version", 1.5), ("before", 7)],
    "delete_ticket": [("confirm", "perhaps"), ("slug", None)],
    "get_board": [("per_column", "all"), ("per_column", 0)],
    "add_comment": [("body", 12), ("slug", True)],
    "enable_tools": [("sets", "bulk"), ("sets", ["everything"]), ("sets", [])],
}
OVERSIZED: dict[str, list[tuple[str, Any]]] = {
    "list_projects": [("organization", "o" * 101)],
    "create_project": [("name", "n" * 37), ("description", LONG), ("code", "C" * 11)],
    "update_project": [("name", "n" * 37), ("description", LONG)],
    "delete_project": [("project", "p" * 101)],
    "list_tickets": [("limit", 101), ("query", "q" * 201), ("labels", [f"l{i}" for i in range(21)])],
    "get_ticket": [("slug", "INBOX-" + "1" * 30)],
    "create_ticket": [("title", "t" * 501), ("description", LONG), ("labels", ["l" * 51])],
    "update_ticket": [("title", "t" * 501), ("description", LONG)],
    "move_ticket": [("slug", "S" * 25)],
    "delete_ticket": [("slug", "S" * 25)],
    "get_board": [("per_column", 101)],
    "add_comment": [("body", LONG)],
    "enable_tools": [("sets", ["bulk", "projects", "files", "planning", "bulk"])],
}


async def seed(client: Client) -> None:
    await call(client, "create_ticket", title="Existing", labels=["l"])
    await call(client, "create_project", name="Empty", code="EMPTY")


@pytest.fixture
async def seeded(server: TrackerServer) -> AsyncIterator[Client]:
    """A client on a new store of its own with the fixture data, for calls that change it."""
    async with connect(server) as client:
        await seed(client)
        yield client


@pytest.fixture(scope="module")
def shared_location(module_store_location: Location) -> Location:
    """The module's store with the fixture data, shared by the refused calls: each checks it changed nothing."""

    async def seed_once() -> None:
        async with connect(stdio_server(Settings(db=module_store_location, username="alice"))) as client:
            await seed(client)

    anyio.run(seed_once)
    return module_store_location


@pytest.fixture(scope="module")
def shared_server(shared_location: Location) -> TrackerServer:
    return stdio_server(Settings(db=shared_location, username="alice"))


@pytest.fixture
async def shared(shared_server: TrackerServer) -> AsyncIterator[Client]:
    """A client on the module's shared store (see shared_location)."""
    async with connect(shared_server) as client:
        yield client


async def assert_refused(client: Client, location: Location, tool: str, arguments: dict[str, Any]) -> str:
    before = snapshot(location)
    error = await call_error(client, tool, **arguments)
    assert snapshot(location) == before, f"{tool}({arguments}) changed the database"
    assert len(error) < 600, error
    return error


def test_every_tool_is_covered_by_these_tables() -> None:
    assert set(VALID) == TOOLS | PROJECT_TOOLS  # the bulk tools have their own (test_bulk.py)
    assert set(MISTYPED) | set(OVERSIZED) | {"get_workspace_context", "list_organizations"} == TOOLS | PROJECT_TOOLS


@pytest.mark.parametrize("tool", sorted(VALID))
async def test_the_valid_call_succeeds(seeded: Client, tool: str) -> None:
    await call(seeded, tool, **VALID[tool])


@pytest.mark.parametrize(("tool", "argument"), [(t, a) for t, names in REQUIRED.items() for a in names])
async def test_a_missing_required_argument_is_a_tool_error(
    shared: Client, shared_location: Location, tool: str, argument: str
) -> None:
    arguments = {k: v for k, v in VALID[tool].items() if k != argument}
    if tool == "move_ticket" and argument == "slug":
        arguments["status"] = "done"
    error = await assert_refused(shared, shared_location, tool, arguments)
    assert f"{argument}: required" in error


@pytest.mark.parametrize(("tool", "argument", "value"), [(t, a, v) for t, cases in MISTYPED.items() for a, v in cases])
async def test_a_mistyped_argument_is_a_tool_error(
    shared: Client, shared_location: Location, tool: str, argument: str, value: Any
) -> None:
    error = await assert_refused(shared, shared_location, tool, {**VALID[tool], argument: value})
    assert argument in error


@pytest.mark.parametrize(("tool", "argument", "value"), [(t, a, v) for t, cases in OVERSIZED.items() for a, v in cases])
async def test_an_oversized_argument_is_a_tool_error(
    shared: Client, shared_location: Location, tool: str, argument: str, value: Any
) -> None:
    error = await assert_refused(shared, shared_location, tool, {**VALID[tool], argument: value})
    assert argument in error
    assert LONG not in error


@pytest.mark.parametrize("tool", sorted(VALID))
async def test_an_unknown_argument_name_is_a_tool_error_naming_the_valid_ones(
    shared: Client, shared_location: Location, tool: str
) -> None:
    error = await assert_refused(shared, shared_location, tool, {**VALID[tool], "bogus_argument": 1})
    assert error.startswith(f"Unknown argument for {tool}: 'bogus_argument'. ")
    assert "did you mean" not in error


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("update_project", {"project": "NOPE"}, "not found"),
        ("delete_project", {"project": "NOPE", "confirm": True}, "not found"),
        ("list_tickets", {"project": "NOPE"}, "not found"),
        ("list_tickets", {"organization": "nope"}, "not found"),
        ("list_tickets", {"assignee": "nobody"}, "No member named"),
        ("list_tickets", {"parent": "INBOX-99"}, "not found"),
        ("list_tickets", {"updated_since": "last tuesday"}, "not a usable date"),
        ("list_tickets", {"updated_since": "0001-01-01T00:00:00+01:00"}, "not a usable date"),
        ("list_tickets", {"updated_since": "9999-12-31T23:59:59-01:00"}, "not a usable date"),
        ("create_ticket", {"title": "x", "project": "INBOX", "labels": ["x\x1fy"]}, "U+001F"),
        ("get_ticket", {"slug": "NOPE-1"}, "not found"),
        ("create_ticket", {"title": "x", "project": "INBOX", "parent": "INBOX-99"}, "not found"),
        ("create_ticket", {"title": "   ", "project": "INBOX"}, "title is empty"),
        ("create_ticket", {"title": "x", "project": "INBOX", "labels": ["a,b"]}, "Label"),
        ("update_ticket", {"slug": "INBOX-99", "title": "x"}, "not found"),
        ("update_ticket", {"slug": "INBOX-1", "assignee": "nobody"}, "No member named"),
        ("move_ticket", {"slug": "INBOX-1", "status": "todo", "before": "INBOX-1"}, "itself"),
        ("move_ticket", {"slug": "INBOX-1", "status": "todo", "before": "X-1", "after": "X-2"}, "not both"),
        ("delete_ticket", {"slug": "INBOX-99", "confirm": True}, "not found"),
        ("get_board", {"project": "NOPE"}, "not found"),
        ("add_comment", {"slug": "INBOX-99", "body": "x"}, "not found"),
        ("create_project", {"name": "Inbox"}, "already exists"),
        ("create_project", {"name": "Okay name", "code": "1AB"}, "not valid"),
        ("update_project", {"project": "INBOX", "name": "Empty"}, "already exists"),
        ("update_ticket", {"slug": "INBOX-1"}, "Nothing to change"),
        ("create_ticket", {"title": "bell\x07", "project": "INBOX"}, "U+0007"),
        ("create_ticket", {"title": "x", "project": "INBOX", "description": "\u202egnp.exe"}, "U+202E"),
        ("add_comment", {"slug": "INBOX-1", "body": "esc \x1b[31m"}, "U+001B"),
        ("list_tickets", {"query": "nul\x00byte"}, "U+0000"),
    ],
)
async def test_domain_errors_are_tool_errors_that_change_nothing(
    shared: Client, shared_location: Location, tool: str, arguments: dict[str, Any], expected: str
) -> None:
    assert expected in await assert_refused(shared, shared_location, tool, arguments)
