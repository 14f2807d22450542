"""The Store contract for listing by plan, proved by SQLite and PostgreSQL alike: the milestone, blocked,
blocking, overdue and due-date filters, and the sort by due date with its cursor."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.store_contract import World, draft, walk
from tickets_mcp.domain import LinkKind, Status, TicketSort
from tickets_mcp.errors import Invalid
from tickets_mcp.stores import NewProject, Store, TicketQuery
from tickets_mcp.stores.port import MilestoneFields

pytestmark = pytest.mark.anyio


def day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


@pytest.fixture
async def planned(store: Store, world: World) -> TicketQuery:
    """INBOX-1 Ship (due 2 days ago, in Sprint, blocked by 2 and by 3, which is done); 2 Docs (due in 3 days);
    3 Tests (done, due 5 days ago); 4 Undated (in Sprint, blocked by 5); 5 Later (due in 3 days, as 2);
    6 Old (done, due yesterday). Returns a query over INBOX."""
    sprint = await store.create_milestone(world.inbox.id, MilestoneFields(name="Sprint"), world.actor)
    rows = [
        ("Ship", Status.TODO, day(-2), sprint.id),
        ("Docs", Status.BACKLOG, day(3), None),
        ("Tests", Status.DONE, day(-5), None),
        ("Undated", Status.IN_PROGRESS, None, sprint.id),
        ("Later", Status.BACKLOG, day(3), None),
        ("Old", Status.DONE, day(-1), None),
    ]
    ids: list[int] = []
    for title, status, due, milestone_id in rows:
        new = draft(world, title, status=status, due_date=due, milestone_id=milestone_id)
        ids.append((await store.create_ticket(new, world.actor)).ticket.id)
    for blocker, blocked in ((2, 1), (3, 1), (5, 4)):
        await store.link_tickets(ids[blocker - 1], LinkKind.BLOCKS, ids[blocked - 1], world.actor)
    return TicketQuery(project_ids=[world.inbox.id], descending=False, limit=100)


async def numbers(store: Store, query: TicketQuery) -> list[int]:
    page = await store.list_tickets(query)
    assert page.total == len(page.tickets)
    return [t.number for t in page.tickets]


async def test_the_blocked_filter_keeps_tickets_with_an_open_blocker_or_those_without_one(
    store: Store, planned: TicketQuery
) -> None:
    assert await numbers(store, replace(planned, blocked=True)) == [1, 4]
    assert await numbers(store, replace(planned, blocked=False)) == [2, 3, 5, 6]


async def test_the_blocking_filter_keeps_open_tickets_blocking_an_open_one_or_the_others(
    store: Store, planned: TicketQuery
) -> None:
    assert await numbers(store, replace(planned, blocking=True)) == [2, 5]
    assert await numbers(store, replace(planned, blocking=False)) == [1, 3, 4, 6]


async def test_the_milestone_filter_keeps_its_tickets_and_no_milestone_the_others(
    store: Store, world: World, planned: TicketQuery
) -> None:
    sprint = await store.find_milestone(world.inbox.id, "sprint")
    assert sprint is not None
    assert await numbers(store, replace(planned, milestone_id=sprint.id)) == [1, 4]
    assert await numbers(store, replace(planned, no_milestone=True)) == [2, 3, 5, 6]
    assert await numbers(store, replace(planned, milestone_id=sprint.id, blocked=True, statuses=[Status.TODO])) == [1]
    elsewhere = await store.create_project(NewProject(world.organization.id, "Other", "OTH", ""), world.actor)
    outside = replace(planned, project_ids=[elsewhere.id], milestone_id=sprint.id)
    assert (await store.list_tickets(outside)).total == 0  # a milestone outside the projects listed lists nothing


async def test_overdue_keeps_open_tickets_due_before_the_day(store: Store, planned: TicketQuery) -> None:
    assert await numbers(store, replace(planned, overdue_on=day(0))) == [1]
    assert await numbers(store, replace(planned, overdue_on=day(4))) == [1, 2, 5]
    assert await numbers(store, replace(planned, overdue_on=day(-2))) == []


async def test_due_before_and_after_include_the_day_and_leave_undated_tickets_out(
    store: Store, planned: TicketQuery
) -> None:
    assert await numbers(store, replace(planned, due_before=day(-1))) == [1, 3, 6]
    assert await numbers(store, replace(planned, due_after=day(-1))) == [2, 5, 6]
    assert await numbers(store, replace(planned, due_after=day(-2), due_before=day(-1))) == [1, 6]
    assert await numbers(store, replace(planned, due_after=day(4))) == []


async def test_sorting_by_due_date_lists_the_soonest_first_ties_by_id_and_undated_last(
    store: Store, planned: TicketQuery
) -> None:
    by_due = replace(planned, sort=TicketSort.DUE)
    assert await numbers(store, by_due) == [3, 1, 6, 2, 5, 4]
    assert await numbers(store, replace(by_due, descending=True)) == [4, 5, 2, 6, 1, 3]
    assert await numbers(store, replace(by_due, statuses=[Status.BACKLOG, Status.IN_PROGRESS])) == [2, 5, 4]
    page = await store.list_tickets(by_due)
    assert page.order == ("due asc", "created asc")


@pytest.mark.parametrize("descending", [False, True], ids=["soonest first", "latest first"])
async def test_a_cursor_pages_through_the_due_date_sort_without_skipping_or_repeating(
    store: Store, planned: TicketQuery, descending: bool
) -> None:
    by_due = replace(planned, sort=TicketSort.DUE, descending=descending)
    everything = await numbers(store, by_due)
    assert await walk(store, replace(by_due, limit=2), 6) == everything
    assert await walk(store, replace(by_due, limit=4), 6) == everything  # a page ending among the undated
    assert await walk(store, replace(by_due, limit=1, blocked=False), 4) == [n for n in everything if n in (2, 3, 5, 6)]


async def test_a_cursor_of_one_plan_filter_is_refused_for_another(store: Store, planned: TicketQuery) -> None:
    blocked = replace(planned, blocked=True, limit=1)
    page = await store.list_tickets(blocked)
    assert page.next_cursor is not None
    assert [t.number for t in (await store.list_tickets(replace(blocked, cursor=page.next_cursor))).tickets] == [4]
    for other in ({"blocked": False}, {"blocked": None}, {"blocking": True}, {"overdue_on": day(0)}):
        with pytest.raises(Invalid, match="different query"):
            await store.list_tickets(replace(blocked, cursor=page.next_cursor, **other))  # pyright: ignore[reportArgumentType]
