"""Search budget benchmark: the worst text queries we could construct, at 100k tickets with varied text.

    python -m bench.search [--tickets N] [--repeats R]

SQLite always; PostgreSQL too when TICKETS_BENCH_POSTGRES_URL names a server (a database
`tickets_bench_search_<N>` is created there once and reused). The tickets' descriptions are drawn from
a vocabulary of 40,000 made-up words with a Zipf distribution, numbers and hex ids, so every letter
and digit starts thousands of distinct words: the shape that made a one-letter prefix scan cost
seconds (issue 15). Most tickets belong to one big organization; a small one holds 1,000.
`run(quick)` returns one dict per metric for bench/__main__.py (section `search`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import string
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.dataset import CACHE, migrate_file
from bench.rows import result
from bench.stats import percentile
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketFilter
from tickets_mcp.domain import TicketSort
from tickets_mcp.stores.location import PostgresUrl
from tickets_mcp.stores.port import Store

ENV_POSTGRES = "TICKETS_BENCH_POSTGRES_URL"
SEED_VERSION = 1
BIG_PROJECTS = 10
SMALL_TICKETS = 1_000  # the small organization's, in one project
START = "2026-01-01T00:00:00.000Z"
COUNT_LIMIT = 1000  # what list_tickets over MCP counts up to
BIG_OWNER, SMALL_OWNER = "big_owner", "small_owner"

# The attack of issue 15: 32 one-character words, 63 characters.
ONE_LETTER_WORDS = " ".join([*string.ascii_lowercase, *"012345"])
# The same with the characters that start the most words of the seeded text (q, x, y start none).
DENSE_ONE_LETTER_WORDS = " ".join([*"bcdfghjklmnprstvwzaeiou", *"123456789"])


@dataclass(frozen=True)
class Query:
    name: str
    text: str
    user: str


def _syllables() -> list[str]:
    return [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + list("aeiou")


def vocabulary(rng: random.Random, size: int = 40_000) -> list[str]:
    syllables = _syllables()
    endings = ["", "", "s", "ed", "ing", "er", "ion", "ly"]
    found: dict[str, None] = {}
    while len(found) < size:
        found["".join(rng.choices(syllables, k=rng.randint(1, 4))) + rng.choice(endings)] = None
    return list(found)


def frequent_words(seed: int, count: int = 3) -> str:
    """The `count` most frequent made-up words of `texts(n, seed)`: each is in most of its tickets."""
    return " ".join(vocabulary(random.Random(seed))[:count])


def texts(n: int, seed: int) -> Iterator[tuple[str, str]]:
    """`n` (title, description) pairs of varied text: Zipf-drawn words, numbers, hex ids, short words."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    cumulative: list[float] = []
    total = 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    short = ["a", "i", "to", "of", "in", "is", "it", "on", "at", "an", "be", "by", "or", "we", "x", "v2"]

    def word() -> str:
        roll = rng.random()
        if roll < 0.06:
            return str(rng.randrange(100_000))
        if roll < 0.08:
            return f"{rng.getrandbits(28):07x}"
        if roll < 0.2:
            return rng.choice(short)
        return rng.choices(words, cum_weights=cumulative)[0]

    for _ in range(n):
        title = " ".join(word() for _ in range(rng.randint(3, 8))).capitalize()
        description = " ".join(word() for _ in range(rng.randint(20, 80)))
        yield title, description


