"""LocalTracker's planning rules: links, milestones, due dates, estimates and time, on both stores."""

from __future__ import annotations

from typing import Any

import pytest

from tickets_mcp.core import admin
from tickets_mcp.core.access import Tier
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import EstimateUnit, LinkKind, Role, Status, TicketSort
from tickets_mcp.domain.dates import parse_day
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied
from tickets_mcp.stores import Store

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(local_store: Store) -> Store:
    return local_store


async def tracker_for(store: Store, username: str, tier: Tier = Tier.FULL) -> LocalTracker:
    user = await store.find_user(username)
    assert user is not None
    return LocalTracker(store, Principal(user_id=user.id, username=user.username), tier)


async def file(tracker: LocalTracker, title: str, **fields: Any) -> str:
    return (await tracker.create_ticket(TicketDraft(title=title, **fields))).ticket.slug


async def test_a_link_shows_on_both_tickets_read_from_each_side(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    first, second = await file(alice, "Schema migration"), await file(alice, "Backfill")
    linked = await alice.link_tickets(second, LinkKind.BLOCKED_BY, first)
    assert [(link.kind, link.slug) for link in linked.links] == [(LinkKind.BLOCKED_BY, first)]
    other_side = await alice.get_ticket(first)
    assert [(link.kind, link.slug) for link in other_side.links] == [(LinkKind.BLOCKS, second)]
    assert (await alice.get_ticket(second)).ticket.blocked_by == (first,)


async def test_a_cycle_of_blocks_is_refused_and_leaves_the_links_as_they_were(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    a, b, c = [await file(alice, f"Step {n}") for n in "abc"]
    await alice.link_tickets(a, LinkKind.BLOCKS, b)
    await alice.link_tickets(b, LinkKind.BLOCKS, c)
    with pytest.raises(Invalid, match="cycle"):
        await alice.link_tickets(c, LinkKind.BLOCKS, a)
    assert [link.slug for link in (await alice.get_ticket(a)).links] == [b]


async def test_a_ticket_is_not_linked_to_itself_nor_across_organizations(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    mine = await file(alice, "Mine")
    with pytest.raises(Invalid, match="itself"):
        await alice.link_tickets(mine, LinkKind.RELATES_TO, mine)
    await admin.add_organization(store, "Second", "alice")
    alice = await tracker_for(store, "alice")  # a tracker serves one call: this one sees the new organization
    await alice.create_project("Elsewhere", code="ELS", organization="second")
    there = await file(alice, "There", project="ELS")
    with pytest.raises(Invalid, match="another organization"):
        await alice.link_tickets(mine, LinkKind.RELATES_TO, there)


async def test_marking_a_duplicate_can_close_it_as_canceled_in_the_same_call(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    original, copy = await file(alice, "Login fails"), await file(alice, "Cannot log in")
    linked = await alice.link_tickets(copy, LinkKind.DUPLICATES, original, close_as_duplicate=True)
    assert linked.ticket.status is Status.CANCELED
    assert [(link.kind, link.slug) for link in (await alice.get_ticket(original)).links] == [
        (LinkKind.DUPLICATED_BY, copy)
    ]
    with pytest.raises(Invalid, match="duplicates"):
        await alice.link_tickets(original, LinkKind.RELATES_TO, copy, close_as_duplicate=True)


async def test_unlinking_removes_the_link_and_a_missing_one_is_not_found(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    a, b = await file(alice, "A"), await file(alice, "B")
    await alice.link_tickets(a, LinkKind.RELATES_TO, b)
    assert (await alice.link_tickets(b, LinkKind.RELATES_TO, a, unlink=True)).links == ()
    with pytest.raises(NotFound):
        await alice.link_tickets(a, LinkKind.RELATES_TO, b, unlink=True)


async def test_blocked_and_blocking_filters_see_only_open_blockers(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    blocker, waiting, free = await file(alice, "Blocker"), await file(alice, "Waiting"), await file(alice, "Free")
    await alice.link_tickets(blocker, LinkKind.BLOCKS, waiting)

    async def slugs(**filters: Any) -> list[str]:
        page = await alice.list_tickets(
            TicketFilter(project="INBOX", sort=TicketSort.CREATED, descending=False, **filters)
        )
        return [t.slug for t in page.tickets]

    assert await slugs(blocked=True) == [waiting]
    assert await slugs(blocking=True) == [blocker]
    assert await slugs(blocked=False) == [blocker, free]
    await alice.move_ticket(blocker, Status.DONE)
    assert await slugs(blocked=True) == []
    assert (await alice.get_ticket(waiting)).ticket.blocked_by == ()


async def test_deleting_a_ticket_removes_its_links_and_says_so_first(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    a, b = await file(alice, "Going"), await file(alice, "Staying")
    await alice.link_tickets(a, LinkKind.BLOCKS, b)
    assert (await alice.ticket_deletion(a)).links == 1
    await alice.delete_ticket(a)
    staying = await alice.get_ticket(b)
    assert staying.links == () and staying.ticket.blocked_by == ()


async def test_due_dates_take_words_and_filter_and_sort_by_day(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    later = await file(alice, "Later", due_date="+10d")
    soon = await file(alice, "Soon", due_date="tomorrow")
    late = await file(alice, "Late", due_date="-2d")
    whenever = await file(alice, "Whenever")
    assert (await alice.get_ticket(soon)).ticket.due_date == parse_day("due", "tomorrow")
    page = await alice.list_tickets(TicketFilter(project="INBOX", sort=TicketSort.DUE, descending=False, limit=2))
    assert [t.slug for t in page.tickets] == [late, soon]
    assert page.next_cursor is not None
    rest = await alice.list_tickets(
        TicketFilter(project="INBOX", sort=TicketSort.DUE, descending=False, limit=2, cursor=page.next_cursor)
    )
    assert [t.slug for t in rest.tickets] == [later, whenever]  # a ticket without a due date comes last
    overdue = await alice.list_tickets(TicketFilter(project="INBOX", overdue=True))
    assert [t.slug for t in overdue.tickets] == [late]
    window = await alice.list_tickets(TicketFilter(project="INBOX", due_after="today", due_before="+7d"))
    assert [t.slug for t in window.tickets] == [soon]
    await alice.update_ticket(late, TicketChanges(due_date="none"))
    assert (await alice.get_ticket(late)).ticket.due_date is None


async def test_an_estimate_is_checked_and_the_unit_is_the_projects(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    slug = await file(alice, "Sized", estimate=3)
    for wrong in (-1, 0.001, float("nan")):
        with pytest.raises(Invalid, match="estimate"):
            await alice.update_ticket(slug, TicketChanges(estimate=wrong))
    assert (await alice.get_ticket(slug)).estimate_unit is EstimateUnit.HOURS
    await alice.set_estimate_unit("INBOX", EstimateUnit.POINTS)
    detail = await alice.get_ticket(slug)
    assert (detail.ticket.estimate, detail.estimate_unit) == (3, EstimateUnit.POINTS)
    await alice.update_ticket(slug, TicketChanges(estimate="none"))
    assert (await alice.get_ticket(slug)).ticket.estimate is None


async def test_logged_time_adds_up_on_the_ticket_without_changing_its_version(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    slug = await file(alice, "Worked on")
    await alice.log_time(slug, 1.5, note="repro")
    entry = await alice.log_time(slug, 2, spent_on="yesterday")
    assert entry.spent_on == parse_day("on", "yesterday") and entry.user == "alice"
    detail = await alice.get_ticket(slug)
    assert detail.ticket.spent == 3.5 and detail.ticket.version == 1
    assert [e.hours for e in detail.time_entries] == [2, 1.5]  # by the day spent
    with pytest.raises(Invalid, match="hours"):
        await alice.log_time(slug, 0)
    with pytest.raises(Invalid, match="not come yet"):
        await alice.log_time(slug, 1, spent_on="tomorrow")


async def test_a_milestone_shows_progress_and_filters_tickets_and_the_board(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    sprint = await alice.save_milestone("INBOX", "Sprint 1", start_date="today", due_date="+14d")
    assert (sprint.name, sprint.closed, sprint.total_tickets) == ("Sprint 1", False, 0)
    done = await file(alice, "Shipped", milestone="sprint 1")
    await alice.move_ticket(done, Status.DONE)
    open_one = await file(alice, "In flight", milestone="Sprint 1", due_date="-1d")
    await file(alice, "Not planned")
    [listed] = await alice.list_milestones("INBOX")
    assert (listed.open_tickets, listed.done_tickets, listed.total_tickets, listed.overdue_tickets) == (1, 1, 2, 1)
    page = await alice.list_tickets(TicketFilter(project="INBOX", milestone="Sprint 1", sort=TicketSort.CREATED))
    assert sorted(t.slug for t in page.tickets) == sorted([done, open_one])
    unplanned = await alice.list_tickets(TicketFilter(project="INBOX", milestone="none"))
    assert [t.milestone for t in unplanned.tickets] == [None]
    board = await alice.get_board("INBOX", milestone="Sprint 1")
    assert board.milestone == "Sprint 1"
    assert sum(column.total for column in board.columns) == 2
    with pytest.raises(NotFound, match="no milestone") as missing:
        await alice.list_tickets(TicketFilter(project="INBOX", milestone="Sprint 2"))
    assert "Sprint 1" in str(missing.value.hint)


async def test_closing_a_milestone_with_open_tickets_asks_what_to_do_with_them(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    await alice.save_milestone("INBOX", "Sprint 1")
    await alice.save_milestone("INBOX", "Sprint 2")
    slug = await file(alice, "Carried over", milestone="Sprint 1")
    with pytest.raises(Invalid, match="1 open ticket") as asked:
        await alice.save_milestone("INBOX", "Sprint 1", closed=True)
    assert "open_tickets" in str(asked.value) + str(asked.value.hint)
    with pytest.raises(Invalid, match="being closed"):
        await alice.save_milestone("INBOX", "Sprint 1", closed=True, open_tickets="Sprint 1")
    closed = await alice.save_milestone("INBOX", "Sprint 1", closed=True, open_tickets="Sprint 2")
    assert closed.closed and closed.open_tickets == 0
    assert (await alice.get_ticket(slug)).ticket.milestone == "Sprint 2"
    assert [m.name for m in await alice.list_milestones("INBOX")] == ["Sprint 2"]
    assert [m.name for m in await alice.list_milestones("INBOX", closed=True)] == ["Sprint 2", "Sprint 1"]
    with pytest.raises(Invalid, match="closed"):
        await alice.update_ticket(slug, TicketChanges(milestone="Sprint 1"))


async def test_a_milestone_is_renamed_and_its_dates_checked(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    await alice.save_milestone("INBOX", "v1", due_date="2027-01-31")
    renamed = await alice.save_milestone("INBOX", "v1", rename="v1.0", start_date="2027-01-01")
    assert (renamed.name, renamed.start_date, renamed.due_date) == ("v1.0", "2027-01-01", "2027-01-31")
    with pytest.raises(Invalid, match="before the start"):
        await alice.save_milestone("INBOX", "v2", start_date="2027-02-10", due_date="2027-02-01")
    with pytest.raises(NotFound):
        await alice.save_milestone("INBOX", "v9", rename="v10")


async def test_a_reporter_may_read_planning_but_not_change_it(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    a, b = await file(alice, "A"), await file(alice, "B")
    await alice.save_milestone("INBOX", "Sprint 1")
    await admin.add_user(store, "rita")
    await admin.set_member(store, "local", "rita", Role.REPORTER)
    rita = await tracker_for(store, "rita")
    assert [m.name for m in await rita.list_milestones("INBOX")] == ["Sprint 1"]
    with pytest.raises(PermissionDenied):
        await rita.link_tickets(a, LinkKind.BLOCKS, b)
    with pytest.raises(PermissionDenied):
        await rita.save_milestone("INBOX", "Sprint 2")
    with pytest.raises(PermissionDenied):
        await rita.log_time(a, 1)


async def test_the_read_only_tier_refuses_every_planning_change(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    a, b = await file(alice, "A"), await file(alice, "B")
    reader = await tracker_for(store, "alice", Tier.READ_ONLY)
    with pytest.raises(PermissionDenied):
        await reader.link_tickets(a, LinkKind.BLOCKS, b)
    with pytest.raises(PermissionDenied):
        await reader.save_milestone("INBOX", "Sprint 1")
    with pytest.raises(PermissionDenied):
        await reader.log_time(a, 1)
    with pytest.raises(PermissionDenied):
        await reader.set_estimate_unit("INBOX", EstimateUnit.POINTS)
