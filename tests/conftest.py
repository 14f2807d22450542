from __future__ import annotations

import os
import re
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult, TextContent

from tests.stores import Location, location_arg
from tickets_mcp.config import PostgresUrl, Settings
from tickets_mcp.mcp.server import TrackerServer, build_server

REPO = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.postgres", "tests.read_only", "tests.rest_world", "tests.store_contract"]

READ_TOOLS = frozenset({"get_workspace_context", "list_organizations", "list_projects", "list_tickets", "get_ticket",
                        "get_board"})  # fmt: skip
DELETE_TOOLS = frozenset({"delete_project", "delete_ticket"})
TOOLS = READ_TOOLS | DELETE_TOOLS | {
    "create_project", "update_project", "create_ticket", "update_ticket", "move_ticket", "add_comment",
}  # fmt: skip


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A SQLite file for tests about SQLite itself; tests of the tracker take `store_location`."""
    return tmp_path / "tracker.db"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store a test runs on: every test that takes a store location runs once on each.

    Module-scoped, so that a module's shared server and its tests agree on the store. A module about
    one store overrides it with a plain fixture returning that store's name.
    """
    return cast(str, request.param)


@pytest.fixture
def store_location(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Location:
    """A new, empty store for one test: a SQLite file (the same as `db_path`), or a PostgreSQL schema
    (skipped with the reason without TICKETS_TEST_POSTGRES_URL)."""
    if store_kind == "sqlite":
        return tmp_path / "tracker.db"
    url: PostgresUrl = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="module")
def module_store_location(
    store_kind: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Location:
    """A new, empty store shared by a module's tests, for a server the module starts once."""
    if store_kind == "sqlite":
        return tmp_path_factory.mktemp("store") / "tracker.db"
    url: PostgresUrl = request.getfixturevalue("module_postgres_url")
    return url


@pytest.fixture
def settings(store_location: Location) -> Settings:
    return Settings(db=store_location, username="alice")


@pytest.fixture
def server(settings: Settings) -> TrackerServer:
    return build_server(settings)


@asynccontextmanager
async def connect(server: TrackerServer, **kwargs: object) -> AsyncGenerator[Client]:
    async with Client(server, **kwargs) as client:  # pyright: ignore[reportArgumentType]
        yield client


@pytest.fixture(params=["auto", "legacy"], ids=["2026-07-28", "legacy-handshake"])
async def client(server: TrackerServer, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """An in-memory SDK client, once on the current protocol and once with the legacy handshake."""
    async with connect(server, mode=request.param) as c:
        yield c


def text_of(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def call(client: Client, tool: str, **arguments: object) -> str:
    """Call a tool that must succeed; returns its text."""
    result = await client.call_tool(tool, dict(arguments))
    assert not result.is_error, text_of(result)
    return text_of(result)


async def call_error(client: Client, tool: str, **arguments: object) -> str:
    """Call a tool that must fail with a tool error; returns the error text."""
    result = await client.call_tool(tool, dict(arguments))
    assert result.is_error, f"{tool} should have failed: {text_of(result)}"
    return text_of(result)


@pytest.fixture
def server_env(store_location: Location) -> dict[str, str]:
    """Environment for a spawned tickets-mcp process on the test's store."""
    env = dict(os.environ)
    env.update({"TICKETS_DB": location_arg(store_location), "TICKETS_USER": "alice", "PYTHONUNBUFFERED": "1"})
    return env


PYTHON = sys.executable


def slug_of(reply: str) -> str:
    """The first ticket slug in a reply."""
    match = re.search(r"\b([A-Z][A-Z0-9]+-\d+)\b", reply)
    assert match, reply
    return match.group(1)


def board_column(board: str, status: str) -> list[str]:
    """The slugs listed under one column of a get_board reply, in order."""
    lines = board.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"## {status} ("))
    slugs: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        slugs.append(line.split(" ", 1)[0])
    return slugs


@asynccontextmanager
async def spawned(env: Mapping[str, str], *flags: str) -> AsyncGenerator[Client]:
    """The SDK client over stdio, driving a real `python -m tickets_mcp FLAGS...` started with `env`."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "tickets_mcp", *flags], env=dict(env))
    async with Client(params, read_timeout_seconds=30) as client:
        yield client
