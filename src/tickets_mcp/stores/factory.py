"""Opening the store a location names: a PostgreSQL URL opens PostgresStore, a file path SqliteStore.

Each store's driver is imported only here, when that store is opened, so SQLite users never load psycopg.
"""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread

from tickets_mcp.errors import BackendUnavailable
from tickets_mcp.stores.location import DEFAULT_POOL_SIZE, PostgresUrl, Synchronous
from tickets_mcp.stores.port import Store

POSTGRES_DRIVER = ("psycopg", "psycopg_pool", "psycopg_binary")


async def open_store(
    location: Path | PostgresUrl, *, synchronous: Synchronous = "full", pool_size: int = DEFAULT_POOL_SIZE
) -> Store:
    """The store at `location`, its schema created or migrated; `synchronous` applies to SQLite only,
    `pool_size` (connections) to PostgreSQL only."""
    if isinstance(location, PostgresUrl):
        try:
            from tickets_mcp.stores.postgres import PostgresStore
        except ModuleNotFoundError as exc:
            if exc.name not in POSTGRES_DRIVER:
                raise
            raise BackendUnavailable(
                f"{location} is a PostgreSQL database, and the PostgreSQL driver is not installed.",
                hint='Install it with: pip install "tickets-mcp[postgres]"',
            ) from exc
        return await PostgresStore.open(location, pool_size=pool_size)
    from tickets_mcp.stores.sqlite import SqliteStore

    return await SqliteStore.open(location, synchronous=synchronous)


async def schema_versions(location: Path | PostgresUrl) -> tuple[int, int]:
    """The schema version recorded at `location` (0 when there is none yet) and the latest this build knows."""
    if isinstance(location, PostgresUrl):
        from tickets_mcp.stores.postgres import migrations as postgres_migrations

        return await anyio.to_thread.run_sync(postgres_migrations.schema_version, location), postgres_migrations.LATEST
    return await anyio.to_thread.run_sync(_sqlite_versions, location)


def _sqlite_versions(path: Path) -> tuple[int, int]:
    from tickets_mcp.stores.sqlite import migrations as sqlite_migrations

    return sqlite_migrations.read_version(path), sqlite_migrations.LATEST
