"""The store section: what an agent's calls cost at N tickets of realistic text, on SQLite and PostgreSQL.

    python -m bench.store [--quick] [--tickets N] [--postgres SERVER_URL]

At scale (`bench/dataset.py`'s data, N tickets; 1,000,000 is the size issue 22 states its targets at),
each call an agent makes by default goes through the store path a request takes (a LocalTracker made for
the call, as the MCP and REST front ends make one per request, over SqliteStore or PostgresStore):
create_ticket with the look-alike check on realistic titles (a quarter of them rewordings of recent
open tickets), list_projects with its counts, every list_tickets filter and sort with the MCP tool's
arguments (20 rows, counted up to its COUNT_LIMIT), a common and a rare word, and the native REST list's
defaults (50 rows, its default count). Each is measured against a floor in the same run on the same
store, interleaved call by call: `find_ticket`, one ticket read by its key through the same store.
A figure is the call's p50 and p99 (ms); its ratio is the median over rounds of (the call's median ÷ the
floor's median in that round), with the range of the rounds' ratios. The machine's load average is
recorded before and after each store's rounds.

PostgreSQL is measured when TICKETS_BENCH_POSTGRES_URL (or --postgres) names a server. Each store
works on a copy of its cached data (creates change it): a file copy, a database made from the cached
one as a template.

Then, as before, creates/s into an empty file: 1 writer, 16 in flight (group commit), with the
look-alike check, create_tickets in one transaction, and 16 writer processes.

`run(quick, tickets)` returns the section's Metric rows; run as a module it prints the scale rows side by
side, one column group per store.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import multiprocessing
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any, Literal

from bench.corpus import Corpus
from bench.dataset import (
    CACHE,
    COMMON_WORD,
    MILESTONE_SEEDED,
    OWNER,
    PROJECT_IDS,
    PROJECT_WEIGHTS,
    RARE_WORD,
    SEARCH_WORD,
    SEED_VERSION,
    TYPE_WEIGHTS,
    Seeded,
    cached_database,
    migrate_file,
    postgres_copy,
    postgres_database,
    seed_database,
    sqlite_copy,
)
from bench.stats import Metric, percentile
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketDraft, TicketFilter
from tickets_mcp.domain import Priority, Status, TicketSort, TicketType
from tickets_mcp.domain.enums import statuses_named
from tickets_mcp.errors import LikelyDuplicate
from tickets_mcp.stores.port import Store
from tickets_mcp.stores.sqlite.store import SqliteStore

__all__ = ["CACHE", "SEARCH_WORD", "SEED_VERSION", "cached_database", "migrate_file", "run", "seed_database"]

SECTION = "store"
ENV_POSTGRES = "TICKETS_BENCH_POSTGRES_URL"
REPO = Path(__file__).resolve().parent.parent
UPDATED_SINCE = "2025-12-25"  # the data's last week
DUPLICATE_SHARE = 0.25  # of the creates: rewordings of a recent open ticket
RECENT_OPEN = 50  # the newest open tickets of a project, which rewordings are drawn from: twins come minutes apart
TARGETS_MS = {"create": 3.0, "projects": 5.0, "list": 10.0, "common word": 20.0}


# The calls


def mcp_count_limit() -> int | None:
    """What the MCP list_tickets tool counts up to."""
    from tickets_mcp.mcp.tools.tickets import COUNT_LIMIT

    return COUNT_LIMIT


def rest_defaults() -> tuple[int, int | None]:
    """The native REST list's default page size and count limit (`GET /api/tickets` with no parameters)."""
    from tickets_mcp.http.rest import native

    parameters = inspect.signature(native.list_tickets).parameters
    return int(parameters["limit"].default), parameters["count_limit"].default


@dataclass(frozen=True)
class Call:
    name: str
    kind: str  # a key of TARGETS_MS, or "rest"
    query: TicketFilter | None = None  # list_tickets; None: create or list_projects
    page_two: bool = False

    @property
    def target_ms(self) -> float:
        return TARGETS_MS.get(self.kind, TARGETS_MS["list"])