def _rows(n: int, seed: int) -> tuple[list[tuple[str, str, str, str, str]], list[tuple[Any, ...]], list[str]]:
    """Organizations, projects and tickets as rows (the big organization's tickets first, then the small's)."""
    big_org, small_org = "00000000-0000-4000-8000-00000000b001", "00000000-0000-4000-8000-00000000b002"
    projects = [
        (f"00000000-0000-4000-8000-0000000a{i:04d}", big_org, f"Big {i}", f"BIG{i}") for i in range(BIG_PROJECTS)
    ]
    projects.append(("00000000-0000-4000-8000-0000000c0001", small_org, "Small", "SMALL"))
    rng = random.Random(seed + 1)
    numbers = dict.fromkeys((p[0] for p in projects), 0)
    tickets: list[tuple[Any, ...]] = []
    for index, (title, description) in enumerate(texts(n, seed)):
        project = projects[-1][0] if index >= n - SMALL_TICKETS else projects[rng.randrange(BIG_PROJECTS)][0]
        numbers[project] += 1
        status = rng.choice(("backlog", "todo", "in_progress", "done", "done"))
        tickets.append((index + 1, project, numbers[project], "bug", title, description, status, 2, 1024 * (index + 1)))
    counters = [f"{numbers[p[0]]}" for p in projects]
    return [(*p, c) for p, c in zip(projects, counters, strict=True)], tickets, [big_org, small_org]


def _insert_sql(placeholder: str, overriding: str = "") -> tuple[str, str, str, str, str]:
    """The seed's INSERTs; `overriding`: PostgreSQL's clause for writing its identity columns."""
    p = placeholder
    return (
        f"INSERT INTO organizations (id, name, slug, created_at) VALUES ({p}, {p}, {p}, {p})",
        f"INSERT INTO users (id, username, name, created_at) {overriding} VALUES ({p}, {p}, {p}, {p})",
        f"INSERT INTO memberships (organization_id, user_id, role) VALUES ({p}, {p}, 'owner')",
        f"INSERT INTO projects (id, organization_id, name, code, ticket_counter, created_at) "
        f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
        f"""INSERT INTO tickets (id, project_id, number, type, title, description, status, priority, position,
                                 version, created_at, updated_at) {overriding}
            VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, 1, {p}, {p})""",
    )


def _seed_rows(n: int) -> tuple[list[tuple[Any, ...]], ...]:
    projects, tickets, (big_org, small_org) = _rows(n, 42)
    orgs = [(big_org, "Big", "big", START), (small_org, "Small", "small", START)]
    users = [(1, BIG_OWNER, "Big Owner", START), (2, SMALL_OWNER, "Small Owner", START)]
    members = [(big_org, 1), (small_org, 2)]
    project_rows = [(pid, org, name, code, int(counter), START) for pid, org, name, code, counter in projects]
    ticket_rows = [(*t, START, START) for t in tickets]
    return orgs, users, members, project_rows, ticket_rows


