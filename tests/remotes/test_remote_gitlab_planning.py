"""Planning on GitLab, against the fake GitLab written from GitLab's documentation (tests/fixtures/fake_gitlab.py):
issue links with blocked_by, milestones with their progress, due dates and their filters and order, time estimates
and time spent; what GitLab's REST API cannot say (duplicates, due-date ranges, the blocked filters, points, a day
to log time on) is refused naming gitlab."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.fixtures.fake_gitlab import GUEST, FakeGitLab, standard_world
from tests.fixtures.gitlab_suite import adapter_for, mcp_client, sent
from tests.fixtures.tool_calls import call, call_error
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import Capability, EstimateUnit, LinkKind, Status, Ticket, TicketSort
from tickets_mcp.domain.dates import today_utc
from tickets_mcp.errors import Conflict, Invalid, NotFound, Unsupported
from tickets_mcp.remotes.base import PartlyFiled
from tickets_mcp.remotes.gitlab import GitLabTracker

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> Iterator[FakeGitLab]:
    world = standard_world()
    yield world
    assert world.referee.violations == []  # GitLab's OpenAPI document referees every request and answer


@pytest.fixture
async def tracker(fake: FakeGitLab) -> AsyncGenerator[GitLabTracker]:
    async with adapter_for(fake) as opened:
        yield opened


def asked(fake: FakeGitLab, path_end: str) -> list[dict[str, str]]:
    """The query parameters of the GETs whose path ends so."""
    return [dict(r.url.params) for r in fake.requests if r.method == "GET" and r.url.path.endswith(path_end)]


async def file(tracker: GitLabTracker, title: str, project: str = "WEB", **fields: Any) -> Ticket:
    return (await tracker.create_ticket(TicketDraft(title=title, project=project, **fields))).ticket


def day(offset: int) -> str:
    return (today_utc() + timedelta(days=offset)).isoformat()


# Links


async def test_links_are_issue_links_read_from_either_issue_and_blocked_by_lists_open_blockers(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    waiting, blocker, near = [await file(tracker, title) for title in ("Waiting", "Blocker", "Nearby")]
    elsewhere = await file(tracker, "In another project", project="TRACKERMCP")
    linked = await tracker.link_tickets(waiting.slug, LinkKind.BLOCKED_BY, blocker.slug)
    assert [(link.kind, link.slug, link.title) for link in linked.links] == [
        (LinkKind.BLOCKED_BY, blocker.slug, "Blocker")
    ]
    assert linked.ticket.blocked_by == (blocker.slug,)
    assert sent(fake, "POST", f"/issues/{waiting.number}/links") == [
        {"target_project_id": 101, "target_issue_iid": blocker.number, "link_type": "is_blocked_by"}
    ]
    assert list(fake.plans.links.values()) == [(blocker.id, waiting.id, "blocks")]  # GitLab keeps it as blocks
    assert (await tracker.link_tickets(waiting.slug, LinkKind.BLOCKED_BY, blocker.slug)).links == linked.links
    assert len(fake.plans.links) == 1  # linking again is no change
    await tracker.link_tickets(near.slug, LinkKind.RELATES_TO, waiting.slug)
    await tracker.link_tickets(waiting.slug, LinkKind.BLOCKS, elsewhere.slug)
    read = await tracker.get_ticket(waiting.slug)
    assert [(link.kind, link.slug) for link in read.links] == [
        (LinkKind.BLOCKS, elsewhere.slug), (LinkKind.BLOCKED_BY, blocker.slug), (LinkKind.RELATES_TO, near.slug),
    ]  # fmt: skip
    assert read.ticket.blocked_by == (blocker.slug,)
    assert [(link.kind, link.slug) for link in (await tracker.get_ticket(blocker.slug)).links] == [
        (LinkKind.BLOCKS, waiting.slug)
    ]
    assert (await tracker.get_ticket(elsewhere.slug)).ticket.blocked_by == (waiting.slug,)
    await tracker.move_ticket(blocker.slug, Status.DONE)
    assert (await tracker.get_ticket(waiting.slug)).ticket.blocked_by == ()  # a closed blocker blocks nothing
    unlinked = await tracker.link_tickets(waiting.slug, LinkKind.BLOCKED_BY, blocker.slug, unlink=True)
    assert [(link.kind, link.slug) for link in unlinked.links] == [
        (LinkKind.BLOCKS, elsewhere.slug), (LinkKind.RELATES_TO, near.slug),
    ]  # fmt: skip
    with pytest.raises(NotFound, match=f"{waiting.slug} is not linked as blocked_by {blocker.slug}"):
        await tracker.link_tickets(waiting.slug, LinkKind.BLOCKED_BY, blocker.slug, unlink=True)


async def test_two_issues_keep_one_link_so_another_kind_between_them_conflicts(tracker: GitLabTracker) -> None:
    first, second = await file(tracker, "First"), await file(tracker, "Second")
    await tracker.link_tickets(first.slug, LinkKind.BLOCKS, second.slug)
    with pytest.raises(Conflict, match="GitLab keeps one link between two issues"):
        await tracker.link_tickets(second.slug, LinkKind.RELATES_TO, first.slug)
    with pytest.raises(NotFound, match="is not linked as relates_to"):
        await tracker.link_tickets(first.slug, LinkKind.RELATES_TO, second.slug, unlink=True)
    with pytest.raises(Invalid, match="cannot be linked to itself"):
        await tracker.link_tickets(first.slug, LinkKind.BLOCKS, first.slug)


async def test_duplicates_are_refused_since_gitlab_keeps_no_such_link(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    twin, original = await file(tracker, "Twin"), await file(tracker, "Original")
    for kind in (LinkKind.DUPLICATES, LinkKind.DUPLICATED_BY):
        with pytest.raises(Unsupported, match="The gitlab backend cannot link tickets as duplicates") as refused:
            await tracker.link_tickets(twin.slug, kind, original.slug)
        assert "/duplicate" in (refused.value.hint or "")
    with pytest.raises(Unsupported, match="duplicates"):
        await tracker.link_tickets(twin.slug, LinkKind.DUPLICATES, original.slug, close_as_duplicate=True)
    with pytest.raises(Invalid, match="Only linking a ticket as a duplicate"):
        await tracker.link_tickets(twin.slug, LinkKind.RELATES_TO, original.slug, close_as_duplicate=True)
    assert not fake.plans.links and (await tracker.get_ticket(twin.slug)).ticket.status is Status.BACKLOG


async def test_blocks_without_gitlab_premium_is_refused_and_relates_to_still_links(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    fake.plans.blocked_issues = False
    first, second = await file(tracker, "First"), await file(tracker, "Second")
    with pytest.raises(Unsupported, match="The gitlab backend cannot link tickets as blocks here") as refused:
        await tracker.link_tickets(first.slug, LinkKind.BLOCKS, second.slug)
    assert "Premium" in str(refused.value)
    linked = await tracker.link_tickets(first.slug, LinkKind.RELATES_TO, second.slug)
    assert [(link.kind, link.slug) for link in linked.links] == [(LinkKind.RELATES_TO, second.slug)]


async def test_a_gitlab_that_relates_every_link_is_caught_and_the_link_taken_back(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    fake.plans.link_types = False  # GitLab before 12.7 ignores link_type
    first, second = await file(tracker, "First"), await file(tracker, "Second")
    with pytest.raises(Unsupported, match="kept it as relates_to"):
        await tracker.link_tickets(first.slug, LinkKind.BLOCKED_BY, second.slug)
    assert not fake.plans.links
    assert (await tracker.get_ticket(first.slug)).links == ()


# Milestones


async def test_a_milestone_is_created_with_its_dates_and_listed_with_its_progress(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    made = await tracker.save_milestone("WEB", "Sprint 1", start_date=day(-7), due_date=day(7))
    assert (made.name, made.start_date, made.due_date, made.closed, made.total_tickets) == (
        "Sprint 1", day(-7), day(7), False, 0,
    )  # fmt: skip
    assert sent(fake, "POST", "/projects/101/milestones") == [
        {"title": "Sprint 1", "start_date": day(-7), "due_date": day(7)}
    ]
    await file(tracker, "Open and late", milestone="Sprint 1", due_date=day(-1))
    await file(tracker, "Open", milestone="sprint 1")
    await file(tracker, "Done", milestone="Sprint 1", status=Status.DONE)
    await file(tracker, "Canceled", milestone="Sprint 1", status=Status.CANCELED)
    await file(tracker, "In no milestone")
    later = await tracker.save_milestone("WEB", "Sprint 2", due_date=day(21))
    (first, second) = await tracker.list_milestones("WEB")
    assert (first.id, first.project_id, first.name) == (made.id, "101", "Sprint 1")
    assert (first.open_tickets, first.done_tickets, first.total_tickets, first.overdue_tickets) == (2, 1, 4, 1)
    assert second == later
    renamed = await tracker.save_milestone("WEB", "Sprint 2", rename="Sprint 2b", start_date=day(8), due_date="none")
    assert (renamed.name, renamed.start_date, renamed.due_date) == ("Sprint 2b", day(8), None)
    assert sent(fake, "PUT", f"/milestones/{later.id}")[-1] == {
        "title": "Sprint 2b",
        "start_date": day(8),
        "due_date": "",
    }
    with pytest.raises(Conflict, match="has a milestone named 'Sprint 1' already"):
        await tracker.save_milestone("WEB", "Sprint 2b", rename="sprint 1")
    with pytest.raises(Invalid, match="Start date should be less than due date"):
        await tracker.save_milestone("WEB", "Sprint 1", start_date=day(30))
    assert [m.name for m in await tracker.list_milestones("WEB")] == ["Sprint 1", "Sprint 2b"]


async def test_a_milestone_past_due_counts_its_undated_open_tickets_overdue(tracker: GitLabTracker) -> None:
    await tracker.save_milestone("WEB", "Last week", due_date=day(-3))
    await file(tracker, "Undated", milestone="Last week")
    await file(tracker, "Due later", milestone="Last week", due_date=day(5))
    await file(tracker, "Due before", milestone="Last week", due_date=day(-5))
    (milestone,) = await tracker.list_milestones("WEB")
    assert (milestone.open_tickets, milestone.overdue_tickets) == (3, 2)


async def test_tickets_take_a_milestone_by_name_show_it_and_are_filtered_by_it(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    sprint = await tracker.save_milestone("WEB", "Sprint 1")
    planned = await file(tracker, "Planned", milestone="sprint 1")
    assert planned.milestone == "Sprint 1"
    assert sent(fake, "POST", "/projects/101/issues")[-1]["milestone_id"] == sprint.id
    loose = await file(tracker, "Loose")
    assert loose.milestone is None
    assert (await tracker.get_ticket(planned.slug)).ticket == planned
    in_it = await tracker.list_tickets(TicketFilter(project="WEB", milestone="Sprint 1"))
    assert ([t.slug for t in in_it.tickets], in_it.total) == ([planned.slug], 1)
    assert asked(fake, "/projects/101/issues")[-1]["milestone"] == "Sprint 1"
    in_none = await tracker.list_tickets(TicketFilter(project="WEB", milestone="none"))
    assert [t.slug for t in in_none.tickets] == [loose.slug]
    moved = await tracker.update_ticket(loose.slug, TicketChanges(milestone="Sprint 1"))
    assert moved.milestone == "Sprint 1"
    cleared = await tracker.update_ticket(planned.slug, TicketChanges(milestone="none"))
    assert cleared.milestone is None
    assert sent(fake, "PUT", f"/issues/{planned.number}")[-1] == {"milestone_id": 0}
    unchanged = len(fake.requests)
    assert await tracker.update_ticket(moved.slug, TicketChanges(milestone="Sprint 1")) == moved
    assert not [r for r in fake.requests[unchanged:] if r.method == "PUT"]
    with pytest.raises(NotFound, match="No milestone 'Sprint 9' in WEB") as missing:
        await file(tracker, "Nowhere", milestone="Sprint 9")
    assert "Sprint 1" in (missing.value.hint or "")
    with pytest.raises(NotFound, match="No milestone 'Sprint 9'"):
        await tracker.list_tickets(TicketFilter(project="WEB", milestone="Sprint 9"))
    await tracker.save_milestone("WEB", "Shipped", closed=True)
    with pytest.raises(Invalid, match="Milestone 'Shipped' is closed"):
        await tracker.update_ticket(moved.slug, TicketChanges(milestone="Shipped"))


async def test_closing_a_milestone_with_open_tickets_needs_to_know_what_becomes_of_them(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    await tracker.save_milestone("WEB", "Sprint 1")
    await tracker.save_milestone("WEB", "Sprint 2")
    first, second = (
        await file(tracker, "First", milestone="Sprint 1"),
        await file(tracker, "Second", milestone="Sprint 1"),
    )
    await file(tracker, "Finished", milestone="Sprint 1", status=Status.DONE)
    with pytest.raises(Invalid, match="Milestone 'Sprint 1' still holds 2 open tickets"):
        await tracker.save_milestone("WEB", "Sprint 1", closed=True)
    with pytest.raises(Invalid, match="can move only to another open milestone"):
        await tracker.save_milestone("WEB", "Sprint 1", closed=True, open_tickets="Sprint 1")
    assert not (await tracker.list_milestones("WEB"))[0].closed
    closed = await tracker.save_milestone("WEB", "Sprint 1", closed=True, open_tickets="Sprint 2")
    assert (closed.closed, closed.open_tickets, closed.done_tickets) == (True, 0, 1)
    assert [t.milestone for t in (await tracker.get_ticket(first.slug), await tracker.get_ticket(second.slug))
            for t in [t.ticket]] == ["Sprint 2", "Sprint 2"]  # fmt: skip
    assert [m.name for m in await tracker.list_milestones("WEB")] == ["Sprint 2"]
    assert [m.name for m in await tracker.list_milestones("WEB", closed=True)] == ["Sprint 2", "Sprint 1"]
    kept = await tracker.save_milestone("WEB", "Sprint 2", closed=True, open_tickets="keep")
    assert (kept.closed, kept.open_tickets) == (True, 2)
    reopened = await tracker.save_milestone("WEB", "Sprint 2", closed=False)
    assert not reopened.closed
    assert sent(fake, "PUT", f"/milestones/{reopened.id}")[-1] == {"state_event": "activate"}
    emptied = await tracker.save_milestone("WEB", "Sprint 2", closed=True, open_tickets="none")
    assert (emptied.closed, emptied.total_tickets) == (True, 0)
    assert (await tracker.get_ticket(first.slug)).ticket.milestone is None


async def test_a_groups_milestones_are_listed_taken_and_saved_where_they_live(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    group_milestone = fake.add_milestone(fake.groups[10], "Q3", due_date=day(60))
    ticket = await file(tracker, "For the quarter", milestone="Q3")
    assert ticket.milestone == "Q3"
    (listed,) = await tracker.list_milestones("WEB")
    assert (listed.id, listed.name, listed.due_date, listed.total_tickets) == (group_milestone["id"], "Q3", day(60), 1)
    saved = await tracker.save_milestone("WEB", "Q3", due_date=day(61))
    assert saved.due_date == day(61)
    assert sent(fake, "PUT", f"/groups/10/milestones/{group_milestone['id']}") == [{"due_date": day(61)}]
    assert [m.name for m in await tracker.list_milestones("TRACKERMCP")] == ["Q3"]  # every project of the group's
    assert await tracker.list_milestones("DOTFILES") == []
    fake.add_milestone(fake.projects[101], "Web only")
    own = await tracker.save_milestone("TRACKERMCP", "Web only")  # another project's title is free
    assert fake.plans.milestones[own.id]["project_id"] == 102


# Due dates


async def test_due_dates_are_written_cleared_and_read_back(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = await file(tracker, "Due", due_date="2030-01-31")
    assert ticket.due_date == "2030-01-31"
    assert sent(fake, "POST", "/projects/101/issues")[-1]["due_date"] == "2030-01-31"
    moved = await tracker.update_ticket(ticket.slug, TicketChanges(due_date="2030-02-28"))
    assert moved.due_date == "2030-02-28"
    cleared = await tracker.update_ticket(ticket.slug, TicketChanges(due_date="none"))
    assert cleared.due_date is None
    assert sent(fake, "PUT", f"/issues/{ticket.number}")[-1] == {"due_date": ""}
    assert (await tracker.get_ticket(ticket.slug)).ticket == cleared
    with pytest.raises(Invalid, match="'someday' is not a day"):
        await tracker.update_ticket(ticket.slug, TicketChanges(due_date="someday"))


async def test_overdue_lists_open_tickets_past_their_due_date_with_gitlabs_own_filter(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    late = await file(tracker, "Late", due_date=day(-2))
    await file(tracker, "Late but done", due_date=day(-2), status=Status.DONE)
    await file(tracker, "Due today", due_date=day(0))
    await file(tracker, "Undated")
    found = await tracker.list_tickets(TicketFilter(project="WEB", overdue=True))
    assert ([t.slug for t in found.tickets], found.total) == ([late.slug], 1)
    assert asked(fake, "/projects/101/issues")[-1] | {"page": "", "per_page": ""} == {
        "state": "opened", "due_date": "overdue", "order_by": "created_at", "sort": "desc", "page": "", "per_page": "",
    }  # fmt: skip
    reads = len(fake.requests)
    none = await tracker.list_tickets(TicketFilter(project="WEB", overdue=True, statuses=[Status.DONE]))
    assert (none.tickets, none.total) == ((), 0)
    assert len(fake.requests) == reads  # nothing closed is overdue: GitLab is not asked
    todo = await tracker.list_tickets(TicketFilter(project="WEB", overdue=True, statuses=[Status.BACKLOG]))
    assert [t.slug for t in todo.tickets] == [late.slug]


async def test_tickets_sort_by_due_date_soonest_first_with_the_undated_last_also_across_projects(
    tracker: GitLabTracker,
) -> None:
    soon = await file(tracker, "Soon", due_date=day(1))
    undated = await file(tracker, "Undated")
    later = await file(tracker, "Later", due_date=day(9))
    mine = await file(tracker, "Mine", project="DOTFILES", due_date=day(5))
    ascending = await tracker.list_tickets(TicketFilter(project="WEB", sort=TicketSort.DUE, descending=False))
    assert [t.slug for t in ascending.tickets] == [soon.slug, later.slug, undated.slug]
    assert ascending.order == ("due asc", "no due date last")
    descending = await tracker.list_tickets(TicketFilter(project="WEB", sort=TicketSort.DUE, limit=1))
    assert [t.slug for t in descending.tickets] == [later.slug]
    assert descending.order == ("due desc", "no due date last")
    merged = await tracker.list_tickets(TicketFilter(sort=TicketSort.DUE, descending=False))
    assert [t.slug for t in merged.tickets] == [soon.slug, mine.slug, later.slug, undated.slug]


async def test_due_ranges_and_the_blocked_filters_are_refused_naming_gitlab(tracker: GitLabTracker) -> None:
    for refused in (
        TicketFilter(project="WEB", due_before="2030-01-31"),
        TicketFilter(project="WEB", due_after="2030-01-01"),
        TicketFilter(project="WEB", blocked=True),
        TicketFilter(project="WEB", blocking=False),
    ):
        with pytest.raises(Unsupported, match="The gitlab backend cannot filter tickets by"):
            await tracker.list_tickets(refused)


# Estimates and time


async def test_estimates_are_gitlab_time_estimates_in_hours(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = await file(tracker, "Sized", estimate=2.5)
    assert ticket.estimate == 2.5
    assert sent(fake, "POST", f"/issues/{ticket.number}/time_estimate") == [{"duration": "2h30m"}]
    assert (await tracker.get_ticket(ticket.slug)).ticket == ticket
    resized = await tracker.update_ticket(ticket.slug, TicketChanges(estimate="12.25", title="Sized again"))
    assert (resized.estimate, resized.title) == (12.25, "Sized again")
    assert sent(fake, "POST", f"/issues/{ticket.number}/time_estimate")[-1] == {"duration": "12h15m"}
    cleared = await tracker.update_ticket(ticket.slug, TicketChanges(estimate="none"))
    assert cleared.estimate is None and sent(fake, "POST", f"/issues/{ticket.number}/reset_time_estimate")
    writes = len(fake.requests)
    with pytest.raises(Invalid, match="An estimate must be 0-1000 hours"):
        await tracker.update_ticket(ticket.slug, TicketChanges(estimate=-1, title="Never written"))
    with pytest.raises(Invalid, match="a minute at least"):
        await file(tracker, "Never filed", estimate=0.001)
    assert not [r for r in fake.requests[writes:] if r.method != "GET"]  # refused before anything was written
    assert (await tracker.set_estimate_unit("WEB", EstimateUnit.HOURS)).code == "WEB"
    with pytest.raises(Unsupported, match="The gitlab backend cannot count estimates in points"):
        await tracker.set_estimate_unit("WEB", EstimateUnit.POINTS)


async def test_an_estimate_gitlab_refused_after_filing_is_reported_with_the_ticket_filed(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    guests = fake.add_group(50, "guests", "Guests", {1: GUEST})
    fake.add_project(150, guests, "visit", "Visit")
    with pytest.raises(PartlyFiled, match="Filed VISIT-1") as partly:
        await file(tracker, "Sized by a guest", project="VISIT", estimate=3)
    assert (partly.value.ticket.slug, partly.value.ticket.estimate) == ("VISIT-1", None)


async def test_time_logged_adds_to_what_the_ticket_shows_spent(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = await file(tracker, "Worked on")
    entry = await tracker.log_time(ticket.slug, 1.5, note="Pairing")
    assert (entry.ticket_slug, entry.user, entry.hours, entry.spent_on, entry.note) == (
        ticket.slug, "alice", 1.5, today_utc().isoformat(), "Pairing",
    )  # fmt: skip
    assert sent(fake, "POST", f"/issues/{ticket.number}/add_spent_time") == [
        {"duration": "1h30m", "summary": "Pairing"}
    ]
    await tracker.log_time(ticket.slug, 0.25, spent_on="today")
    assert (await tracker.get_ticket(ticket.slug)).ticket.spent == 1.75
    with pytest.raises(Unsupported, match="The gitlab backend cannot log time on another day"):
        await tracker.log_time(ticket.slug, 1, spent_on="yesterday")
    with pytest.raises(Invalid, match="a minute at least"):
        await tracker.log_time(ticket.slug, 0.001)
    assert len(fake.plans.timelogs) == 2


# Through the MCP tools


async def test_the_planning_tools_work_in_front_of_gitlab(fake: FakeGitLab) -> None:
    assert not {Capability.LINKS, Capability.MILESTONES, Capability.TIME_TRACKING} & GitLabTracker.missing
    async with mcp_client(fake) as client:
        await call(client, "enable_tools", sets=["planning"])
        assert "Saved «Sprint 1» open due" in await call(client, "save_milestone", project="WEB", name="Sprint 1",
                                                         due=day(14))  # fmt: skip
        first = await call(client, "create_ticket", project="WEB", title="Blocked one", milestone="Sprint 1")
        await call(client, "create_ticket", project="WEB", title="Blocker")
        assert "WEB-1" in first
        assert "blocked_by WEB-2" in await call(client, "link_tickets", slug="WEB-1", kind="blocked_by", other="WEB-2")
        assert "Logged 2h on WEB-1" in await call(client, "log_time", slug="WEB-1", hours=2)
        detail = await call(client, "get_ticket", slug="WEB-1")
        assert "milestone=«Sprint 1»" in detail and "spent=2h" in detail and "blocked_by WEB-2" in detail
        assert "1 open, 0 done of 1" in await call(client, "list_milestones", project="WEB")
        assert "cannot link tickets as duplicates" in await call_error(
            client, "link_tickets", slug="WEB-1", kind="duplicates", other="WEB-2"
        )
