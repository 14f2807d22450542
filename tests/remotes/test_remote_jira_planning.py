"""Planning on Jira, against the fake site behind Atlassian's OpenAPI document (tests/fixtures/fake_jira.py):
issue links with blocked_by, due dates and their JQL filters, worklogs; what is not mapped (fix versions,
estimates, the blocked filters, the due-date order) is refused naming jira. Every test ends with no request
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
from tickets_mcp.errors import Invalid, NotFound, Unsupported
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
        jira.list_milestones(project.id),
        jira.update_ticket(ticket.slug, TicketChanges(estimate=2)),
        jira.set_estimate_unit(project.id, EstimateUnit.HOURS),
    ]
    for probe in probes:
        with pytest.raises(Unsupported, match="The jira backend cannot"):
            await probe
