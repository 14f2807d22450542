"""The Store contract for a project's ticket counts, proved by SQLite and PostgreSQL alike: the counts a
project is listed with are kept as tickets are written, never counted at read time, so each kind of write
must leave them equal to a count of the rows. Fixtures in store_contract.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import pytest

from tests.fixtures.store_contract import World, draft
from tests.fixtures.stores import Location, older_store, table_rows
from tickets_mcp.domain import Project, Status
from tickets_mcp.errors import Conflict
from tickets_mcp.stores import Move, NewProject, Placement, Store, TicketPatch, TicketQuery
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.postgres import migrations as postgres_migrations
from tickets_mcp.stores.sqlite import migrations as sqlite_migrations

pytestmark = pytest.mark.anyio

Counts = dict[str, tuple[int, int]]


def counted(location: Location) -> Counts:
    """Each project's tickets and open tickets, counted from the rows beside the store: the truth."""
    rows = table_rows(
        location,
        """SELECT p.code, COUNT(t.id), SUM(CASE WHEN t.status IN ('done', 'canceled') THEN 0 ELSE 1 END)
           FROM projects p LEFT JOIN tickets t ON t.project_id = p.id GROUP BY p.code""",
    )
    return {str(code): (int(total), int(open_ or 0) if total else 0) for code, total, open_ in rows}


def counted_by_status(location: Location) -> dict[tuple[str, str], int]:
    rows = table_rows(location, "SELECT project_id, status, COUNT(*) FROM tickets GROUP BY project_id, status")
    return {(str(project), str(status)): int(n) for project, status, n in rows}


async def shown_by_status(store: Store, projects: Sequence[Project]) -> dict[tuple[str, str], int]:
    """Each project's tickets by status as its board columns total them and as lists by status count them,
    which must agree."""
    shown: dict[tuple[str, str], int] = {}
    for project in projects:
        for column in (await store.board(project, 1)).columns:
            query = TicketQuery(project_ids=[project.id], statuses=[column.status], limit=1)
            assert (await store.list_tickets(query)).total == column.total
            if column.total:
                shown[project.id, column.status.value] = column.total
    return shown


async def listed(store: Store, world: World) -> Counts:
    return {
        p.code: (p.tickets_count or 0, p.open_tickets_count or 0)
        for p in await store.list_projects([world.organization.id])
    }


async def web(store: Store, world: World) -> Project:
    return await store.create_project(NewProject(world.organization.id, "Web", "WEB", ""), world.actor)


async def test_counts_follow_filing_closing_reopening_and_deleting(
    store: Store, world: World, location: Location
) -> None:
    steps: list[Counts] = []
    first = (await store.create_ticket(draft(world, "open"), world.actor)).ticket
    await store.create_ticket(draft(world, "filed closed", status=Status.DONE), world.actor)
    steps.append(await listed(store, world))
    await store.update_ticket(first.id, TicketPatch({"status": "done"}), expected_version=None, actor=world.actor)
    steps.append(await listed(store, world))
    await store.move_ticket(first.id, Status.CANCELED, Placement(), expected_version=None, actor=world.actor)
    steps.append(await listed(store, world))
    await store.move_ticket(first.id, Status.TODO, Placement(), expected_version=None, actor=world.actor)
    await store.update_ticket(first.id, TicketPatch({"status": "in_review"}), expected_version=None, actor=world.actor)
    steps.append(await listed(store, world))
    await store.delete_ticket(first.id, world.actor)
    steps.append(await listed(store, world))
    assert steps == [{"INBOX": (2, 1)}, {"INBOX": (2, 0)}, {"INBOX": (2, 0)}, {"INBOX": (2, 1)}, {"INBOX": (1, 0)}]
    assert steps[-1] == counted(location)


async def test_a_batch_of_filings_and_of_moves_is_counted_whole(store: Store, world: World, location: Location) -> None:
    filed = await store.create_tickets(
        [draft(world, f"batch {n}", status=Status.DONE if n % 3 == 0 else Status.TODO) for n in range(7)],
        world.actor,
    )
    assert await listed(store, world) == {"INBOX": (7, 4)} == counted(location)
    await store.move_tickets([Move(ticket.id, Status.DONE) for ticket in filed[:4]], world.actor)
    assert await listed(store, world) == {"INBOX": (7, 2)} == counted(location)


async def test_deleting_a_ticket_takes_its_sub_tasks_out_of_the_counts(
    store: Store, world: World, location: Location
) -> None:
    parent = (await store.create_ticket(draft(world, "parent"), world.actor)).ticket
    child = (await store.create_ticket(draft(world, "child", parent=parent), world.actor)).ticket
    await store.create_ticket(draft(world, "grandchild", parent=child, status=Status.DONE), world.actor)
    await store.create_ticket(draft(world, "unrelated"), world.actor)
    await store.delete_ticket(parent.id, world.actor)
    assert await listed(store, world) == {"INBOX": (1, 1)} == counted(location)


