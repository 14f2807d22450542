"""The Store contract for links between tickets, proved by SQLite and PostgreSQL alike: both directions,
no cycle of blocks, duplicates closed as canceled, the audit trail on both tickets, and deletion."""

from __future__ import annotations

import pytest

from tests.fixtures.store_contract import World, draft
from tests.fixtures.stores import Location, events, snapshot, table_rows
from tickets_mcp.domain import Link, LinkKind, Status, Ticket
from tickets_mcp.errors import Invalid, NotFound
from tickets_mcp.stores import NewProject, Store, TicketPatch

pytestmark = pytest.mark.anyio


async def file(store: Store, world: World, *titles: str) -> list[Ticket]:
    return [(await store.create_ticket(draft(world, title), world.actor)).ticket for title in titles]


def shown(links: tuple[Link, ...]) -> list[tuple[str, str]]:
    return [(link.kind.value, link.slug) for link in links]


async def test_a_link_reads_from_each_ticket_in_its_own_direction(store: Store, world: World) -> None:
    a, b = await file(store, world, "API first", "Then the UI")
    linked = await store.link_tickets(b.id, LinkKind.BLOCKED_BY, a.id, world.actor)
    assert shown(linked.links) == [("blocked_by", "INBOX-1")]
    assert linked.ticket.blocked_by == ("INBOX-1",)
    detail = await store.ticket_detail(a.id)
    assert detail.links == (Link(kind=LinkKind.BLOCKS, slug="INBOX-2", title="Then the UI", status=Status.BACKLOG),)
    assert detail.ticket.blocked_by == ()


async def test_linking_again_is_no_change_and_records_nothing(store: Store, world: World, location: Location) -> None:
    a, b = await file(store, world, "One", "Two")
    await store.link_tickets(a.id, LinkKind.RELATES_TO, b.id, world.actor)
    before = snapshot(location, ["ticket_links", "events", "tickets"])
    again = await store.link_tickets(b.id, LinkKind.RELATES_TO, a.id, world.actor)  # from the other side
    assert shown(again.links) == [("relates_to", "INBOX-1")]
    assert snapshot(location, ["ticket_links", "events", "tickets"]) == before
    assert table_rows(location, "SELECT from_id, kind, to_id FROM ticket_links") == [(a.id, "relates_to", b.id)]


async def test_a_ticket_cannot_be_linked_to_itself(store: Store, world: World) -> None:
    (a,) = await file(store, world, "Alone")
    with pytest.raises(Invalid, match="itself"):
        await store.link_tickets(a.id, LinkKind.BLOCKS, a.id, world.actor)


async def test_a_blocks_link_that_closes_a_cycle_is_refused_naming_the_chain(
    store: Store, world: World, location: Location
) -> None:
    a, b, c = await file(store, world, "A", "B", "C")
    await store.link_tickets(a.id, LinkKind.BLOCKS, b.id, world.actor)
    await store.link_tickets(b.id, LinkKind.BLOCKS, c.id, world.actor)
    before = snapshot(location, ["ticket_links", "events"])
    with pytest.raises(Invalid) as refused:
        await store.link_tickets(c.id, LinkKind.BLOCKS, a.id, world.actor)
    assert "INBOX-1 blocks INBOX-2 blocks INBOX-3" in refused.value.message and "cycle" in refused.value.message
    assert refused.value.hint is not None and "relates_to" in refused.value.hint
    with pytest.raises(Invalid, match="cycle"):  # the same link, named from the blocked side
        await store.link_tickets(a.id, LinkKind.BLOCKED_BY, c.id, world.actor)
    assert snapshot(location, ["ticket_links", "events"]) == before
    # Not a cycle: another path to the same ticket, and links of other kinds back.
    await store.link_tickets(a.id, LinkKind.BLOCKS, c.id, world.actor)
    await store.link_tickets(c.id, LinkKind.RELATES_TO, a.id, world.actor)
    await store.link_tickets(c.id, LinkKind.DUPLICATES, a.id, world.actor)


async def test_a_ticket_is_blocked_by_its_open_blockers_only_in_slug_order(store: Store, world: World) -> None:
    blocked, *blockers = await file(store, world, "Release", "Docs", "Tests", "Fix")
    for blocker in reversed(blockers):
        await store.link_tickets(blocker.id, LinkKind.BLOCKS, blocked.id, world.actor)
    assert (await store.ticket_detail(blocked.id)).ticket.blocked_by == ("INBOX-2", "INBOX-3", "INBOX-4")
    await store.update_ticket(blockers[1].id, TicketPatch({"status": Status.DONE}), expected_version=None,
                              actor=world.actor)  # fmt: skip
    detail = await store.ticket_detail(blocked.id)
    assert detail.ticket.blocked_by == ("INBOX-2", "INBOX-4")
    assert shown(detail.links) == [("blocked_by", "INBOX-2"), ("blocked_by", "INBOX-3"), ("blocked_by", "INBOX-4")]


async def test_a_ticket_s_links_are_listed_by_kind_then_slug(store: Store, world: World) -> None:
    hub, *others = await file(store, world, "Hub", "Two", "Three", "Four", "Five", "Six")
    two, three, four, five, six = others
    await store.link_tickets(hub.id, LinkKind.RELATES_TO, two.id, world.actor)
    await store.link_tickets(hub.id, LinkKind.BLOCKS, six.id, world.actor)
    await store.link_tickets(hub.id, LinkKind.BLOCKS, three.id, world.actor)
    await store.link_tickets(four.id, LinkKind.DUPLICATES, hub.id, world.actor)
    await store.link_tickets(five.id, LinkKind.BLOCKS, hub.id, world.actor)
    assert shown((await store.ticket_detail(hub.id)).links) == [
        ("blocks", "INBOX-3"), ("blocks", "INBOX-6"), ("blocked_by", "INBOX-5"),
        ("duplicated_by", "INBOX-4"), ("relates_to", "INBOX-2"),
    ]  # fmt: skip


