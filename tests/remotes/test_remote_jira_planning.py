"""Planning on Jira, against the fake site behind Atlassian's OpenAPI document (tests/fixtures/fake_jira.py):
issue links with blocked_by, due dates and their JQL filters, worklogs, fix versions as milestones; what is
not mapped (estimates, the blocked filters, the due-date order) is refused naming jira. Every test ends with no request
or answer outside the document and no JQL the fake does not model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.fixtures.fake_jira import IssueLink
from tests.fixtures.jira_peer import JiraPeer
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import EstimateUnit, LinkKind, Project, Status, Ticket, TicketSort
from tickets_mcp.domain.dates import today_utc
from tickets_mcp.errors import Conflict, Invalid, NotFound, Unsupported
from tickets_mcp.remotes.jira import JiraTracker

pytestmark = pytest.mark.anyio


@pytest.fixture
async def peer() -> AsyncIterator[JiraPeer]:
    jira = JiraPeer()
    yield jira
    assert jira.fake.referee.violations == []
    assert jira.fake.refused == []


@pytest.fixture
async def jira(peer: JiraPeer) -> AsyncIterator[JiraTracker]:
    tracker = await peer.open()
    assert isinstance(tracker, JiraTracker)
    yield tracker
    await tracker.aclose()


@pytest.fixture
async def project(peer: JiraPeer) -> Project:
    return await peer.new_project()


async def file(jira: JiraTracker, project: Project, title: str, **fields: Any) -> Ticket:
    return (await jira.create_ticket(TicketDraft(title=title, project=project.id, **fields))).ticket


def day(offset: int) -> str:
    return (today_utc() + timedelta(days=offset)).isoformat()


async def test_links_go_from_the_outward_issue_and_blocked_by_lists_open_blockers(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    waiting, blocker, twin, near = [await file(jira, project, t) for t in ("Waiting", "Blocker", "Twin", "Nearby")]
    linked = await jira.link_tickets(waiting.slug, LinkKind.BLOCKED_BY, blocker.slug)
    assert [(link.kind, link.slug, link.title) for link in linked.links] == [
        (LinkKind.BLOCKED_BY, blocker.slug, "Blocker")
    ]
    assert linked.ticket.blocked_by == (blocker.slug,)
    (stored,) = peer.fake.links.values()
    assert isinstance(stored, IssueLink)
    assert (stored.type[1], stored.outward.key, stored.inward.key) == ("Blocks", blocker.slug, waiting.slug)
    assert (await jira.link_tickets(waiting.slug, LinkKind.BLOCKED_BY, blocker.slug)).links == linked.links
    assert len(peer.fake.links) == 1  # linking again is no change
    await jira.link_tickets(near.slug, LinkKind.RELATES_TO, waiting.slug)
    marked = await jira.link_tickets(twin.slug, LinkKind.DUPLICATES, waiting.slug, close_as_duplicate=True)
    assert marked.ticket.status is Status.CANCELED
    read = await jira.get_ticket(waiting.slug)
    assert [(link.kind, link.slug) for link in read.links] == [
        (LinkKind.BLOCKED_BY, blocker.slug), (LinkKind.DUPLICATED_BY, twin.slug), (LinkKind.RELATES_TO, near.slug),
    ]  # fmt: skip
    assert [(link.kind, link.slug) for link in (await jira.get_ticket(blocker.slug)).links] == [
        (LinkKind.BLOCKS, waiting.slug)
    ]
    listed = {t.slug: t.blocked_by for t in (await jira.list_tickets(TicketFilter(project=project.id))).tickets}
    assert listed[waiting.slug] == (blocker.slug,) and listed[blocker.slug] == ()
    await jira.move_ticket(blocker.slug, Status.DONE)
    assert (await jira.get_ticket(waiting.slug)).ticket.blocked_by == ()
    await jira.link_tickets(blocker.slug, LinkKind.BLOCKS, waiting.slug, unlink=True)
    with pytest.raises(NotFound, match="is not linked as blocks"):
        await jira.link_tickets(blocker.slug, LinkKind.BLOCKS, waiting.slug, unlink=True)
    with pytest.raises(Invalid, match="itself"):
        await jira.link_tickets(near.slug, LinkKind.RELATES_TO, near.slug)


async def test_due_dates_are_written_cleared_and_filtered_by_in_jql(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    late = await file(jira, project, "Late", due_date="yesterday")
    soon = await file(jira, project, "Soon", due_date=day(3))
    done = await file(jira, project, "Done late", due_date="yesterday", status=Status.DONE)
    loose = await file(jira, project, "Loose")
    assert (late.due_date, loose.due_date) == (day(-1), None)
    assert (await jira.get_ticket(late.slug)).ticket == late

    async def listed(**arguments: Any) -> list[str]:
        found = await jira.list_tickets(TicketFilter(project=project.id, **arguments))
        return [t.slug for t in found.tickets]

    assert await listed(overdue=True) == [late.slug]
    assert await listed(due_before="today") == [done.slug, late.slug]
    assert await listed(due_after="today") == [soon.slug]
    cleared = await jira.update_ticket(soon.slug, TicketChanges(due_date="none"))
    assert cleared.due_date is None and peer.fake.issues[soon.slug].duedate is None
    with pytest.raises(Invalid, match="is not a day"):
        await jira.update_ticket(soon.slug, TicketChanges(due_date="someday"))


async def test_time_logged_is_a_worklog_and_adds_to_what_the_ticket_shows_spent(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    ticket = await file(jira, project, "Timed")
    assert (await jira.get_ticket(ticket.slug)).time_entries == ()
    first = await jira.log_time(ticket.slug, 1.5, note="Pairing")
    earlier = await jira.log_time(ticket.slug, 0.25, spent_on="yesterday")
    assert (first.ticket_slug, first.hours, first.note, first.spent_on) == (ticket.slug, 1.5, "Pairing", day(0))
    assert peer.fake.issues[ticket.slug].worklogs[0]["started"].endswith("+00:00")  # RFC 3339, as the document says
    read = await jira.get_ticket(ticket.slug)
    assert [e.id for e in read.time_entries] == [earlier.id, first.id]  # oldest first
    assert read.ticket.spent == 1.75
    for hours in (0, -1, 0.001, 1000):
        with pytest.raises(Invalid, match=r"hours|minute"):
            await jira.log_time(ticket.slug, hours)


async def test_what_jira_does_not_map_here_is_refused_naming_it(jira: JiraTracker, project: Project) -> None:
    ticket = await file(jira, project, "Plain")
    probes = [
        jira.list_tickets(TicketFilter(project=project.id, blocked=True)),
        jira.list_tickets(TicketFilter(project=project.id, blocking=False)),
        jira.list_tickets(TicketFilter(project=project.id, sort=TicketSort.DUE)),
        jira.update_ticket(ticket.slug, TicketChanges(estimate=2)),
        jira.set_estimate_unit(project.id, EstimateUnit.HOURS),
    ]
    for probe in probes:
        with pytest.raises(Unsupported, match="The jira backend cannot"):
            await probe


async def test_milestones_are_project_versions_with_dates_and_progress_counted_in_jql(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    made = await jira.save_milestone(project.id, "Beta", start_date=day(-10), due_date=day(-1))
    assert (made.name, made.start_date, made.due_date, made.closed, made.total_tickets) == (
        "Beta", day(-10), day(-1), False, 0,
    )  # fmt: skip
    (version,) = peer.fake.versions.values()
    assert (version.id, version.release_date, version.start_date) == (str(made.id), day(-1), day(-10))
    await jira.save_milestone(project.id, "Later", due_date=day(30))
    late = await file(jira, project, "Late", milestone="beta")
    await file(jira, project, "Due later", milestone="Beta", due_date=day(2))
    await file(jira, project, "Shipped", milestone="Beta", status=Status.DONE)
    loose = await file(jira, project, "Loose")
    assert late.milestone == "Beta" and [v.name for v in peer.fake.issues[late.slug].fix_versions] == ["Beta"]
    beta, later = await jira.list_milestones(project.id)
    assert (beta.name, later.name) == ("Beta", "Later")  # by due date
    assert (beta.total_tickets, beta.open_tickets, beta.done_tickets, beta.overdue_tickets) == (3, 2, 1, 1)

    async def listed(milestone: str) -> list[str]:
        found = await jira.list_tickets(TicketFilter(project=project.id, milestone=milestone))
        return sorted(t.title for t in found.tickets)

    assert await listed("Beta") == ["Due later", "Late", "Shipped"]
    assert await listed("none") == ["Loose"]
    moved = await jira.update_ticket(late.slug, TicketChanges(milestone="Later"))
    assert moved.milestone == "Later" and (await jira.get_ticket(late.slug)).ticket.milestone == "Later"
    cleared = await jira.update_ticket(late.slug, TicketChanges(milestone="none"))
    assert cleared.milestone is None and peer.fake.issues[late.slug].fix_versions == []
    renamed = await jira.save_milestone(project.id, "beta", rename="Beta 2", due_date=day(5))
    assert (renamed.id, renamed.name, renamed.due_date, renamed.overdue_tickets) == (made.id, "Beta 2", day(5), 0)
    with pytest.raises(Conflict, match="already"):
        await jira.save_milestone(project.id, "Later", rename="BETA 2")
    with pytest.raises(NotFound, match="No milestone 'Gamma'"):
        await jira.update_ticket(loose.slug, TicketChanges(milestone="Gamma"))
    with pytest.raises(Unsupported, match="dates away"):
        await jira.save_milestone(project.id, "Later", due_date="none")


async def test_closing_a_version_releases_it_and_asks_what_becomes_of_its_open_tickets(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    await jira.save_milestone(project.id, "Now")
    await jira.save_milestone(project.id, "Next")
    first = await file(jira, project, "First", milestone="Now")
    second = await file(jira, project, "Second", milestone="Now")
    await file(jira, project, "Done", milestone="Now", status=Status.DONE)
    with pytest.raises(Invalid, match="still holds 2 open tickets"):
        await jira.save_milestone(project.id, "Now", closed=True)
    with pytest.raises(Invalid, match="another open milestone"):
        await jira.save_milestone(project.id, "Now", closed=True, open_tickets="now")
    closed = await jira.save_milestone(project.id, "Now", closed=True, open_tickets="Next")
    assert (closed.closed, closed.open_tickets, closed.done_tickets) == (True, 0, 1)
    assert [(await jira.get_ticket(t.slug)).ticket.milestone for t in (first, second)] == ["Next", "Next"]
    assert [m.name for m in await jira.list_milestones(project.id)] == ["Next"]
    assert [m.name for m in await jira.list_milestones(project.id, closed=True)] == ["Next", "Now"]
    with pytest.raises(Invalid, match="is closed"):
        await jira.update_ticket(first.slug, TicketChanges(milestone="Now"))
    emptied = await jira.save_milestone(project.id, "Next", closed=True, open_tickets="none")
    assert emptied.total_tickets == 0 and all(not peer.fake.issues[t.slug].fix_versions for t in (first, second))
    reopened = await jira.save_milestone(project.id, "Next", closed=False)
    await jira.update_ticket(first.slug, TicketChanges(milestone="Next"))
    kept = await jira.save_milestone(project.id, "Next", closed=True, open_tickets="keep")
    assert (reopened.closed, kept.closed, kept.open_tickets) == (False, True, 1)
