"""Store benchmarks: ticket creation throughput and list_tickets latency over a seeded SQLite file.

    python -m bench.store [--quick]

`run(quick)` returns one dict per metric (metric, value, unit, reference, ratio, p50, p99, target, met)
for bench/__main__.py; run as a module it prints them as a markdown table. Seeded databases are cached
under bench/.cache/ (deterministic: the same N gives the same file).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any, Literal

from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketDraft, TicketFilter
from tickets_mcp.domain import Priority, Status, TicketSort, TicketType
from tickets_mcp.domain.rules import format_timestamp, label_color
from tickets_mcp.stores.sqlite.store import SqliteStore

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"
SEED_VERSION = 2  # bump when the seeded data changes, so stale cached files are not reused

PROJECTS = 10
USERS = 20
LABELS_PER_PROJECT = 8
OWNER = "alice"
SEARCH_WORD = "zephyr"  # appears in about 1 title in 1,000: a selective text search
START = datetime(2025, 1, 1, tzinfo=UTC)

WORDS = [
    "login",
    "crash",
    "export",
    "report",
    "cache",
    "sync",
    "upload",
    "search",
    "filter",
    "billing",
    "invoice",
    "email",
    "password",
    "reset",
    "dashboard",
    "chart",
    "mobile",
    "layout",
    "dark",
    "mode",
    "api",
    "token",
    "webhook",
    "timeout",
    "retry",
    "queue",
    "worker",
    "import",
    "csv",
    "pdf",
    "permission",
    "role",
    "audit",
    "log",
    "memory",
    "leak",
    "slow",
    "query",
    "index",
    "migration",
    "backup",
    "restore",
    "onboarding",
    "signup",
    "notification",
    "badge",
    "tooltip",
    "modal",
    "keyboard",
    "shortcut",
    "accessibility",
    "translation",
    "locale",
]
LABEL_NAMES = ("bug-bash", "backend", "frontend", "ux", "security", "perf", "docs", "customer")
STATUS_WEIGHTS = (
    (Status.BACKLOG, 25), (Status.TODO, 20), (Status.IN_PROGRESS, 10),
    (Status.IN_REVIEW, 5), (Status.DONE, 35), (Status.CANCELED, 5),
)  # fmt: skip
TYPES = tuple(TicketType)


@dataclass(frozen=True)
class Seeded:
    path: Path
    tickets: int
    project_codes: tuple[str, ...]
    usernames: tuple[str, ...]
    parent_slug: str  # a ticket with sub-tasks


def _timestamp(seconds: float) -> str:
    return format_timestamp(START + timedelta(seconds=seconds))


def migrate_file(path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "tickets_mcp", "--db", str(path), "migrate"],
        check=True,
        capture_output=True,
        env={**os.environ, "TICKETS_LOG_LEVEL": "warning"},
    )


def seed_database(path: Path, tickets: int, *, rng_seed: int = 7, planning: bool = True) -> Seeded:
    """Fill a freshly migrated file with `tickets` tickets over 10 projects, 20 users, labels, sub-tasks, and
    (`planning`) milestones, due dates and links."""
    rng = random.Random(rng_seed)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN")
        now = _timestamp(0)
        org_id = "00000000-0000-4000-8000-000000000001"
        conn.execute(
            "INSERT INTO organizations (id, name, slug, created_at) VALUES (?, 'Bench', 'bench', ?)", (org_id, now)
        )
        usernames = (OWNER, *(f"user{i:02d}" for i in range(1, USERS)))
        conn.executemany(
            "INSERT INTO users (id, username, name, created_at) VALUES (?, ?, ?, ?)",
            [(i + 1, name, name.title(), now) for i, name in enumerate(usernames)],
        )
        roles = ["owner", "admin", "member", "member", "reporter"]
        conn.executemany(
            "INSERT INTO memberships (organization_id, user_id, role) VALUES (?, ?, ?)",
            [(org_id, i + 1, roles[min(i, len(roles) - 1)] if i < 5 else "member") for i in range(USERS)],
        )
        codes = tuple(f"P{chr(ord('A') + i)}" for i in range(PROJECTS))
        project_ids = [f"00000000-0000-4000-8000-1000000000{i:02d}" for i in range(PROJECTS)]
        conn.executemany(
            "INSERT INTO projects (id, organization_id, name, code, created_at) VALUES (?, ?, ?, ?, ?)",
            [(pid, org_id, f"Project {code}", code, now) for pid, code in zip(project_ids, codes, strict=True)],
        )
        label_ids: list[list[int]] = []
        label_rows: list[tuple[int, str, str, str]] = []
        for p, pid in enumerate(project_ids):
            ids = [p * LABELS_PER_PROJECT + j + 1 for j in range(LABELS_PER_PROJECT)]
            label_ids.append(ids)
            label_rows += [(ids[j], pid, name, label_color(name)) for j, name in enumerate(LABEL_NAMES)]
        conn.executemany("INSERT INTO labels (id, project_id, name, color) VALUES (?, ?, ?, ?)", label_rows)

        statuses = [s for s, _ in STATUS_WEIGHTS]
        weights = [w for _, w in STATUS_WEIGHTS]
        numbers = [0] * PROJECTS
        positions: dict[tuple[int, str], int] = {}
        recent: list[list[int]] = [[] for _ in range(PROJECTS)]
        span = 365 * 24 * 3600
        batch: list[tuple[Any, ...]] = []
        tl_batch: list[tuple[int, int]] = []

        def flush() -> None:
            conn.executemany(
                """INSERT INTO tickets (id, project_id, number, type, title, description, status, priority,
                       assignee_id, reporter_id, parent_id, position, version, created_at, updated_at,
                       closed_at, closed_by_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                batch,
            )
            conn.executemany("INSERT INTO ticket_labels (ticket_id, label_id) VALUES (?, ?)", tl_batch)
            batch.clear()
            tl_batch.clear()

        for ticket_id in range(1, tickets + 1):
            p = rng.randrange(PROJECTS)
            numbers[p] += 1
            status = rng.choices(statuses, weights)[0]
            position = positions.get((p, status.value), 0) + 1024
            positions[p, status.value] = position
            created = span * ticket_id / tickets
            updated = min(span, created + rng.random() * 30 * 24 * 3600)
            title_words = rng.sample(WORDS, 5)
            if rng.random() < 0.001:
                title_words[2] = SEARCH_WORD
            title = " ".join(title_words).capitalize()
            description = " ".join(rng.choices(WORDS, k=rng.randrange(5, 40)))
            assignee = None if rng.random() < 0.2 else rng.randrange(1, USERS + 1)
            parent = rng.choice(recent[p]) if recent[p] and rng.random() < 0.05 else None
            if rng.random() < 0.01:
                recent[p] = [*recent[p][-9:], ticket_id]
            closed = status in (Status.DONE, Status.CANCELED)
            batch.append((
                ticket_id, project_ids[p], numbers[p], rng.choice(TYPES).value, title, description, status.value,
                rng.randrange(1, 5), assignee, rng.randrange(1, USERS + 1), parent, position, 1,
                _timestamp(created), _timestamp(updated), _timestamp(updated) if closed else None,
                assignee if closed else None,
            ))  # fmt: skip
            for label in rng.sample(label_ids[p], rng.choice((0, 0, 1, 1, 2))):
                tl_batch.append((ticket_id, label))
            if len(batch) >= 20_000:
                flush()
        flush()
        conn.executemany(
            "UPDATE projects SET ticket_counter = ? WHERE id = ?", list(zip(numbers, project_ids, strict=True))
        )
        if planning:
            _seed_planning(conn, rng, project_ids)
        conn.execute("COMMIT")
        row = conn.execute(
            """SELECT p.code, pt.number FROM tickets pt JOIN projects p ON p.id = pt.project_id
               WHERE pt.id = (SELECT parent_id FROM tickets WHERE parent_id IS NOT NULL
                              GROUP BY parent_id ORDER BY COUNT(*) DESC LIMIT 1)"""
        ).fetchone()
        parent_slug = f"{row[0]}-{row[1]}" if row else f"{codes[0]}-1"
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return Seeded(path, tickets, codes, usernames, parent_slug)


