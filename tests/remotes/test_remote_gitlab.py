"""The GitLab adapter against a fake GitLab (tests/fixtures/fake_gitlab.py) refereed by GitLab's OpenAPI document
(tests/data/specs/gitlab/): every test ends with no request or answer outside it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from typing import Any

import httpx2
import pytest

from tests.fixtures.fake_gitlab import DEVELOPER, OWNER, TOKEN, UNREFEREED, FakeGitLab, User, standard_world
from tests.fixtures.gitlab_suite import adapter_for, mcp_client, sent
from tests.fixtures.tool_calls import call, call_error, slug_of
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import Capability, Priority, Role, Status, TicketSort, TicketType
from tickets_mcp.errors import (
    BackendUnavailable,
    Conflict,
    Invalid,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unsupported,
)
from tickets_mcp.remotes import gitlab_directory, gitlab_paging
from tickets_mcp.remotes.client import Ambiguous
from tickets_mcp.remotes.gitlab import GitLabTracker
from tickets_mcp.remotes.gitlab_mapping import label_delta, read_fields
from tickets_mcp.remotes.mapping import assign_codes, project_code

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> Iterator[FakeGitLab]:
    world = standard_world()
    yield world
    assert world.referee.violations == []


@pytest.fixture
async def tracker(fake: FakeGitLab) -> AsyncGenerator[GitLabTracker]:
    async with adapter_for(fake) as opened:
        yield opened


def stored(fake: FakeGitLab, project_id: int, iid: int) -> dict[str, Any]:
    return next(i for i in fake.issues.values() if i["project_id"] == project_id and i["iid"] == iid)


# The referee


async def test_every_request_is_refereed_except_those_gitlabs_document_leaves_out(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    await tracker.list_tickets(TicketFilter(project="WEB"))
    unlisted = [r for r in fake.requests if f"{r.method} {r.url.path}" not in UNREFEREED]
    assert fake.referee.unchecked == len(fake.requests) - len(unlisted) >= 1  # GET /user at open
    assert fake.referee.checked == len(unlisted) >= 2


async def test_the_referee_refuses_a_request_gitlabs_document_does_not_allow(fake: FakeGitLab) -> None:
    async with httpx2.AsyncClient(transport=fake.transport(), base_url=fake.host) as client:
        comma_joined = await client.post(
            "/api/v4/projects/101/issues",
            json={"title": "Old style", "labels": "ui,bug"},
            headers={"private-token": TOKEN},
        )
        undeclared = await client.get("/api/v4/projects/101/boards", headers={"private-token": TOKEN})
    assert (comma_joined.status_code, undeclared.status_code) == (400, 400)
    assert fake.issues == {} and len(fake.referee.violations) == 2
    assert "labels" in fake.referee.violations[0] and "/boards" in fake.referee.violations[1]
    fake.referee.violations.clear()  # caught, as they must be: the fixture's check is for the other tests


# Connecting


async def test_open_checks_the_token_with_get_user_and_sends_it_as_private_token(fake: FakeGitLab) -> None:
    async with adapter_for(fake) as tracker:
        assert tracker.me.username == "alice"
    first = fake.requests[0]
    assert first.url.path == "/api/v4/user"
    assert first.headers["private-token"] == TOKEN
    assert "authorization" not in first.headers


async def test_a_wrong_token_is_refused_at_open_as_permission_denied(fake: FakeGitLab) -> None:
    with pytest.raises(PermissionDenied, match="gitlab rejected the token"):
        async with adapter_for(fake, token="glpat-wrong"):
            pass


async def test_a_token_revoked_later_fails_the_next_call(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    fake.tokens.clear()
    with pytest.raises(PermissionDenied, match="rejected the token"):
        await tracker.list_projects()


@pytest.mark.parametrize("url", ["https://gitlab.example.com/gitlab", "https://gitlab.example.com/gitlab/api/v4/"])
async def test_a_self_hosted_instance_under_a_path_prefix_works(url: str) -> None:
    fake = standard_world(prefix="/gitlab")
    async with adapter_for(fake, url=url) as tracker:
        ticket = (await tracker.create_ticket(TicketDraft(title="Behind a prefix", project="WEB"))).ticket
        assert (await tracker.get_ticket(ticket.slug)).ticket.title == "Behind a prefix"
    assert fake.requests and all(r.url.path.startswith("/gitlab/api/v4/") for r in fake.requests)


# Organizations and projects


async def test_workspace_maps_namespaces_to_organizations_with_roles_members_and_limits(
    tracker: GitLabTracker,
) -> None:
    workspace = await tracker.workspace()
    assert workspace.user.username == "alice"
    assert workspace.backend == "gitlab"
    assert workspace.missing == {Capability.MANAGE_PROJECTS, Capability.ORDER_COLUMNS, Capability.SUBTASKS}
    entries = {entry.organization.slug: entry for entry in workspace.organizations}
    assert set(entries) == {"acme", "alice"}
    acme = entries["acme"]
    assert acme.role is Role.MEMBER  # developer (30)
    assert [p.code for p in acme.projects] == ["TRACKERMCP", "WEB"]
    assert {m.user.username: m.role for m in acme.members} == {
        "alice": Role.MEMBER, "bob": Role.ADMIN, "carol": Role.REPORTER,
    }  # fmt: skip
    assert entries["alice"].role is Role.OWNER  # a personal namespace is its user's
    assert [p.code for p in entries["alice"].projects] == ["DOTFILES"]


async def test_organizations_and_projects_list_and_filter(tracker: GitLabTracker) -> None:
    assert [o.slug for o in await tracker.list_organizations()] == ["acme", "alice"]
    acme = await tracker.list_projects("acme")
    assert [(p.code, p.name, p.organization_id) for p in acme] == [
        ("TRACKERMCP", "Tracker MCP", "10"), ("WEB", "Web", "10"),
    ]  # fmt: skip
    assert len(await tracker.list_projects()) == 3
    with pytest.raises(NotFound, match="Organization 'acne' not found"):
        await tracker.list_projects("acne")


def test_project_codes_come_from_the_path_and_collisions_take_the_project_id() -> None:
    assert project_code("tracker-mcp") == "TRACKERMCP"
    assert project_code("web") == "WEB"
    assert project_code("2fa-app") == "P2FAAPP"
    assert project_code("x") == "XX"
    assert project_code("a-very-long-project-path") == "AVERYLONGP"
    assert assign_codes({101: "web", 104: "web", 102: "api"}) == {101: "WEB101", 104: "WEB104", 102: "API"}


async def test_projects_whose_paths_collide_are_told_apart_by_id(fake: FakeGitLab) -> None:
    beta = fake.add_group(20, "beta", "Beta", {1: DEVELOPER})
    fake.add_project(104, beta, "web", "Beta web")
    async with adapter_for(fake) as tracker:
        codes = {p.code for p in await tracker.list_projects()}
        assert {"WEB101", "WEB104", "TRACKERMCP", "DOTFILES"} == codes
        ticket = (await tracker.create_ticket(TicketDraft(title="Which web?", project="beta/web"))).ticket
        assert ticket.slug == "WEB104-1"
        assert (await tracker.get_ticket("web104-1")).ticket.project_id == "104"


async def test_a_project_added_in_gitlab_is_found_without_a_restart(
    fake: FakeGitLab, tracker: GitLabTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await tracker.list_projects()
    monkeypatch.setattr(gitlab_directory, "REFRESH_MIN", 0.0)  # projects are re-read at most every 2 s
    fake.add_project(105, fake.groups[10], "docs", "Docs")
    ticket = (await tracker.create_ticket(TicketDraft(title="New project", project="DOCS"))).ticket
    assert ticket.slug == "DOCS-1"


async def test_projects_are_read_once_for_many_calls(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Cached", project="WEB", labels=["ui"]))).ticket
    await tracker.get_ticket(ticket.slug)
    await tracker.list_tickets(TicketFilter(project="web"))
    await tracker.move_ticket(ticket.slug, Status.TODO)
    await tracker.get_board("Web")
    await tracker.workspace()
    reads = [r for r in fake.requests if r.url.path.endswith("/api/v4/projects")]
    assert len(reads) == 1 and reads[0].url.params["membership"] == "true"
    assert len([r for r in fake.requests if r.url.path.endswith("/projects/101/labels")]) == 1


async def test_a_groups_issue_from_a_project_the_user_is_not_member_of_gets_a_code_with_its_id(
    fake: FakeGitLab,
) -> None:
    ext = fake.add_group(30, "ext", "External", {2: OWNER})
    fake.add_project(201, ext, "api", "API", members={1: DEVELOPER})
    fake.add_project(203, ext, "sdk", "SDK", members={1: DEVELOPER})
    docs = fake.add_project(202, ext, "docs", "Docs")
    docs.visibility = "internal"
    fake.tokens["glpat-bob"] = 2
    async with adapter_for(fake, token="glpat-bob") as bobs:
        await bobs.create_ticket(TicketDraft(title="Visible issue", project="ext/docs"))
    async with adapter_for(fake) as tracker:
        await tracker.create_ticket(TicketDraft(title="Member issue", project="API"))
        listed = await tracker.list_tickets(TicketFilter(organization="ext"))
        assert {t.slug for t in listed.tickets} == {"API-1", "DOCS202-1"}
    async with adapter_for(fake) as fresh:  # found again from the code alone
        assert (await fresh.get_ticket("DOCS202-1")).ticket.title == "Visible issue"


# Tickets


async def test_create_ticket_writes_labels_assignee_and_reads_back_the_same_ticket(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    ticket = (await tracker.create_ticket(
        TicketDraft(
            title="  Login   fails ", project="WEB", type=TicketType.BUG, description="Steps: …",
            priority=Priority.HIGH, status=Status.TODO, assignee="bob", labels=["ui", "regression"],
        )
    )).ticket  # fmt: skip
    assert ticket.slug == "WEB-1"
    assert (ticket.title, ticket.type, ticket.priority, ticket.status) == (
        "Login fails", TicketType.BUG, Priority.HIGH, Status.TODO,
    )  # fmt: skip
    assert (ticket.assignee, ticket.reporter) == ("bob", "alice")
    assert [label.name for label in ticket.labels] == ["ui", "regression"]
    assert all(len(label.color) == 6 for label in ticket.labels)
    body = sent(fake, "POST", "/projects/101/issues")[0]
    # GitLab's document (tests/data/specs/gitlab/) declares the body's labels an array of names
    assert body["labels"] == ["ui", "regression", "status::todo", "type::bug", "priority::high"]
    assert body["assignee_ids"] == [2]
    assert stored(fake, 101, 1)["state"] == "opened"
    assert (await tracker.get_ticket("WEB-1")).ticket == ticket


async def test_defaults_are_written_as_no_label(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Plain", project="WEB"))).ticket
    assert (ticket.status, ticket.type, ticket.priority) == (Status.BACKLOG, TicketType.TASK, Priority.MEDIUM)
    assert stored(fake, 101, 1)["labels"] == []


async def test_a_ticket_created_done_is_closed(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Already fixed", project="WEB", status=Status.DONE))).ticket
    assert ticket.status is Status.DONE and ticket.closed_by == "alice" and ticket.closed_at
    assert stored(fake, 101, 1)["state"] == "closed"


async def test_create_refuses_what_gitlab_cannot_hold(tracker: GitLabTracker) -> None:
    with pytest.raises(Unsupported, match="gitlab backend cannot keep sub-tasks"):
        await tracker.create_ticket(TicketDraft(title="Child", project="WEB", parent="WEB-1"))
    with pytest.raises(Invalid, match="sets the ticket's priority"):
        await tracker.create_ticket(TicketDraft(title="Sneaky", project="WEB", labels=["priority::urgent"]))
    with pytest.raises(Invalid, match="GitLab has no user named 'nobody'"):
        await tracker.create_ticket(TicketDraft(title="Who?", project="WEB", assignee="nobody"))
    with pytest.raises(Invalid, match="Several projects exist"):
        await tracker.create_ticket(TicketDraft(title="Where?"))
    with pytest.raises(NotFound, match="Project 'WBE' not found"):
        await tracker.create_ticket(TicketDraft(title="Typo", project="WBE"))


async def test_get_ticket_shows_notes_as_comments_without_system_notes(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Discuss", project="WEB"))).ticket
    first = await tracker.add_comment(ticket.slug, "First thought")
    await tracker.move_ticket(ticket.slug, Status.DONE)  # GitLab adds a system note "closed"
    await tracker.add_comment(ticket.slug, "Second thought")
    detail = await tracker.get_ticket(ticket.slug)
    assert [(c.author, c.body) for c in detail.comments] == [("alice", "First thought"), ("alice", "Second thought")]
    assert detail.comments[0] == first and first.ticket_slug == "WEB-1"
    assert detail.subtasks == ()
    assert any(n["system"] for n in fake.notes[stored(fake, 101, 1)["id"]])
    with pytest.raises(Invalid, match="The comment is empty"):
        await tracker.add_comment(ticket.slug, "   ")


async def test_update_changes_fields_through_add_and_remove_labels(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = (
        await tracker.create_ticket(
            TicketDraft(title="Old", project="WEB", priority=Priority.HIGH, labels=["ui"], assignee="bob")
        )
    ).ticket
    updated = await tracker.update_ticket(
        ticket.slug,
        TicketChanges(title="New", description="Now described", priority=Priority.MEDIUM, labels=["backend"],
                      type=TicketType.FEATURE, assignee="none"),
    )  # fmt: skip
    assert (updated.title, updated.description, updated.priority, updated.type) == (
        "New", "Now described", Priority.MEDIUM, TicketType.FEATURE,
    )  # fmt: skip
    assert updated.assignee is None
    assert [label.name for label in updated.labels] == ["backend"]
    body = sent(fake, "PUT", "/projects/101/issues/1")[-1]
    assert set(body["add_labels"]) == {"backend", "type::feature"}
    assert set(body["remove_labels"]) == {"ui", "priority::high"}
    assert body["assignee_ids"] == []
    assert "labels" not in body  # others' labels on the issue are left alone
    with pytest.raises(Invalid, match="Nothing to change"):
        await tracker.update_ticket(ticket.slug, TicketChanges())
    with pytest.raises(Unsupported, match="gitlab backend cannot keep sub-tasks"):
        await tracker.update_ticket(ticket.slug, TicketChanges(parent="WEB-2"))


async def test_versions_follow_gitlab_updated_at_and_a_stale_one_conflicts(tracker: GitLabTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Versioned", project="WEB"))).ticket
    changed = await tracker.update_ticket(ticket.slug, TicketChanges(title="Changed"), version=ticket.version)
    assert changed.version > ticket.version
    with pytest.raises(Conflict, match=f"at version {changed.version}, not {ticket.version}"):
        await tracker.update_ticket(ticket.slug, TicketChanges(title="Lost update"), version=ticket.version)
    with pytest.raises(Conflict):
        await tracker.move_ticket(ticket.slug, Status.TODO, version=ticket.version)


async def test_move_sets_the_status_label_and_closes_or_reopens(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Flow", project="WEB", labels=["ui"]))).ticket
    steps = [Status.TODO, Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE, Status.CANCELED, Status.TODO,
             Status.BACKLOG]  # fmt: skip
    seen: list[tuple[Status, str, list[str]]] = []
    for status in steps:
        moved = await tracker.move_ticket(ticket.slug, status)
        issue = stored(fake, 101, 1)
        seen.append((moved.status, issue["state"], sorted(issue["labels"])))
    assert seen == [
        (Status.TODO, "opened", ["status::todo", "ui"]),
        (Status.IN_PROGRESS, "opened", ["status::in_progress", "ui"]),
        (Status.IN_REVIEW, "opened", ["status::in_review", "ui"]),
        (Status.DONE, "closed", ["ui"]),
        (Status.CANCELED, "closed", ["status::canceled", "ui"]),
        (Status.TODO, "opened", ["status::todo", "ui"]),
        (Status.BACKLOG, "opened", ["ui"]),
    ]
    closes = [b.get("state_event") for b in sent(fake, "PUT", "/projects/101/issues/1")]
    assert closes == [None, None, None, "close", None, "reopen", None]
    puts = len(sent(fake, "PUT", "/issues/1"))
    await tracker.move_ticket(ticket.slug, Status.BACKLOG)  # already there: nothing to send
    assert len(sent(fake, "PUT", "/issues/1")) == puts
    with pytest.raises(Unsupported, match="gitlab backend cannot order tickets within a column"):
        await tracker.move_ticket(ticket.slug, Status.TODO, before="WEB-2")


async def test_unknown_slugs_and_issues_are_not_found(tracker: GitLabTracker) -> None:
    with pytest.raises(NotFound, match="Ticket WEB-99 not found"):
        await tracker.get_ticket("WEB-99")
    with pytest.raises(NotFound, match="none of your GitLab projects has the code NOPE"):
        await tracker.get_ticket("NOPE-1")
    with pytest.raises(Invalid, match="not a ticket slug"):
        await tracker.get_ticket("web#1")


# Labels both ways


def test_labels_read_as_status_type_priority_and_the_rest() -> None:
    fields = read_fields(["bug-bash", "Type::Bug", "priority::low", "priority::urgent", "status::blocked"], False)
    assert (fields.status, fields.type, fields.priority) == (Status.BACKLOG, TicketType.BUG, Priority.URGENT)
    assert fields.labels == ("bug-bash", "status::blocked")  # outside the vocabulary: an ordinary label
    assert read_fields(["status::todo", "status::in_review"], False).status is Status.IN_REVIEW
    assert read_fields(["status::done"], False).status is Status.BACKLOG  # the state wins: it is open
    assert read_fields(["status::todo"], True).status is Status.DONE  # closed without canceled: done
    assert read_fields(["status::canceled"], True).status is Status.CANCELED
    assert read_fields(["type::task", "priority::medium", "status::backlog"], False).labels == ()


def test_label_changes_replace_a_whole_scope_and_leave_other_labels() -> None:
    current = ["ui", "status::todo", "status::blocked", "priority::high"]
    assert label_delta(current, status=Status.IN_PROGRESS) == (
        ["status::in_progress"], ["status::todo", "status::blocked"],
    )  # fmt: skip
    assert label_delta(current, status=Status.DONE) == ([], ["status::todo", "status::blocked"])
    assert label_delta(current, priority=Priority.MEDIUM, labels=["UI", "api"]) == (
        ["api"], ["status::blocked", "priority::high"],
    )  # fmt: skip
    assert label_delta(current, labels=[]) == ([], ["ui", "status::blocked"])
    assert label_delta(current, kind=TicketType.TASK) == ([], [])


async def test_issues_labelled_in_gitlab_read_as_the_board_shows_them(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    await tracker.create_ticket(TicketDraft(title="From the UI", project="WEB"))
    stored(fake, 101, 1)["labels"] = ["status::in_review", "type::improvement", "priority::urgent", "perf"]
    ticket = (await tracker.get_ticket("WEB-1")).ticket
    assert (ticket.status, ticket.type, ticket.priority) == (Status.IN_REVIEW, TicketType.IMPROVEMENT, Priority.URGENT)
    assert [label.name for label in ticket.labels] == ["perf"]


# Listing


async def seed_tickets(tracker: GitLabTracker) -> list[str]:
    drafts = [
        TicketDraft(title="Alpha bug", project="WEB", type=TicketType.BUG, priority=Priority.HIGH, labels=["ui"]),
        TicketDraft(title="Beta task", project="WEB", status=Status.TODO, assignee="bob"),
        TicketDraft(title="Gamma feature", project="WEB", type=TicketType.FEATURE, status=Status.IN_PROGRESS),
        TicketDraft(title="Delta chore", project="WEB", status=Status.DONE, labels=["ui"]),
        TicketDraft(title="Epsilon idea", project="WEB", status=Status.CANCELED, priority=Priority.LOW),
        TicketDraft(title="Zeta backlog", project="WEB", assignee="me"),
        TicketDraft(title="Elsewhere", project="TRACKERMCP"),
    ]
    return [(await tracker.create_ticket(draft)).ticket.slug for draft in drafts]


def titles(page_tickets: Any) -> list[str]:
    return [t.title for t in page_tickets]


async def test_list_filters_map_to_gitlab_queries(tracker: GitLabTracker) -> None:
    await seed_tickets(tracker)

    async def listed(**filters: Any) -> list[str]:
        return titles((await tracker.list_tickets(TicketFilter(project="WEB", **filters))).tickets)

    assert await listed() == ["Zeta backlog", "Epsilon idea", "Delta chore", "Gamma feature", "Beta task",
                              "Alpha bug"]  # fmt: skip
    assert await listed(descending=False, limit=2) == ["Alpha bug", "Beta task"]
    assert await listed(statuses=[Status.TODO]) == ["Beta task"]
    assert await listed(statuses=[Status.DONE]) == ["Delta chore"]
    assert await listed(statuses=[Status.CANCELED]) == ["Epsilon idea"]
    assert await listed(statuses=[Status.DONE, Status.CANCELED]) == ["Epsilon idea", "Delta chore"]
    assert await listed(statuses=[Status.BACKLOG]) == ["Zeta backlog", "Alpha bug"]
    assert await listed(statuses=[Status.BACKLOG, Status.DONE]) == ["Zeta backlog", "Delta chore", "Alpha bug"]
    assert await listed(types=[TicketType.BUG]) == ["Alpha bug"]
    assert await listed(types=[TicketType.TASK]) == ["Zeta backlog", "Epsilon idea", "Delta chore", "Beta task"]
    assert await listed(priorities=[Priority.HIGH, Priority.LOW]) == ["Epsilon idea", "Alpha bug"]
    assert await listed(assignee="bob") == ["Beta task"]
    assert await listed(assignee="me") == ["Zeta backlog"]
    assert "Beta task" not in await listed(assignee="none")
    assert await listed(reporter="me", labels=["ui"]) == ["Delta chore", "Alpha bug"]
    assert await listed(text="gamma") == ["Gamma feature"]
    assert await listed(updated_since="2099-01-01") == []
    assert await listed(sort=TicketSort.UPDATED, limit=1) == ["Zeta backlog"]
    with pytest.raises(Unsupported, match="gitlab backend cannot sort by priority"):
        await listed(sort=TicketSort.PRIORITY)
    with pytest.raises(Unsupported, match="gitlab backend cannot keep sub-tasks"):
        await listed(parent="WEB-1")
    with pytest.raises(Invalid, match="limit must be 1-100"):
        await listed(limit=101)


@pytest.mark.parametrize(
    "filters",
    [
        {"statuses": [Status.BACKLOG]},
        {"statuses": [Status.BACKLOG, Status.DONE]},
        {"statuses": [Status.TODO, Status.IN_PROGRESS]},
        {"types": [TicketType.TASK]},
        {"priorities": [Priority.MEDIUM, Priority.HIGH]},
        {"statuses": [Status.BACKLOG, Status.TODO], "types": [TicketType.TASK]},
    ],
)
async def test_totals_gitlab_cannot_filter_at_once_are_counted_exactly(
    tracker: GitLabTracker, filters: dict[str, Any]
) -> None:
    await seed_tickets(tracker)
    everything = await tracker.list_tickets(TicketFilter(project="WEB", limit=100, **filters))
    assert everything.next_cursor is None and len(everything.tickets) >= 2
    first = await tracker.list_tickets(TicketFilter(project="WEB", limit=1, **filters))
    assert (first.total, first.total_capped) == (len(everything.tickets), False)
    assert first.tickets == everything.tickets[:1]


async def test_a_total_that_would_take_too_many_counts_is_a_marked_lower_bound(tracker: GitLabTracker) -> None:
    await seed_tickets(tracker)
    query = TicketFilter(project="WEB", limit=1, statuses=[Status.BACKLOG, Status.DONE], types=[TicketType.TASK])
    page = await tracker.list_tickets(query)  # 5 status queries x 4 type queries: more than 16
    assert (titles(page.tickets), page.total, page.total_capped) == (["Zeta backlog"], 2, True)


async def test_list_without_a_project_merges_every_group_and_personal_project(
    fake: FakeGitLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = fake.add_group(11, "acme/platform", "Platform", {})  # a subgroup: its issues come with acme's
    fake.add_project(110, platform, "infra", "Infra")
    fake.add_project(104, fake.users[1], "notes", "notes")
    monkeypatch.setattr(gitlab_paging, "PER_PAGE_MAX", 2)
    async with adapter_for(fake) as tracker:
        filed: list[str] = []
        for n, project in enumerate(["WEB", "DOTFILES", "INFRA", "NOTES", "TRACKERMCP", "DOTFILES", "WEB"]):
            draft = TicketDraft(title=f"Ticket {n}", project=project, status=Status.TODO if n % 2 else Status.BACKLOG)
            filed.append((await tracker.create_ticket(draft)).ticket.slug)
        for statuses, expected in (([], filed), ([Status.BACKLOG], filed[::2])):
            seen: list[str] = []
            cursor: str | None = None
            while True:
                page = await tracker.list_tickets(TicketFilter(statuses=statuses, limit=2, cursor=cursor))
                assert (page.total, page.total_capped) == (len(expected), False)
                seen += [t.slug for t in page.tickets]
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert seen == expected[::-1]  # newest first, across the lists
        lists = {r.url.path for r in fake.requests if r.url.path.endswith("/issues") and r.method == "GET"}
        assert lists == {"/api/v4/groups/10/issues", "/api/v4/projects/103/issues", "/api/v4/projects/104/issues"}
        by_group = await tracker.list_tickets(TicketFilter(organization="acme", limit=100))
        assert {t.slug for t in by_group.tickets} == {filed[0], filed[2], filed[4], filed[6]}


async def test_paging_follows_gitlab_pages_with_a_cursor(
    fake: FakeGitLab, tracker: GitLabTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gitlab_paging, "PER_PAGE_MAX", 2)  # so every listing spans several GitLab pages
    await seed_tickets(tracker)
    collected: list[str] = []
    cursor: str | None = None
    while True:
        page = await tracker.list_tickets(TicketFilter(project="WEB", limit=4, cursor=cursor, descending=False))
        assert page.total == 6 and not page.total_capped
        collected += titles(page.tickets)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert collected == ["Alpha bug", "Beta task", "Gamma feature", "Delta chore", "Epsilon idea", "Zeta backlog"]
    asked = [r.url.params for r in fake.requests if r.url.path.endswith("/projects/101/issues") and r.method == "GET"]
    assert [(p["page"], p["per_page"]) for p in asked[-3:]] == [("1", "2"), ("2", "2"), ("3", "2")]

    # Backlog is "open without a column label": GitLab cannot filter it, so pages of 2 are read and sifted,
    # and GitLab counts it as the open issues less those labelled for another open column.
    backlog: list[str] = []
    cursor = None
    while True:
        page = await tracker.list_tickets(
            TicketFilter(project="WEB", statuses=[Status.BACKLOG], limit=1, cursor=cursor)
        )
        assert (page.total, page.total_capped) == (2, False)
        backlog += titles(page.tickets)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert backlog == ["Zeta backlog", "Alpha bug"]
    counts = [r.url.params for r in fake.requests if r.url.params.get("per_page") == "1"]
    assert sorted(p.get("labels", "") for p in counts[:4]) == [
        "", "status::in_progress", "status::in_review", "status::todo",
    ]  # fmt: skip
    with pytest.raises(Invalid, match="cursor is not valid"):
        await tracker.list_tickets(TicketFilter(project="WEB", cursor="bm9wZQ"))


async def test_offset_paging_for_page_based_front_ends(tracker: GitLabTracker) -> None:
    await seed_tickets(tracker)
    page = await tracker.list_tickets(TicketFilter(project="WEB", limit=2, offset=3, descending=False))
    assert titles(page.tickets) == ["Delta chore", "Epsilon idea"]
    backlog = await tracker.list_tickets(TicketFilter(project="WEB", statuses=[Status.BACKLOG], offset=1))
    assert titles(backlog.tickets) == ["Alpha bug"]


async def test_board_columns_hold_their_tickets_and_counts(tracker: GitLabTracker) -> None:
    await seed_tickets(tracker)
    board = await tracker.get_board("WEB", per_column=1)
    assert board.project.code == "WEB"
    columns = {c.status: (c.total, titles(c.tickets)) for c in board.columns}
    assert columns == {
        Status.BACKLOG: (2, ["Alpha bug"]),  # GitLab's board order: oldest first
        Status.TODO: (1, ["Beta task"]),
        Status.IN_PROGRESS: (1, ["Gamma feature"]),
        Status.IN_REVIEW: (0, []),
        Status.DONE: (1, ["Delta chore"]),
        Status.CANCELED: (1, ["Epsilon idea"]),
    }
    with pytest.raises(Invalid, match="per_column"):
        await tracker.get_board("WEB", per_column=0)


# Deleting


async def test_delete_needs_a_project_owner_and_says_so(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Keep me", project="WEB"))).ticket
    await tracker.add_comment(ticket.slug, "Noted")
    impact = await tracker.ticket_deletion(ticket.slug)
    assert (impact.slug, impact.subtasks, impact.comments) == ("WEB-1", (), 1)
    with pytest.raises(PermissionDenied, match="only project owners and administrators may delete issues") as refusal:
        await tracker.delete_ticket(ticket.slug)
    assert refusal.value.hint and "move_ticket" in refusal.value.hint
    assert stored(fake, 101, 1)["title"] == "Keep me"


async def test_delete_removes_the_issue_where_the_user_owns_the_project(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Scratch", project="DOTFILES"))).ticket
    assert fake.level(1, fake.projects[103]) == OWNER
    impact = await tracker.delete_ticket(ticket.slug)
    assert impact.slug == "DOTFILES-1" and impact.comments == 0
    assert not fake.issues
    with pytest.raises(NotFound, match="Ticket DOTFILES-1 not found"):
        await tracker.delete_ticket(ticket.slug)


# Failures


async def test_rate_limiting_becomes_rate_limited_with_gitlabs_wait(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    fake.throttle = 1
    with pytest.raises(RateLimited, match="gitlab is rate limiting") as limited:
        await tracker.list_tickets(TicketFilter(project="WEB"))
    assert limited.value.retry_after == 1.0
    assert (await tracker.list_tickets(TicketFilter(project="WEB"))).total == 0


async def test_a_create_whose_answer_was_lost_returns_the_issue_gitlab_made(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    await tracker.create_ticket(TicketDraft(title="Earlier", project="WEB"))
    fake.drop_post_responses = 1
    ticket = (await tracker.create_ticket(TicketDraft(title="Lost answer", project="WEB", description="once"))).ticket
    assert ticket.slug == "WEB-2" and ticket.title == "Lost answer"
    assert sorted(i["title"] for i in fake.issues.values()) == ["Earlier", "Lost answer"]
    lookup = [r for r in fake.requests if r.method == "GET" and r.url.path.endswith("/projects/101/issues")][-1]
    assert lookup.url.params["author_id"] == "1" and lookup.url.params["order_by"] == "created_at"


async def test_a_create_that_never_landed_stays_ambiguous(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    fake.lose_posts = 1
    with pytest.raises(Ambiguous, match="may or may not have been applied"):
        await tracker.create_ticket(TicketDraft(title="Never arrived", project="WEB"))
    assert not fake.issues


async def test_project_management_is_unsupported_naming_gitlab(tracker: GitLabTracker) -> None:
    calls = [
        tracker.create_project("New one"),
        tracker.update_project("WEB", name="Renamed"),
        tracker.project_deletion("WEB"),
        tracker.delete_project("WEB"),
    ]
    for pending in calls:
        with pytest.raises(Unsupported, match="The gitlab backend cannot create, rename and delete projects"):
            await pending


# End to end through the MCP tools


async def test_the_tools_work_in_front_of_gitlab(fake: FakeGitLab) -> None:
    async with mcp_client(fake) as client:
        context = await call(client, "get_workspace_context")
        assert "backend: gitlab; it cannot" in context and "organization acme" in context
        slug = slug_of(await call(client, "create_ticket", project="WEB", title="Via MCP", type="bug"))
        assert slug == "WEB-1"
        await call(client, "move_ticket", slug=slug, status="in_review")
        assert slug in await call(client, "list_tickets", project="WEB", status=["in_review"])
        assert "## in_review (1)" in await call(client, "get_board", project="WEB")
        assert "only project owners" in await call_error(client, "delete_ticket", slug=slug, confirm=True)
        assert "cannot create, rename and delete projects" in await call_error(client, "create_project", name="Nope")


async def test_an_issue_gitlab_answers_for_another_slug_is_refused_not_shown_or_changed(
    fake: FakeGitLab, tracker: GitLabTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hostile or broken server answering issue 2 when asked for issue 1 must not have issue 2 shown, or
    # written to, under issue 1's slug.
    first = (await tracker.create_ticket(TicketDraft(title="Asked for", project="WEB"))).ticket
    await tracker.create_ticket(TicketDraft(title="Answered instead", project="WEB"))
    honest = fake.get_issue

    def next_one(me: User, params: httpx2.QueryParams, body: dict[str, Any], pid: int, iid: int) -> httpx2.Response:
        return honest(me, params, body, pid, iid + 1)

    monkeypatch.setattr(fake, "get_issue", next_one)
    with pytest.raises(BackendUnavailable, match=f"asked for {first.slug}"):
        await tracker.get_ticket(first.slug)
    with pytest.raises(BackendUnavailable):
        await tracker.update_ticket(first.slug, TicketChanges(title="Written to the wrong issue"))
    monkeypatch.undo()
    assert [t.title for t in (await tracker.list_tickets(TicketFilter(project="WEB"))).tickets] == [
        "Answered instead",
        "Asked for",
    ]