def calls(seeded: Seeded) -> list[Call]:
    project, other = seeded.project_codes[0], seeded.usernames[3]
    mcp = TicketFilter(limit=20, count_limit=mcp_count_limit())  # the MCP tool's defaults
    rest_limit, rest_count = rest_defaults()
    rest = TicketFilter(limit=rest_limit, count_limit=rest_count)
    relevance = replace(mcp, sort=TicketSort.RELEVANCE)  # the tool's default order with a query
    return [
        Call("create_ticket (look-alike check)", "create"),
        Call("list_projects (with counts)", "projects"),
        Call("list_tickets: no filter", "list", mcp),
        Call("list_tickets: project", "list", replace(mcp, project=project)),
        Call("list_tickets: status", "list", replace(mcp, statuses=(Status.IN_PROGRESS,))),
        Call("list_tickets: status open", "list", replace(mcp, statuses=tuple(statuses_named(["open"])))),
        Call("list_tickets: project + status", "list", replace(mcp, project=project, statuses=(Status.TODO,))),
        Call("list_tickets: assignee me", "list", replace(mcp, assignee="me")),
        Call("list_tickets: assignee username", "list", replace(mcp, assignee=other)),
        Call("list_tickets: unassigned", "list", replace(mcp, assignee="none")),
        Call("list_tickets: label", "list", replace(mcp, labels=("security",))),
        Call("list_tickets: two labels", "list", replace(mcp, labels=("security", "backend"))),
        Call("list_tickets: type", "list", replace(mcp, types=(TicketType.BUG,))),
        Call("list_tickets: priority", "list", replace(mcp, priorities=(Priority.URGENT,))),
        Call("list_tickets: updated_since", "list", replace(mcp, updated_since=UPDATED_SINCE)),
        Call("list_tickets: sort updated", "list", replace(mcp, sort=TicketSort.UPDATED)),
        Call("list_tickets: sort priority", "list", replace(mcp, sort=TicketSort.PRIORITY)),
        Call("list_tickets: sort created, oldest first", "list", replace(mcp, descending=False)),
        Call("list_tickets: sort due", "list", replace(mcp, sort=TicketSort.DUE, descending=False)),
        Call("list_tickets: project + open + sort updated", "list", replace(
            mcp, project=project, statuses=tuple(statuses_named(["open"])), sort=TicketSort.UPDATED)),
        Call("list_tickets: cursor page 2", "list", mcp, page_two=True),
        Call("list_tickets: cursor page 2, sort updated", "list", replace(mcp, sort=TicketSort.UPDATED), page_two=True),
        Call("list_tickets: parent", "list", replace(mcp, parent=seeded.parent_slug)),
        Call("list_tickets: milestone", "list", replace(mcp, project=project, milestone=MILESTONE_SEEDED)),
        Call("list_tickets: no milestone", "list", replace(mcp, project=project, milestone="none")),
        Call("list_tickets: blocked", "list", replace(mcp, blocked=True)),
        Call("list_tickets: overdue", "list", replace(mcp, overdue=True)),
        Call(f"list_tickets: common word ({COMMON_WORD!r})", "common word", replace(relevance, text=COMMON_WORD)),
        Call(f"list_tickets: rare word ({RARE_WORD!r})", "list", replace(relevance, text=RARE_WORD)),
        Call(f"REST list default ({rest_limit} rows, count {rest_count or 'exact'})", "rest", rest),
        Call("REST list default, project", "rest", replace(rest, project=project)),
    ]  # fmt: skip