def cached_database(tickets: int) -> Seeded:
    """A seeded file under bench/.cache/, built once per size."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"store-{tickets}-v{SEED_VERSION}.db"
    if not path.exists():
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            building = Path(tmp) / "building.db"
            migrate_file(building)
            seed_database(building, tickets)
            building.rename(path)
    return _describe(path, tickets)


def _describe(path: Path, tickets: int) -> Seeded:
    conn = sqlite3.connect(path)
    try:
        codes = tuple(str(r[0]) for r in conn.execute("SELECT code FROM projects ORDER BY code"))
        users = tuple(str(r[0]) for r in conn.execute("SELECT username FROM users ORDER BY id"))
        row = conn.execute(
            """SELECT p.code, pt.number FROM tickets pt JOIN projects p ON p.id = pt.project_id
               WHERE pt.id = (SELECT parent_id FROM tickets WHERE parent_id IS NOT NULL
                              GROUP BY parent_id ORDER BY COUNT(*) DESC LIMIT 1)"""
        ).fetchone()
    finally:
        conn.close()
    return Seeded(path, tickets, codes, users, f"{row[0]}-{row[1]}" if row else f"{codes[0]}-1")


# Statistics


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def result(
    metric: str,
    value: float,
    unit: str,
    *,
    samples: Sequence[float] = (),
    target: str | None = None,
    met: bool | None = None,
    reference: float | None = None,
) -> dict[str, Any]:
    return {
        "metric": metric,
        "value": round(value, 3),
        "unit": unit,
        "reference": reference,
        "ratio": round(value / reference, 2) if reference else None,
        "p50": round(percentile(samples, 50), 3) if samples else None,
        "p99": round(percentile(samples, 99), 3) if samples else None,
        "target": target,
        "met": met,
    }


# Creates


Sync = Literal["full", "normal"]


async def _open_tracker(path: Path, synchronous: Sync, username: str) -> tuple[SqliteStore, LocalTracker]:
    store = await SqliteStore.open(path, synchronous=synchronous)
    user = await store.ensure_user(username, username.title())
    await store.ensure_local_workspace(user, "Bench", "Bench", "BENCH")
    return store, LocalTracker(store, Principal(user_id=user.id, username=user.username))


async def _create_many(
    path: Path, synchronous: Sync, count: int, barrier: Barrier | None, in_flight: int = 1, check: bool = False
) -> list[float]:
    """`count` creates through one store, from `in_flight` callers at once (as concurrent agents or
    HTTP requests would be); one caller waits for each create before sending the next."""
    store, tracker = await _open_tracker(path, synchronous, "writer")
    try:
        await tracker.create_ticket(TicketDraft(title="warm up", project="BENCH"))
        if barrier is not None:
            barrier.wait()
        latencies: list[float] = []

        async def caller(first: int) -> None:
            for i in range(first, count, in_flight):
                started = time.perf_counter()
                await tracker.create_ticket(
                    TicketDraft(
                        title=f"Bench ticket {i}",
                        project="BENCH",
                        description="created by bench.store",
                        check_duplicates=check,
                    )
                )
                latencies.append(time.perf_counter() - started)

        async with asyncio.TaskGroup() as callers:
            for first in range(in_flight):
                callers.create_task(caller(first))
        return latencies
    finally:
        await store.close()


def _create_worker(path: str, synchronous: Sync, count: int, barrier: Barrier, out: Any) -> None:
    latencies = asyncio.run(_create_many(Path(path), synchronous, count, barrier))
    out.put(latencies)


def bench_creates(
    writers: int, synchronous: Sync, per_writer: int, in_flight: int = 1, check: bool = False
) -> dict[str, Any]:
    """Creates/s of `writers` processes on one file; with one, `in_flight` callers share its store.

    `check`: each create looks for an open look-alike first, as create_ticket does without a key. The
    titles ("Bench ticket N") all share two words, the worst case: every earlier ticket is a candidate.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "creates.db"
        # Create the workspace up front so the writers do not race to create it.
        asyncio.run(_prepare(path, synchronous))
        if writers == 1:
            started = time.perf_counter()
            latencies = asyncio.run(_create_many(path, synchronous, per_writer, None, in_flight, check))
            elapsed = time.perf_counter() - started
        else:
            context = multiprocessing.get_context("spawn")
            barrier = context.Barrier(writers + 1)
            out = context.Queue()
            processes = [
                context.Process(target=_create_worker, args=(str(path), synchronous, per_writer, barrier, out))
                for _ in range(writers)
            ]
            for process in processes:
                process.start()
            barrier.wait()
            started = time.perf_counter()
            latencies = [x for _ in processes for x in out.get()]
            elapsed = time.perf_counter() - started
            for process in processes:
                process.join()
    rate = writers * per_writer / elapsed
    ms = [x * 1000 for x in latencies]
    one = writers == 1
    who = f"{writers} writer processes" if writers > 1 else f"1 writer, {in_flight} in flight"
    if check:
        who += ", look-alike check"
    return result(
        f"create_ticket, {who}, synchronous={synchronous}",
        rate,
        "creates/s",
        samples=ms,
        target="≥ 5000" if one else None,
        met=rate >= 5000 if one else None,
    )


