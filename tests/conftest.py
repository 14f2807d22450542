from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest

from mcp import Client
from tests.fixtures.stores import Location, location_arg
from tests.fixtures.tool_calls import connect
from tickets_mcp.cli.servers import stdio_server
from tickets_mcp.config import Settings
from tickets_mcp.mcp.server import TrackerServer
from tickets_mcp.stores.location import PostgresUrl

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.read_only",
    "tests.fixtures.rest_world",
    "tests.fixtures.store_contract",
]


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
    return stdio_server(settings)


@pytest.fixture(params=["auto", "legacy"], ids=["2026-07-28", "legacy-handshake"])
async def client(server: TrackerServer, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """An in-memory SDK client, once on the current protocol and once with the legacy handshake."""
    async with connect(server, mode=request.param) as c:
        yield c


@pytest.fixture
def server_env(store_location: Location) -> dict[str, str]:
    """Environment for a spawned tickets-mcp process on the test's store."""
    env = dict(os.environ)
    env.update({"TICKETS_DB": location_arg(store_location), "TICKETS_USER": "alice", "PYTHONUNBUFFERED": "1"})
    return env
