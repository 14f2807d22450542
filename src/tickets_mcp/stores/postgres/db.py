"""PostgreSQL connections: a psycopg pool, reads in one snapshot, writes in transactions that lock what they change.

Reads run at REPEATABLE READ, READ ONLY: every query of a read sees the same snapshot, as in SQLite.
Writes run at READ COMMITTED and lock the rows their checks depend on (a ticket write locks its
project's row first), so concurrent writers queue instead of failing and each sees the other's commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from typing import Any, TypeVar

from psycopg import AsyncConnection, IntegrityError, IsolationLevel, OperationalError, errors
from psycopg.abc import Params, QueryNoTemplate
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from tickets_mcp.config import DEFAULT_POOL_SIZE, PostgresUrl
from tickets_mcp.errors import BackendUnavailable, Conflict
from tickets_mcp.stores.port import PoolUsage

T = TypeVar("T")
Connection = AsyncConnection[TupleRow]
Row = tuple[Any, ...]

CONNECT_TIMEOUT_S = 10
POOL_SIZE = DEFAULT_POOL_SIZE


class Database:
    """A pool of connections to one PostgreSQL database."""

    def __init__(self, url: PostgresUrl, pool: AsyncConnectionPool[Connection]) -> None:
        self.url = url
        self._pool = pool

    @classmethod
    async def open(cls, url: PostgresUrl, *, max_size: int = POOL_SIZE) -> Database:
        pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            url.url,
            kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
            min_size=1,
            max_size=max_size,
            open=False,
            name="tickets-mcp",
        )
        with _unavailable(url):
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        return cls(url, pool)

    async def read(self, fn: Callable[[Connection], Awaitable[T]]) -> T:
        """Run `fn` in one read-only transaction: all its queries see the same snapshot."""
        with _unavailable(self.url):
            async with self._pool.connection() as conn:
                await conn.set_isolation_level(IsolationLevel.REPEATABLE_READ)
                await conn.set_read_only(True)
                async with conn.transaction():
                    return await fn(conn)

    async def write(self, fn: Callable[[Connection], Awaitable[T]]) -> T:
        """Run `fn` in one READ COMMITTED transaction; a constraint it trips is answered as a Conflict."""
        with _unavailable(self.url):
            try:
                async with self._pool.connection() as conn:
                    await conn.set_isolation_level(IsolationLevel.READ_COMMITTED)
                    await conn.set_read_only(False)
                    async with conn.transaction():
                        return await fn(conn)
            except (IntegrityError, errors.TransactionRollback) as exc:
                # The checks inside the transaction come first; this is a race they did not foresee.
                raise Conflict(
                    "The change collides with a concurrent one and was not saved.", hint="Read again and retry."
                ) from exc

    def usage(self) -> PoolUsage:
        stats = self._pool.get_stats()
        opened, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
        return PoolUsage(
            in_use=opened - idle, idle=idle, max_size=self._pool.max_size, waiting=stats.get("requests_waiting", 0)
        )

    async def close(self) -> None:
        await self._pool.close()


async def connect(url: PostgresUrl) -> Connection:
    """One autocommit connection outside the pool, for migrations and inspection."""
    with _unavailable(url):
        return await AsyncConnection.connect(url.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)


@contextmanager
def _unavailable(url: PostgresUrl) -> Generator[None]:
    """Connection failures become BackendUnavailable naming the database with its password masked."""
    try:
        yield
    except (OperationalError, PoolTimeout) as exc:
        raise BackendUnavailable(
            f"Cannot use the PostgreSQL database at {url}: {str(exc).strip() or type(exc).__name__}.",
            hint="Check that the server is up and the URL given by --db or TICKETS_DB is right.",
        ) from exc


async def fetch_one(conn: Connection, query: QueryNoTemplate, params: Params = ()) -> Row:
    """The first row of a query that always returns one (an aggregate, or a row known to exist)."""
    row = await (await conn.execute(query, params)).fetchone()
    if row is None:
        raise LookupError("expected a row")
    return row


async def fetch_optional(conn: Connection, query: QueryNoTemplate, params: Params = ()) -> Row | None:
    return await (await conn.execute(query, params)).fetchone()


async def fetch_all(conn: Connection, query: QueryNoTemplate, params: Params = ()) -> list[Row]:
    return await (await conn.execute(query, params)).fetchall()


async def execute(conn: Connection, query: QueryNoTemplate, params: Params = ()) -> int:
    """Run a statement; returns how many rows it changed."""
    return (await conn.execute(query, params)).rowcount
