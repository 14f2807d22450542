"""What is Redmine's own, beyond the adapter contract: workflows, the one category, logins, and its words.

The tests that need Redmine run against the live one (tests/fixtures/redmine_peer.py); the word mapping
is pure and tested without it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.fixtures.redmine_peer import DEVELOPER, RedminePeer, needs_redmine
from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import Priority, Status, TicketType
from tickets_mcp.errors import Invalid, PermissionDenied, Unsupported
from tickets_mcp.remotes import redmine
from tickets_mcp.remotes.redmine import RedmineTracker
from tickets_mcp.remotes.redmine_mapping import (
    PRIORITY_NAMES,
    STATUS_NAMES,
    pick_named,
    priority_of,
    status_of,
    type_of,
)
from tickets_mcp.wire.redmine import IssueStatus, Named

pytestmark = pytest.mark.anyio


# --- Redmine's words, without Redmine -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "closed", "status"),
    [
        ("New", False, Status.BACKLOG), ("In Progress", False, Status.IN_PROGRESS),
        ("Resolved", False, Status.IN_REVIEW), ("Feedback", False, Status.IN_PROGRESS),
        ("Closed", True, Status.DONE), ("Rejected", True, Status.CANCELED), ("  to   DO ", False, Status.TODO),
        ("Won't fix", True, Status.CANCELED), ("Shipped", True, Status.DONE), ("Blocked", False, Status.IN_PROGRESS),
    ],
)  # fmt: skip
def test_a_status_reads_by_its_name_else_by_whether_redmine_calls_it_closed(
    name: str, closed: bool, status: Status
) -> None:
    assert status_of(IssueStatus(id=1, name=name, is_closed=closed)) is status


def test_trackers_and_priorities_read_by_name_with_a_plain_default() -> None:
    assert [type_of(Named(id=1, name=n)) for n in ("Bug", "Feature", "Support", "Enhancement", "Epic")] == [
        TicketType.BUG, TicketType.FEATURE, TicketType.TASK, TicketType.IMPROVEMENT, TicketType.TASK,
    ]  # fmt: skip
    assert [priority_of(Named(id=1, name=n)) for n in ("Low", "Normal", "High", "Urgent", "Immediate", "P3")] == [
        Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.URGENT, Priority.URGENT, Priority.MEDIUM,
    ]  # fmt: skip


def test_writing_picks_the_usual_spelling_and_refuses_a_value_the_site_lacks_naming_what_it_has() -> None:
    site = [IssueStatus(id=i, name=n) for i, n in enumerate(("New", "In Progress", "Resolved", "Closed"), 1)]
    assert pick_named(Status.DONE, site, STATUS_NAMES, "status", "on this site") == 4
    with pytest.raises(Unsupported, match="no status for todo on this site: Redmine has New, In Progress") as refused:
        pick_named(Status.TODO, site, STATUS_NAMES, "status", "on this site")
    assert refused.value.hint == "Use one of: backlog, in_progress, in_review, done."
    priorities = [Named(id=1, name="Normal"), Named(id=2, name="Immediate"), Named(id=3, name="Urgent")]
    assert pick_named(Priority.URGENT, priorities, PRIORITY_NAMES, "priority", "") == 3  # urgent before immediate


# --- against the live Redmine ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def peer() -> Iterator[RedminePeer]:
    if not needs_redmine.args[0]:
        found = RedminePeer()
        yield found
        found.admin.http.close()
    else:
        pytest.skip(needs_redmine.kwargs["reason"])


@pytest.fixture
async def tracker(peer: RedminePeer) -> AsyncIterator[RedmineTracker]:
    opened = await peer.open()
    assert isinstance(opened, RedmineTracker)
    yield opened
    await opened.aclose()


async def test_a_move_the_workflow_forbids_is_refused_naming_where_the_ticket_may_go(peer: RedminePeer) -> None:
    project = await peer.new_project()
    carol_id, carol_key = peer.admin.user("carol")
    peer.member(project, carol_id, DEVELOPER)  # a default Redmine lets developers close but not reject
    carol = await redmine.open_adapter(RemoteSettings("redmine", peer.url, carol_key))
    try:
        ticket = (await carol.create_ticket(TicketDraft(title="Workflow", project=project.id))).ticket
        with pytest.raises(PermissionDenied, match=rf"does not let carol move {ticket.slug} to canceled") as no:
            await carol.move_ticket(ticket.slug, Status.CANCELED)
        assert no.value.hint == "It may go to: done, in_progress, in_review."
        assert (await carol.get_ticket(ticket.slug)).ticket.status is Status.BACKLOG
        assert (await carol.move_ticket(ticket.slug, Status.DONE)).status is Status.DONE
    finally:
        await carol.aclose()


async def test_the_one_label_is_the_issue_category(peer: RedminePeer, tracker: RedmineTracker) -> None:
    project = await peer.new_project()
    filed = (await tracker.create_ticket(TicketDraft(title="Categorised", project=project.id, labels=["ui"]))).ticket
    plain = (await tracker.create_ticket(TicketDraft(title="Plain", project=project.id))).ticket
    assert [label.name for label in filed.labels] == ["ui"]
    found = await tracker.list_tickets(TicketFilter(project=project.id, labels=["ui"]))
    assert [t.slug for t in found.tickets] == [filed.slug]
    assert (await tracker.list_tickets(TicketFilter(project=project.id, labels=["nothing-has-it"]))).total == 0
    with pytest.raises(Unsupported, match="one label per ticket"):
        await tracker.create_ticket(TicketDraft(title="Two labels", project=project.id, labels=["ui", "api"]))
    relabelled = await tracker.update_ticket(plain.slug, TicketChanges(labels=["api"]))
    assert [label.name for label in relabelled.labels] == ["api"]
    cleared = await tracker.update_ticket(filed.slug, TicketChanges(labels=[]))
    assert cleared.labels == ()
    assert (await tracker.list_tickets(TicketFilter(project=project.id))).total == 2


async def test_people_are_logins_both_ways(peer: RedminePeer, tracker: RedmineTracker) -> None:
    project = await peer.new_project()
    ticket = (await tracker.create_ticket(TicketDraft(title="Assigned", project=project.id, assignee="bob"))).ticket
    assert (ticket.assignee, ticket.reporter) == ("bob", "alice")
    mine = await tracker.update_ticket(ticket.slug, TicketChanges(assignee="me"))
    assert mine.assignee == "alice"
    assert (await tracker.update_ticket(ticket.slug, TicketChanges(assignee="none"))).assignee is None
    with pytest.raises(Invalid, match="has the login 'mallory'"):
        await tracker.update_ticket(ticket.slug, TicketChanges(assignee="mallory"))
    workspace = await tracker.workspace()
    assert {"alice", "bob"} <= {m.user.username for o in workspace.organizations for m in o.members}


async def test_sub_tasks_filter_by_parent_and_a_slug_of_another_project_is_not_found(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project, other = await peer.new_project(), await peer.new_project()
    parent = (await tracker.create_ticket(TicketDraft(title="Parent", project=project.id))).ticket
    child = (await tracker.create_ticket(TicketDraft(title="Child", project=project.id, parent=parent.slug))).ticket
    await tracker.create_ticket(TicketDraft(title="Unrelated", project=project.id))
    found = await tracker.list_tickets(TicketFilter(project=project.id, parent=parent.slug))
    assert [t.slug for t in found.tickets] == [child.slug]
    code = (await tracker.create_ticket(TicketDraft(title="Elsewhere", project=other.id))).ticket.slug.split("-")[0]
    with pytest.raises(Exception, match="not found"):  # the issue number exists, in another project
        await tracker.get_ticket(f"{code}-{parent.number}")


async def test_text_with_a_bar_is_refused_rather_than_read_as_or(peer: RedminePeer, tracker: RedmineTracker) -> None:
    project = await peer.new_project()
    with pytest.raises(Invalid, match=r"reads \| in a search"):
        await tracker.list_tickets(TicketFilter(project=project.id, text="crash|login"))


async def test_a_project_made_after_the_adapter_started_is_found(peer: RedminePeer, tracker: RedmineTracker) -> None:
    await tracker.list_projects()
    project = await peer.new_project()
    filed = (await tracker.create_ticket(TicketDraft(title="In a new project", project=project.id))).ticket
    assert filed.project_id == project.id
