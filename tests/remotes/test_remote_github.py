"""The github backend's own behaviour, beyond the contract: how GitHub's state, state_reason, labels and
issue types read as columns, types and priorities; pull requests left out; Link paging; rate limits;
and that the referee (GitHub's OpenAPI description) catches a request it does not define. Every test
runs the adapter against the fake GitHub behind SpecTransport and ends with no violation recorded."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest

from tests.fixtures.fake_github import FakeGitHub, Repo
from tests.fixtures.github_peer import TOKEN, GitHubPeer, standard_world
from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import Priority, Status, TicketSort, TicketType
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied, RateLimited, Unsupported
from tickets_mcp.remotes import github, github_listing
from tickets_mcp.remotes.base import PartlyFiled
from tickets_mcp.remotes.github import GitHubTracker, api_url, open_adapter
from tickets_mcp.remotes.github_directory import next_link
from tickets_mcp.remotes.github_mapping import changed_labels, scope_of
from tickets_mcp.wire.github import GitHubIssue, Issues

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> FakeGitHub:
    return standard_world()


@pytest.fixture
def peer(fake: FakeGitHub) -> Iterator[GitHubPeer]:
    github = GitHubPeer(fake)
    yield github
    assert github.transport.violations == []


@pytest.fixture
async def tracker(peer: GitHubPeer) -> AsyncIterator[GitHubTracker]:
    opened = await peer.open()
    assert isinstance(opened, GitHubTracker)
    yield opened
    await opened.aclose()


@pytest.fixture
def web(fake: FakeGitHub) -> Repo:
    return fake.repos["acme/web"]


async def test_every_request_carries_the_token_as_bearer_and_the_api_version(
    fake: FakeGitHub, tracker: GitHubTracker
) -> None:
    await tracker.list_projects()
    for request in fake.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
    assert api_url("https://github.com/") == "https://api.github.com/"
    assert api_url("https://ghe.example.com/api/v3") == "https://ghe.example.com/api/v3/"


async def test_an_enterprise_server_is_reached_under_api_v3() -> None:
    fake = FakeGitHub(prefix="/api/v3")
    fake.add_person("alice", "Alice Liddell", token=TOKEN)
    repo = fake.add_repo("alice", "notes")
    for n in range(120):
        fake.file(repo, "alice", f"Note {n}")
    transport = fake.transport()
    settings = RemoteSettings("github", "https://ghe.example.com/api/v3", TOKEN)
    tracker = await open_adapter(settings, transport=transport)
    try:
        page = await tracker.list_tickets(TicketFilter(project="notes", limit=100))
    finally:
        await tracker.aclose()
    assert (page.total, page.tickets[0].slug) == (120, "NOTES-120")
    paths = [r.url.path for r in fake.requests]
    assert paths == [
        "/api/v3/user",
        "/api/v3/user/repos",
        "/api/v3/repos/alice/notes/issues",
        "/api/v3/repos/alice/notes/issues",
    ]
    assert all(r.url.host == "ghe.example.com" for r in fake.requests)
    assert transport.violations == []


async def test_owners_are_organizations_and_repositories_with_issues_are_projects(tracker: GitHubTracker) -> None:
    assert sorted(o.slug for o in await tracker.list_organizations()) == ["acme", "alice"]
    assert sorted(p.name for p in await tracker.list_projects("acme")) == ["web"]  # not archived, not issueless
    workspace = await tracker.workspace()
    acme = next(entry for entry in workspace.organizations if entry.organization.slug == "acme")
    assert acme.role.value == "admin"
    assert [m.user.username for m in acme.members] == ["alice", "bob"]  # those GitHub lets be assigned
    mine = next(entry for entry in workspace.organizations if entry.organization.slug == "alice")
    assert mine.role.value == "owner"


async def test_state_and_state_reason_and_labels_read_as_the_columns(
    fake: FakeGitHub, tracker: GitHubTracker, web: Repo
) -> None:
    fake.file(web, "bob", "Done", state_reason="completed")
    fake.file(web, "bob", "Won't do", state_reason="not_planned")
    fake.file(web, "bob", "Same as another", state_reason="duplicate")
    fake.file(web, "bob", "Spelled loosely", labels=["Status: In-Progress"])
    fake.file(web, "bob", "Two columns", labels=["status: todo", "status::in_review"])
    fake.file(web, "bob", "Closed, stale label", labels=["status: todo"], state_reason="completed")
    fake.file(web, "bob", "Typed by GitHub", issue_type="Bug")
    fake.file(web, "bob", "Label beats type", labels=["type: feature"], issue_type="Bug")
    fake.file(web, "bob", "Odd priority", labels=["priority: p0"])
    page = await tracker.list_tickets(TicketFilter(project="web", limit=100))
    seen = {t.title: t for t in page.tickets}
    assert {title: seen[title].status for title in seen} == {
        "Checkout fails": Status.BACKLOG, "Done": Status.DONE, "Won't do": Status.CANCELED,
        "Same as another": Status.CANCELED, "Spelled loosely": Status.IN_PROGRESS, "Two columns": Status.IN_REVIEW,
        "Closed, stale label": Status.DONE, "Typed by GitHub": Status.BACKLOG, "Label beats type": Status.BACKLOG,
        "Odd priority": Status.BACKLOG,
    }  # fmt: skip
    assert [label.name for label in seen["Closed, stale label"].labels] == ["status: todo"]
    assert (seen["Typed by GitHub"].type, seen["Label beats type"].type) == (TicketType.BUG, TicketType.FEATURE)
    assert (seen["Odd priority"].priority, [x.name for x in seen["Odd priority"].labels]) == (
        Priority.MEDIUM, ["priority: p0"],
    )  # fmt: skip
    assert (seen["Checkout fails"].type, seen["Checkout fails"].priority) == (TicketType.BUG, Priority.HIGH)


async def test_moves_write_state_reason_and_status_labels(fake: FakeGitHub, tracker: GitHubTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Moving", project="web", status=Status.TODO))).ticket
    issue = next(i for i in fake.issues if i.id == ticket.id)
    assert (issue.state, issue.labels) == ("open", ["status: todo"])
    await tracker.move_ticket(ticket.slug, Status.IN_PROGRESS)
    assert (issue.state, issue.labels) == ("open", ["status: in progress"])
    await tracker.move_ticket(ticket.slug, Status.DONE)
    assert (issue.state, issue.state_reason, issue.labels) == ("closed", "completed", [])
    canceled = await tracker.move_ticket(ticket.slug, Status.CANCELED)  # reopened, then closed as not planned
    assert (issue.state, issue.state_reason, canceled.status) == ("closed", "not_planned", Status.CANCELED)
    back = await tracker.move_ticket(ticket.slug, Status.IN_REVIEW)
    assert (issue.state, issue.labels, back.status) == ("open", ["status: in review"], Status.IN_REVIEW)


def test_label_vocabulary_and_replacement() -> None:
    assert scope_of("Priority: URGENT") == ("priority", "urgent")
    assert scope_of("status: done") is None  # done and canceled are the state, never a label
    assert scope_of("bug") is None
    issue = GitHubIssue.model_validate(
        {"id": 1, "number": 1, "title": "t", "state": "open", "created_at": "2026-01-01T00:00:00Z",
         "updated_at": "2026-01-01T00:00:00Z", "labels": ["ui", "status: todo", "priority: p0", {"name": "type: bug"}]}
    )  # fmt: skip
    assert changed_labels(issue, status=Status.IN_REVIEW) == ["ui", "priority: p0", "type: bug", "status: in review"]
    assert changed_labels(issue, priority=Priority.LOW, labels=["api"]) == [
        "status: todo", "type: bug", "api", "priority: low",
    ]  # fmt: skip
    with pytest.raises(Invalid, match="sets the ticket's status"):
        changed_labels(issue, labels=["status: in progress"])


async def test_pull_requests_are_not_tickets(fake: FakeGitHub, tracker: GitHubTracker, web: Repo) -> None:
    page = await tracker.list_tickets(TicketFilter(project="web"))
    assert [t.title for t in page.tickets] == ["Checkout fails"]
    assert page.total == 1
    pull = next(i for i in fake.issues if i.pull_request)
    with pytest.raises(NotFound, match="pull request"):
        await tracker.get_ticket(f"WEB-{pull.number}")


async def test_a_listing_reads_pages_only_as_far_as_it_needs_and_search_counts_it(
    fake: FakeGitHub, tracker: GitHubTracker, web: Repo
) -> None:
    for n in range(230):
        fake.file(web, "bob", f"Issue {n}")
    await tracker.list_projects()  # the repositories, read once and kept for five minutes
    fake.requests.clear()
    page = await tracker.list_tickets(TicketFilter(project="web", limit=100))
    assert (page.total, page.total_capped, len(page.tickets)) == (231, False, 100)
    assert page.tickets[0].title == "Issue 229"
    lists = [r.url.params for r in fake.requests if r.url.path == "/repos/acme/web/issues"]
    assert [(p["page"], p["per_page"], p["sort"], p["direction"]) for p in lists] == [
        ("1", "100", "created", "desc"), ("2", "100", "created", "desc"),  # 100 found, then is a 101st there?
    ]  # fmt: skip
    (count,) = [r.url.params for r in fake.requests if r.url.path == "/search/issues"]
    assert (count["q"], count["per_page"]) == ("repo:acme/web is:issue", "1")  # counted once, on the first page
    fake.requests.clear()
    rest = await tracker.list_tickets(TicketFilter(project="web", limit=100, cursor=page.next_cursor))
    assert (rest.tickets[0].title, rest.total, rest.total_capped) == ("Issue 129", 231, False)
    assert [r.url.params["page"] for r in fake.requests] == ["2", "3"]  # the count came in the cursor
    header = '<https://api.github.com/x?page=3>; rel="next", <https://api.github.com/x?page=9>; rel="last"'
    assert next_link({"link": header}) == "https://api.github.com/x?page=3"


async def test_a_default_listing_costs_the_same_few_requests_however_big_the_repository(
    fake: FakeGitHub, tracker: GitHubTracker, web: Repo
) -> None:
    for n in range(1000):
        fake.file(web, "bob", f"Issue {n}", pull_request=n % 10 == 0)  # pull requests are skipped on the way
    await tracker.list_projects()  # the repositories, read once and kept for five minutes
    fake.requests.clear()
    first = await tracker.list_tickets(TicketFilter(project="web", limit=50))
    assert len(fake.requests) == 2  # one page of 100 issues, one search counting them
    assert (first.total, first.total_capped) == (901, False)
    fake.requests.clear()
    second = await tracker.list_tickets(TicketFilter(project="web", limit=50, cursor=first.next_cursor))
    assert [r.url.params["page"] for r in fake.requests] == ["1", "2"]  # the rest of page 1, then page 2
    fake.requests.clear()
    third = await tracker.list_tickets(TicketFilter(project="web", limit=50, cursor=second.next_cursor))
    assert [(r.url.path, r.url.params["page"]) for r in fake.requests] == [("/repos/acme/web/issues", "2")]
    newest = [f"Issue {n}" for n in reversed(range(1000)) if n % 10]
    assert [t.title for t in (*first.tickets, *second.tickets, *third.tickets)] == newest[:150]
    assert (third.total, third.total_capped) == (901, False)
    fake.requests.clear()
    deep = await tracker.list_tickets(TicketFilter(project="web", limit=50, offset=200))
    assert [t.title for t in deep.tickets] == newest[200:250]  # an offset costs the pages up to it
    assert [r.url.params["page"] for r in fake.requests if r.url.path == "/repos/acme/web/issues"] == ["1", "2", "3"]


async def test_a_status_column_is_sifted_while_reading_and_stops_early_with_a_lower_bound(
    fake: FakeGitHub, tracker: GitHubTracker, web: Repo
) -> None:
    for n in range(1000):
        fake.file(web, "bob", f"Issue {n}", labels=["status: in progress"] if n % 4 == 0 else [])
    await tracker.list_projects()  # the repositories, read once and kept for five minutes
    fake.requests.clear()
    page = await tracker.list_tickets(TicketFilter(project="web", statuses=[Status.IN_PROGRESS], limit=20))
    assert [t.title for t in page.tickets] == [f"Issue {n}" for n in range(996, 916, -4)]
    (only,) = fake.requests  # 25 of the first 100 open issues are in progress: no page more, no count
    assert (only.url.params["state"], only.url.params["page"]) == ("open", "1")
    assert (page.total, page.total_capped) == (21, True)  # search cannot count loosely spelled labels
    fake.requests.clear()
    following = await tracker.list_tickets(
        TicketFilter(project="web", statuses=[Status.IN_PROGRESS], limit=20, cursor=page.next_cursor)
    )
    assert following.tickets[0].title == "Issue 916"
    assert [r.url.params["page"] for r in fake.requests] == ["1", "2"]  # 5 left on page 1, then page 2


async def test_once_the_search_budget_is_spent_a_listing_is_not_counted_rather_than_wait(
    fake: FakeGitHub, tracker: GitHubTracker, web: Repo
) -> None:
    for n in range(230):
        fake.file(web, "bob", f"Issue {n}")
    fake.search_remaining = 0  # the next search answer says the 30 a minute are spent
    counted = await tracker.list_tickets(TicketFilter(project="web", limit=50))
    assert (counted.total, counted.total_capped) == (231, False)
    fake.requests.clear()
    uncounted = await tracker.list_tickets(TicketFilter(project="web", limit=50))
    assert [r.url.path for r in fake.requests] == ["/repos/acme/web/issues"]  # no search until the reset
    assert (uncounted.total, uncounted.total_capped) == (51, True)  # a lower bound, said to be one


async def test_a_spent_search_budget_leaves_out_the_look_alike_check_not_the_ticket(
    fake: FakeGitHub, tracker: GitHubTracker, caplog: pytest.LogCaptureFixture
) -> None:
    fake.searches_left = 10  # GitHub's search allows 30 a minute: say they are spent after 10
    titles = [f"Payment gateway timeout number {n}" for n in range(20)]
    with caplog.at_level(logging.INFO, logger="tickets_mcp.remotes.base"):
        batch = await tracker.create_tickets(
            [TicketDraft(project="web", title=t, check_duplicates=True) for t in titles]
        )
    assert [getattr(o, "title", o) for o in batch.outcomes] == titles
    assert [i.title for i in fake.issues if i.title.startswith("Payment")] == titles
    assert "look-alike check was left out" in caplog.text and "rate limiting" in caplog.text


async def test_a_list_read_to_its_page_limit_fetches_no_page_past_it(
    fake: FakeGitHub, tracker: GitHubTracker, web: Repo
) -> None:
    for n in range(250):
        fake.file(web, "bob", f"Issue {n}")
    fake.requests.clear()
    issues, complete = await tracker.github.pages("repos/acme/web/issues", {"state": "all"}, Issues, "issues", 2)
    assert (len(issues), complete, len(fake.requests)) == (200, False, 2)


async def test_the_workspace_reads_a_bounded_number_of_assignee_lists(fake: FakeGitHub, tracker: GitHubTracker) -> None:
    """Every owner's first repository's assignees, then the owners' next ones while MEMBER_READS lasts:
    32 owners (30 of 3 repositories) cost 40 assignee reads, not 92."""
    for o in range(30):
        fake.add_person(f"org{o}", f"Org {o}", kind="Organization")
        fake.add_person(f"dev{o}", f"Dev {o}")
        for r in range(3):
            fake.add_repo(f"org{o}", f"repo{r}", {"alice": "push", f"dev{o}": "push"})
    fake.requests.clear()
    workspace = await tracker.workspace()
    read = [r.url.path.split("/")[2:4] for r in fake.requests if r.url.path.endswith("/assignees")]
    assert len(read) == github.MEMBER_READS == 40
    assert {owner for owner, _ in read} == {e.organization.slug for e in workspace.organizations}  # each, once first
    assert sorted(name for _, name in read).count("repo0") == 30 and "repo2" not in {name for _, name in read}
    members = {e.organization.slug: [m.user.username for m in e.members] for e in workspace.organizations}
    assert members["org29"] == ["alice", "dev29"] and members["acme"] == ["alice", "bob"]


async def test_repositories_are_merged_newest_first_reading_one_page_of_each(
    fake: FakeGitHub, tracker: GitHubTracker, web: Repo
) -> None:
    notes = fake.repos["alice/notes"]
    for n in range(300):
        fake.file(web if n % 2 else notes, "alice", f"Issue {n}")
    await tracker.list_projects()  # the repositories, read once and kept for five minutes
    fake.requests.clear()
    page = await tracker.list_tickets(TicketFilter(limit=50))
    assert [t.title for t in page.tickets] == [f"Issue {n}" for n in range(299, 249, -1)]
    lists = sorted(r.url.path for r in fake.requests if r.url.path != "/search/issues")
    assert lists == ["/repos/acme/web/issues", "/repos/alice/notes/issues"]
    (count,) = [r.url.params["q"] for r in fake.requests if r.url.path == "/search/issues"]
    assert (count, page.total) == ("repo:acme/web repo:alice/notes is:issue", 302)
    rest = await tracker.list_tickets(TicketFilter(limit=50, cursor=page.next_cursor))
    assert rest.tickets[0].title == "Issue 249"


async def test_what_a_listing_cannot_do_cheaply_is_refused(
    tracker: GitHubTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(Unsupported, match="github backend cannot sort by priority"):
        await tracker.list_tickets(TicketFilter(project="web", sort=TicketSort.PRIORITY))
    monkeypatch.setattr(github_listing, "MERGED_REPOSITORIES", 1)
    with pytest.raises(Invalid, match="merges at most 1"):
        await tracker.list_tickets(TicketFilter())
    assert (await tracker.list_tickets(TicketFilter(organization="acme"))).total == 1
    with pytest.raises(Invalid, match="cursor or offset"):
        await tracker.list_tickets(TicketFilter(project="web", offset=1, cursor="e30"))


async def test_text_goes_through_the_search_api(fake: FakeGitHub, tracker: GitHubTracker, web: Repo) -> None:
    fake.file(web, "bob", "Dark mode", "Respect the system setting")
    await tracker.list_projects()  # the repositories, read once and kept for five minutes
    fake.requests.clear()
    page = await tracker.list_tickets(TicketFilter(project="web", text="system"))
    assert [t.title for t in page.tickets] == ["Dark mode"]
    (search,) = fake.requests  # the search is the list: no repository's issues are read
    assert search.url.params["q"] == '"system" repo:acme/web is:issue in:title,body'
    assert (search.url.params["sort"], search.url.params["order"]) == ("created", "desc")
    fake.file(fake.repos["alice/notes"], "alice", "System notes")
    fake.requests.clear()
    everywhere = await tracker.list_tickets(TicketFilter(text="system", reporter="alice"))
    assert [t.title for t in everywhere.tickets] == ["System notes"]
    (search,) = fake.requests  # one search for every repository, GitHub's filters as qualifiers
    assert search.url.params["q"] == '"system" repo:acme/web repo:alice/notes is:issue author:alice in:title,body'


async def test_what_a_caller_names_stays_data_in_the_search_query(
    fake: FakeGitHub, tracker: GitHubTracker, web: Repo
) -> None:
    """A login or label is data: never a qualifier added to the search (`repo:` widening it, say)."""
    await tracker.list_projects()
    fake.requests.clear()
    hostile = "alice repo:acme/secret"
    for query in (
        TicketFilter(project="web", text="x", assignee=hostile),
        TicketFilter(project="web", reporter=hostile),
    ):
        with pytest.raises(Invalid, match="is not a GitHub login"):
            await tracker.list_tickets(query)
    assert fake.requests == []  # refused before anything was sent
    fake.file(web, "bob", "Quoted label", "body words", labels=['say "hi"'])
    fake.requests.clear()
    page = await tracker.list_tickets(TicketFilter(project="web", text="words", labels=['say "hi"']))
    assert [t.title for t in page.tickets] == ["Quoted label"]  # the label is sifted here, not searched
    (search,) = fake.requests
    assert search.url.params["q"] == '"words" repo:acme/web is:issue in:title,body'
    fake.requests.clear()
    await tracker.list_tickets(TicketFilter(project="web", text="words", labels=['x" repo:acme/secret "']))
    assert all("acme/secret" not in r.url.params.get("q", "") for r in fake.requests)


async def test_assigned_to_anyone_is_sifted_never_searched_as_a_qualifier(
    fake: FakeGitHub, tracker: GitHubTracker, web: Repo
) -> None:
    """GitHub's search has no `assignee:*`: it would look for a user named '*'. The list API takes it."""
    slow = fake.file(web, "bob", "Checkout is slow", assignees=["bob"])
    for n in range(3):
        fake.file(web, "bob", f"Checkout step {n}")
    fake.requests.clear()
    page = await tracker.list_tickets(TicketFilter(project="web", text="checkout", assignee="*", limit=1))
    assert [t.slug for t in page.tickets] == [f"WEB-{slow.number}"]
    searches = [r.url.params["q"] for r in fake.requests if r.url.path == "/search/issues"]
    assert searches and all("assignee" not in q for q in searches)
    listed = await tracker.list_tickets(TicketFilter(project="web", assignee="*"))
    assert [t.slug for t in listed.tickets] == [f"WEB-{slow.number}"]