async def _create_in_bulk(path: Path, synchronous: Sync, count: int, per_call: int) -> list[float]:
    """`count` creates through create_tickets, `per_call` at a time: one caller, one transaction each."""
    store, tracker = await _open_tracker(path, synchronous, "writer")
    try:
        await tracker.create_ticket(TicketDraft(title="warm up", project="BENCH"))
        latencies: list[float] = []
        for first in range(0, count, per_call):
            drafts = [
                TicketDraft(title=f"Bench ticket {i}", project="BENCH", description="created by bench.store")
                for i in range(first, min(first + per_call, count))
            ]
            started = time.perf_counter()
            await tracker.create_tickets(drafts)
            latencies.append(time.perf_counter() - started)
        return latencies
    finally:
        await store.close()


def bench_bulk_creates(synchronous: Sync, count: int, per_call: int = 100) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "creates.db"
        asyncio.run(_prepare(path, synchronous))
        started = time.perf_counter()
        latencies = asyncio.run(_create_in_bulk(path, synchronous, count, per_call))
        elapsed = time.perf_counter() - started
    rate = count / elapsed
    return result(
        f"create_tickets, 1 writer, {per_call} per call, synchronous={synchronous}",
        rate,
        "creates/s",
        samples=[x * 1000 for x in latencies],
        target="≥ 5000",
        met=rate >= 5000,
    )


