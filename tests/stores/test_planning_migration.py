"""The planning migration: a tracker of the previous schema keeps its data and gains links, milestones,
due dates, estimates and time, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.fixtures.stores import OWNED_ORGANIZATION, Location, older_store
from tickets_mcp.domain import EstimateUnit, LinkKind, Status
from tickets_mcp.stores import Actor, TicketPatch
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.port import MilestoneFields, NewTimeEntry
from tickets_mcp.stores.postgres import migrations as postgres_migrations
from tickets_mcp.stores.sqlite import migrations as sqlite_migrations

pytestmark = pytest.mark.anyio

BEFORE = sqlite_migrations.PLANNING.version - 1
ROWS = (
    *OWNED_ORGANIZATION,
    "INSERT INTO projects (id, organization_id, name, code, ticket_counter, created_at) "
    "VALUES ('p1', 'o1', 'Web', 'WEB', 2, 'now')",
    "INSERT INTO tickets (project_id, number, type, title, status, priority, position, created_at, updated_at) "
    "VALUES ('p1', 1, 'bug', 'Kept', 'todo', 2, 1, 'then', 'then'), "
    "('p1', 2, 'task', 'Also kept', 'done', 3, 2, 'then', 'then')",
    "INSERT INTO comments (ticket_id, body, created_at) SELECT id, 'a comment', 'then' FROM tickets WHERE number = 1",
)


async def test_a_tracker_of_the_previous_schema_keeps_its_data_and_gains_planning(store_location: Location) -> None:
    assert postgres_migrations.PLANNING.version == BEFORE + 1
    older_store(store_location, BEFORE, ROWS)
    store = await open_store(store_location)  # migrates
    try:
        (project,) = await store.list_projects(["o1"])
        assert (project.code, project.tickets_count, project.estimate_unit) == ("WEB", 2, EstimateUnit.HOURS)
        kept = await store.find_ticket("p1", 1)
        assert kept is not None
        assert (kept.title, kept.status, kept.version, kept.updated_at) == ("Kept", Status.TODO, 1, "then")
        planning = (kept.due_date, kept.estimate, kept.spent, kept.milestone, kept.blocked_by)
        assert planning == (None, None, 0, None, ())
        detail = await store.ticket_detail(kept.id)
        assert [c.body for c in detail.comments] == ["a comment"]
        assert (detail.links, detail.time_entries) == ((), ())

        user = await store.find_user("alice")
        assert user is not None
        actor = Actor(user_id=user.id)
        sprint = await store.create_milestone("p1", MilestoneFields(name="Sprint 1"), actor)
        other = await store.find_ticket("p1", 2)
        assert other is not None
        await store.link_tickets(kept.id, LinkKind.BLOCKED_BY, other.id, actor)
        await store.log_time(kept.id, NewTimeEntry(hours=2, spent_on="2026-01-05"), actor)
        patch = TicketPatch({"milestone_id": sprint.id, "due_date": "2026-02-01"})
        updated = await store.update_ticket(kept.id, patch, expected_version=1, actor=actor)
        assert (updated.milestone, updated.due_date, updated.spent, updated.blocked_by) == (
            "Sprint 1", "2026-02-01", 2, ()  # its blocker is done
        )  # fmt: skip
    finally:
        await store.close()


def test_a_never_analysed_sqlite_tracker_gets_the_planner_figures_of_the_new_indexes(db_path: Path) -> None:
    older_store(db_path, BEFORE, ROWS)
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        sqlite_migrations.migrate(conn, str(db_path))
        found = set(conn.execute("SELECT tbl, idx, stat FROM sqlite_stat1"))
    finally:
        conn.close()
    assert set(sqlite_migrations.PLANNING_STATISTICS) <= found
