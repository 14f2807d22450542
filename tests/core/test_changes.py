"""ChangeFeed on both stores: what it reads back from the audit trail, from when, and what it makes of it.

Reads are made with `read()` (what the running feed does on each kick and interval), so nothing waits.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

import psycopg
import pytest

from tests.fixtures.stores import Location
from tickets_mcp.core.changes import ChangeFeed
from tickets_mcp.core.local_backend import LocalBackend
from tickets_mcp.core.tracker import Principal, TicketChanges, TicketDraft, Tracker
from tickets_mcp.domain.audit import Touched
from tickets_mcp.stores import Store
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.location import PostgresUrl

pytestmark = pytest.mark.anyio


class Told:
    """A feed's listener, keeping what it was told."""

    def __init__(self) -> None:
        self.changes: list[Touched] = []

    async def __call__(self, changes: Sequence[Touched]) -> None:
        self.changes.extend(changes)


@pytest.fixture
async def store(store_location: Location) -> AsyncGenerator[Store]:
    opened = await open_store(store_location)
    try:
        yield opened
    finally:
        await opened.close()


async def alice(store: Store) -> Tracker:
    user = await store.ensure_user("alice", "Alice")
    await store.ensure_local_workspace(user, "Local", "Inbox", "INBOX")
    principal = Principal(user_id=user.id, username="alice")
    return LocalBackend(store, principal).tracker(principal)


async def test_a_feed_reads_nothing_unheld_and_once_held_each_change_committed_after(store: Store) -> None:
    tracker = await alice(store)
    feed, told = ChangeFeed(store), Told()
    feed.listen(told)
    before = (await tracker.create_ticket(TicketDraft(title="Before anyone watched"))).ticket
    await feed.read()
    await feed.hold()
    await feed.read()
    assert told.changes == []  # filed before the hold: not heard
    await tracker.update_ticket(before.slug, TicketChanges(title="Renamed"))
    after = (await tracker.create_ticket(TicketDraft(title="After"))).ticket
    await tracker.add_comment(after.slug, "noted")
    await feed.read()
    project = before.project_id
    assert told.changes == [
        Touched(project, (before.number,), board=True),
        Touched(project, (after.number,), board=True),
        Touched(project, (after.number,), board=True),
    ]
    feed.release()
    await tracker.update_ticket(after.slug, TicketChanges(title="Unheard"))
    await feed.read()
    assert len(told.changes) == 3  # idle again: nothing read


async def test_a_deleted_ticket_touches_its_sub_tasks_too_and_a_project_edit_its_board(store: Store) -> None:
    tracker = await alice(store)
    feed, told = ChangeFeed(store), Told()
    feed.listen(told)
    parent = (await tracker.create_ticket(TicketDraft(title="Parent"))).ticket
    child = (await tracker.create_ticket(TicketDraft(title="Child", parent=parent.slug))).ticket
    await feed.hold()
    await tracker.delete_ticket(parent.slug)
    await tracker.update_project("INBOX", description="Edited")
    await feed.read()
    assert told.changes == [
        Touched(parent.project_id, (parent.number, child.number), board=True),
        Touched(parent.project_id, board=True),
    ]


async def test_an_entry_committed_after_a_later_one_is_still_read(postgres_url: PostgresUrl) -> None:
    """PostgreSQL hands out ids at insert, not at commit: the feed asks again for an id it skipped."""
    store = await open_store(postgres_url)
    try:
        feed, told = ChangeFeed(store), Told()
        feed.listen(told)
        await feed.hold()
        insert = "INSERT INTO events (at, project_id, ticket_id, subject, action) VALUES ('now', 'p', %s, %s, 'x')"
        with psycopg.connect(postgres_url.url) as slow, psycopg.connect(postgres_url.url) as quick:
            slow.execute(insert, (1, "WEB-1"))  # its transaction stays open, its id taken
            quick.execute(insert, (2, "WEB-2"))
            quick.commit()
            await feed.read()
            assert told.changes == [Touched("p", (2,), board=True)]
            slow.commit()
        await feed.read()
        assert told.changes == [Touched("p", (2,), board=True), Touched("p", (1,), board=True)]
        await feed.read()
        assert len(told.changes) == 2  # each entry told once
    finally:
        await store.close()