def drafts(seeded: Seeded, count: int, seed: int) -> list[TicketDraft]:
    """`count` tickets to file, in the data's projects and types: fresh corpus text, or (DUPLICATE_SHARE) a
    reworded title of one of a project's newest open tickets with its description, as a second report of
    one bug reads."""
    rng = random.Random(seed)
    corpus = Corpus(seed)
    types, type_weights = [t for t, _ in TYPE_WEIGHTS], [w for _, w in TYPE_WEIGHTS]
    recent = _recent_open(seeded)
    made: list[TicketDraft] = []
    for _ in range(count):
        p = rng.choices(range(len(seeded.project_codes)), PROJECT_WEIGHTS)[0]
        kind = rng.choices(types, type_weights)[0]
        if rng.random() < DUPLICATE_SHARE and recent[p]:
            title, description = rng.choice(recent[p])
            title = corpus.reword(title)
        else:
            title, description = corpus.ticket(kind.value)
        # check_duplicates: what the MCP tool passes unless not_duplicate (TicketDraft's own default is off).
        made.append(
            TicketDraft(
                title=title, project=seeded.project_codes[p], type=kind, description=description, check_duplicates=True
            )
        )
    return made


def _recent_open(seeded: Seeded) -> list[list[tuple[str, str]]]:
    conn = sqlite3.connect(seeded.path)
    try:
        return [
            [
                (str(title), str(description))
                for title, description in conn.execute(
                    "SELECT title, description FROM tickets WHERE project_id = ? AND status NOT IN ('done', 'canceled')"
                    " ORDER BY id DESC LIMIT ?",
                    (project_id, RECENT_OPEN),
                )
            ]
            for project_id in PROJECT_IDS[: len(seeded.project_codes)]
        ]
    finally:
        conn.close()


# Rounds


@dataclass
class Measured:
    samples: list[float] = field(default_factory=list[float])  # ms
    floor: list[float] = field(default_factory=list[float])
    ratios: list[float] = field(default_factory=list[float])  # one a round
    outcomes: dict[str, int] = field(default_factory=dict[str, int])


@dataclass(frozen=True)
class Rounds:
    rounds: int
    pairs: int  # at most this many (floor, call) pairs a call a round...
    budget_s: float  # ...while the call's round has taken less than this


async def _timed(work: Awaitable[object]) -> tuple[float, object]:
    started = time.perf_counter()
    out = await work
    return (time.perf_counter() - started) * 1000, out


async def measure(store: Store, seeded: Seeded, engine: str, plan: Rounds) -> list[Metric]:
    """Every call of `calls(seeded)` against the floor, round by round, on `store`."""
    user = await store.find_user(OWNER)
    assert user is not None
    principal = Principal(user_id=user.id, username=user.username)
    rng = random.Random(11)
    keys = [(PROJECT_IDS[p], 1 + rng.randrange(n)) for p, n in enumerate(seeded.counters) if n for _ in range(50)]
    rng.shuffle(keys)
    to_file = iter(drafts(seeded, plan.rounds * plan.pairs + 1, seed=1000 + seeded.tickets))
    cases = calls(seeded)

    def tracker() -> LocalTracker:  # one a call, as a request makes one
        return LocalTracker(store, principal)

    async def floor(i: int) -> object:
        return await store.find_ticket(*keys[i % len(keys)])

    async def create(out: dict[str, int]) -> object:
        try:
            filed = await tracker().create_ticket(next(to_file))
        except LikelyDuplicate:
            out["refused as a duplicate"] = out.get("refused as a duplicate", 0) + 1
            return None
        outcome = "filed, look-alikes named" if filed.similar else "filed"
        out[outcome] = out.get(outcome, 0) + 1
        return filed

    cursors: dict[str, str | None] = {}
    for case in cases:  # page two's cursor, once
        if case.page_two and case.query is not None:
            cursors[case.name] = (await tracker().list_tickets(case.query)).next_cursor

    def runner(case: Call, out: dict[str, int]) -> Callable[[], Awaitable[object]]:
        if case.kind == "create":
            return lambda: create(out)
        if case.query is None:
            return lambda: tracker().list_projects()
        query = replace(case.query, cursor=cursors[case.name]) if case.page_two else case.query
        return lambda: tracker().list_tickets(query)

    results = {case.name: Measured() for case in cases}
    runs = {case.name: runner(case, results[case.name].outcomes) for case in cases}
    for case in cases:  # warm: caches and pages as a running server has them
        if case.kind != "create":
            await runs[case.name]()
        await floor(0)
    load_before = os.getloadavg()
    started = time.perf_counter()
    n = 0
    for round_number in range(plan.rounds):
        print(f"store: {engine} @ {seeded.tickets:,}, round {round_number + 1} of {plan.rounds}", file=sys.stderr)
        for case in cases:
            found = results[case.name]
            mine: list[float] = []
            base: list[float] = []
            deadline = time.perf_counter() + plan.budget_s
            while len(mine) < plan.pairs and (not mine or time.perf_counter() < deadline):
                base.append((await _timed(floor(n)))[0])
                mine.append((await _timed(runs[case.name]()))[0])
                n += 1
            found.samples += mine
            found.floor += base
            found.ratios.append(statistics.median(mine) / statistics.median(base))
    load_after = os.getloadavg()
    seconds = time.perf_counter() - started
    metrics: list[Metric] = []
    for case in cases:
        found = results[case.name]
        p50 = percentile(found.samples, 50)
        extra: dict[str, Any] = {
            "engine": engine,
            "tickets": seeded.tickets,
            "floor": "find_ticket (one ticket by its key, through the same store)",
            "round_ratios": [round(r, 3) for r in found.ratios],
            "load_before": load_before,
            "load_after": load_after,
            "rounds_seconds": round(seconds, 1),
        }
        if found.outcomes:
            extra["outcomes"] = found.outcomes
        metrics.append(
            Metric(
                section=SECTION,
                name=f"{engine} @ {seeded.tickets:,}: {case.name}",
                unit="ms",
                ours=p50,
                reference=percentile(found.floor, 50),
                p50=p50,
                p99=percentile(found.samples, 99),
                target=f"p50 ≤ {case.target_ms:g} ms",
                met=p50 <= case.target_ms,
                samples=len(found.samples),
                ratios=list(found.ratios),
                extra=extra,
            )
        )
    return metrics