async def _prepare(path: Path, synchronous: Sync) -> None:
    store, _ = await _open_tracker(path, synchronous, "writer")
    await store.close()


# list_tickets


MILESTONES_PER_PROJECT = 6
MILESTONE_SEEDED = "Sprint 3"  # of the first project: the one the milestone cases filter on


def _seed_planning(conn: sqlite3.Connection, rng: random.Random, project_ids: Sequence[str]) -> None:
    """Milestones (6 a project, 40% of tickets in one), due dates (30%, from 2025-06 to 2027-06, so some are
    overdue and some ahead), and a `blocks` link from 2% of tickets to a later one of the same project."""
    now = _timestamp(0)
    conn.executemany(
        "INSERT INTO milestones (id, project_id, name, start_date, due_date, closed, created_at)"
        " VALUES (?, ?, ?, NULL, ?, ?, ?)",
        [
            (p * MILESTONES_PER_PROJECT + m + 1, pid, f"Sprint {m + 1}", f"2026-{m + 1:02d}-28", m < 2, now)
            for p, pid in enumerate(project_ids)
            for m in range(MILESTONES_PER_PROJECT)
        ],
    )
    first_day = datetime(2025, 6, 1, tzinfo=UTC)
    rows = conn.execute("SELECT id, project_id FROM tickets ORDER BY id").fetchall()
    index = {pid: p for p, pid in enumerate(project_ids)}
    updates: list[tuple[str | None, int | None, int]] = []
    by_project: dict[str, list[int]] = {}
    for ticket_id, project_id in rows:
        by_project.setdefault(project_id, []).append(ticket_id)
        due = (first_day + timedelta(days=rng.randrange(730))).date().isoformat() if rng.random() < 0.3 else None
        milestone = index[project_id] * MILESTONES_PER_PROJECT + rng.randrange(MILESTONES_PER_PROJECT) + 1
        updates.append((due, milestone if rng.random() < 0.4 else None, ticket_id))
    conn.executemany("UPDATE tickets SET due_date = ?, milestone_id = ? WHERE id = ?", updates)
    links: set[tuple[int, int]] = set()
    for ids in by_project.values():
        for n, ticket_id in enumerate(ids[:-1]):
            if rng.random() < 0.02:
                links.add((ticket_id, ids[rng.randrange(n + 1, len(ids))]))
    conn.executemany(
        "INSERT INTO ticket_links (from_id, to_id, kind, created_at) VALUES (?, ?, 'blocks', ?)",
        [(a, b, now) for a, b in sorted(links)],
    )