@pytest.mark.parametrize("mode", ["primary", "secondary", "too_many"])  # 403 remaining 0, 403 Retry-After, 429
async def test_rate_limits_become_rate_limited_with_the_wait(
    fake: FakeGitHub, tracker: GitHubTracker, mode: str
) -> None:
    await tracker.list_projects()  # the repositories are read; the next request is refused
    fake.limit = mode
    # primary: until x-ratelimit-reset (an epoch second, 120 s on the fake's clock); secondary: Retry-After
    wait = {"primary": fake.now.timestamp() + 120 - time.time(), "secondary": 60, "too_many": 30}[mode]
    with pytest.raises(RateLimited, match="github is rate limiting") as limited:
        await tracker.list_tickets(TicketFilter(project="web"))
    assert abs(limited.value.retry_after - wait) <= 2
    assert fake.requests[-1].url.path == "/repos/acme/web/issues"  # refused once, not retried past the deadline
    assert (await tracker.list_tickets(TicketFilter(project="web"))).total == 1


async def test_sub_issues_are_sub_tasks_and_filter_by_parent(tracker: GitHubTracker) -> None:
    parent = (await tracker.create_ticket(TicketDraft(title="Epic", project="web"))).ticket
    child = (await tracker.create_ticket(TicketDraft(title="Part", project="web", parent=parent.slug))).ticket
    other = (await tracker.create_ticket(TicketDraft(title="Elsewhere", project="web"))).ticket
    assert child.parent == parent.slug
    found = await tracker.list_tickets(TicketFilter(project="web", parent=parent.slug))
    assert [t.slug for t in found.tickets] == [child.slug]
    moved = await tracker.update_ticket(other.slug, TicketChanges(parent=parent.slug))
    assert moved.parent == parent.slug
    assert [t.slug for t in (await tracker.get_ticket(parent.slug)).subtasks] == [child.slug, other.slug]
    freed = await tracker.update_ticket(child.slug, TicketChanges(parent="none"))
    assert freed.parent is None
    assert [t.slug for t in (await tracker.get_ticket(parent.slug)).subtasks] == [other.slug]


