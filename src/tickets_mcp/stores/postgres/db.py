"""PostgreSQL connections: psycopg's sync pool, each script run in a worker thread, in one transaction.

Reads run at REPEATABLE READ, READ ONLY: every query of a read sees the same snapshot, as in SQLite.
Writes run at READ COMMITTED and lock the rows their checks depend on (see the dialect).

Why the sync API in threads: the scripts are written once, as plain functions, for both engines
(docs/architecture.md, "One store, two engines"); measured, the sync pool in threads files tickets
as fast as the async pool did. A caller waits for a connection in async land, on a CapacityLimiter
sized to the pool, so no worker thread sits blocked inside the pool's own queue.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Sequence
from contextlib import contextmanager
from typing import Any, LiteralString, TypeVar, cast

import anyio
import anyio.to_thread
from psycopg import Connection as PsycopgConnection
from psycopg import IntegrityError, IsolationLevel, OperationalError, errors
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolTimeout

from tickets_mcp.errors import BackendUnavailable, Conflict
from tickets_mcp.stores.location import DEFAULT_POOL_SIZE, PostgresUrl
from tickets_mcp.stores.port import PoolUsage
from tickets_mcp.stores.postgres.dialect import POSTGRES
from tickets_mcp.stores.sql.connection import Connection, Cursor

T = TypeVar("T")
Raw = PsycopgConnection[TupleRow]

CONNECT_TIMEOUT_S = 10
# How long a script waits for the pool to hand it a connection. A caller only reaches the pool once a
# slot is free (the CapacityLimiter), so waiting means no connection can be made: the database is gone
# or unreachable. Answering BackendUnavailable then, rather than after psycopg's default 30 s, lets a
# request fail while its client still waits for it.
ACQUIRE_TIMEOUT_S = 5


@functools.lru_cache(maxsize=1024)
def _format_style(query: str) -> LiteralString:
    """The scripts' `?` placeholders as psycopg's `%s`, a literal `%` doubled; once per query text."""
    # The text is the scripts' own SQL (never a caller's value: those are parameters), hence literal.
    return cast(LiteralString, query.replace("%", "%%").replace("?", "%s"))


def _connection(raw: Raw) -> Connection:
    def execute(query: str, params: Sequence[Any]) -> Cursor:
        return raw.execute(_format_style(query), params)

    return Connection(execute, POSTGRES, raw)


class PostgresEngine:
    """The shared scripts on a pool of connections to one PostgreSQL database."""

    read_only: str | None = None  # a role that may not write is refused by PostgreSQL, write by write

    def __init__(self, url: PostgresUrl, pool: ConnectionPool[Raw]) -> None:
        self.url = url
        self._pool = pool
        self._slots = anyio.CapacityLimiter(pool.max_size)

    @classmethod
    async def open(cls, url: PostgresUrl, *, max_size: int = DEFAULT_POOL_SIZE) -> PostgresEngine:
        pool: ConnectionPool[Raw] = ConnectionPool(
            url.url,
            kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
            min_size=1,
            max_size=max_size,
            timeout=ACQUIRE_TIMEOUT_S,
            open=False,
            name="tickets-mcp",
        )

        def start() -> None:
            with unavailable(url):
                pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)

        await anyio.to_thread.run_sync(start)
        return cls(url, pool)

    async def _run(self, script: Callable[[Connection], T], isolation: IsolationLevel, *, read_only: bool) -> T:
        """Run `script` in one transaction on a worker thread, once a connection is free for it."""
        return await anyio.to_thread.run_sync(self._on_thread, script, isolation, read_only, limiter=self._slots)

    def _on_thread(self, script: Callable[[Connection], T], isolation: IsolationLevel, read_only: bool) -> T:
        with unavailable(self.url), self._pool.connection() as raw:
            raw.isolation_level = isolation
            raw.read_only = read_only
            with raw.transaction():
                return script(_connection(raw))

    async def read(self, script: Callable[[Connection], T]) -> T:
        return await self._run(script, IsolationLevel.REPEATABLE_READ, read_only=True)

    async def lookup(self, script: Callable[[Connection], T]) -> T:
        return await self.read(script)  # every read is a round trip to the server: none is cheaper

    async def peek(self, script: Callable[[Connection], T], *, point: bool = False) -> T:
        """One statement in autocommit: one round trip, where BEGIN and COMMIT would add two."""
        return await anyio.to_thread.run_sync(self._autocommit, script, limiter=self._slots)

    def _autocommit(self, script: Callable[[Connection], T]) -> T:
        with unavailable(self.url), self._pool.connection() as raw:
            raw.autocommit = True
            try:
                return script(_connection(raw))
            finally:
                raw.autocommit = False

    async def write(self, script: Callable[[Connection], T]) -> T:
        try:
            return await self._run(script, IsolationLevel.READ_COMMITTED, read_only=False)
        except (IntegrityError, errors.TransactionRollback) as exc:
            # The checks inside the transaction come first; this is a race they did not foresee.
            raise Conflict(
                "The change collides with a concurrent one and was not saved.", hint="Read again and retry."
            ) from exc

    def usage(self) -> PoolUsage:
        stats = self._pool.get_stats()
        opened, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
        return PoolUsage(
            in_use=opened - idle,
            idle=idle,
            max_size=self._pool.max_size,
            waiting=stats.get("requests_waiting", 0) + int(self._slots.statistics().tasks_waiting),
        )

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self._pool.close)


@contextmanager
def unavailable(url: PostgresUrl) -> Generator[None]:
    """Connection failures become BackendUnavailable naming the database with its password masked."""
    try:
        yield
    except (OperationalError, PoolTimeout) as exc:
        raise BackendUnavailable(
            f"Cannot use the PostgreSQL database at {url}: {str(exc).strip() or type(exc).__name__}.",
            hint="Check that the server is up and the URL given by --db or TICKETS_DB is right.",
        ) from exc
