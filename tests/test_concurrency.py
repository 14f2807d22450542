"""Many creators on one SQLite file: every ticket gets its own number, none is lost, none is doubled.

Numbers come from `UPDATE projects SET ticket_counter = ticket_counter + 1 ... RETURNING` inside a
`BEGIN IMMEDIATE` transaction; these tests hammer that path from 32 OS processes, then from 32 tasks
sharing one store, and check the file afterwards with plain sqlite3.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import anyio
import pytest

from tests.helpers_processes import (
    GO,
    READY,
    REPO,
    CreatorReport,
    DatabaseState,
    create_tickets,
    describe_numbers,
    inspect_database,
    prepare_database,
    tracker_for,
    worker_command,
)
from tracker_mcp.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio

CREATORS = 32
TICKETS_EACH = 50
TOTAL = CREATORS * TICKETS_EACH
RUN_TIMEOUT_S = 120


def assert_every_ticket_numbered_once(state: DatabaseState, reports: Sequence[CreatorReport]) -> None:
    """The invariants both variants must hold once all creators are done."""
    errors = [f"{r.name}: {e}" for r in reports for e in r.errors]
    assert errors == [], f"{len(errors)} creates failed: {errors[:10]}"
    assert [len(r.slugs) for r in reports] == [TICKETS_EACH] * CREATORS

    assert state.integrity == "ok"
    assert state.foreign_key_violations == 0
    assert state.count == TOTAL
    assert state.numbers == list(range(1, TOTAL + 1)), describe_numbers(state.numbers)

    acknowledged = [slug for r in reports for slug in r.slugs]
    assert len(set(acknowledged)) == TOTAL, "two creates were acknowledged with the same slug"
    assert set(acknowledged) == set(state.titles), "acknowledged slugs and stored tickets differ"
    misfiled = [
        (s, r.name, state.titles[s]) for r in reports for s in r.slugs if not state.titles[s].startswith(f"{r.name} #")
    ]
    assert misfiled == [], "a slug was acknowledged to one creator but holds another creator's ticket"

    assert state.counter == TOTAL, "the project counter does not match the highest number"
    assert sorted(state.created_events) == state.expected_created_events(), (
        "the audit trail does not hold exactly one ticket.created event per ticket"
    )


@pytest.fixture
async def prepared_db(db_path: Path) -> Path:
    """The test database with user alice and the default workspace, created before any creator starts."""
    await prepare_database(db_path)
    return db_path


@pytest.fixture
def creator_processes(prepared_db: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """CREATORS worker processes on the database, each with its own SqliteStore, killed if the test leaves them."""
    with ExitStack() as stack:
        procs: list[subprocess.Popen[str]] = []
        for i in range(CREATORS):
            proc = subprocess.Popen(
                worker_command(prepared_db, f"creator-{i:02d}", TICKETS_EACH),
                cwd=REPO,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            stack.enter_context(proc)
            stack.callback(_kill_if_running, proc)
            procs.append(proc)
        yield procs


def _kill_if_running(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.slow
async def test_32_processes_creating_50_tickets_each_get_numbers_1_to_1600_without_duplicates_or_gaps(
    prepared_db: Path, creator_processes: list[subprocess.Popen[str]]
) -> None:
    # Every worker opens its store and says READY; only then are all told GO, so they contend from the start.
    for proc in creator_processes:
        assert proc.stdout is not None
        line = await anyio.to_thread.run_sync(proc.stdout.readline)
        assert line.strip() == READY, f"creator did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}"
    started = time.monotonic()
    for proc in creator_processes:
        assert proc.stdin is not None
        proc.stdin.write(GO + "\n")
        proc.stdin.flush()

    reports: list[CreatorReport] = []
    for proc in creator_processes:
        out, err = await anyio.to_thread.run_sync(proc.communicate, None, RUN_TIMEOUT_S)
        assert proc.returncode == 0, f"creator exited with {proc.returncode}: {err}"
        reports.append(CreatorReport.from_json(out.strip().splitlines()[-1]))
    elapsed = time.monotonic() - started

    assert_every_ticket_numbered_once(inspect_database(prepared_db), reports)
    print(f"{TOTAL} creates from {CREATORS} processes in {elapsed:.1f} s")


async def test_32_tasks_sharing_one_store_get_numbers_1_to_1600_without_duplicates_or_gaps(prepared_db: Path) -> None:
    store = await SqliteStore.open(prepared_db)
    reports: list[CreatorReport] = []
    try:
        tracker = await tracker_for(store)

        async def creator(i: int) -> None:
            reports.append(await create_tickets(tracker, f"creator-{i:02d}", TICKETS_EACH))

        async with anyio.create_task_group() as tg:
            for i in range(CREATORS):
                tg.start_soon(creator, i)
    finally:
        await store.close()

    assert_every_ticket_numbered_once(inspect_database(prepared_db), sorted(reports, key=lambda r: r.name))