async def test_the_parent_filter_reads_the_parents_sub_issues_not_the_repository(
    fake: FakeGitHub, tracker: GitHubTracker, web: Repo
) -> None:
    """Three pages of newer issues do not cost the filter a page each: it reads the parent's sub-issues (which
    the fake lists oldest first) and sorts them as asked."""
    epic = (await tracker.create_ticket(TicketDraft(title="Epic", project="web"))).ticket
    first = (await tracker.create_ticket(TicketDraft(title="First part", project="web"))).ticket
    second = (await tracker.create_ticket(TicketDraft(title="Second part", project="web", parent=epic.slug))).ticket
    await tracker.update_ticket(first.slug, TicketChanges(parent=epic.slug))
    for n in range(250):
        fake.file(web, "bob", f"Newer {n}")
    fake.requests.clear()
    newest = await tracker.list_tickets(TicketFilter(project="web", parent=epic.slug))
    oldest = await tracker.list_tickets(TicketFilter(project="web", parent=epic.slug, descending=False, limit=1))
    assert [t.slug for t in newest.tickets] == [second.slug, first.slug] and newest.total == 2
    assert [t.slug for t in oldest.tickets] == [first.slug] and oldest.total == 2 and oldest.next_cursor
    after = await tracker.list_tickets(
        TicketFilter(project="web", parent=epic.slug, descending=False, limit=1, cursor=oldest.next_cursor)
    )
    assert [t.slug for t in after.tickets] == [second.slug] and after.next_cursor is None
    assert not any(r.url.path == "/repos/acme/web/issues" for r in fake.requests)
    assert len(fake.requests) <= 6  # three listings: the parent and its sub-issues each