def _build_metric(engine: str, seeded: Seeded, built: dict[str, Any] | None, how: str) -> list[Metric]:
    """How long building the cached data took, when it was built (in this run or an earlier one)."""
    if built is None:
        return []
    return [
        Metric(
            section=SECTION, name=f"{engine} @ {seeded.tickets:,}: build the dataset", unit="s",
            ours=float(built["seconds"]), extra={"engine": engine, "tickets": seeded.tickets, "how": how, **built},
        )
    ]  # fmt: skip


async def _on_sqlite(seeded: Seeded, folder: Path, plan: Rounds) -> list[Metric]:
    with sqlite_copy(seeded, folder) as path:
        store = await SqliteStore.open(path)
        try:
            return await measure(store, seeded, "SQLite", plan)
        finally:
            await store.close()


async def _on_postgres(server: str, seeded: Seeded, plan: Rounds) -> tuple[list[Metric], dict[str, Any] | None]:
    from tickets_mcp.stores.postgres import PostgresStore

    template, built = await asyncio.to_thread(postgres_database, server, seeded)
    with postgres_copy(server, template) as url:
        store = await PostgresStore.open(url)
        try:
            return await measure(store, seeded, "PostgreSQL", plan), built
        finally:
            await store.close()


def run_scale(tickets: int, quick: bool, server: str | None = None) -> list[Metric]:
    plan = Rounds(rounds=3, pairs=3, budget_s=0.1) if quick else Rounds(rounds=7, pairs=10, budget_s=0.4)
    seeded = cached_database(tickets)
    metrics = _build_metric("SQLite", seeded, seeded.built, "migrate, bulk insert, triggers fill the index")
    with tempfile.TemporaryDirectory(prefix="tickets-bench-store-") as folder:
        metrics += asyncio.run(_on_sqlite(seeded, Path(folder), plan))
    server = server or os.environ.get(ENV_POSTGRES)
    if server:
        measured, built = asyncio.run(_on_postgres(server, seeded, plan))
        metrics += _build_metric("PostgreSQL", seeded, built, "migrate, COPY from the SQLite file, index, analyse")
        metrics += measured
    else:
        print(f"store: set {ENV_POSTGRES} to measure PostgreSQL too", file=sys.stderr)
    return metrics


