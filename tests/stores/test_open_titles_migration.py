"""Migration 23: a tracker of the previous schema gets its open tickets' titles indexed for the look-alike
check, project by project, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest

from tests.fixtures.stores import OWNED_ORGANIZATION, Location, older_store, table_rows
from tickets_mcp.domain import Priority, Status, TicketSort, TicketType
from tickets_mcp.errors import LikelyDuplicate
from tickets_mcp.stores import Actor, NewTicket, TicketQuery
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.location import PostgresUrl
from tickets_mcp.stores.postgres import migrations as postgres_migrations
from tickets_mcp.stores.sqlite import migrations as sqlite_migrations

pytestmark = pytest.mark.anyio

BEFORE = sqlite_migrations.OPEN_TITLES.version - 1
ROWS = (
    *OWNED_ORGANIZATION,
    "INSERT INTO projects (id, organization_id, name, code, ticket_counter, created_at) "
    "VALUES ('p-1', 'o1', 'Web', 'WEB', 2, 'now'), ('p-2', 'o1', 'App', 'APP', 1, 'now')",
    "INSERT INTO tickets (project_id, number, type, title, status, priority, position, created_at, updated_at) "
    "VALUES ('p-1', 1, 'bug', 'Export fails for archived customers', 'todo', 2, 1, 'then', 'then'), "
    "('p-1', 2, 'bug', 'Login fails on Safari', 'done', 2, 2, 'then', 'then'), "
    "('p-2', 1, 'bug', 'Dark mode toggle', 'backlog', 2, 1, 'then', 'then')",
)


PENDING_PAGES = "SELECT gin_clean_pending_list('tickets_open_titles')"


def new(project_id: str, title: str) -> NewTicket:
    return NewTicket(
        project_id, TicketType.BUG, title, "", Status.BACKLOG, Priority.MEDIUM, None, None, (), None,
        check_duplicates=True,
    )  # fmt: skip


async def test_the_open_titles_of_an_older_tracker_are_look_alikes_in_their_project_only(
    store_location: Location,
) -> None:
    assert postgres_migrations.OPEN_TITLES.version == BEFORE + 1
    older_store(store_location, BEFORE, ROWS)
    store = await open_store(store_location)  # migrates
    try:
        user = await store.find_user("alice")
        assert user is not None
        actor = Actor(user_id=user.id)
        with pytest.raises(LikelyDuplicate, match="WEB-1"):
            await store.create_ticket(new("p-1", "Export fails for archived customers"), actor)
        with pytest.raises(LikelyDuplicate, match="APP-1"):
            await store.create_ticket(new("p-2", "Dark mode toggle"), actor)
        assert (await store.create_ticket(new("p-1", "Login fails on Safari"), actor)).ticket.slug == "WEB-3"
        assert (await store.create_ticket(new("p-1", "Dark mode toggle"), actor)).ticket.slug == "WEB-4"
        # Their words are known too: a word's start names the words it starts, the older ones with the new.
        await store.create_ticket(new("p-1", "Exporter hangs"), actor)
        page = await store.list_tickets(TicketQuery(project_ids=["p-1"], text="expor", sort=TicketSort.RELEVANCE))
        assert sorted(t.slug for t in page.tickets) == ["WEB-1", "WEB-5"]
    finally:
        await store.close()


async def test_on_postgresql_each_title_goes_into_the_index_itself_not_a_pending_list(
    postgres_url: PostgresUrl,
) -> None:
    """Migration 24: a GIN index's pending list is read whole by every search until vacuum merges it, so each
    look-alike check grew slower with the creates since (3.1 ms after 480, 0.9 merged). The titles an older
    tracker left pending are merged, and a create's are written into the index at once. (Merging is what
    tells them: gin_clean_pending_list answers how many pending pages it merged.)"""
    older_store(postgres_url, postgres_migrations.OPEN_TITLES_AT_ONCE.version - 1, ROWS)
    store = await open_store(postgres_url)  # migrates
    try:
        user = await store.find_user("alice")
        assert user is not None
        for n in range(30):
            await store.create_ticket(
                new("p-1", f"Invoice {n} rounds the tax of line {n} down"), Actor(user_id=user.id)
            )
    finally:
        await store.close()
    assert table_rows(postgres_url, PENDING_PAGES) == [(0,)]
