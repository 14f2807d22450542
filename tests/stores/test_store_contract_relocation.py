"""The Store contract for moving a ticket to another project, proved by SQLite and PostgreSQL alike: the new
number, the old slug that still finds the ticket, what moves with it and what stays. Fixtures in
store_contract.py.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from tests.fixtures.store_contract import World, draft
from tests.fixtures.stores import events, table_rows
from tickets_mcp.domain import LinkKind, Project, Status
from tickets_mcp.errors import Invalid, NotFound, StaleVersion
from tickets_mcp.stores import MilestoneFields, NewProject, NewTimeEntry, Store, TicketPatch, TicketQuery
from tickets_mcp.stores.location import PostgresUrl

pytestmark = pytest.mark.anyio


async def web(store: Store, world: World, code: str = "WEB") -> Project:
    return await store.create_project(NewProject(world.organization.id, f"Project {code}", code, ""), world.actor)


async def test_a_moved_ticket_takes_the_next_number_of_its_new_project_and_its_old_slug_finds_it(
    store: Store, world: World
) -> None:
    target = await web(store, world)
    await store.create_ticket(draft(world, "already there", project=target), world.actor)
    await store.create_ticket(draft(world, "stays"), world.actor)
    ticket = (await store.create_ticket(draft(world, "moves", status=Status.TODO), world.actor)).ticket
    moved = await store.move_to_project(ticket.id, target.id, world.actor)
    assert (moved.moved_from, moved.ticket.slug, moved.ticket.project_id) == ("INBOX-2", "WEB-2", target.id)
    assert (moved.ticket.id, moved.ticket.title, moved.ticket.status) == (ticket.id, "moves", Status.TODO)
    assert moved.ticket.version == ticket.version + 1
    assert await store.find_ticket(world.inbox.id, 2) is None
    assert await store.moved_ticket(world.inbox.id, 2) == moved.ticket
    assert await store.moved_ticket(world.inbox.id, 1) is None  # a ticket that never moved has no old slug
    assert (await store.ticket_detail(ticket.id)).moved_from == ("INBOX-2",)


async def test_numbers_stay_gap_free_in_the_target_and_the_old_number_is_never_used_again(
    store: Store, world: World
) -> None:
    target = await web(store, world)
    ticket = (await store.create_ticket(draft(world, "moves"), world.actor)).ticket
    await store.move_to_project(ticket.id, target.id, world.actor)
    after_in_target = (await store.create_ticket(draft(world, "next there", project=target), world.actor)).ticket
    after_in_source = (await store.create_ticket(draft(world, "next here"), world.actor)).ticket
    assert (after_in_target.slug, after_in_source.slug) == ("WEB-2", "INBOX-2")


async def test_a_moved_ticket_lands_last_in_its_column_and_leaves_the_source_lists(store: Store, world: World) -> None:
    target = await web(store, world)
    there = (await store.create_ticket(draft(world, "there", project=target), world.actor)).ticket
    ticket = (await store.create_ticket(draft(world, "moves"), world.actor)).ticket
    moved = (await store.move_to_project(ticket.id, target.id, world.actor)).ticket
    assert moved.position > there.position
    assert (await store.list_tickets(TicketQuery(project_ids=[world.inbox.id]))).total == 0
    listed = await store.list_tickets(TicketQuery(project_ids=[target.id]))
    assert [t.slug for t in listed.tickets] == ["WEB-2", "WEB-1"]
    column = (await store.board(target, 10)).columns[0]
    assert [t.slug for t in column.tickets] == ["WEB-1", "WEB-2"]
    counts = {
        p.code: (p.tickets_count, p.open_tickets_count) for p in await store.list_projects([world.organization.id])
    }
    assert counts == {"INBOX": (0, 0), "WEB": (2, 2)}


async def test_sub_tasks_move_with_their_parent_each_with_a_new_number_and_an_old_slug(
    store: Store, world: World
) -> None:
    target = await web(store, world)
    parent = (await store.create_ticket(draft(world, "parent"), world.actor)).ticket
    child = (await store.create_ticket(draft(world, "child", parent=parent), world.actor)).ticket
    await store.create_ticket(draft(world, "unrelated"), world.actor)
    grandchild = (await store.create_ticket(draft(world, "grandchild", parent=child), world.actor)).ticket
    moved = await store.move_to_project(parent.id, target.id, world.actor)
    assert moved.subtasks == {"INBOX-2": "WEB-2", "INBOX-4": "WEB-3"}
    assert await store.moved_ticket(world.inbox.id, 4) == await store.find_ticket(target.id, 3)
    detail = await store.ticket_detail(child.id)
    assert (detail.ticket.slug, detail.ticket.parent, detail.moved_from) == ("WEB-2", "WEB-1", ("INBOX-2",))
    assert [t.slug for t in detail.subtasks] == ["WEB-3"]
    assert (await store.ticket_detail(grandchild.id)).ticket.parent == "WEB-2"
    remaining = await store.list_tickets(TicketQuery(project_ids=[world.inbox.id]))
    assert [t.slug for t in remaining.tickets] == ["INBOX-3"]


async def test_a_parent_left_in_the_old_project_is_cleared(store: Store, world: World) -> None:
    target = await web(store, world)
    parent = (await store.create_ticket(draft(world, "parent"), world.actor)).ticket
    child = (await store.create_ticket(draft(world, "child", parent=parent), world.actor)).ticket
    moved = await store.move_to_project(child.id, target.id, world.actor)
    assert (moved.parent, moved.ticket.parent, moved.subtasks) == ("INBOX-1", None, {})
    assert (await store.ticket_detail(parent.id)).subtasks == ()


async def test_labels_follow_by_name_created_in_the_target_where_missing_and_reported_as_new(
    store: Store, world: World
) -> None:
    target = await web(store, world)
    await store.create_ticket(draft(world, "labelled there", project=target, labels=("ui",)), world.actor)
    ticket = (await store.create_ticket(draft(world, "moves", labels=("flaky", "ui")), world.actor)).ticket
    moved = (await store.move_to_project(ticket.id, target.id, world.actor)).ticket
    assert [label.name for label in moved.labels] == ["flaky", "ui"]
    assert moved.new_labels is not None
    assert (moved.new_labels.names, [use.name for use in moved.new_labels.had]) == (("flaky",), ["ui"])
    uses = (await store.list_projects([world.organization.id], labels=True))[1].labels
    assert uses is not None and {(use.name, use.tickets) for use in uses} == {("flaky", 1), ("ui", 2)}
    filtered = await store.list_tickets(TicketQuery(project_ids=[target.id], labels=("flaky",)))
    assert [t.slug for t in filtered.tickets] == ["WEB-2"]


async def test_comments_and_history_follow_and_the_move_is_recorded_in_both_projects(
    store: Store, world: World, location: Path | PostgresUrl
) -> None:
    target = await web(store, world)
    ticket = (await store.create_ticket(draft(world, "moves"), world.actor)).ticket
    await store.add_comment(ticket.id, "before the move", world.actor)
    await store.move_to_project(ticket.id, target.id, world.actor)
    await store.add_comment(ticket.id, "after it", world.actor)
    detail = await store.ticket_detail(ticket.id)
    assert [(c.body, c.ticket_slug) for c in detail.comments] == [("before the move", "WEB-1"), ("after it", "WEB-1")]
    assert [c.action for c in detail.history] == [
        "ticket.created",
        "comment.added",
        "ticket.moved_project",
        "comment.added",
    ]
    moved_event = detail.history[2]
    assert moved_event.changes["slug"] == ["INBOX-1", "WEB-1"]
    in_source = await store.project_activity(world.inbox.id, 10)
    in_target = await store.project_activity(target.id, 10)
    assert (in_source[0].action, in_source[0].subject) == ("ticket.moved_project", "INBOX-1")
    assert [c.subject for c in in_target if c.action == "ticket.moved_project"] == ["WEB-1"]
    moves = [changes for action, _, changes in events(location) if action == "ticket.moved_project"]
    assert len(moves) == 2 and all(changes["slug"] == ["INBOX-1", "WEB-1"] for changes in moves)


async def test_moves_both_ways_at_once_all_land_with_gap_free_numbers(store: Store, world: World) -> None:
    first, second = await web(store, world, "ONE"), await web(store, world, "TWO")
    ones = [(await store.create_ticket(draft(world, f"one {n}", project=first), world.actor)).ticket for n in range(5)]
    twos = [(await store.create_ticket(draft(world, f"two {n}", project=second), world.actor)).ticket for n in range(5)]
    async with anyio.create_task_group() as group:  # on PostgreSQL, writers in parallel: locks taken in one order
        for ticket in ones:
            group.start_soon(store.move_to_project, ticket.id, second.id, world.actor)
        for ticket in twos:
            group.start_soon(store.move_to_project, ticket.id, first.id, world.actor)
    for project, arrived in ((first, twos), (second, ones)):
        listed = (await store.list_tickets(TicketQuery(project_ids=[project.id], limit=50))).tickets
        assert sorted(t.number for t in listed) == [6, 7, 8, 9, 10]
        assert {t.id for t in listed} == {t.id for t in arrived}


async def test_a_ticket_moved_twice_is_found_by_both_old_slugs(store: Store, world: World) -> None:
    first, second = await web(store, world), await web(store, world, "OPS")
    ticket = (await store.create_ticket(draft(world, "wanders"), world.actor)).ticket
    await store.move_to_project(ticket.id, first.id, world.actor)
    moved = await store.move_to_project(ticket.id, second.id, world.actor)
    assert (moved.moved_from, moved.ticket.slug) == ("WEB-1", "OPS-1")
    assert await store.moved_ticket(world.inbox.id, 1) == moved.ticket
    assert await store.moved_ticket(first.id, 1) == moved.ticket
    assert (await store.ticket_detail(ticket.id)).moved_from == ("INBOX-1", "WEB-1")
    back = await store.move_to_project(ticket.id, world.inbox.id, world.actor)
    assert back.ticket.slug == "INBOX-2"  # home again, under a new number: INBOX-1 names it still
    assert await store.moved_ticket(world.inbox.id, 1) == back.ticket
    assert (await store.ticket_detail(ticket.id)).moved_from == ("INBOX-1", "WEB-1", "OPS-1")


async def test_moving_to_the_project_it_is_in_is_refused(store: Store, world: World) -> None:
    ticket = (await store.create_ticket(draft(world, "stays"), world.actor)).ticket
    with pytest.raises(Invalid, match="already in INBOX"):
        await store.move_to_project(ticket.id, world.inbox.id, world.actor)


async def test_a_stale_version_refuses_the_move_and_nothing_changes(
    store: Store, world: World, location: Path | PostgresUrl
) -> None:
    target = await web(store, world)
    ticket = (await store.create_ticket(draft(world, "moves"), world.actor)).ticket
    await store.update_ticket(ticket.id, TicketPatch(values={"title": "edited"}), expected_version=1, actor=world.actor)
    before = events(location)
    with pytest.raises(StaleVersion):
        await store.move_to_project(ticket.id, target.id, world.actor, expected_version=1)
    assert events(location) == before
    assert (await store.find_ticket(world.inbox.id, 1)) is not None
    moved = await store.move_to_project(ticket.id, target.id, world.actor, expected_version=2)
    assert moved.ticket.version == 3


async def test_deleting_a_moved_ticket_forgets_its_old_slugs(
    store: Store, world: World, location: Path | PostgresUrl
) -> None:
    target = await web(store, world)
    parent = (await store.create_ticket(draft(world, "parent"), world.actor)).ticket
    await store.create_ticket(draft(world, "child", parent=parent), world.actor)
    await store.move_to_project(parent.id, target.id, world.actor)
    assert len(table_rows(location, "SELECT * FROM old_slugs")) == 2
    await store.delete_ticket(parent.id, world.actor)
    assert await store.moved_ticket(world.inbox.id, 1) is None
    assert await store.moved_ticket(world.inbox.id, 2) is None
    assert table_rows(location, "SELECT * FROM old_slugs") == []


async def test_a_project_its_tickets_moved_out_of_can_be_deleted(store: Store, world: World) -> None:
    source, target = await web(store, world, "OLD"), await web(store, world)
    ticket = (await store.create_ticket(draft(world, "moves", project=source), world.actor)).ticket
    await store.move_to_project(ticket.id, target.id, world.actor)
    deleted = await store.delete_project(source.id, world.actor)
    assert deleted.tickets == 0
    assert (await store.ticket_detail(ticket.id)).moved_from == ()  # its old project is gone, and its slug with it


async def test_a_missing_ticket_or_project_is_not_found(store: Store, world: World) -> None:
    target = await web(store, world)
    ticket = (await store.create_ticket(draft(world, "moves"), world.actor)).ticket
    with pytest.raises(NotFound):
        await store.move_to_project(ticket.id + 1000, target.id, world.actor)
    with pytest.raises(NotFound):
        await store.move_to_project(ticket.id, "no-such-project", world.actor)


# What planning hangs off a ticket: links and time follow it, a milestone (one project's) is left behind.


async def test_links_and_time_follow_the_ticket_and_its_milestone_is_cleared(store: Store, world: World) -> None:
    target = await web(store, world)
    sprint = await store.create_milestone(world.inbox.id, MilestoneFields(name="Sprint 1"), world.actor)
    ticket = (await store.create_ticket(draft(world, "moves"), world.actor)).ticket
    await store.update_ticket(
        ticket.id, TicketPatch(values={"milestone_id": sprint.id}), expected_version=None, actor=world.actor
    )
    blocker = (await store.create_ticket(draft(world, "blocker"), world.actor)).ticket
    await store.link_tickets(ticket.id, LinkKind.BLOCKED_BY, blocker.id, world.actor)
    await store.log_time(ticket.id, NewTimeEntry(hours=1.5, spent_on="2026-01-05"), world.actor)
    moved = await store.move_to_project(ticket.id, target.id, world.actor)
    assert (moved.milestone, moved.ticket.milestone) == ("Sprint 1", None)
    assert (moved.ticket.blocked_by, moved.ticket.spent) == (("INBOX-2",), 1.5)
    detail = await store.ticket_detail(ticket.id)
    assert [(link.kind, link.slug) for link in detail.links] == [(LinkKind.BLOCKED_BY, "INBOX-2")]
    assert [(entry.ticket_slug, entry.hours) for entry in detail.time_entries] == [("WEB-1", 1.5)]
    assert [(link.kind, link.slug) for link in (await store.ticket_detail(blocker.id)).links] == [
        (LinkKind.BLOCKS, "WEB-1")
    ]
