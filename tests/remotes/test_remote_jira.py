"""The Jira adapter's own behaviour, beyond the contract: workflows, ADF, JQL written safely, paging, the
mapping of types and priorities, rate limits and credentials. Every test talks to the fake site through
Atlassian's OpenAPI document (tests/fixtures/fake_jira.py) and ends with no request or answer outside it."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.fixtures.fake_jira import DOCUMENT, SITE, SPEC, Issue, IssueType, Reject, parse_jql
from tests.fixtures.jira_peer import QUICK, JiraPeer
from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import Priority, Project, Status, TicketSort, TicketType
from tickets_mcp.errors import Invalid, PermissionDenied, RateLimited, Unsupported
from tickets_mcp.remotes.jira import JiraTracker, auth_headers, open_adapter
from tickets_mcp.remotes.jira_mapping import adf_text, quote, to_adf
from tickets_mcp.remotes.jira_site import Site

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


def issue_of(peer: JiraPeer, slug: str) -> Issue:
    return peer.fake.issues[slug]


# Workflow: columns change only through transitions


async def test_a_move_takes_the_transition_into_the_wanted_column(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    ticket = (await jira.create_ticket(TicketDraft(title="Flows", project=project.id))).ticket
    moved = await jira.move_ticket(ticket.slug, Status.IN_PROGRESS)
    assert (moved.status, issue_of(peer, ticket.slug).status.name) == (Status.IN_PROGRESS, "In Progress")
    reviewed = await jira.move_ticket(ticket.slug, Status.IN_REVIEW)  # reachable from In Progress
    assert issue_of(peer, reviewed.slug).status.name == "In Review"
    done = await jira.move_ticket(ticket.slug, Status.DONE)
    assert (done.status, done.closed_at is not None, issue_of(peer, done.slug).resolution) == (
        Status.DONE,
        True,
        "Done",
    )
    canceled = await jira.move_ticket(ticket.slug, Status.CANCELED)
    assert (canceled.status, issue_of(peer, ticket.slug).resolution) == (Status.CANCELED, "Won't Do")


async def test_a_column_the_workflow_cannot_reach_is_refused_naming_the_reachable_ones(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    ticket = (await jira.create_ticket(TicketDraft(title="Stuck in the backlog", project=project.id))).ticket
    with pytest.raises(Unsupported, match="The jira backend cannot move") as refused:
        await jira.move_ticket(ticket.slug, Status.IN_REVIEW)
    hint = refused.value.hint or ""
    assert "in_progress (In Progress)" in hint and "todo (Selected for Development)" in hint
    assert "in_review" not in hint
    assert issue_of(peer, ticket.slug).status.name == "Backlog"
    with pytest.raises(Unsupported, match=r"was filed in backlog"):
        await jira.create_ticket(TicketDraft(title="Straight to review", project=project.id, status=Status.IN_REVIEW))


async def test_a_ticket_filed_without_a_column_starts_where_a_to_do_workflow_starts(
    peer: JiraPeer, jira: JiraTracker
) -> None:
    simple = peer.fake.add_project("SIMPLE", "Starts at To Do", first="Selected for Development")
    ticket = (await jira.create_ticket(TicketDraft(title="Filed", project=simple.key))).ticket
    assert (ticket.status, issue_of(peer, ticket.slug).status.name) == (Status.TODO, "Selected for Development")
    moved = (await jira.create_ticket(TicketDraft(title="Done at once", project=simple.key, status=Status.DONE))).ticket
    assert moved.status is Status.DONE


async def test_a_stale_version_is_refused_before_any_transition(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    ticket = (await jira.create_ticket(TicketDraft(title="Raced", project=project.id))).ticket
    await jira.update_ticket(ticket.slug, TicketChanges(title="Changed elsewhere"))
    with pytest.raises(Exception, match="version"):
        await jira.move_ticket(ticket.slug, Status.DONE, version=ticket.version)
    assert issue_of(peer, ticket.slug).status.name == "Backlog"


# Rich text


TEXTS = [
    "One line",
    "Steps:\n1. Add to cart\n2. *Pay*",
    "First paragraph.\n\nSecond, with a break\nhere.",
    "Three blank lines\n\n\n\nthen this\n",
    "  leading spaces, **bold** and `code` stay as written  ",
]


@pytest.mark.parametrize("text", TEXTS)
async def test_descriptions_and_comments_go_as_adf_and_read_back_as_written(
    peer: JiraPeer, jira: JiraTracker, project: Project, text: str
) -> None:
    ticket = (await jira.create_ticket(TicketDraft(title="Rich", project=project.id, description=text))).ticket
    stored = issue_of(peer, ticket.slug).description
    assert stored is not None and stored["type"] == "doc"  # the fake refuses anything but valid ADF
    await jira.add_comment(ticket.slug, text)
    detail = await jira.get_ticket(ticket.slug)
    assert (detail.ticket.description, [c.body for c in detail.comments]) == (text, [text])
    assert detail.comments[0].author == "Alice Adams"


def test_adf_written_elsewhere_reads_as_plain_text() -> None:
    document: dict[str, Any] = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Steps"}]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": "ask "}, {"type": "mention", "attrs": {"id": "x", "text": "@Bob"}},
                ]}]},
            ]},
            {"type": "codeBlock", "content": [{"type": "text", "text": "make test"}]},
        ],
    }  # fmt: skip
    assert adf_text(document) == "## Steps\n\n- one\n- ask @Bob\n\n```\nmake test\n```"
    assert to_adf("") is None and adf_text(None) == ""


# JQL: every caller's value is data


HOSTILE = [
    'Safari" OR project = "CT2',
    'back\\slash\\" OR text ~ "x',
    "line\nbreak OR summary ~ '*'",
    ') OR (key = "CT2-1',
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_quoted_value_parses_back_as_itself(value: str) -> None:
    where, _ = parse_jql(f"text ~ {quote(value)}")
    assert where == ("or", [("and", [("clause", "text", "~", [value])])])


@pytest.mark.parametrize(
    "jql",
    ['summary ~ "x"', "text ~ x", 'project = "A" NOT labels = "b"', 'status was "Done"', 'key = "A-1" ORDER BY rank'],
)
def test_the_fake_refuses_jql_it_does_not_model(jql: str) -> None:
    with pytest.raises(Reject) as refused:
        parse_jql(jql)
    assert refused.value.status == 400


@pytest.mark.parametrize("value", HOSTILE)
async def test_hostile_filter_values_stay_inside_their_clause(
    peer: JiraPeer, jira: JiraTracker, project: Project, value: str
) -> None:
    other = await peer.new_project()
    peer.issue(other, TicketDraft(title="Safari x project summary key text break line slash back"))
    peer.issue(project, TicketDraft(title="Unrelated"))
    page = await jira.list_tickets(TicketFilter(project=project.id, text=value, labels=[value.replace("\n", " ")]))
    assert (page.tickets, page.total) == ((), 0)
    where, _ = parse_jql(peer.fake.searched[-1])
    clauses = where[1][0][1]
    assert [c[1] for c in clauses] == ["project", "labels", "text"]
    assert clauses[2][3] == [value.strip()]


async def test_a_person_named_like_jql_is_looked_up_never_written_into_the_query(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    with pytest.raises(Invalid, match="Jira knows no one"):
        await jira.list_tickets(TicketFilter(project=project.id, assignee='x" OR assignee is not EMPTY OR "'))
    assert peer.fake.searched == []


# Paging


async def test_pages_follow_jiras_next_page_token_and_count_with_the_approximate_count(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    for n in range(7):
        peer.issue(project, TicketDraft(title=f"Ticket {n}"))
    seen: list[str] = []
    page = await jira.list_tickets(TicketFilter(project=project.id, limit=3))
    totals = {page.total}
    while True:
        seen += [t.title for t in page.tickets]
        if page.next_cursor is None:
            break
        page = await jira.list_tickets(TicketFilter(project=project.id, limit=3, cursor=page.next_cursor))
        totals.add(page.total)
    assert seen == [f"Ticket {n}" for n in reversed(range(7))] and totals == {7}
    assert len(peer.fake.pages) == 2  # two nextPageTokens handed out, each used once
    skipped = await jira.list_tickets(TicketFilter(project=project.id, limit=2, offset=4))
    assert ([t.title for t in skipped.tickets], skipped.total) == (["Ticket 2", "Ticket 1"], 7)


async def test_a_filter_for_values_the_site_lacks_sends_no_search(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    peer.issue(project, TicketDraft(title="Any"))
    page = await jira.list_tickets(TicketFilter(project=project.id, priorities=[Priority.URGENT, Priority.HIGH]))
    assert page.total == 0 and 'priority in ("Highest", "High")' in peer.fake.searched[-1]
    searches = len(peer.fake.searched)
    peer.fake.projects[project.code].types = [t for t in peer.fake.projects[project.code].types if t.name != "Bug"]
    jira.site._catalog = None  # pyright: ignore[reportPrivateUsage]
    assert (await jira.list_tickets(TicketFilter(project=project.id, types=[TicketType.BUG]))).total == 0
    assert len(peer.fake.searched) == searches


# Types, priorities, columns


async def test_types_and_priorities_are_written_as_jiras_names_and_read_back(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    written = {
        (TicketType.BUG, Priority.URGENT): ("Bug", "Highest"),
        (TicketType.FEATURE, Priority.HIGH): ("Story", "High"),
        (TicketType.IMPROVEMENT, Priority.LOW): ("Improvement", "Low"),
        (TicketType.TASK, Priority.MEDIUM): ("Task", "Medium"),  # medium is no priority sent: the default
    }
    for (kind, priority), names in written.items():
        draft = TicketDraft(title=f"A {kind.value}", project=project.id, type=kind, priority=priority)
        ticket = (await jira.create_ticket(draft)).ticket
        issue = issue_of(peer, ticket.slug)
        assert ((issue.type.name, issue.priority), (ticket.type, ticket.priority)) == (names, (kind, priority))
    epic = peer.fake.file_issue(
        peer.fake.projects[project.code], peer.alice, "Big", type_name="Epic", priority="Lowest"
    )
    read = (await jira.get_ticket(epic.key)).ticket
    assert (read.type, read.priority) == (TicketType.FEATURE, Priority.LOW)
    tasks = await jira.list_tickets(TicketFilter(project=project.id, types=[TicketType.TASK]))
    assert [t.title for t in tasks.tickets] == ["A task"]


async def test_a_type_the_project_lacks_is_refused_naming_what_it_has(peer: JiraPeer, jira: JiraTracker) -> None:
    team = peer.fake.add_project("TEAM", "Team-managed", [IssueType("1", "Task"), IssueType("2", "Bug")])
    with pytest.raises(Unsupported, match=r"The jira backend cannot file a improvement ticket in TEAM") as refused:
        await jira.create_ticket(TicketDraft(title="Never filed", project=team.key, type=TicketType.IMPROVEMENT))
    assert "bug or task" in (refused.value.hint or "")
    parent = (await jira.create_ticket(TicketDraft(title="Parent", project=team.key))).ticket
    with pytest.raises(Unsupported, match="The jira backend cannot file a sub-task"):
        await jira.create_ticket(TicketDraft(title="Child", project=team.key, parent=parent.slug))
    assert [i.summary for i in peer.fake.issues.values() if i.project is team] == ["Parent"]


async def test_a_done_issue_resolved_as_a_duplicate_reads_and_filters_as_canceled(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    fake_project = peer.fake.projects[project.code]
    duplicate = peer.fake.file_issue(fake_project, peer.alice, "Twice", state="Done", resolution="Duplicate")
    fixed = peer.fake.file_issue(fake_project, peer.alice, "Fixed", state="Done")
    assert (await jira.get_ticket(duplicate.key)).ticket.status is Status.CANCELED
    canceled = await jira.list_tickets(TicketFilter(project=project.id, statuses=[Status.CANCELED]))
    done = await jira.list_tickets(TicketFilter(project=project.id, statuses=[Status.DONE]))
    assert ([t.slug for t in canceled.tickets], [t.slug for t in done.tickets]) == ([duplicate.key], [fixed.key])


# People, times, sub-tasks, deletion


async def test_people_are_shown_by_name_and_taken_by_name_email_or_account_id(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    for name in ("Bob Builder", "bob@example.com", peer.bob.account_id):
        ticket = (await jira.create_ticket(TicketDraft(title=f"For {name}", project=project.id, assignee=name))).ticket
        assert (ticket.assignee, issue_of(peer, ticket.slug).assignee) == ("Bob Builder", peer.bob)
    mine = await jira.list_tickets(TicketFilter(project=project.id, reporter="me"))
    assert mine.total == 3 and "reporter = currentUser()" in peer.fake.searched[-1]
    cleared = await jira.update_ticket(f"{project.code}-1", TicketChanges(assignee="none"))
    assert cleared.assignee is None
    peer.fake.add_person("bob2", "Bob Marley")
    with pytest.raises(Invalid, match="more than one person") as refused:
        await jira.list_tickets(TicketFilter(project=project.id, assignee="Bob"))
    assert peer.bob.account_id in (refused.value.hint or "")


async def test_updated_since_is_written_in_the_users_time_zone_to_the_minute(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    issue = peer.issue(project, TicketDraft(title="Touched"))
    for shift, found in ((timedelta(minutes=-1), 1), (timedelta(minutes=1), 0)):
        since = (issue.updated + shift).isoformat()
        assert (await jira.list_tickets(TicketFilter(project=project.id, updated_since=since))).total == found
    assert peer.fake.people["alice"].time_zone == "Europe/Berlin"  # an hour or two off UTC: a UTC time would miss


@pytest.mark.parametrize(
    ("zone", "since"), [("Europe/Berlin", "9999-12-31T23:30:00Z"), ("America/Denver", "0001-01-01")]
)
async def test_updated_since_past_the_calendar_in_the_users_zone_is_invalid(
    peer: JiraPeer, project: Project, zone: str, since: str
) -> None:
    peer.alice.time_zone = zone  # in Berlin, 9999-12-31 23:30 UTC is in the year 10000; in Denver, 0001-01-01 in year 0
    tracker = await peer.open()
    try:
        with pytest.raises(Invalid, match="updated_since") as refused:
            await tracker.list_tickets(TicketFilter(project=project.id, updated_since=since))
    finally:
        await tracker.aclose()
    assert refused.value.field == "updated_since"


async def test_updated_since_is_refused_where_the_users_zone_is_unknown_here(peer: JiraPeer, project: Project) -> None:
    peer.alice.time_zone = "Mars/Olympus_Mons"
    tracker = await peer.open()
    try:
        with pytest.raises(Unsupported, match="Mars/Olympus_Mons"):
            await tracker.list_tickets(TicketFilter(project=project.id, updated_since="1h"))
    finally:
        await tracker.aclose()


async def test_sub_tasks_are_listed_by_parent_and_deleted_with_it(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    parent = (await jira.create_ticket(TicketDraft(title="Parent", project=project.id))).ticket
    children = [
        (await jira.create_ticket(TicketDraft(title=f"Child {n}", project=project.id, parent=parent.slug))).ticket
        for n in range(2)
    ]
    assert issue_of(peer, children[0].slug).type.name == "Sub-task"
    listed = await jira.list_tickets(TicketFilter(project=project.id, parent=parent.slug))
    assert sorted(t.slug for t in listed.tickets) == sorted(c.slug for c in children)
    await jira.add_comment(parent.slug, "Going away")
    gone = await jira.delete_ticket(parent.slug)
    assert (gone.subtasks, gone.comments) == (tuple(c.slug for c in children), 1)
    assert peer.fake.issues == {}


# Limits and credentials


async def test_a_rate_limit_it_cannot_wait_out_is_reported_with_jiras_retry_after(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    peer.fake.throttled = True
    with pytest.raises(RateLimited, match="jira") as limited:
        await jira.list_tickets(TicketFilter(project=project.id, assignee="Bob Builder"))
    assert limited.value.retry_after == 30


def test_an_api_token_goes_as_basic_and_an_oauth_token_as_bearer() -> None:
    assert auth_headers(" alice@example.com:secret ") == {"authorization": "Basic YWxpY2VAZXhhbXBsZS5jb206c2VjcmV0"}
    assert auth_headers("oauth-access-token") == {"authorization": "Bearer oauth-access-token"}


@pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")  # openapi-core cannot check OAuth 2.0
async def test_an_oauth_token_works_and_a_wrong_one_is_refused_without_showing_it(peer: JiraPeer) -> None:
    token = peer.fake.add_oauth("alice", "oauth-access-token-1")
    tracker = await peer.open(token=token)
    try:
        assert (await tracker.workspace()).user.name == "Alice Adams"
    finally:
        await tracker.aclose()
    settings = RemoteSettings("jira", SITE + "/rest/api/3/", "oauth-unknown-token")
    with pytest.raises(PermissionDenied, match="jira") as refused:
        await open_adapter(settings, policy=QUICK, transport=peer.fake.transport())
    assert "oauth-unknown-token" not in str(refused.value)


async def test_an_api_token_a_careless_jira_repeats_is_not_shown(peer: JiraPeer, jira: JiraTracker) -> None:
    """The fake's 401 and 400 answers repeat the credential they got, Basic decoded (`email:api_token`):
    neither that, nor the token alone, nor the header reaches the caller."""
    wrong = "alice@example.com:wrong-api-token-7"
    settings = RemoteSettings("jira", SITE + "/rest/api/3/", wrong)
    with pytest.raises(PermissionDenied, match="jira rejected the token") as refused:
        await open_adapter(settings, policy=QUICK, transport=peer.fake.transport())
    assert "sent with [redacted]" in str(refused.value)  # the fake did repeat it
    assert "wrong-api-token-7" not in str(refused.value)
    project = await peer.new_project()
    ticket = (await jira.create_ticket(TicketDraft(project=project.id, title="Commented"))).ticket

    def careless(*_: Any) -> Any:
        raise Reject(400, "Comment body is not valid")

    peer.fake._comment = careless  # pyright: ignore[reportPrivateUsage, reportAttributeAccessIssue]
    with pytest.raises(Invalid, match="Comment body is not valid") as refused:
        await jira.add_comment(ticket.slug, "Hello")
    secret = peer.token.split(":", 1)[1]
    assert secret not in str(refused.value) and "sent with [redacted]" in str(refused.value)


def test_the_vendored_document_holds_exactly_the_operations_the_trim_script_keeps() -> None:
    script = DOCUMENT.parent / "trim.py"
    spec = importlib.util.spec_from_file_location("jira_trim", script)
    assert spec is not None and spec.loader is not None
    trim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trim)
    kept = {path: {m for m in item if m != "parameters"} for path, item in SPEC.document["paths"].items()}
    assert kept == trim.OPERATIONS
    assert SPEC.document["info"]["version"].endswith("57a0ca5b4a0bb0ac5f3fee4764acb1c14e4d7e71")


async def test_the_site_is_the_one_organization(jira: JiraTracker) -> None:
    assert [o.slug for o in await jira.list_organizations()] == ["acme"]
    assert isinstance(jira.site, Site) and jira.site.organization.id == "acme.atlassian.net"
    with pytest.raises(Exception, match="the site, acme"):
        await jira.list_projects("elsewhere")


async def test_a_text_search_in_the_tools_default_order_lists_newest_first(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    """list_tickets with a query sorts by relevance unless told otherwise; JQL cannot rank by it, so the
    newest come first (as on every backend without a ranking), never a refusal of a plain search."""
    for title in ("Login fails on Safari", "Unrelated", "Login slow on Firefox"):
        await peer.file(project, TicketDraft(title=title))
    page = await jira.list_tickets(TicketFilter(project=project.id, text="login", sort=TicketSort.RELEVANCE))
    assert [t.title for t in page.tickets] == ["Login slow on Firefox", "Login fails on Safari"]
