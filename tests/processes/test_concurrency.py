"""Many creators on one SQLite file: every ticket gets its own number, none is lost, none is doubled.

Numbers come from `UPDATE projects SET ticket_counter = ticket_counter + 1 ... RETURNING` inside a
`BEGIN IMMEDIATE` transaction; these tests hammer that path from 32 OS processes, then from 32 tasks
sharing one store, and check the file afterwards with plain sqlite3.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import anyio
import pytest

from tests.fixtures.helpers_processes import (
    CreatorReport,
    DatabaseState,
    create_tickets,
    describe_numbers,
    inspect_database,
    prepare_database,
    run_at_once,
    tracker_for,
    worker_command,
    worker_processes,
)
from tickets_mcp.stores.sqlite import SqliteStore

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
    commands = [worker_command(prepared_db, f"creator-{i:02d}", TICKETS_EACH) for i in range(CREATORS)]
    with worker_processes(commands) as procs:
        yield procs


@pytest.mark.slow
async def test_32_processes_creating_50_tickets_each_get_numbers_1_to_1600_without_duplicates_or_gaps(
    prepared_db: Path, creator_processes: list[subprocess.Popen[str]]
) -> None:
    reports = [CreatorReport.from_json(line) for line in await run_at_once(creator_processes, RUN_TIMEOUT_S)]
    assert_every_ticket_numbered_once(inspect_database(prepared_db), reports)


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
