"""Planning on the live Redmine (tests/fixtures/redmine_peer.py): relations as links, versions as milestones,
due dates, estimated hours and time entries, each in a project of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.fixtures.redmine_peer import RedminePeer, needs_redmine
from tests.fixtures.remote_contract import Counting
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import EstimateUnit, Link, LinkKind, Project, Status, Ticket, TicketSort
from tickets_mcp.domain.dates import parse_day
from tickets_mcp.errors import Conflict, Invalid, NotFound, Unsupported
from tickets_mcp.remotes.redmine import RedmineTracker

pytestmark = [pytest.mark.anyio, needs_redmine]


@pytest.fixture(scope="module")
def peer() -> Iterator[RedminePeer]:
    found = RedminePeer()
    yield found
    found.admin.http.close()


@pytest.fixture
async def tracker(peer: RedminePeer) -> AsyncIterator[RedmineTracker]:
    opened = await peer.open()
    assert isinstance(opened, RedmineTracker)
    yield opened
    await opened.aclose()


async def file(tracker: RedmineTracker, project: Project, title: str, **fields: Any) -> Ticket:
    return (await tracker.create_ticket(TicketDraft(title=title, project=project.id, **fields))).ticket


async def slugs(tracker: RedmineTracker, query: TicketFilter) -> list[str]:
    """Every ticket the query lists, page after page, by slug."""
    found: list[str] = []
    page = await tracker.list_tickets(query)
    total = page.total
    while True:
        found += [t.slug for t in page.tickets]
        if page.next_cursor is None:
            assert total == len(found)
            return found
        page = await tracker.list_tickets(replace(query, cursor=page.next_cursor))


# Links


async def test_a_blocker_shows_on_both_tickets_and_in_blocked_by_while_it_is_open(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project = await peer.new_project()
    blocked = await file(tracker, project, "Ship the release")
    blocker = await file(tracker, project, "Fix the build")
    linked = await tracker.link_tickets(blocked.slug, LinkKind.BLOCKED_BY, blocker.slug)
    build = Link(kind=LinkKind.BLOCKED_BY, slug=blocker.slug, title="Fix the build", status=Status.BACKLOG)
    assert linked.links == (build,)
    assert linked.ticket.blocked_by == (blocker.slug,)
    assert (await tracker.link_tickets(blocked.slug, LinkKind.BLOCKED_BY, blocker.slug)).links == linked.links
    read = await tracker.get_ticket(blocked.slug)
    assert (read.ticket, read.links) == (linked.ticket, linked.links)
    listed = await tracker.list_tickets(TicketFilter(project=project.id))
    assert {t.slug: t.blocked_by for t in listed.tickets} == {blocked.slug: (blocker.slug,), blocker.slug: ()}
    other_side = await tracker.get_ticket(blocker.slug)
    assert [(link.kind, link.slug) for link in other_side.links] == [(LinkKind.BLOCKS, blocked.slug)]
    await tracker.move_ticket(blocker.slug, Status.DONE)
    assert (await tracker.get_ticket(blocked.slug)).ticket.blocked_by == ()  # a closed blocker blocks nothing
    unlinked = await tracker.link_tickets(blocker.slug, LinkKind.BLOCKS, blocked.slug, unlink=True)
    assert unlinked.links == ()
    with pytest.raises(NotFound, match="is not linked as blocks"):
        await tracker.link_tickets(blocker.slug, LinkKind.BLOCKS, blocked.slug, unlink=True)
    with pytest.raises(Invalid, match="itself"):
        await tracker.link_tickets(blocked.slug, LinkKind.RELATES_TO, blocked.slug)


async def test_blocked_and_blocking_filters_select_what_an_open_blocker_holds_up(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project = await peer.new_project()
    waiting = await file(tracker, project, "Waiting")
    holding = await file(tracker, project, "Holding up")
    freed = await file(tracker, project, "Freed")
    finished = await file(tracker, project, "Finished blocker")
    loose = await file(tracker, project, "Loose")
    await tracker.link_tickets(holding.slug, LinkKind.BLOCKS, waiting.slug)
    await tracker.link_tickets(finished.slug, LinkKind.BLOCKS, freed.slug)
    await tracker.move_ticket(finished.slug, Status.DONE)
    newest_first = [loose.slug, finished.slug, freed.slug, holding.slug, waiting.slug]

    async def listed(**arguments: Any) -> list[str]:
        return await slugs(tracker, TicketFilter(project=project.id, limit=2, **arguments))

    assert await listed(blocked=True) == [waiting.slug]
    assert await listed(blocked=False) == [s for s in newest_first if s != waiting.slug]
    assert await listed(blocking=True) == [holding.slug]
    # closed tickets block nothing: the finished blocker is listed with those that block no one
    assert await listed(blocking=False) == [s for s in newest_first if s != holding.slug]
    assert await listed(blocking=False, statuses=[Status.DONE]) == [finished.slug]


async def test_a_duplicate_is_closed_as_canceled_and_two_issues_hold_one_relation(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project = await peer.new_project()
    original = await file(tracker, project, "Login fails")
    twin = await file(tracker, project, "Cannot log in")
    with pytest.raises(Invalid, match="Only linking a ticket as a duplicate"):
        await tracker.link_tickets(twin.slug, LinkKind.RELATES_TO, original.slug, close_as_duplicate=True)
    marked = await tracker.link_tickets(twin.slug, LinkKind.DUPLICATES, original.slug, close_as_duplicate=True)
    assert marked.ticket.status is Status.CANCELED
    assert [(link.kind, link.slug) for link in marked.links] == [(LinkKind.DUPLICATES, original.slug)]
    assert [(k.kind, k.slug) for k in (await tracker.get_ticket(original.slug)).links] == [
        (LinkKind.DUPLICATED_BY, twin.slug)
    ]
    with pytest.raises(Conflict, match="one relation between two issues"):
        await tracker.link_tickets(original.slug, LinkKind.RELATES_TO, twin.slug)
    related = await file(tracker, project, "Session cookies")
    both = await tracker.link_tickets(related.slug, LinkKind.RELATES_TO, original.slug)
    assert [(link.kind, link.slug) for link in both.links] == [(LinkKind.RELATES_TO, original.slug)]
    assert [k.kind for k in (await tracker.get_ticket(original.slug)).links] == [
        LinkKind.DUPLICATED_BY, LinkKind.RELATES_TO,
    ]  # fmt: skip


async def test_a_cycle_of_blocks_is_refused(peer: RedminePeer, tracker: RedmineTracker) -> None:
    project = await peer.new_project()
    first, second, third = [await file(tracker, project, title) for title in ("First", "Second", "Third")]
    await tracker.link_tickets(first.slug, LinkKind.BLOCKS, second.slug)
    await tracker.link_tickets(second.slug, LinkKind.BLOCKS, third.slug)
    with pytest.raises(Invalid, match="circular"):
        await tracker.link_tickets(third.slug, LinkKind.BLOCKS, first.slug)
    assert (await tracker.get_ticket(third.slug)).ticket.blocked_by == (second.slug,)


# Due dates, estimates, milestones


async def test_due_dates_estimates_and_milestones_are_written_read_back_and_cleared(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project = await peer.new_project()
    await tracker.save_milestone(project.id, "Sprint 1")
    planned = await file(tracker, project, "Planned", due_date="2030-01-31", estimate=2.5, milestone="sprint 1")
    assert (planned.due_date, planned.estimate, planned.milestone) == ("2030-01-31", 2.5, "Sprint 1")
    assert (await tracker.get_ticket(planned.slug)).ticket == planned
    late = await tracker.update_ticket(planned.slug, TicketChanges(due_date="yesterday", estimate="4"))
    assert (late.due_date, late.estimate) == (parse_day("due_date", "yesterday"), 4.0)  # before its start date
    clear = TicketChanges(due_date="none", estimate="none", milestone="none")
    cleared = await tracker.update_ticket(planned.slug, clear)
    assert (cleared.due_date, cleared.estimate, cleared.milestone) == (None, None, None)
    with pytest.raises(NotFound, match="No milestone 'Sprint 9'") as unknown:
        await tracker.update_ticket(planned.slug, TicketChanges(milestone="Sprint 9"))
    assert "Sprint 1" in (unknown.value.hint or "")
    await tracker.save_milestone(project.id, "Done sprint", closed=True)
    with pytest.raises(Invalid, match="is closed"):
        await tracker.update_ticket(planned.slug, TicketChanges(milestone="Done sprint"))
    for wrong in (TicketChanges(due_date="someday"), TicketChanges(estimate=-1), TicketChanges(estimate="lots")):
        with pytest.raises(Invalid):
            await tracker.update_ticket(planned.slug, wrong)
    assert (await tracker.get_ticket(planned.slug)).ticket == cleared


async def test_filters_by_milestone_and_due_date_and_the_due_date_order_page_on_redmine(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project = await peer.new_project()
    await tracker.save_milestone(project.id, "Sprint 1")
    later = await file(tracker, project, "Later", due_date="2030-01-10", milestone="Sprint 1")
    sooner = await file(tracker, project, "Sooner", due_date="2030-01-05", milestone="Sprint 1")
    undated = await file(tracker, project, "Undated")
    late = await file(tracker, project, "Late", due_date="yesterday")
    done = await file(tracker, project, "Done late", due_date="yesterday", status=Status.DONE)

    async def listed(**arguments: Any) -> list[str]:
        return await slugs(tracker, TicketFilter(project=project.id, limit=2, **arguments))

    due_order = [late.slug, done.slug, sooner.slug, later.slug, undated.slug]
    assert await listed(sort=TicketSort.DUE, descending=False) == due_order
    assert await listed(sort=TicketSort.DUE) == due_order[::-1]
    assert await listed(overdue=True) == [late.slug]
    assert await listed(due_before="2030-01-06") == [done.slug, late.slug, sooner.slug]
    assert await listed(due_after="2030-01-06") == [later.slug]
    assert await listed(due_after="2030-01-01", due_before="2030-01-06", sort=TicketSort.DUE) == [sooner.slug]
    assert await listed(milestone="Sprint 1") == [sooner.slug, later.slug]
    assert await listed(milestone="none") == [done.slug, late.slug, undated.slug]
    with pytest.raises(Invalid, match="belong to a project"):
        await tracker.list_tickets(TicketFilter(milestone="Sprint 1"))
    first = await tracker.list_tickets(TicketFilter(project=project.id, overdue=True, limit=1))
    with pytest.raises(Invalid, match="cursor"):  # a cursor is for the query it was made for
        await tracker.list_tickets(TicketFilter(project=project.id, limit=1, cursor=first.next_cursor or "x"))


async def test_milestones_are_versions_with_their_progress_and_no_start_date(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project = await peer.new_project()
    sprint = await tracker.save_milestone(project.id, "Sprint 1", due_date="2030-02-01")
    assert (sprint.name, sprint.due_date, sprint.start_date, sprint.closed) == ("Sprint 1", "2030-02-01", None, False)
    assert (sprint.project_id, sprint.total_tickets) == (project.id, 0)
    await tracker.save_milestone(project.id, "Someday")
    await tracker.save_milestone(project.id, "Sprint 0", due_date="2030-01-01")
    with pytest.raises(Unsupported, match="a Redmine version has none"):
        await tracker.save_milestone(project.id, "Sprint 1", start_date="2030-01-15")
    await file(tracker, project, "Open", milestone="Sprint 1")
    await file(tracker, project, "Late", milestone="Sprint 1", due_date="yesterday")
    await file(tracker, project, "Done", milestone="Sprint 1", status=Status.DONE)
    await file(tracker, project, "Dropped", milestone="Sprint 1", status=Status.CANCELED)
    progress = next(m for m in await tracker.list_milestones(project.id) if m.name == "Sprint 1")
    counts = (progress.total_tickets, progress.open_tickets, progress.done_tickets, progress.overdue_tickets)
    assert counts == (4, 2, 1, 1)
    assert [m.name for m in await tracker.list_milestones(project.id)] == ["Sprint 0", "Sprint 1", "Someday"]
    renamed = await tracker.save_milestone(project.id, "sprint 1", rename="Sprint One", due_date="none")
    assert (renamed.id, renamed.name, renamed.due_date) == (sprint.id, "Sprint One", None)
    with pytest.raises(Conflict, match="has a milestone named 'Someday' already"):
        await tracker.save_milestone(project.id, "Sprint One", rename="someday")


async def test_closing_a_milestone_with_open_tickets_needs_to_know_what_becomes_of_them(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project = await peer.new_project()
    for name in ("Sprint 1", "Sprint 2", "Sprint 3"):
        await tracker.save_milestone(project.id, name)
    moving = [await file(tracker, project, f"Open {n}", milestone="Sprint 1") for n in range(2)]
    finished = await file(tracker, project, "Finished", milestone="Sprint 1", status=Status.DONE)
    with pytest.raises(Invalid, match="still holds 2 open tickets") as refused:
        await tracker.save_milestone(project.id, "Sprint 1", closed=True)
    assert refused.value.field == "open_tickets"
    closed = await tracker.save_milestone(project.id, "Sprint 1", closed=True, open_tickets="Sprint 2")
    assert (closed.closed, closed.open_tickets, closed.total_tickets) == (True, 0, 1)
    assert {(await tracker.get_ticket(t.slug)).ticket.milestone for t in moving} == {"Sprint 2"}
    assert (await tracker.get_ticket(finished.slug)).ticket.milestone == "Sprint 1"
    taken_out = await tracker.save_milestone(project.id, "Sprint 2", closed=True, open_tickets="none")
    assert (taken_out.closed, taken_out.total_tickets) == (True, 0)
    assert {(await tracker.get_ticket(t.slug)).ticket.milestone for t in moving} == {None}
    kept_in = await file(tracker, project, "Kept", milestone="Sprint 3")
    kept = await tracker.save_milestone(project.id, "Sprint 3", closed=True, open_tickets="keep")
    assert (kept.closed, kept.open_tickets) == (True, 1)
    assert (await tracker.get_ticket(kept_in.slug)).ticket.milestone == "Sprint 3"
    assert [m.name for m in await tracker.list_milestones(project.id)] == []
    every = await tracker.list_milestones(project.id, closed=True)
    assert [m.name for m in every] == ["Sprint 1", "Sprint 2", "Sprint 3"]
    reopened = await tracker.save_milestone(project.id, "Sprint 3", closed=False)
    assert not reopened.closed


# Estimates and time


async def test_estimates_are_hours_and_points_are_refused_naming_redmine(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project = await peer.new_project()
    assert (await tracker.set_estimate_unit(project.id, EstimateUnit.HOURS)).estimate_unit is EstimateUnit.HOURS
    with pytest.raises(Unsupported, match="The redmine backend cannot count estimates in points"):
        await tracker.set_estimate_unit(project.id, EstimateUnit.POINTS)


async def test_time_logged_is_a_time_entry_and_adds_to_what_the_ticket_shows_spent(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project = await peer.new_project()
    ticket = await file(tracker, project, "Timed", estimate=3)
    today = await tracker.log_time(ticket.slug, 1.5, note="Pairing")
    earlier = await tracker.log_time(ticket.slug, 0.5, spent_on="yesterday")
    assert (today.ticket_slug, today.hours, today.note, today.user) == (ticket.slug, 1.5, "Pairing", peer.user("alice"))
    assert earlier.spent_on == parse_day("spent_on", "yesterday")
    read = await tracker.get_ticket(ticket.slug)
    assert [e.id for e in read.time_entries] == [earlier.id, today.id]  # oldest first
    assert (read.ticket.spent, read.ticket.estimate) == (2.0, 3.0)
    for hours in (0, -1, 1000):
        with pytest.raises(Invalid, match="hours"):
            await tracker.log_time(ticket.slug, hours)
    with pytest.raises(Invalid, match="is not a day"):
        await tracker.log_time(ticket.slug, 1, spent_on="someday")
    assert len((await tracker.get_ticket(ticket.slug)).time_entries) == 2


async def test_a_page_of_blocked_tickets_reads_their_blockers_in_one_request_not_one_per_ticket(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project = await peer.new_project()
    blocker = await file(tracker, project, "Blocker")
    blocked = [await file(tracker, project, f"Blocked {n}") for n in range(4)]
    for ticket in blocked:
        await tracker.link_tickets(ticket.slug, LinkKind.BLOCKED_BY, blocker.slug)
    counting = Counting()
    fresh = await peer.open(transport=counting)
    try:
        await fresh.list_tickets(TicketFilter(project=project.id))  # the project and the statuses, read once
        counting.paths.clear()
        page = await fresh.list_tickets(TicketFilter(project=project.id))
        assert {t.slug: t.blocked_by for t in page.tickets if t.blocked_by} == {
            t.slug: (blocker.slug,) for t in blocked
        }
        assert counting.paths == ["/users/current.json", f"/projects/{project.id}.json", "/issues.json", "/issues.json"]
    finally:
        await fresh.aclose()