async def test_links_reach_across_projects_of_one_organization(store: Store, world: World) -> None:
    web = await store.create_project(NewProject(world.organization.id, "Web", "WEB", ""), world.actor)
    (inbox,) = await file(store, world, "Backend")
    front = (await store.create_ticket(draft(world, "Front", project=web), world.actor)).ticket
    linked = await store.link_tickets(front.id, LinkKind.BLOCKED_BY, inbox.id, world.actor)
    assert linked.ticket.blocked_by == ("INBOX-1",)
    assert shown((await store.ticket_detail(inbox.id)).links) == [("blocks", "WEB-1")]


async def test_unlinking_removes_the_link_from_both_sides_and_a_missing_one_is_not_found(
    store: Store, world: World
) -> None:
    a, b = await file(store, world, "A", "B")
    await store.link_tickets(a.id, LinkKind.BLOCKS, b.id, world.actor)
    unlinked = await store.unlink_tickets(b.id, LinkKind.BLOCKED_BY, a.id, world.actor)
    assert (unlinked.links, unlinked.ticket.blocked_by) == ((), ())
    assert (await store.ticket_detail(a.id)).links == ()
    with pytest.raises(NotFound, match="INBOX-2 is not linked to INBOX-1 as blocked_by"):
        await store.unlink_tickets(b.id, LinkKind.BLOCKED_BY, a.id, world.actor)


async def test_links_added_and_removed_are_recorded_on_both_tickets(store: Store, world: World) -> None:
    a, b = await file(store, world, "A", "B")
    await store.link_tickets(a.id, LinkKind.DUPLICATES, b.id, world.actor)
    await store.unlink_tickets(b.id, LinkKind.DUPLICATED_BY, a.id, world.actor)
    for ticket, kind, other in ((a, "duplicates", "INBOX-2"), (b, "duplicated_by", "INBOX-1")):
        history = (await store.ticket_detail(ticket.id)).history
        assert [(c.action, c.changes) for c in history[1:]] == [
            ("link.added", {"kind": kind, "ticket": other}),
            ("link.removed", {"kind": kind, "ticket": other}),
        ]
        assert all(c.actor == "alice" for c in history)


async def test_a_duplicate_is_closed_as_canceled_with_its_link_in_one_transaction(
    store: Store, world: World, location: Location
) -> None:
    original, duplicate = await file(store, world, "Crash on start", "App crashes when started")
    linked = await store.link_tickets(
        original.id, LinkKind.DUPLICATED_BY, duplicate.id, world.actor, close_as_duplicate=True
    )
    assert linked.ticket.status is Status.BACKLOG  # the original stays open
    closed = (await store.ticket_detail(duplicate.id)).ticket
    assert (closed.status, closed.version, closed.closed_by) == (Status.CANCELED, 2, "alice")
    assert closed.closed_at is not None
    assert [(a, s) for a, s, _ in events(location)[-3:]] == [
        ("link.added", "INBOX-1"), ("link.added", "INBOX-2"), ("ticket.moved", "INBOX-2"),
    ]  # fmt: skip
    # Marking it again: linked already and closed already, so nothing more.
    before = snapshot(location, ["ticket_links", "events", "tickets"])
    await store.link_tickets(duplicate.id, LinkKind.DUPLICATES, original.id, world.actor, close_as_duplicate=True)
    assert snapshot(location, ["ticket_links", "events", "tickets"]) == before


async def test_only_a_duplicates_link_closes_a_ticket_and_a_refusal_writes_nothing(
    store: Store, world: World, location: Location
) -> None:
    a, b = await file(store, world, "A", "B")
    before = snapshot(location, ["ticket_links", "events", "tickets"])
    with pytest.raises(Invalid, match="Only a duplicate"):
        await store.link_tickets(a.id, LinkKind.BLOCKS, b.id, world.actor, close_as_duplicate=True)
    assert snapshot(location, ["ticket_links", "events", "tickets"]) == before


async def test_deleting_a_ticket_removes_its_links_and_its_deletion_counts_those_leaving_it(
    store: Store, world: World, location: Location
) -> None:
    parent, other, third = await file(store, world, "Parent", "Other", "Third")
    sub = (await store.create_ticket(draft(world, "Sub", parent=parent), world.actor)).ticket
    await store.link_tickets(parent.id, LinkKind.BLOCKS, other.id, world.actor)
    await store.link_tickets(third.id, LinkKind.RELATES_TO, sub.id, world.actor)
    await store.link_tickets(sub.id, LinkKind.BLOCKS, parent.id, world.actor)  # inside what is deleted
    assert (await store.ticket_deletion(parent.id)).links == 2
    deletion = await store.delete_ticket(parent.id, world.actor)
    assert (deletion.subtasks, deletion.links) == (("INBOX-4",), 2)
    assert table_rows(location, "SELECT COUNT(*) FROM ticket_links") == [(0,)]
    assert (await store.ticket_detail(other.id)).links == ()
    trail = events(location)[-3:]
    assert [(a, s, c) for a, s, c in trail[:2]] == [
        ("link.removed", "INBOX-2", {"kind": "blocked_by", "ticket": "INBOX-1"}),
        ("link.removed", "INBOX-3", {"kind": "relates_to", "ticket": "INBOX-4"}),
    ]  # the tickets left keep a trail of their links that went
    assert trail[2][0] == "ticket.deleted" and trail[2][2]["links"] == 2
    (lonely,) = await file(store, world, "No links")
    assert (await store.ticket_deletion(lonely.id)).links == 0