@dataclass(frozen=True)
class Case:
    name: str
    query: TicketFilter
    page_two: bool = False
    target_ms: float | None = None


def list_cases(seeded: Seeded, text_target_ms: float | None) -> list[Case]:
    project = seeded.project_codes[0]
    other = seeded.usernames[3]
    base = TicketFilter(limit=50)
    return [
        Case("all projects", base),
        Case("project", replace(base, project=project)),
        Case("status", replace(base, project=project, statuses=(Status.IN_PROGRESS,))),
        Case("several statuses", replace(base, statuses=(Status.TODO, Status.IN_PROGRESS, Status.IN_REVIEW))),
        Case("type", replace(base, types=(TicketType.BUG,))),
        Case("priority", replace(base, priorities=(Priority.URGENT,))),
        Case("assignee me", replace(base, assignee="me")),
        Case("assignee none", replace(base, assignee="none")),
        Case("assignee username", replace(base, assignee=other)),
        Case("reporter username", replace(base, reporter=other)),
        Case("label", replace(base, labels=("security",))),
        Case("two labels", replace(base, labels=("security", "backend"))),
        Case("parent", replace(base, parent=seeded.parent_slug)),
        Case("text query", replace(base, text=SEARCH_WORD), target_ms=text_target_ms),
        Case("text query, common word", replace(base, text="login")),
        Case("text query, best match first", replace(base, text=SEARCH_WORD, sort=TicketSort.RELEVANCE)),
        Case("text query, common word, best match first", replace(base, text="login", sort=TicketSort.RELEVANCE)),
        Case("updated_since (last week)", replace(base, updated_since="2025-12-25")),
        Case("sort created", replace(base, sort=TicketSort.CREATED)),
        Case("sort updated", replace(base, sort=TicketSort.UPDATED)),
        Case("sort priority", replace(base, sort=TicketSort.PRIORITY)),
        Case("project + status + sort updated", replace(
            base, project=project, statuses=(Status.TODO,), sort=TicketSort.UPDATED)),
        Case("cursor page 2, sort created", base, page_two=True),
        Case("cursor page 2, sort updated", replace(base, sort=TicketSort.UPDATED), page_two=True),
        Case("cursor page 2, sort priority", replace(base, sort=TicketSort.PRIORITY), page_two=True),
        Case("blocked", replace(base, blocked=True)),
        Case("blocking", replace(base, blocking=True)),
        Case("project + blocked", replace(base, project=project, blocked=True)),
        Case("milestone", replace(base, project=project, milestone=MILESTONE_SEEDED)),
        Case("no milestone", replace(base, project=project, milestone="none")),
        Case("overdue", replace(base, overdue=True)),
        Case("due in the next 30 days", replace(base, due_after="today", due_before="+30d")),
        Case("sort due", replace(base, sort=TicketSort.DUE, descending=False)),
        Case("cursor page 2, sort due", replace(base, sort=TicketSort.DUE, descending=False), page_two=True),
    ]  # fmt: skip


async def _time_list(tracker: LocalTracker, case: Case, budget_s: float, max_repeats: int) -> list[float]:
    query = case.query
    if case.page_two:
        first = await tracker.list_tickets(query)
        query = replace(query, cursor=first.next_cursor)
    await tracker.list_tickets(query)  # warm the page cache
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(samples) < max_repeats and (len(samples) < 3 or time.perf_counter() < deadline):
        started = time.perf_counter()
        await tracker.list_tickets(query)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _bench_lists(seeded: Seeded, text_target_ms: float | None, budget_s: float) -> list[dict[str, Any]]:
    store = await SqliteStore.open(seeded.path)
    try:
        user = await store.find_user(OWNER)
        assert user is not None
        tracker = LocalTracker(store, Principal(user_id=user.id, username=user.username))
        rows: list[dict[str, Any]] = []
        for case in list_cases(seeded, text_target_ms):
            samples = await _time_list(tracker, case, budget_s, 200)
            p50 = percentile(samples, 50)
            target = f"≤ {case.target_ms:g} ms" if case.target_ms is not None else None
            rows.append(
                result(
                    f"list_tickets {case.name} @ {seeded.tickets:,}",
                    p50,
                    "ms (p50)",
                    samples=samples,
                    target=target,
                    met=p50 <= case.target_ms if case.target_ms is not None else None,
                )
            )
        return rows
    finally:
        await store.close()


