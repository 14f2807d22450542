"""PostgresStore: the Store port on one PostgreSQL database, shared by any number of processes."""

from __future__ import annotations

import anyio.to_thread

from tickets_mcp.stores.location import DEFAULT_POOL_SIZE, PostgresUrl
from tickets_mcp.stores.postgres.db import PostgresEngine
from tickets_mcp.stores.postgres.migrations import migrate
from tickets_mcp.stores.sql.store import SqlStore


class PostgresStore(SqlStore):
    """The Store port on PostgreSQL. Open it with `PostgresStore.open(url)`."""

    @classmethod
    async def open(cls, url: PostgresUrl, *, pool_size: int = DEFAULT_POOL_SIZE) -> PostgresStore:
        """Connect, refuse a newer schema, and migrate an older one (safe when several processes start at once)."""
        await anyio.to_thread.run_sync(migrate, url)
        return cls(await PostgresEngine.open(url, max_size=pool_size))