async def test_moving_a_ticket_to_another_project_moves_it_and_its_sub_tasks_in_the_counts(
    store: Store, world: World, location: Location
) -> None:
    target = await web(store, world)
    parent = (await store.create_ticket(draft(world, "parent"), world.actor)).ticket
    await store.create_ticket(draft(world, "open child", parent=parent), world.actor)
    await store.create_ticket(draft(world, "closed child", parent=parent, status=Status.CANCELED), world.actor)
    await store.create_ticket(draft(world, "stays", status=Status.DONE), world.actor)
    await store.create_ticket(draft(world, "already there", project=target), world.actor)
    await store.move_to_project(parent.id, target.id, world.actor)
    assert await listed(store, world) == {"INBOX": (1, 0), "WEB": (4, 3)} == counted(location)
    assert await shown_by_status(store, [world.inbox, target]) == counted_by_status(location)


async def test_a_project_whose_tickets_were_all_deleted_counts_none_and_can_be_deleted(
    store: Store, world: World, location: Location
) -> None:
    target = await web(store, world)
    ticket = (await store.create_ticket(draft(world, "only", project=target), world.actor)).ticket
    with pytest.raises(Conflict, match="still holds 1 ticket"):
        await store.delete_project(target.id, world.actor)
    await store.delete_ticket(ticket.id, world.actor)
    assert (await store.project_deletion(target.id)).tickets == 0
    await store.delete_project(target.id, world.actor)
    assert await listed(store, world) == {"INBOX": (0, 0)} == counted(location)


async def test_counts_stay_exact_under_concurrent_writers(store: Store, world: World, location: Location) -> None:
    """Writers at once on two projects: filings, closings, moves across in both directions and deletions,
    each in its own transaction (on PostgreSQL from connections of the pool at the same time)."""
    target = await web(store, world)
    projects = (world.inbox, target)
    seeded = [
        (await store.create_ticket(draft(world, f"seed {n}", project=projects[n % 2]), world.actor)).ticket
        for n in range(8)
    ]

    async def writer(n: int) -> None:
        mine = seeded[n]
        other = projects[(n + 1) % 2]
        for round_ in range(3):
            status = Status.TODO if round_ % 2 else Status.DONE
            await store.create_ticket(
                draft(world, f"w{n} r{round_}", project=projects[n % 2], status=status), world.actor
            )
        await store.move_ticket(mine.id, Status.DONE, Placement(), expected_version=None, actor=world.actor)
        if n % 4 != 3:  # more move out of INBOX than into it
            await store.move_to_project(mine.id, other.id, world.actor)
        if n % 3 == 0:
            await store.delete_ticket(mine.id, world.actor)

    async with anyio.create_task_group() as group:
        for n in range(len(seeded)):
            group.start_soon(writer, n)
    truth = counted(location)
    assert sum(total for total, _ in truth.values()) == 8 + 8 * 3 - 3
    assert await listed(store, world) == truth
    assert await shown_by_status(store, projects) == counted_by_status(location)


PREVIOUS = sqlite_migrations.MIGRATIONS[sqlite_migrations.MIGRATIONS.index(sqlite_migrations.TICKET_COUNTS) - 1]
ROWS = (
    "INSERT INTO organizations (id, name, slug, created_at) VALUES ('o1', 'One', 'one', 'now')",
    "INSERT INTO projects (id, organization_id, name, code, ticket_counter, created_at) "
    "VALUES ('p1', 'o1', 'Web', 'WEB', 3, 'now'), ('p2', 'o1', 'Empty', 'EMPTY', 0, 'now')",
    "INSERT INTO tickets (project_id, number, type, title, status, priority, position, created_at, updated_at) "
    "VALUES ('p1', 1, 'bug', 'Open', 'todo', 2, 1, 'then', 'then'), "
    "('p1', 2, 'task', 'Done', 'done', 3, 2, 'then', 'then'), "
    "('p1', 3, 'task', 'Canceled', 'canceled', 3, 3, 'then', 'then')",
)


async def test_the_migration_counts_the_tickets_a_tracker_already_holds(store_location: Location) -> None:
    assert postgres_migrations.TICKET_COUNTS.version == sqlite_migrations.TICKET_COUNTS.version
    older_store(store_location, PREVIOUS.version, ROWS)
    store = await open_store(store_location)  # migrates
    try:
        projects = await store.list_projects(["o1"])
        assert [(p.code, p.tickets_count, p.open_tickets_count) for p in projects] == [
            ("EMPTY", 0, 0),
            ("WEB", 3, 1),
        ]
    finally:
        await store.close()