def run(quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    per_writer_one = 300 if quick else 3000
    per_writer_many = 50 if quick else 300
    for synchronous in ("full", "normal"):
        rows.append(bench_creates(1, synchronous, per_writer_one))
        # Concurrent callers of one process share commits (group commit): agents filing at once.
        rows.append(bench_creates(1, synchronous, per_writer_one, in_flight=16))
        if synchronous == "full":  # what create_ticket does without an idempotency key
            rows.append(bench_creates(1, synchronous, per_writer_one, in_flight=16, check=True))
        # One caller filing many at once (create_tickets): all in one transaction.
        rows.append(bench_bulk_creates(synchronous, per_writer_one))
        rows.append(bench_creates(16, synchronous, per_writer_many))
    small, large = (2_000, 20_000) if quick else (100_000, 1_000_000)
    for size in (small, large):
        seeded = cached_database(size)
        # The 5 ms text-search target is stated at 100k tickets (the small size of a full run).
        text_target = 5.0 if size == small else None
        rows += asyncio.run(_bench_lists(seeded, text_target, 0.3 if quick else 1.5))
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 1000 else f"{value:,.0f}"
    return str(value)


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    columns = ("metric", "value", "unit", "reference", "ratio", "p50", "p99", "target", "met")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


async def _bench_postgres(url: str, creates: int, reads: int) -> list[dict[str, Any]]:
    """Creates/s with 16 in flight, then get and list latencies, through one PostgresStore on `url`'s database.

    The database is emptied first (its tables are dropped and migrated again): point it at a scratch one.
    """
    import psycopg  # only this variant needs the driver

    from tickets_mcp.stores.location import PostgresUrl
    from tickets_mcp.stores.postgres import PostgresStore

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("DROP SCHEMA public CASCADE")
        admin.execute("CREATE SCHEMA public")
    store = await PostgresStore.open(PostgresUrl(url))
    try:
        user = await store.ensure_user(OWNER, OWNER.title())
        await store.ensure_local_workspace(user, "Bench", "Bench", "BENCH")
        tracker = LocalTracker(store, Principal(user_id=user.id, username=user.username))
        in_flight, latencies = 16, list[float]()

        async def caller(first: int) -> None:
            for i in range(first, creates, in_flight):
                started = time.perf_counter()
                await tracker.create_ticket(TicketDraft(title=f"Bench ticket {i}", project="BENCH", labels=("perf",)))
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        async with asyncio.TaskGroup() as callers:
            for first in range(in_flight):
                callers.create_task(caller(first))
        rate = creates / (time.perf_counter() - started)
        rows = [result(f"PostgreSQL create_ticket, 1 process, {in_flight} in flight", rate, "creates/s",
                       samples=[x * 1000 for x in latencies])]  # fmt: skip
        calls: list[tuple[str, Callable[[int], Any]]] = [
            ("get_ticket", lambda i: tracker.get_ticket(f"BENCH-{1 + i % creates}")),
            ("list_tickets, 50 newest", lambda i: tracker.list_tickets(TicketFilter(project="BENCH", limit=50))),
        ]
        for name, call in calls:
            samples: list[float] = []
            for i in range(reads):
                started = time.perf_counter()
                await call(i)
                samples.append((time.perf_counter() - started) * 1000)
            rows.append(result(f"PostgreSQL {name}, one caller", percentile(samples, 50), "ms p50", samples=samples))
        return rows
    finally:
        await store.close()


def main(argv: Sequence[str] | None = None, *, runner: Callable[[bool], list[dict[str, Any]]] = run) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs")
    parser.add_argument(
        "--postgres", metavar="URL", help="measure PostgresStore on this scratch database instead (emptied first)"
    )
    args = parser.parse_args(argv)
    if args.postgres:
        sizes = (300, 200) if args.quick else (3000, 1000)
        print(markdown(asyncio.run(_bench_postgres(args.postgres, *sizes))))
        return 0
    print(markdown(runner(bool(args.quick))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
