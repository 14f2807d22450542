"""The store section's data: N tickets of bug-report text in one organization, on SQLite and on PostgreSQL.

One organization `Bench` of 10 projects of Zipf-skewed sizes (the first holds a third of the tickets),
200 users (alice, the owner, first), 8 labels a project. Titles and descriptions come from
`bench/corpus.py` (the kind of text follows the ticket's type). Tickets are created over one year, in id
order; the older a ticket, the likelier it is closed. Assignees and reporters are Zipf-drawn (a few
people hold most tickets), 25% of tickets unassigned; 0-3 labels; 5% are sub-tasks; with `planning`,
6 milestones a project (40% of tickets in one), due dates on 30% and `blocks` links from 2%.

SQLite: the product's own schema (`tickets-mcp migrate`), then the rows bulk-inserted in one
transaction, so the product's triggers fill what they fill for every insert (the full-text index
`ticket_search`, the id mark). Nothing is analysed: the product never runs ANALYZE, its planner uses the
statistics migration 4 wrote. Cached under bench/.cache/ by (N, seed, SEED_VERSION, schema).

PostgreSQL: a database made by the product's migrations, then the same rows copied from the SQLite file
with COPY (the `search` tsvector is a generated column: PostgreSQL computes it from the title and
description as it does for any insert). The secondary indexes of `tickets` are dropped before the copy and
made again after it from their own definitions, as pg_restore does, and ticket_counts is written in one
statement after it, its triggers held off meanwhile (as pg_restore creates triggers after the data); then
VACUUM ANALYZE, which
autovacuum would run on its own after such a load. Cached on the server by the same key, the
database's comment saying it is complete and how long it took.

Anything the product keeps by application code rather than by triggers or generated columns
(`projects.ticket_counter`, `ticket_ids`, ...) is written here too: a new such table needs a line here.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.corpus import Corpus, Zipf
from tickets_mcp.domain import Status, TicketType
from tickets_mcp.domain.rules import format_timestamp, label_color
from tickets_mcp.stores.location import PostgresUrl

CACHE = Path(__file__).resolve().parent / ".cache"
SEED_VERSION = 3  # bump when the seeded data changes, so stale cached files and databases are not reused
RNG_SEED = 7

PROJECTS = 10
USERS = 200
LABELS_PER_PROJECT = 8
OWNER = "alice"
COMMON_WORD = "login"  # in about a quarter of the tickets (bench/corpus.py)
RARE_WORD = "webgl"  # in about 1 ticket in 1,400
SEARCH_WORD = RARE_WORD  # a selective text search (tests/stores/test_query_plans.py)
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_S = 365 * 24 * 3600
LABEL_NAMES = ("backend", "frontend", "ux", "bug-bash", "security", "perf", "customer", "docs")  # most used first
MILESTONES_PER_PROJECT = 6
MILESTONE_SEEDED = "Sprint 3"  # of the first project: the one the milestone cases filter on
TYPE_WEIGHTS = ((TicketType.BUG, 50), (TicketType.TASK, 22), (TicketType.FEATURE, 18), (TicketType.IMPROVEMENT, 10))
OPEN_WEIGHTS = ((Status.BACKLOG, 45), (Status.TODO, 25), (Status.IN_PROGRESS, 18), (Status.IN_REVIEW, 12))
PRIORITY_WEIGHTS = ((1, 20), (2, 50), (3, 22), (4, 8))  # low, medium, high, urgent
BATCH = 20_000
ORG_ID = "00000000-0000-4000-8000-000000000001"
PROJECT_IDS = tuple(f"00000000-0000-4000-8000-1000000000{i:02d}" for i in range(PROJECTS))
PROJECT_CODES = tuple(f"P{chr(ord('A') + i)}" for i in range(PROJECTS))
# The share of tickets in each project: Zipf, the first about a third.
PROJECT_WEIGHTS = tuple(1 / (i + 1) for i in range(PROJECTS))


@dataclass(frozen=True)
class Seeded:
    path: Path
    tickets: int
    project_codes: tuple[str, ...]
    usernames: tuple[str, ...]
    parent_slug: str  # a ticket with sub-tasks
    counters: tuple[int, ...] = ()  # tickets a project, in the order of project_codes
    seed: int = RNG_SEED
    built: dict[str, Any] | None = None  # how long building took (seconds, cpu_seconds, load), when known


def _timestamp(seconds: float) -> str:
    return format_timestamp(START + timedelta(seconds=seconds))


def migrate_file(path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "tickets_mcp", "--db", str(path), "migrate"],
        check=True,
        capture_output=True,
        env={**os.environ, "TICKETS_LOG_LEVEL": "warning"},
    )


def _weighted(pairs: Sequence[tuple[Any, int]]) -> tuple[list[Any], list[int]]:
    return [v for v, _ in pairs], [w for _, w in pairs]


def seed_database(path: Path, tickets: int, *, rng_seed: int = RNG_SEED, planning: bool = True) -> Seeded:
    """Fill a freshly migrated file with `tickets` tickets (see the module's docstring)."""
    rng = random.Random(rng_seed)
    corpus = Corpus(rng_seed)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")  # a file being built: nothing to roll back to
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -500000")  # 500 MB: the indexes' pages stay in memory while built
        conn.execute("BEGIN")
        now = _timestamp(0)
        conn.execute(
            "INSERT INTO organizations (id, name, slug, created_at) VALUES (?, 'Bench', 'bench', ?)", (ORG_ID, now)
        )
        usernames = (OWNER, *(f"user{i:03d}" for i in range(1, USERS)))
        conn.executemany(
            "INSERT INTO users (id, username, name, created_at) VALUES (?, ?, ?, ?)",
            [(i + 1, name, name.title(), now) for i, name in enumerate(usernames)],
        )
        roles = ["owner", "admin", "member", "member", "reporter"]
        conn.executemany(
            "INSERT INTO memberships (organization_id, user_id, role) VALUES (?, ?, ?)",
            [(ORG_ID, i + 1, roles[i] if i < len(roles) else "member") for i in range(USERS)],
        )
        conn.executemany(
            "INSERT INTO projects (id, organization_id, name, code, created_at) VALUES (?, ?, ?, ?, ?)",
            [(pid, ORG_ID, f"Project {code}", code, now) for pid, code in zip(PROJECT_IDS, PROJECT_CODES, strict=True)],
        )
        label_ids = [[p * LABELS_PER_PROJECT + j + 1 for j in range(LABELS_PER_PROJECT)] for p in range(PROJECTS)]
        conn.executemany(
            "INSERT INTO labels (id, project_id, name, color) VALUES (?, ?, ?, ?)",
            [(label_ids[p][j], pid, name, label_color(name))
             for p, pid in enumerate(PROJECT_IDS) for j, name in enumerate(LABEL_NAMES)],
        )  # fmt: skip
        if planning:
            conn.executemany(
                "INSERT INTO milestones (id, project_id, name, start_date, due_date, closed, created_at)"
                " VALUES (?, ?, ?, NULL, ?, ?, ?)",
                [(p * MILESTONES_PER_PROJECT + m + 1, pid, f"Sprint {m + 1}", f"2026-{m + 1:02d}-28", m < 2, now)
                 for p, pid in enumerate(PROJECT_IDS) for m in range(MILESTONES_PER_PROJECT)],
            )  # fmt: skip

        types, type_weights = _weighted(TYPE_WEIGHTS)
        opens, open_weights = _weighted(OPEN_WEIGHTS)
        priorities, priority_weights = _weighted(PRIORITY_WEIGHTS)
        people = Zipf([str(i) for i in range(1, USERS + 1)], rng)
        label_draw = [Zipf([str(x) for x in ids], rng) for ids in label_ids]
        first_due = datetime(2025, 6, 1, tzinfo=UTC)
        numbers = [0] * PROJECTS
        positions: dict[tuple[int, str], int] = {}
        recent: list[list[int]] = [[] for _ in range(PROJECTS)]
        by_project: list[list[int]] = [[] for _ in range(PROJECTS)]
        batch: list[tuple[Any, ...]] = []
        tl_batch: list[tuple[int, int]] = []

        def flush() -> None:
            conn.executemany(
                """INSERT INTO tickets (id, project_id, number, type, title, description, status, priority,
                       assignee_id, reporter_id, parent_id, position, version, created_at, updated_at,
                       closed_at, closed_by_id, due_date, milestone_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                batch,
            )
            conn.executemany("INSERT INTO ticket_labels (ticket_id, label_id) VALUES (?, ?)", tl_batch)
            batch.clear()
            tl_batch.clear()

        for ticket_id in range(1, tickets + 1):
            p = rng.choices(range(PROJECTS), PROJECT_WEIGHTS)[0]
            numbers[p] += 1
            by_project[p].append(ticket_id)
            age = 1 - ticket_id / tickets  # 1 for the oldest, 0 for the newest
            kind = rng.choices(types, type_weights)[0]
            if rng.random() < 0.15 + 0.7 * age:
                status = Status.DONE if rng.random() < 0.88 else Status.CANCELED
            else:
                status = rng.choices(opens, open_weights)[0]
            position = positions.get((p, status.value), 0) + 1024
            positions[p, status.value] = position
            created = SPAN_S * ticket_id / tickets
            touched = rng.expovariate(1 / (5 * 24 * 3600)) if rng.random() < 0.9 else rng.random() * SPAN_S
            updated = min(SPAN_S, created + touched)
            title, description = corpus.ticket(kind.value)
            assignee = None if rng.random() < 0.25 else int(people())
            parent = rng.choice(recent[p]) if recent[p] and rng.random() < 0.05 else None
            if rng.random() < 0.01:
                recent[p] = [*recent[p][-9:], ticket_id]
            closed = status in (Status.DONE, Status.CANCELED)
            due = milestone = None
            if planning:
                if rng.random() < 0.3:
                    due = (first_due + timedelta(days=rng.randrange(730))).date().isoformat()
                if rng.random() < 0.4:
                    milestone = p * MILESTONES_PER_PROJECT + rng.randrange(MILESTONES_PER_PROJECT) + 1
            batch.append((
                ticket_id, PROJECT_IDS[p], numbers[p], kind.value, title, description, status.value,
                rng.choices(priorities, priority_weights)[0], assignee, int(people()), parent, position, 1,
                _timestamp(created), _timestamp(updated), _timestamp(updated) if closed else None,
                (assignee or 1) if closed else None, due, milestone,
            ))  # fmt: skip
            labels = {int(label_draw[p]()) for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 3)))}
            tl_batch += [(ticket_id, label) for label in sorted(labels)]
            if len(batch) >= BATCH:
                flush()
        flush()
        conn.executemany(
            "UPDATE projects SET ticket_counter = ? WHERE id = ?", list(zip(numbers, PROJECT_IDS, strict=True))
        )
        if planning:
            links: list[tuple[int, int, str]] = []
            for ids in by_project:
                for n, ticket_id in enumerate(ids[:-1]):
                    if rng.random() < 0.02:
                        links.append((ticket_id, ids[rng.randrange(n + 1, len(ids))], now))
            conn.executemany(
                "INSERT OR IGNORE INTO ticket_links (from_id, to_id, kind, created_at) VALUES (?, ?, 'blocks', ?)",
                links,
            )
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    return describe(path, tickets, rng_seed)


def describe(path: Path, tickets: int, seed: int = RNG_SEED, built: dict[str, Any] | None = None) -> Seeded:
    conn = sqlite3.connect(path)
    try:
        projects = conn.execute("SELECT code, ticket_counter FROM projects ORDER BY code").fetchall()
        codes = tuple(str(code) for code, _ in projects)
        users = tuple(str(r[0]) for r in conn.execute("SELECT username FROM users ORDER BY id"))
        row = conn.execute(
            """SELECT p.code, pt.number FROM tickets pt JOIN projects p ON p.id = pt.project_id
               WHERE pt.id = (SELECT parent_id FROM tickets WHERE parent_id IS NOT NULL
                              GROUP BY parent_id ORDER BY COUNT(*) DESC, parent_id LIMIT 1)"""
        ).fetchone()
    finally:
        conn.close()
    parent = f"{row[0]}-{row[1]}" if row else f"{codes[0]}-1"
    return Seeded(path, tickets, codes, users, parent, tuple(int(n) for _, n in projects), seed, built)


def _schema_key(statements: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(statements).encode()).hexdigest()[:8]


def sqlite_schema_key() -> str:
    from tickets_mcp.stores.sqlite.migrations import MIGRATIONS

    return f"{MIGRATIONS[-1].version}-{_schema_key([s for m in MIGRATIONS for s in m.statements])}"


def postgres_schema_key() -> str:
    from tickets_mcp.stores.postgres.migrations import MIGRATIONS

    return f"{MIGRATIONS[-1].version}_{_schema_key([s for m in MIGRATIONS for s in m.statements])}"


def cached_database(tickets: int, seed: int = RNG_SEED) -> Seeded:
    """A seeded file under bench/.cache/, built once per (size, seed, data version, schema)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"store-{tickets}-s{seed}-v{SEED_VERSION}-schema{sqlite_schema_key()}.db"
    built = path.with_suffix(".json")
    if not path.exists():
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            building = Path(tmp) / "building.db"
            started, cpu = time.perf_counter(), time.process_time()
            migrate_file(building)
            seed_database(building, tickets, rng_seed=seed)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            note = {"seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "bytes": building.stat().st_size,
                    "load": os.getloadavg()}  # fmt: skip
            built.write_text(json.dumps(note) + "\n")
            building.rename(path)
    return describe(path, tickets, seed, json.loads(built.read_text()) if built.exists() else None)


@contextmanager
def sqlite_copy(seeded: Seeded, folder: Path) -> Generator[Path]:
    """A copy of the seeded file to change (creates), removed after."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "store.db"
    shutil.copyfile(seeded.path, copy)
    try:
        yield copy
    finally:
        for leftover in (copy, copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm")):
            leftover.unlink(missing_ok=True)


# PostgreSQL


# Tables copied from the SQLite file, parents first. SQLite's own bookkeeping (ticket_ids, project_numbers)
# has PostgreSQL sequences instead, set after the copy.
COPIED = ("organizations", "users", "memberships", "projects", "labels", "milestones", "tickets", "ticket_labels",
          "ticket_links")  # fmt: skip
REINDEXED = ("tickets", "ticket_labels")


def _say(text: str) -> None:
    print(f"dataset: {text}", file=sys.stderr, flush=True)


def _database_url(server: str, name: str) -> str:
    return f"{server.rsplit('/', 1)[0]}/{name}"


def postgres_name(seeded: Seeded) -> str:
    return f"tickets_bench_store_{seeded.tickets}_s{seeded.seed}_v{SEED_VERSION}_{postgres_schema_key()}"


def postgres_database(server: str, seeded: Seeded) -> tuple[PostgresUrl, dict[str, Any] | None]:
    """The seeded data on `server`, in a database built once per key; and how long building it took
    (seconds; cpu_seconds, the server's: its backends' user and system time are not visible here)."""
    import psycopg
    from psycopg import sql

    name = postgres_name(seeded)
    url = PostgresUrl(_database_url(server, name))
    with psycopg.connect(server, autocommit=True) as admin:
        # One builder at a time, whoever runs the bench against this server.
        admin.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
        try:
            found = admin.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if found is not None and found[0]:
                return url, json.loads(found[0])
            started, load = time.perf_counter(), os.getloadavg()
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            from tickets_mcp.stores.postgres.migrations import migrate

            migrate(url)
            _copy_rows(url, seeded.path)
            began = time.perf_counter()
            with psycopg.connect(url.url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            _say(f"VACUUM ANALYZE in {time.perf_counter() - began:.1f} s")
            note = {"seconds": round(time.perf_counter() - started, 1), "tickets": seeded.tickets,
                    "load": [load[0], os.getloadavg()[0]]}  # fmt: skip
            comment = sql.Literal(json.dumps(note))
            admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), comment))
            return url, note
        finally:
            admin.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))


def copy_to_postgres(url: PostgresUrl, source: Path) -> None:
    """The rows of the seeded SQLite file `source` into the migrated, empty database (or schema) at `url`."""
    _copy_rows(url, source)


def _copy_rows(url: PostgresUrl, source: Path) -> None:
    import psycopg
    from psycopg import sql

    lite = sqlite3.connect(source)
    try:
        with psycopg.connect(url.url) as conn:
            indexes = conn.execute(
                """SELECT i.indexname, i.indexdef FROM pg_indexes i
                   WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
                     AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conname = i.indexname)""",
                (list(REINDEXED),),
            ).fetchall()
            for index, _ in indexes:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index)))
            # ticket_counts' triggers, as pg_restore leaves triggers until the data is in: fired for each of
            # a million rows in one transaction, each update of a count walked the row's versions so far.
            conn.execute("ALTER TABLE tickets DISABLE TRIGGER USER")
            for table in COPIED:
                began = time.perf_counter()
                kinds = dict(
                    conn.execute(
                        """SELECT column_name, data_type FROM information_schema.columns
                           WHERE table_schema = current_schema() AND table_name = %s AND is_generated = 'NEVER'""",
                        (table,),
                    ).fetchall()
                )
                columns = [str(r[1]) for r in lite.execute(f"PRAGMA table_info({table})") if r[1] in kinds]
                booleans = {n for n, c in enumerate(columns) if kinds[c] == "boolean"}
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
                )
                rows = lite.execute(f"SELECT {', '.join(columns)} FROM {table}")  # names from the schema
                with conn.cursor().copy(statement) as copy:
                    for row in rows:
                        if booleans:
                            row = tuple(bool(v) if n in booleans and v is not None else v for n, v in enumerate(row))
                        copy.write_row(row)
                _say(f"copied {table} in {time.perf_counter() - began:.1f} s")
            began = time.perf_counter()
            for _, definition in indexes:
                conn.execute(definition.encode())
            _say(f"indexed {', '.join(REINDEXED)} in {time.perf_counter() - began:.1f} s")
            conn.execute("ALTER TABLE tickets ENABLE TRIGGER USER")
            conn.execute(
                "INSERT INTO ticket_counts (project_id, status, tickets)"
                " SELECT project_id, status, COUNT(*) FROM tickets GROUP BY project_id, status"
            )
            identities = conn.execute(
                """SELECT table_name, column_name, pg_get_serial_sequence(table_name, column_name)
                   FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = ANY(%s) AND is_identity = 'YES'""",
                (list(COPIED),),
            ).fetchall()
            for table, column, sequence in identities:
                conn.execute(
                    sql.SQL("SELECT setval({}, (SELECT COALESCE(MAX({}), 0) + 1 FROM {}), false)").format(
                        sql.Literal(sequence), sql.Identifier(column), sql.Identifier(table)
                    )
                )
            conn.execute("SELECT setval('project_numbers', (SELECT COALESCE(MAX(number), 0) + 1 FROM projects), false)")
            conn.commit()
    finally:
        lite.close()


@contextmanager
def postgres_copy(server: str, template: PostgresUrl) -> Generator[PostgresUrl]:
    """A copy of the cached database to change (creates), dropped after."""
    import psycopg
    from psycopg import sql

    source = template.url.rsplit("/", 1)[1]
    name = f"tickets_bench_store_run_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(source)
            )
        )
    try:
        yield PostgresUrl(_database_url(server, name))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