async def test_a_parent_github_refuses_after_filing_says_what_was_filed_and_a_retry_gets_it(
    fake: FakeGitHub, tracker: GitHubTracker
) -> None:
    """The fake, like GitHub, takes sub-issues of the parent's owner only: the issue is filed, then adding it under
    alice's NOTES-1 fails. The caller learns the slug, and a retry with the same key files no twin."""
    elsewhere = (await tracker.create_ticket(TicketDraft(title="Notes epic", project="notes"))).ticket
    draft = TicketDraft(title="Part of the notes", project="web", parent=elsewhere.slug, idempotency_key="k1")
    with pytest.raises(PartlyFiled, match=r"^Filed WEB-\d+ \(backlog, task, medium\) without its parent NOTES-\d+: "):
        await tracker.create_ticket(draft)
    filed = [i for i in fake.issues if i.title == "Part of the notes"]
    assert len(filed) == 1 and filed[0].parent is None
    again = (await tracker.create_ticket(draft)).ticket
    assert again.slug == f"WEB-{filed[0].number}" and again.parent is None
    assert len([i for i in fake.issues if i.title == "Part of the notes"]) == 1


async def test_an_assignee_github_would_drop_is_refused_before_filing(fake: FakeGitHub, tracker: GitHubTracker) -> None:
    with pytest.raises(Invalid, match="'carol' cannot be assigned"):
        await tracker.create_ticket(TicketDraft(title="For carol", project="web", assignee="carol"))
    assert not any(i.title == "For carol" for i in fake.issues)


