"""Statements and transactions per operation, on each store: round trips as numbers, so a regression shows.

Every query the store runs goes through `stores.sql.connection.Connection` (one per transaction); this
section wraps that class, in this process only, and counts its queries and its instances while the
product's own code runs an operation through the same path an HTTP request takes: the token's lookup
(`Backend.authenticate`) alone, and then with what follows it: what `tools/list` asks (`permitted_actions`),
and the tracker calls behind get_ticket, list_tickets, create_ticket and move_ticket. Statements are the
queries plus, on PostgreSQL, each transaction's BEGIN and COMMIT (a statement run outside any transaction,
`Engine.peek`, has none): what `log_statement = all` logs, each one round trip.

PostgreSQL is measured when TICKETS_BENCH_POSTGRES_URL names a server (a scratch database is made there).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.search import ENV_POSTGRES
from bench.stats import Metric
from tickets_mcp.stores.location import PostgresUrl

SECTION = "statements"
REPEATS = 20
SEEDED = 50
# Issue 22's targets on PostgreSQL, in statements per request (BEGIN and COMMIT included).
TARGETS = {"get_ticket": 4, "list_tickets": 4, "create_ticket": 6}


class Counter:
    def __init__(self) -> None:
        self.queries = 0
        self.transactions = 0  # BEGIN ... COMMIT: connections handed to a script outside autocommit


@contextmanager
def counting() -> Generator[Counter]:
    """Count every query and every transaction's connection the stores make while the block runs."""
    from tickets_mcp.stores.sql import connection

    counter = Counter()
    original = connection.Connection.__init__

    def init(self: connection.Connection, execute: connection.Execute, dialect: Any, raw: object) -> None:
        counter.transactions += not getattr(raw, "autocommit", False)  # psycopg's; SQLite's are transactions

        def counted(query: str, params: Any) -> Any:
            counter.queries += 1
            return execute(query, params)

        original(self, counted, dialect, raw)

    connection.Connection.__init__ = init  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        connection.Connection.__init__ = original  # type: ignore[method-assign]


async def _scratch_postgres(server: str) -> PostgresUrl:
    import psycopg
    from psycopg import sql

    name = "tickets_bench_statements"
    async with await psycopg.AsyncConnection.connect(server, autocommit=True) as admin:
        await admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return PostgresUrl(f"{server.rsplit('/', 1)[0]}/{name}")


async def _measure(location: Path | PostgresUrl, engine: str) -> list[Metric]:
    from tickets_mcp.core.local_backend import LocalBackend
    from tickets_mcp.core.tokens import issue_token
    from tickets_mcp.core.tracker import Principal, TicketDraft, TicketFilter, Tracker
    from tickets_mcp.domain import Status, TokenKind
    from tickets_mcp.stores import Actor
    from tickets_mcp.stores.factory import open_store

    store = await open_store(location)
    try:
        alice = await store.ensure_user("alice", "Alice")
        await store.ensure_local_workspace(alice, "Local", "Inbox", "INBOX")
        local = Principal(user_id=alice.id, username="alice")
        backend = LocalBackend(store, local)
        secret = (
            await issue_token(store, kind=TokenKind.PERSONAL, name="bench", user=alice, actor=Actor(alice.id))
        ).secret
        caller = await backend.authenticate(secret)
        assert caller is not None
        tracker = backend.tracker(caller)
        slugs = [(await tracker.create_ticket(TicketDraft(title=f"Login fails on step {i}"))).ticket.slug
                 for i in range(SEEDED)]  # fmt: skip
        statuses = [Status.TODO, Status.IN_PROGRESS]

        async def request() -> Tracker:
            """A request's first step: its token looked up (from the cache while nothing changed)."""
            principal = await backend.authenticate(secret)
            assert principal is not None
            return backend.tracker(principal)

        async def authenticate(_: int) -> None:
            await request()

        async def permitted(_: int) -> None:
            await (await request()).permitted_actions()

        async def get_ticket(i: int) -> None:
            await (await request()).get_ticket(slugs[i % SEEDED])

        async def list_tickets(_: int) -> None:
            await (await request()).list_tickets(TicketFilter())

        async def create_ticket(i: int) -> None:
            await (await request()).create_ticket(TicketDraft(title=f"Export times out after upgrade {i}"))

        async def move_ticket(i: int) -> None:
            await (await request()).move_ticket(slugs[i % SEEDED], statuses[(i // SEEDED) % 2])

        operations: dict[str, Callable[[int], Awaitable[None]]] = {
            "authenticate": authenticate,
            "permitted_actions (tools/list)": permitted,
            "get_ticket": get_ticket,
            "list_tickets": list_tickets,
            "create_ticket": create_ticket,
            "move_ticket": move_ticket,
        }
        metrics: list[Metric] = []
        for name, operation in operations.items():
            await operation(0)  # warm: caches and prepared statements as a running server has them
            with counting() as counter:
                for i in range(1, REPEATS + 1):
                    await operation(i)
            queries, transactions = counter.queries / REPEATS, counter.transactions / REPEATS
            statements = queries + 2 * transactions if engine == "PostgreSQL" else queries
            target = TARGETS.get(name) if engine == "PostgreSQL" else None
            metrics.append(
                Metric(
                    section=SECTION,
                    name=f"{name}: statements per request ({engine})",
                    unit="statements",
                    ours=statements,
                    target=f"≤ {target}" if target is not None else "",
                    met=(statements <= target) if target is not None else None,
                    samples=REPEATS,
                    extra={"queries": queries, "transactions": transactions},
                )
            )
        return metrics
    finally:
        await store.close()


async def _run() -> list[Metric]:
    with tempfile.TemporaryDirectory(prefix="tickets-bench-statements-") as folder:
        metrics = await _measure(Path(folder) / "tracker.db", "SQLite")
    server = os.environ.get(ENV_POSTGRES)
    if server:
        metrics += await _measure(await _scratch_postgres(server), "PostgreSQL")
    else:
        print(f"statements: set {ENV_POSTGRES} to count PostgreSQL's too", file=sys.stderr)
    return metrics


def run(_: Context) -> list[Metric]:
    return asyncio.run(_run())
