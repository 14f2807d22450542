"""What is Redmine's own, beyond the adapter contract: workflows, the one category, logins, and its words.

The tests that need Redmine run against the live one (tests/fixtures/redmine_peer.py); the word mapping
is pure and tested without it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.fixtures.redmine_peer import DEVELOPER, REPORTER, RUN, RedminePeer, needs_redmine
from tests.fixtures.remote_contract import Counting
from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import Priority, Status, TicketSort, TicketType
from tickets_mcp.errors import Invalid, PermissionDenied, Unsupported
from tickets_mcp.remotes import redmine
from tickets_mcp.remotes.base import PartlyFiled
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


async def test_people_show_by_name_and_are_taken_by_name_login_or_id(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project = await peer.new_project()
    alice, bob = peer.user("alice"), peer.user("bob")
    ticket = (await tracker.create_ticket(TicketDraft(title="Assigned", project=project.id, assignee="bob"))).ticket
    assert (ticket.assignee, ticket.reporter) == (bob, alice)  # by login in, by name out: what Redmine shows
    mine = await tracker.update_ticket(ticket.slug, TicketChanges(assignee="me"))
    assert mine.assignee == alice
    by_name = await tracker.update_ticket(ticket.slug, TicketChanges(assignee=bob.upper()))
    assert by_name.assignee == bob
    by_id = await tracker.update_ticket(ticket.slug, TicketChanges(assignee=f"#{peer.people['alice'][0]}"))
    assert by_id.assignee == alice
    assert (await tracker.update_ticket(ticket.slug, TicketChanges(assignee="none"))).assignee is None
    for stranger in ("mallory", "²", "#¹²", "../1"):  # never a crash: data that names no member
        with pytest.raises(Invalid, match="is named"):
            await tracker.update_ticket(ticket.slug, TicketChanges(assignee=stranger))
    workspace = await tracker.workspace()
    assert {alice, bob} <= {m.user.name for o in workspace.organizations for m in o.members}


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
    await tracker.create_ticket(TicketDraft(title="Crash at login", project=project.id))
    page = await tracker.list_tickets(TicketFilter(project=project.id, text="crash", sort=TicketSort.RELEVANCE))
    assert (page.total, page.order) == (1, ("created desc", "id desc"))  # no ranking: said as what it is


async def test_a_project_made_after_the_adapter_started_is_found(peer: RedminePeer, tracker: RedmineTracker) -> None:
    await tracker.list_projects()
    project = await peer.new_project()
    filed = (await tracker.create_ticket(TicketDraft(title="In a new project", project=project.id))).ticket
    assert filed.project_id == project.id


async def test_a_status_the_workflow_forbids_at_filing_names_the_ticket_filed_and_a_retry_files_no_twin(
    peer: RedminePeer,
) -> None:
    project = await peer.new_project()
    carol_id, carol_key = peer.admin.user("carol")
    peer.member(project, carol_id, DEVELOPER)
    carol = await redmine.open_adapter(RemoteSettings("redmine", peer.url, carol_key))
    draft = TicketDraft(title="Filed as canceled", project=project.id, status=Status.CANCELED, idempotency_key="k1")
    try:
        with pytest.raises(PartlyFiled, match=r"^Filed \S+-\d+ \(backlog, task, medium\), but not all of it") as partly:
            await carol.create_ticket(draft)
        assert partly.value.hint == "It may go to: done, in_progress, in_review."
        again = (await carol.create_ticket(draft)).ticket  # the same key: the ticket filed, not a twin
        assert again.slug == partly.value.ticket.slug
        assert (await carol.list_tickets(TicketFilter(project=project.id))).total == 1
    finally:
        await carol.aclose()


async def test_a_description_with_crlf_lands_without_a_false_refusal(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project = await peer.new_project()
    ticket = (await tracker.create_ticket(TicketDraft(title="Line endings", project=project.id))).ticket
    changed = await tracker.update_ticket(ticket.slug, TicketChanges(description="line one\r\nline two"))
    assert changed.description == "line one\nline two"


async def test_a_reporter_may_use_the_categories_a_project_has(peer: RedminePeer) -> None:
    project = await peer.new_project()
    peer.category(project, "web")
    dora_id, dora_key = peer.admin.user("dora")
    peer.member(project, dora_id, REPORTER)  # may file, may not manage categories
    dora = await redmine.open_adapter(RemoteSettings("redmine", peer.url, dora_key))
    try:
        filed = (
            await dora.create_ticket(TicketDraft(title="From a reporter", project=project.id, labels=["web"]))
        ).ticket
        assert [label.name for label in filed.labels] == ["web"]
        found = await dora.list_tickets(TicketFilter(project=project.id, labels=["web"]))
        assert [t.slug for t in found.tickets] == [filed.slug]
    finally:
        await dora.aclose()


async def test_the_workspace_shows_the_users_own_projects_and_their_members(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    mine = await peer.new_project()
    stranger_id, _ = peer.admin.user("erin")
    theirs = peer.admin.call("POST", "projects.json", {"project": {"name": "Not alice's", "identifier": f"n{RUN}x"}})
    peer.admin.call("POST", f"projects/{theirs['project']['id']}/memberships.json",
                    {"membership": {"user_id": stranger_id, "role_ids": [DEVELOPER]}})  # fmt: skip
    workspace = await tracker.workspace()
    (entry,) = workspace.organizations
    shown = {p.id for p in entry.projects}
    assert mine.id in shown and str(theirs["project"]["id"]) not in shown  # public, but not alice's
    assert "Erin Tester" not in {m.user.name for m in entry.members}
    assert peer.user("bob") in {m.user.name for m in entry.members}


async def test_a_list_and_a_ticket_cost_the_same_few_requests_however_many_people_and_sub_tasks(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    project = await peer.new_project()
    parent = (await tracker.create_ticket(TicketDraft(title="Parent", project=project.id))).ticket
    for n, who in enumerate(("alice", "bob", "alice", "bob")):
        draft = TicketDraft(title=f"Child {n}", parent=parent.slug, assignee=who)
        await peer.file(project, draft, reporter=who)
    counting = Counting()
    fresh = await peer.open(transport=counting)  # knows nobody yet: no login is read to show a ticket
    try:
        page = await fresh.list_tickets(TicketFilter(project=project.id))
        assert page.total == 5 and {t.assignee for t in page.tickets} == {None, peer.user("alice"), peer.user("bob")}
        assert counting.paths[1:] == ["/users/current.json", f"/projects/{project.id}.json", "/issues.json"]
        counting.paths.clear()
        detail = await fresh.get_ticket(parent.slug)
        assert len(detail.subtasks) == 4
        once = ["/issue_statuses.json", "/enumerations/issue_priorities.json"]  # the history's, kept five minutes
        assert sorted(counting.paths) == sorted(
            ["/users/current.json", f"/issues/{parent.number}.json", "/issues.json", *once]
        )
        counting.paths.clear()
        await fresh.get_ticket(parent.slug)
        assert counting.paths == ["/users/current.json", f"/issues/{parent.number}.json", "/issues.json"]
    finally:
        await fresh.aclose()


async def test_the_journals_are_the_tickets_history(peer: RedminePeer, tracker: RedmineTracker) -> None:
    project = await peer.new_project()
    ticket = (await tracker.create_ticket(TicketDraft(title="Has a past", project=project.id))).ticket
    await tracker.update_ticket(ticket.slug, TicketChanges(title="Has a history", priority=Priority.HIGH))
    await tracker.move_ticket(ticket.slug, Status.IN_REVIEW)
    await tracker.add_comment(ticket.slug, "Looks right.")
    await tracker.update_ticket(ticket.slug, TicketChanges(assignee="bob", description="Now described."))
    detail = await tracker.get_ticket(ticket.slug)
    alice = peer.user("alice")
    assert [(c.action, c.actor, c.changes) for c in detail.history] == [
        ("ticket.created", alice, {}),
        ("ticket.updated", alice, {"title": ["Has a past", "Has a history"], "priority": ["medium", "high"]}),
        ("ticket.moved", alice, {"status": ["backlog", "in_review"]}),
        ("comment.added", alice, {}),
        ("ticket.updated", alice, {"assignee": [None, peer.user("bob")], "description": "edited"}),
    ]
    assert detail.changes == 5
    latest = await tracker.get_ticket(ticket.slug, history=2)
    assert ([c.action for c in latest.history], latest.changes) == (["comment.added", "ticket.updated"], 5)