@pytest.mark.parametrize("login", ["../../../../user", "bob/../../../../user", "x?y=1", "bob#junk", "bob\\x"])
async def test_an_assignee_that_is_no_login_is_refused_before_anything_is_sent(
    fake: FakeGitHub, tracker: GitHubTracker, web: Repo, login: str
) -> None:
    """A login goes into a URL path (`repos/{owner}/{repo}/assignees/{login}`): `../../../../user` would
    reach GET /user, which answers 200, and pass the check. Only a GitHub login, 'me' or 'none' is taken."""
    existing = fake.file(web, "bob", "Assign me")
    await tracker.list_projects()
    fake.requests.clear()
    with pytest.raises(Invalid, match="is not a GitHub login") as refused:
        await tracker.create_ticket(TicketDraft(title="Injected", project="web", assignee=login, check_duplicates=True))
    assert refused.value.field == "assignee"
    with pytest.raises(Invalid, match="is not a GitHub login") as refused:
        await tracker.update_ticket(f"WEB-{existing.number}", TicketChanges(assignee=login))
    assert refused.value.field == "assignee"
    assert fake.requests == []  # refused before anything was sent
    assert not any(i.title == "Injected" for i in fake.issues)
    mine = await tracker.create_ticket(TicketDraft(title="Mine", project="web", assignee=" Me "))
    assert mine.ticket.assignee == "alice"