# Creates/s into an empty file


Sync = Literal["full", "normal"]


async def _open_tracker(path: Path, synchronous: Sync, username: str) -> tuple[SqliteStore, LocalTracker]:
    store = await SqliteStore.open(path, synchronous=synchronous)
    user = await store.ensure_user(username, username.title())
    await store.ensure_local_workspace(user, "Bench", "Bench", "BENCH")
    return store, LocalTracker(store, Principal(user_id=user.id, username=user.username))


def _titles(count: int, seed: int) -> list[tuple[str, str]]:
    corpus = Corpus(seed)
    return [corpus.ticket("bug") for _ in range(count)]


async def _create_many(
    path: Path, synchronous: Sync, count: int, barrier: Barrier | None, in_flight: int = 1, check: bool = False
) -> list[float]:
    """`count` creates through one store, from `in_flight` callers at once (as concurrent agents or
    HTTP requests would be); one caller waits for each create before sending the next."""
    store, tracker = await _open_tracker(path, synchronous, "writer")
    texts = _titles(count, seed=os.getpid() if barrier is not None else 5)
    try:
        await tracker.create_ticket(TicketDraft(title="warm up", project="BENCH"))
        if barrier is not None:
            barrier.wait()
        latencies: list[float] = []

        async def caller(first: int) -> None:
            for i in range(first, count, in_flight):
                title, description = texts[i]
                started = time.perf_counter()
                with contextlib.suppress(LikelyDuplicate):  # the check's answer: measured all the same
                    await tracker.create_ticket(
                        TicketDraft(title=title, project="BENCH", description=description, check_duplicates=check)
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


def _rate(name: str, rate: float, latencies: Sequence[float], target: float | None) -> Metric:
    ms = [x * 1000 for x in latencies]
    return Metric(
        section=SECTION, name=name, unit="creates/s", ours=rate, p50=percentile(ms, 50), p99=percentile(ms, 99),
        target=f"≥ {target:g}" if target else "", met=rate >= target if target else None, samples=len(ms),
    )  # fmt: skip


def bench_creates(writers: int, synchronous: Sync, per_writer: int, in_flight: int = 1, check: bool = False) -> Metric:
    """Creates/s of `writers` processes on one empty file; with one, `in_flight` callers share its store.
    `check`: each create looks for an open look-alike first, as create_ticket does without a key."""
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
    who = f"{writers} writer processes" if writers > 1 else f"1 writer, {in_flight} in flight"
    if check:
        who += ", look-alike check"
    one = writers == 1
    return _rate(f"create_ticket into an empty file, {who}, synchronous={synchronous}",
                 writers * per_writer / elapsed, latencies, 5000 if one else None)  # fmt: skip


async def _create_in_bulk(path: Path, synchronous: Sync, count: int, per_call: int) -> list[float]:
    """`count` creates through create_tickets, `per_call` at a time: one caller, one transaction each."""
    store, tracker = await _open_tracker(path, synchronous, "writer")
    texts = _titles(count, seed=6)
    try:
        await tracker.create_ticket(TicketDraft(title="warm up", project="BENCH"))
        latencies: list[float] = []
        for first in range(0, count, per_call):
            batch = [
                TicketDraft(title=title, project="BENCH", description=description, check_duplicates=False)
                for title, description in texts[first : first + per_call]
            ]
            started = time.perf_counter()
            await tracker.create_tickets(batch)
            latencies.append(time.perf_counter() - started)
        return latencies
    finally:
        await store.close()


def bench_bulk_creates(synchronous: Sync, count: int, per_call: int = 100) -> Metric:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "creates.db"
        asyncio.run(_prepare(path, synchronous))
        started = time.perf_counter()
        latencies = asyncio.run(_create_in_bulk(path, synchronous, count, per_call))
        elapsed = time.perf_counter() - started
    return _rate(f"create_tickets into an empty file, 1 writer, {per_call} per call, synchronous={synchronous}",
                 count / elapsed, latencies, 5000)  # fmt: skip


async def _prepare(path: Path, synchronous: Sync) -> None:
    store, _ = await _open_tracker(path, synchronous, "writer")
    await store.close()


def run_creates(quick: bool) -> list[Metric]:
    per_writer_one = 300 if quick else 3000
    per_writer_many = 50 if quick else 300
    rows: list[Metric] = []
    for synchronous in ("full",) if quick else ("full", "normal"):
        rows.append(bench_creates(1, synchronous, per_writer_one))
        # Concurrent callers of one process share commits (group commit): agents filing at once.
        rows.append(bench_creates(1, synchronous, per_writer_one, in_flight=16))
        if synchronous == "full":  # what create_ticket does without an idempotency key
            rows.append(bench_creates(1, synchronous, per_writer_one, in_flight=16, check=True))
        # One caller filing many at once (create_tickets): all in one transaction.
        rows.append(bench_bulk_creates(synchronous, per_writer_one))
        if not quick:
            rows.append(bench_creates(16, synchronous, per_writer_many))
    return rows


def run(quick: bool, tickets: int | None = None, server: str | None = None) -> list[Metric]:
    """The section: at `tickets` (default 2,000 quick, 100,000 full) on each store, then creates/s."""
    return run_scale(tickets or (2_000 if quick else 100_000), quick, server) + run_creates(quick)


# Side by side


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"


def side_by_side(metrics: Sequence[Metric]) -> str:
    """The scale rows as one line a call: p50, p99 and ratio (range) on each store measured."""
    engines = list(dict.fromkeys(m.extra["engine"] for m in metrics if "engine" in m.extra))
    rows: dict[str, dict[str, Metric]] = {}
    for m in metrics:
        if "engine" in m.extra:
            rows.setdefault(m.name.split(": ", 1)[1], {})[m.extra["engine"]] = m
    head = ["call", *(f"{e} {c}" for e in engines for c in ("p50", "p99", "× floor (range)"))]
    lines = ["| " + " | ".join(head) + " | target |", "|---" + "|---:" * (len(head) - 1) + "|---|"]
    for name, by_engine in rows.items():
        cells: list[str] = []
        target = ""
        for engine in engines:
            m = by_engine.get(engine)
            if m is None:
                cells += ["", "", ""]
                continue
            target = m.target or target
            if m.unit == "s":
                cells += [f"{m.ours:,.0f} s", "", ""]
                continue
            low, high = m.ratio_range or (None, None)
            flag = "" if m.met is not False else " ✗"
            cells += [_ms(m.p50) + flag, _ms(m.p99), f"{_ms(m.ratio)} ({_ms(low)}–{_ms(high)})"]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {target} |")
    loads = {
        m.extra["engine"]: (m.extra["load_before"], m.extra["load_after"]) for m in metrics if "load_before" in m.extra
    }
    notes = [f"{e}: load average {b[0]:.1f} before, {a[0]:.1f} after" for e, (b, a) in loads.items()]
    return "\n".join(lines) + ("\n\n" + "; ".join(notes) + "\n" if notes else "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 tickets and few rounds")
    parser.add_argument("--tickets", type=int, help="data size (default 100,000; 2,000 with --quick)")
    parser.add_argument("--postgres", metavar="URL", help=f"a PostgreSQL server to measure too (else ${ENV_POSTGRES})")
    parser.add_argument("--creates", action="store_true", help="also the creates/s rows into an empty file")
    args = parser.parse_args(argv)
    tickets = args.tickets or (2_000 if args.quick else 100_000)
    metrics = run_scale(tickets, args.quick, args.postgres)
    print(side_by_side(metrics))
    if args.creates:
        for m in run_creates(args.quick):
            print(f"{m.name}: {m.ours:,.0f} creates/s, p50 {_ms(m.p50)} ms, p99 {_ms(m.p99)} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
