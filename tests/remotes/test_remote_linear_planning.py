"""Planning on Linear, against the fake Linear that runs every request on Linear's published schema
(tests/fixtures/fake_linear.py): relations as links, cycles as read-only milestones, due dates and estimates
in points; each test ends by asserting the adapter sent nothing that schema does not define."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.fixtures.fake_linear import KEY, FakeLinear, standard_world
from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import EstimateUnit, LinkKind, Status, Ticket, TicketSort
from tickets_mcp.domain.dates import today_utc
from tickets_mcp.errors import Invalid, NotFound, Unsupported
from tickets_mcp.remotes.client import Policy
from tickets_mcp.remotes.linear import LinearTracker, open_adapter

pytestmark = pytest.mark.anyio

QUICK = Policy(timeout=2.0, deadline=5.0, retries=0, backoff=0.01)
TODAY = today_utc()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


@pytest.fixture
def fake() -> Iterator[FakeLinear]:
    world = standard_world()
    team = world.add_team("ENG", "Engineering")
    world.add_cycle(team, 1, day(-28), day(-14), completed=True)
    world.add_cycle(team, 2, day(-14), day(1), name="Launch")
    world.add_cycle(team, 3, day(1), day(15))
    yield world
    assert world.violations == []


@pytest.fixture
async def tracker(fake: FakeLinear) -> AsyncIterator[LinearTracker]:
    adapter = await open_adapter(
        RemoteSettings("linear", "https://api.linear.app", KEY), policy=QUICK, transport=fake.transport()
    )
    yield adapter
    await adapter.aclose()


async def file(tracker: LinearTracker, title: str, **fields: Any) -> Ticket:
    return (await tracker.create_ticket(TicketDraft(title=title, project="ENG", **fields))).ticket


async def slugs(tracker: LinearTracker, **arguments: Any) -> list[str]:
    return [t.slug for t in (await tracker.list_tickets(TicketFilter(project="ENG", **arguments))).tickets]


async def test_links_are_relations_read_from_either_side_and_blocked_by_lists_open_blockers(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    waiting, blocker, twin, near = [await file(tracker, t) for t in ("Waiting", "Blocker", "Twin", "Nearby")]
    linked = await tracker.link_tickets(waiting.slug, LinkKind.BLOCKED_BY, blocker.slug)
    assert [(link.kind, link.slug, link.status) for link in linked.links] == [
        (LinkKind.BLOCKED_BY, blocker.slug, Status.BACKLOG)
    ]
    assert linked.ticket.blocked_by == (blocker.slug,)
    relation = next(iter(fake.relations.values()))
    assert (relation["issue"]["identifier"], relation["type"], relation["relatedIssue"]["identifier"]) == (
        blocker.slug, "blocks", waiting.slug,
    )  # fmt: skip
    assert (await tracker.link_tickets(waiting.slug, LinkKind.BLOCKED_BY, blocker.slug)).links == linked.links
    assert len(fake.relations) == 1  # linking again is no change
    await tracker.link_tickets(near.slug, LinkKind.RELATES_TO, waiting.slug)
    marked = await tracker.link_tickets(twin.slug, LinkKind.DUPLICATES, waiting.slug, close_as_duplicate=True)
    assert marked.ticket.status is Status.CANCELED
    assert fake.find_issue(twin.slug)["state"]["name"] == "Duplicate"
    read = await tracker.get_ticket(waiting.slug)
    assert [(link.kind, link.slug) for link in read.links] == [
        (LinkKind.BLOCKED_BY, blocker.slug), (LinkKind.DUPLICATED_BY, twin.slug), (LinkKind.RELATES_TO, near.slug),
    ]  # fmt: skip
    assert read.ticket.blocked_by == (blocker.slug,)
    listed = {t.slug: t.blocked_by for t in (await tracker.list_tickets(TicketFilter(project="ENG"))).tickets}
    assert listed[waiting.slug] == (blocker.slug,) and listed[blocker.slug] == ()
    await tracker.move_ticket(blocker.slug, Status.DONE)
    assert (await tracker.get_ticket(waiting.slug)).ticket.blocked_by == ()
    await tracker.link_tickets(blocker.slug, LinkKind.BLOCKS, waiting.slug, unlink=True)
    with pytest.raises(NotFound, match="is not linked as blocks"):
        await tracker.link_tickets(blocker.slug, LinkKind.BLOCKS, waiting.slug, unlink=True)
    with pytest.raises(Invalid, match="Only linking a ticket as a duplicate"):
        await tracker.link_tickets(near.slug, LinkKind.BLOCKS, waiting.slug, close_as_duplicate=True)
    with pytest.raises(Invalid, match="itself"):
        await tracker.link_tickets(near.slug, LinkKind.RELATES_TO, near.slug)


async def test_due_dates_estimates_and_cycles_are_written_read_back_and_cleared(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    planned = await file(tracker, "Planned", due_date="2030-01-31", estimate=3, milestone="launch")
    assert (planned.due_date, planned.estimate, planned.milestone) == ("2030-01-31", 3.0, "Launch")
    assert (await tracker.get_ticket(planned.slug)).ticket == planned
    moved = await tracker.update_ticket(planned.slug, TicketChanges(milestone="Cycle 3", estimate="5"))
    assert (moved.milestone, moved.estimate) == ("Cycle 3", 5.0)
    clear = TicketChanges(due_date="none", estimate="none", milestone="none")
    cleared = await tracker.update_ticket(planned.slug, clear)
    assert (cleared.due_date, cleared.estimate, cleared.milestone) == (None, None, None)
    with pytest.raises(Invalid, match="whole points"):
        await tracker.update_ticket(planned.slug, TicketChanges(estimate=2.5))
    with pytest.raises(Invalid, match="is completed"):
        await tracker.update_ticket(planned.slug, TicketChanges(milestone="Cycle 1"))
    with pytest.raises(NotFound, match="No milestone \\(cycle\\) 'Sprint 9'") as unknown:
        await tracker.update_ticket(planned.slug, TicketChanges(milestone="Sprint 9"))
    assert "Launch" in (unknown.value.hint or "")
    assert fake.find_issue(planned.slug)["cycle"] is None


async def test_filters_by_cycle_and_due_date_and_what_linear_cannot_filter_or_order(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    fake.add_team("OPS", "Operations")  # a workspace of two teams: a cycle's name is a team's own
    late = await file(tracker, "Late", due_date="yesterday", milestone="Launch")
    soon = await file(tracker, "Soon", due_date=day(3), milestone="Launch")
    done = await file(tracker, "Done late", due_date="yesterday", status=Status.DONE)
    loose = await file(tracker, "Loose")
    assert await slugs(tracker, milestone="Launch") == [soon.slug, late.slug]
    assert await slugs(tracker, milestone="none") == [loose.slug, done.slug]
    assert await slugs(tracker, overdue=True) == [late.slug]
    assert await slugs(tracker, due_before="today") == [done.slug, late.slug]
    assert await slugs(tracker, due_after="today") == [soon.slug]
    refused = [
        TicketFilter(project="ENG", blocked=True), TicketFilter(project="ENG", blocking=False),
        TicketFilter(project="ENG", sort=TicketSort.DUE),
    ]  # fmt: skip
    for query in refused:
        with pytest.raises(Unsupported, match="The linear backend cannot"):
            await tracker.list_tickets(query)
    with pytest.raises(Invalid, match="belong to a team"):
        await tracker.list_tickets(TicketFilter(milestone="Launch"))


async def test_milestones_are_the_teams_cycles_with_their_progress_and_read_only(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    await file(tracker, "Open", milestone="Launch")
    await file(tracker, "Late", milestone="Launch", due_date="yesterday")
    await file(tracker, "Done", milestone="Launch", status=Status.DONE)
    await file(tracker, "Dropped", milestone="Launch", status=Status.CANCELED)
    current = await tracker.list_milestones("ENG")
    assert [(m.id, m.name, m.start_date, m.due_date, m.closed) for m in current] == [
        (2, "Launch", day(-14), day(1), False), (3, "Cycle 3", day(1), day(15), False),
    ]  # fmt: skip
    launch = current[0]
    assert (launch.total_tickets, launch.open_tickets, launch.done_tickets, launch.overdue_tickets) == (4, 2, 1, 1)
    assert [m.name for m in await tracker.list_milestones("ENG", closed=True)] == ["Launch", "Cycle 3", "Cycle 1"]
    with pytest.raises(Unsupported, match="The linear backend cannot create or change milestones"):
        await tracker.save_milestone("ENG", "Launch", closed=True)


async def test_estimates_are_points(tracker: LinearTracker) -> None:
    assert (await tracker.set_estimate_unit("ENG", EstimateUnit.POINTS)).estimate_unit is EstimateUnit.POINTS
    assert all(p.estimate_unit is EstimateUnit.POINTS for p in await tracker.list_projects())
    with pytest.raises(Unsupported, match="The linear backend cannot count estimates in hours"):
        await tracker.set_estimate_unit("ENG", EstimateUnit.HOURS)
    with pytest.raises(Unsupported, match="The linear backend cannot log time spent"):
        await tracker.log_time("ENG-1", 1)