async def test_labels_github_dropped_for_want_of_push_access_are_reported(fake: FakeGitHub, peer: GitHubPeer) -> None:
    fake.tokens["github_pat_carol"] = "carol"  # carol may only read acme/web
    tracker = await peer.open(token="github_pat_carol")
    try:
        with pytest.raises(PermissionDenied, match="without its labels"):
            await tracker.create_ticket(TicketDraft(title="Labelled", project="web", labels=("ui",)))
    finally:
        await tracker.aclose()


async def test_a_request_the_description_does_not_define_is_caught(peer: GitHubPeer) -> None:
    async with httpx2.AsyncClient(transport=peer.transport, base_url="https://api.github.com") as client:
        headers = {"authorization": f"Bearer {TOKEN}"}
        deleting = await client.delete("/repos/acme/web/issues/1", headers=headers)  # GitHub cannot delete issues
        by_priority = await client.get("/repos/acme/web/issues", params={"sort": "priority"}, headers=headers)
        untitled = await client.post("/repos/acme/web/issues", json={"body": "no title"}, headers=headers)
    assert (deleting.status_code, by_priority.status_code, untitled.status_code) == (400, 400, 400)
    deleted, sorted_by, titled = peer.transport.violations
    assert deleted.startswith("DELETE /repos/acme/web/issues/1: Operation delete not found")
    assert "sort" in sorted_by and "title" in titled
    assert peer.fake.requests == []  # none of them reached the fake
    peer.transport.violations.clear()  # caught, as they must be: the fixture's check is for the other tests