def sqlite_database(n: int) -> Path:
    """A SQLite file of `n` tickets under bench/.cache/, built once per size and schema version."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"search-{n}-v{SEED_VERSION}-schema{_sqlite_schema()}.db"
    if path.exists():
        return path
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        building = Path(tmp) / "building.db"
        migrate_file(building)
        conn = sqlite3.connect(building, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("BEGIN")
            for statement, rows in zip(_insert_sql("?"), _seed_rows(n), strict=True):
                conn.executemany(statement, rows)
            conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        building.rename(path)
    return path


def _sqlite_schema() -> int:
    from tickets_mcp.stores.sqlite.migrations import LATEST

    return LATEST


async def postgres_database(server: str, n: int) -> PostgresUrl:
    """A PostgreSQL database of `n` tickets on `server`, built once per size."""
    import psycopg
    from psycopg import sql

    from tickets_mcp.stores.postgres import PostgresStore
    from tickets_mcp.stores.postgres.migrations import LATEST

    name = f"tickets_bench_search_{n}_v{SEED_VERSION}_schema{LATEST}"  # an older build refuses a newer schema
    parts = server.rsplit("/", 1)
    url = PostgresUrl(f"{parts[0]}/{name}")
    async with await psycopg.AsyncConnection.connect(server, autocommit=True) as admin:
        exists = await (await admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))).fetchone()
        if exists is None:
            await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    store = await PostgresStore.open(url, pool_size=2)
    await store.close()
    async with await psycopg.AsyncConnection.connect(url.url) as conn:
        seeded = await (await conn.execute("SELECT COUNT(*) FROM tickets")).fetchone()
        if seeded is not None and seeded[0] == n:
            return url
        async with conn.cursor() as cursor:
            for statement, rows in zip(_insert_sql("%s", "OVERRIDING SYSTEM VALUE"), _seed_rows(n), strict=True):
                await cursor.executemany(statement.encode(), rows)
            for table in ("users", "tickets"):
                await cursor.execute(
                    sql.SQL("SELECT setval(pg_get_serial_sequence({0}, 'id'), (SELECT MAX(id) FROM {1}))").format(
                        sql.Literal(table), sql.Identifier(table)
                    )
                )
        await conn.execute("ANALYZE")
        await conn.commit()
    return url


def queries() -> list[Query]:
    """The worst queries we could construct, and ordinary ones for comparison."""
    common = frequent_words(42)
    prefixes = " ".join(f"{s}{c}" for s in ("ba", "ko") for c in "bdfgklmnprst")[:127]  # 3 letters each
    return [
        Query("32 one-letter words (issue 15), big organization", ONE_LETTER_WORDS, BIG_OWNER),
        Query("32 one-letter words, small organization", ONE_LETTER_WORDS, SMALL_OWNER),
        Query("32 densest one-letter words, big organization", DENSE_ONE_LETTER_WORDS, BIG_OWNER),
        Query("24 three-letter prefixes, big organization", prefixes, BIG_OWNER),
        Query("16 common short words, big organization", "a i to of in is it on at an be by or we x v2", BIG_OWNER),
        Query("16 frequent words, big organization", frequent_words(42, 16), BIG_OWNER),
        Query("three frequent words, big organization", common, BIG_OWNER),
        Query("three frequent words, small organization", common, SMALL_OWNER),
    ]


async def _time(store: Store, query: Query, repeats: int) -> tuple[list[float], str]:
    user = await store.find_user(query.user)
    assert user is not None, query.user
    tracker = LocalTracker(store, Principal(user_id=user.id, username=user.username))
    # As list_tickets over MCP asks: best match first, 20 rows, counted up to 1,000.
    wanted = TicketFilter(text=query.text, sort=TicketSort.RELEVANCE, limit=20, count_limit=COUNT_LIMIT)
    samples: list[float] = []
    shown = ""
    for _ in range(repeats):
        started = time.perf_counter()
        page = await tracker.list_tickets(wanted)
        samples.append((time.perf_counter() - started) * 1000)
        shown = f"{len(page.tickets)} of {page.total}{'+' if page.total_capped else ''}"
        if getattr(page, "search_stopped", False):  # absent before the budget existed
            shown += ", stopped at the budget"
    return samples, shown


async def measure(store: Store, label: str, repeats: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for query in queries():
        samples, shown = await _time(store, query, repeats)
        p50 = percentile(samples, 50)
        row = result(f"search {label}: {query.name}", p50, "ms (p50)", samples=samples)
        row["target"] = f"{query.text!r} -> {shown}"
        print(f"{label}: {query.name}: p50 {p50:,.0f} ms, max {max(samples):,.0f} ms ({shown})", file=sys.stderr)
        rows.append(row)
    return rows


async def _run(n: int, repeats: int) -> list[dict[str, Any]]:
    from tickets_mcp.stores.sqlite import SqliteStore

    rows: list[dict[str, Any]] = []
    sqlite_store = await SqliteStore.open(sqlite_database(n))
    try:
        rows += await measure(sqlite_store, f"SQLite @ {n:,}", repeats)
    finally:
        await sqlite_store.close()
    server = os.environ.get(ENV_POSTGRES)
    if server:
        from tickets_mcp.stores.postgres import PostgresStore

        postgres_store = await PostgresStore.open(await postgres_database(server, n), pool_size=2)
        try:
            rows += await measure(postgres_store, f"PostgreSQL @ {n:,}", repeats)
        finally:
            await postgres_store.close()
    else:
        print(f"search: set {ENV_POSTGRES} to measure PostgreSQL too", file=sys.stderr)
    return rows


def run(quick: bool) -> list[dict[str, Any]]:
    return asyncio.run(_run(5_000 if quick else 100_000, 1 if quick else 5))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    from bench.rows import markdown

    print(markdown(asyncio.run(_run(args.tickets, args.repeats))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
