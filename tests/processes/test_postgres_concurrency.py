"""Many processes on one PostgreSQL database: every ticket gets its own number, no update is silently lost.

The PostgreSQL twin of test_concurrency.py. Numbers come from `UPDATE projects SET ticket_counter =
ticket_counter + 1 ... RETURNING` inside the creating transaction, and every ticket write first locks
its project's row; these tests hammer both from separate OS processes, each with its own pool, then
read the tables with plain psycopg.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest

from tests.fixtures.helpers_processes import (
    CODE,
    CreatorReport,
    UpdaterReport,
    describe_numbers,
    prepare_database,
    run_at_once,
    tracker_for,
    update_worker_command,
    worker_command,
    worker_processes,
)
from tickets_mcp.core.tracker import TicketDraft
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.location import PostgresUrl

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CREATORS = 32
TICKETS_EACH = 10
TOTAL = CREATORS * TICKETS_EACH
UPDATERS = 16
ROUNDS = 20
RUN_TIMEOUT_S = 120


@dataclass(frozen=True)
class Stored:
    """INBOX as PostgreSQL holds it once the workers are done."""

    titles: dict[int, str]  # number -> title
    counter: int
    created_events: list[tuple[str, int]]  # (subject, ticket id)
    expected_events: list[tuple[str, int]]  # (slug, ticket id) of each stored ticket
    version: int  # of INBOX-1
    updated_events: int  # ticket.updated events of INBOX-1


def read_inbox(url: PostgresUrl) -> Stored:
    with psycopg.connect(url.url) as conn:
        tickets = conn.execute(
            "SELECT t.number, t.title, t.id, t.version FROM tickets t JOIN projects p ON p.id = t.project_id "
            "WHERE p.code = %s ORDER BY t.number",
            (CODE,),
        ).fetchall()
        counter = conn.execute("SELECT ticket_counter FROM projects WHERE code = %s", (CODE,)).fetchone()
        created = conn.execute("SELECT subject, ticket_id FROM events WHERE action = 'ticket.created'").fetchall()
        updated = conn.execute(
            "SELECT COUNT(*) FROM events WHERE action = 'ticket.updated' AND subject = %s", (f"{CODE}-1",)
        ).fetchone()
    assert counter is not None and updated is not None
    return Stored(
        titles={int(n): str(title) for n, title, _, _ in tickets},
        counter=int(counter[0]),
        created_events=sorted((str(s), int(i)) for s, i in created),
        expected_events=sorted((f"{CODE}-{n}", int(i)) for n, _, i, _ in tickets),
        version=int(tickets[0][3]) if tickets else 0,
        updated_events=int(updated[0]),
    )


@pytest.fixture
async def prepared(postgres_url: PostgresUrl) -> PostgresUrl:
    """The test schema with user alice and the default workspace, created before any worker starts."""
    await prepare_database(postgres_url)
    return postgres_url


async def test_32_processes_creating_tickets_at_once_get_numbers_1_to_n_without_duplicates_or_gaps(
    prepared: PostgresUrl,
) -> None:
    commands = [worker_command(prepared, f"creator-{i:02d}", TICKETS_EACH) for i in range(CREATORS)]
    with worker_processes(commands) as procs:
        reports = [CreatorReport.from_json(line) for line in await run_at_once(procs, RUN_TIMEOUT_S)]

    errors = [f"{r.name}: {e}" for r in reports for e in r.errors]
    assert errors == [], f"{len(errors)} creates failed: {errors[:10]}"
    assert [len(r.slugs) for r in reports] == [TICKETS_EACH] * CREATORS
    stored = read_inbox(prepared)
    numbers = list(stored.titles)
    assert numbers == list(range(1, TOTAL + 1)), describe_numbers(numbers)
    acknowledged = {slug: r.name for r in reports for slug in r.slugs}
    assert len(acknowledged) == TOTAL, "two creates were acknowledged with the same slug"
    misfiled = [
        s for s, name in acknowledged.items() if not stored.titles[int(s.split("-")[1])].startswith(f"{name} #")
    ]
    assert misfiled == [], "a slug was acknowledged to one creator but holds another creator's ticket"
    assert stored.counter == TOTAL, "the project counter does not match the highest number"
    assert stored.created_events == stored.expected_events, "not exactly one ticket.created event per ticket"


async def test_16_processes_updating_one_ticket_with_the_version_they_read_lose_no_update(
    prepared: PostgresUrl,
) -> None:
    store = await open_store(prepared)
    try:
        assert (
            await (await tracker_for(store)).create_ticket(TicketDraft(title="contended"))
        ).ticket.slug == f"{CODE}-1"
    finally:
        await store.close()
    commands = [update_worker_command(prepared, f"updater-{i:02d}", f"{CODE}-1", ROUNDS) for i in range(UPDATERS)]
    with worker_processes(commands) as procs:
        reports = [UpdaterReport.from_json(line) for line in await run_at_once(procs, RUN_TIMEOUT_S)]

    errors = [f"{r.name}: {e}" for r in reports for e in r.errors]
    assert errors == [], f"writes failed other than by a version conflict: {errors[:10]}"
    based_on = sorted(version for r in reports for version in r.based_on)
    saved = len(based_on)
    assert saved + sum(r.conflicts for r in reports) == UPDATERS * ROUNDS
    assert based_on == list(range(1, saved + 1)), "two saved writes were based on the same version: one was lost"
    stored = read_inbox(prepared)
    assert stored.version - 1 == saved, f"{saved} writes acknowledged, but the version rose {stored.version - 1} times"
    assert stored.updated_events == saved, "not exactly one ticket.updated event per acknowledged write"
    assert sum(r.conflicts for r in reports) > 0, "the updaters never collided: the test proved nothing"
