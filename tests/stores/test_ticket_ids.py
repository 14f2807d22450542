"""A deleted ticket's integer id never names another ticket: clients of seeds 000 and 001 cache by it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.rest_world import Rest, json_of
from tests.fixtures.store_contract import World, draft
from tickets_mcp.stores import Store
from tickets_mcp.stores.sqlite.migrations import TICKET_IDS, migrate

pytestmark = pytest.mark.anyio


async def test_the_ticket_filed_after_the_newest_one_is_deleted_gets_a_new_id(store: Store, world: World) -> None:
    await store.create_ticket(draft(world, "Stays"), world.actor)
    newest = (await store.create_ticket(draft(world, "Deleted"), world.actor)).ticket
    await store.delete_ticket(newest.id, world.actor)

    after = (await store.create_ticket(draft(world, "Filed after the delete"), world.actor)).ticket
    (again,) = await store.create_tickets([draft(world, "Filed in a batch")], world.actor)

    assert newest.id < after.id < again.id


async def test_agentsmesh_never_answers_a_deleted_tickets_id_for_a_new_ticket(rest: Rest) -> None:
    tickets = f"/api/v1/ext/orgs/{rest.org}/tickets"
    key = {"X-API-Key": rest.tokens.writer}

    async def create(title: str) -> dict[str, Any]:
        return json_of(await rest.client.post(tickets, json={"title": title, "type": "task"}, headers=key), 201)[
            "ticket"
        ]

    first = await create("reuse probe one")
    assert (await rest.client.delete(f"{tickets}/{first['slug']}", headers=key)).status_code in (200, 204)
    second = await create("reuse probe two")

    assert isinstance(second["id"], int) and second["id"] > first["id"]


def test_the_migration_starts_the_mark_at_the_largest_ticket_id_there_is(tmp_path: Path) -> None:
    path = tmp_path / "older.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(conn, str(path), upto=TICKET_IDS.version - 1)
        conn.execute("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o1', 'One', 'one', 'now')")
        conn.execute(
            "INSERT INTO projects (id, organization_id, name, code, created_at) VALUES ('p1', 'o1', 'P', 'P', 'now')"
        )
        for ticket_id in (5, 9):
            conn.execute(
                "INSERT INTO tickets (id, project_id, number, type, title, status, priority, position,"
                " created_at, updated_at) VALUES (?, 'p1', ?, 'task', 't', 'backlog', 2, 0, 'now', 'now')",
                (ticket_id, ticket_id),
            )
        migrate(conn, str(path))
        conn.execute("DELETE FROM tickets WHERE id = 9")

        assert conn.execute("SELECT last FROM ticket_ids").fetchone() == (9,)
    finally:
        conn.close()
