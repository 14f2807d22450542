"""The linear adapter's mapping, paging and errors, against the fake Linear (tests/fixtures/fake_linear.py),
which executes every request against Linear's published GraphQL schema; each test ends by asserting the
adapter sent nothing that schema does not define."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, cast

import httpx2
import pytest
from graphql import parse, validate

from mcp import Client
from tests.fixtures.fake_linear import KEY, SCHEMA_FILE, FakeLinear, linear_schema, standard_world
from tests.fixtures.remote_contract import walk
from tests.fixtures.tool_calls import call, call_error, slug_of
from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.backend import REMOTE_CALLER
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import Priority, Status, TicketSort, TicketType
from tickets_mcp.errors import BackendUnavailable, Invalid, NotFound, PermissionDenied, RateLimited, Unsupported
from tickets_mcp.mcp.server import AppState, create_server
from tickets_mcp.remotes import linear, linear_graphql
from tickets_mcp.remotes.client import Ambiguous, Policy, TokenRejected, retry_after
from tickets_mcp.remotes.linear import LinearTracker, open_adapter
from tickets_mcp.remotes.linear_graphql import authorization, linear_root
from tickets_mcp.remotes.linear_mapping import status_of
from tickets_mcp.wire.linear import IssuesData, LinearState

pytestmark = pytest.mark.anyio

QUICK = Policy(timeout=2.0, deadline=5.0, retries=0, backoff=0.01)


@pytest.fixture
def fake() -> Iterator[FakeLinear]:
    world = standard_world()
    world.add_team("ENG", "Engineering")
    yield world
    assert world.violations == []


async def opened(fake: FakeLinear, token: str = KEY, policy: Policy = QUICK) -> LinearTracker:
    settings = RemoteSettings("linear", "https://api.linear.app", token)
    return await open_adapter(settings, policy=policy, transport=fake.transport())


@pytest.fixture
async def tracker(fake: FakeLinear) -> AsyncIterator[LinearTracker]:
    adapter = await opened(fake)
    yield adapter
    await adapter.aclose()


def team(fake: FakeLinear, key: str = "ENG") -> dict[str, object]:
    return next(t for t in fake.teams.values() if t["key"] == key)


# The documents and the schema


def test_the_vendored_schema_is_the_file_source_md_names() -> None:
    source = (SCHEMA_FILE.parent / "SOURCE.md").read_text(encoding="utf-8")
    named = re.search(r"sha256 `([0-9a-f]{64})`", source)
    assert named is not None
    assert hashlib.sha256(gzip.decompress(SCHEMA_FILE.read_bytes())).hexdigest() == named.group(1)


def test_every_document_the_adapter_sends_validates_against_linears_schema() -> None:
    schema = linear_schema()
    documents = [value for name, value in vars(linear_graphql).items() if name.isupper() and isinstance(value, str)]
    sent = [d for d in documents if d.lstrip().startswith(("query", "mutation"))]
    assert set(sent) == set(linear_graphql.DOCUMENTS) and len(sent) == 21
    for document in sent:
        assert validate(schema, parse(document)) == [], document.split("(")[0]


def test_the_peer_refuses_what_the_schema_does_not_define_and_records_it(fake: FakeLinear) -> None:
    fake.keys["lin_api_probe"] = next(iter(fake.users))
    unknown_field = fake.run("query Probe { viewer { id shoeSize } }", {})
    assert unknown_field.status_code == 400
    assert unknown_field.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    wrong_variable = fake.run("query Probe($first: Int) { issues(first: $first) { nodes { id } } }", {"first": "x"})
    assert wrong_variable.status_code == 400
    unknown_argument = fake.run('query Probe { issue(identifier: "ENG-1") { id } }', {})
    assert unknown_argument.status_code == 400
    not_a_date = fake.run(
        "query Probe($f: IssueFilter) { issues(filter: $f) { nodes { id } } }", {"f": {"updatedAt": {"gt": "soon"}}}
    )
    assert not_a_date.status_code == 400
    assert len(fake.violations) == 5 and "shoeSize" in fake.violations[0]
    assert "$first" in fake.violations[1] and "identifier" in fake.violations[2] and "soon" in fake.violations[4]
    fake.violations.clear()  # recorded as they should be; the fixture checks nothing else was


def test_the_peers_answers_hold_datetimes_as_the_schema_describes_them(fake: FakeLinear) -> None:
    fake.keys["lin_api_probe"] = next(iter(fake.users))
    fake.viewer = next(iter(fake.users.values()))
    issue = fake.file_issue(team(fake), "bob", "Dated")
    assert fake.run("query Probe { issues { nodes { createdAt } } }", {}).status_code == 200
    issue["createdAt"] = "yesterday"
    spoiled = fake.run("query Probe { issues { nodes { createdAt } } }", {})
    assert spoiled.status_code == 400 and "DateTime" in fake.violations[-1]
    fake.violations.clear()


async def test_a_document_the_schema_does_not_define_fails_through_the_adapter(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    with pytest.raises(Invalid, match="linear"):
        await tracker.linear.query("query Bad { issues(sortBy: TITLE) { nodes { id } } }", {}, IssuesData)
    assert any("sortBy" in violation for violation in fake.violations)
    fake.violations.clear()


# Authentication and errors


def test_personal_keys_go_as_they_are_and_oauth_tokens_as_bearer() -> None:
    assert authorization("lin_api_abc") == {"Authorization": "lin_api_abc"}
    assert authorization("lin_oauth_abc") == {"Authorization": "Bearer lin_oauth_abc"}
    assert (
        linear_root("https://api.linear.app/graphql")
        == linear_root("https://api.linear.app")
        == ("https://api.linear.app/")
    )


async def test_an_oauth_token_works_as_a_bearer_token(fake: FakeLinear) -> None:
    fake.keys["lin_oauth_0123456789"] = next(iter(fake.users))
    adapter = await opened(fake, token="lin_oauth_0123456789")
    try:
        assert [o.slug for o in await adapter.list_organizations()] == ["acme"]
    finally:
        await adapter.aclose()


async def test_a_revoked_key_is_token_rejected_and_never_shown(fake: FakeLinear, tracker: LinearTracker) -> None:
    del fake.keys[KEY]
    with pytest.raises(TokenRejected, match="linear rejected the token") as refused:
        await tracker.list_tickets(TicketFilter())
    assert KEY not in str(refused.value) and KEY not in (refused.value.hint or "")
    assert "[redacted]" in str(refused.value)  # the fake did repeat it


async def test_forbidden_and_missing_issues_become_permission_denied_and_not_found(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Guarded", project="ENG"))).ticket
    fake.forbidden.add("IssueDelete")
    with pytest.raises(PermissionDenied, match=r"did not let alice delete ENG-1 \(linear refused IssueDelete"):
        await tracker.delete_ticket(ticket.slug)
    with pytest.raises(NotFound, match="no issue ENG-404"):
        await tracker.get_ticket("ENG-404")
    with pytest.raises(Invalid, match="identifier"):
        await tracker.get_ticket("ENG 1")


async def test_a_rate_limited_read_is_retried_after_linears_reset(fake: FakeLinear) -> None:
    adapter = await opened(fake, policy=Policy(timeout=2.0, deadline=5.0, retries=2, backoff=0.01))
    try:
        await adapter.teams()  # read before the limit is hit
        fake.throttle, fake.reset_after = 1, 0.05
        before = fake.received
        assert (await adapter.list_tickets(TicketFilter(project="ENG"))).total == 0
        assert fake.received - before == 2  # refused once, then answered
    finally:
        await adapter.aclose()


async def test_a_rate_limited_mutation_is_not_retried_and_says_when(fake: FakeLinear) -> None:
    adapter = await opened(fake, policy=Policy(timeout=2.0, deadline=5.0, retries=2, backoff=0.01))
    try:
        await adapter.teams()  # read before the limit is hit
        fake.throttle, fake.reset_after = 1, 0.05
        before = fake.received
        with pytest.raises(RateLimited, match="linear is rate limiting"):
            await adapter.create_ticket(TicketDraft(title="Throttled", project="ENG"))
        assert fake.received - before == 1 and not fake.issues
    finally:
        await adapter.aclose()


async def test_a_read_limited_for_longer_than_the_deadline_ends_at_once_with_the_wait(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    fake.throttle, fake.reset_after = 5, 1800
    with pytest.raises(RateLimited) as limited:
        await tracker.list_tickets(TicketFilter())
    assert 1790 <= limited.value.retry_after <= 1801


def test_linears_reset_header_is_read_as_epoch_milliseconds() -> None:
    now = 1_800_000_000.0
    assert retry_after({"x-ratelimit-requests-reset": str(int((now + 30) * 1000))}, now=now) == 30


class TimeOutOnce(httpx2.AsyncBaseTransport):
    """The next query or mutation (`armed`) times out after reaching the fake, so it was applied."""

    def __init__(self, fake: FakeLinear) -> None:
        self.inner, self.armed = fake.transport(), ""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if self.armed and json.loads(request.content)["query"].lstrip().startswith(self.armed):
            self.armed = ""
            raise httpx2.ReadTimeout("no answer", request=request)
        return response


async def test_a_read_that_timed_out_is_sent_again_and_a_mutation_is_not(fake: FakeLinear) -> None:
    transport = TimeOutOnce(fake)
    settings = RemoteSettings("linear", "https://api.linear.app", KEY)
    policy = Policy(timeout=2.0, deadline=5.0, retries=2, backoff=0.01)
    adapter = await open_adapter(settings, policy=policy, transport=transport)
    try:
        await adapter.teams()
        transport.armed = "query"
        assert (await adapter.list_tickets(TicketFilter(project="ENG"))).total == 0
        assert [op for op, _ in fake.operations][-2:] == ["Issues", "Issues"]
        ticket = (await adapter.create_ticket(TicketDraft(title="Once", project="ENG"))).ticket
        transport.armed = "mutation"
        with pytest.raises(Ambiguous, match="may or may not have been applied"):
            await adapter.update_ticket(ticket.slug, TicketChanges(title="Twice?"))
        assert [op for op, _ in fake.operations].count("IssueUpdate") == 1
        assert fake.find_issue(ticket.slug)["title"] == "Twice?"
    finally:
        await adapter.aclose()


class SpoilMutations(httpx2.AsyncBaseTransport):
    """Applies each mutation on the fake, then answers it 502 as a gateway would; queries pass untouched."""

    def __init__(self, fake: FakeLinear, *, apply: bool) -> None:
        self.inner, self.apply = fake.transport(), apply

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        if not json.loads(request.content)["query"].lstrip().startswith("mutation"):
            return await self.inner.handle_async_request(request)
        if self.apply:
            await self.inner.handle_async_request(request)
        return httpx2.Response(502, text="<html>Bad Gateway</html>")


@pytest.mark.parametrize("apply", [True, False], ids=["applied", "not-applied"])
async def test_a_create_answered_502_is_found_by_the_id_the_adapter_chose(fake: FakeLinear, apply: bool) -> None:
    settings = RemoteSettings("linear", "https://api.linear.app", KEY)
    adapter = await open_adapter(settings, policy=QUICK, transport=SpoilMutations(fake, apply=apply))
    try:
        if apply:
            ticket = (await adapter.create_ticket(TicketDraft(title="Through a bad gateway", project="ENG"))).ticket
            (issue,) = fake.issues.values()
            assert (ticket.slug, ticket.id) == (issue["identifier"], int(issue["id"].replace("-", "")[:12], 16))
        else:
            with pytest.raises(Ambiguous, match="may or may not have been applied"):
                await adapter.create_ticket(TicketDraft(title="Through a bad gateway", project="ENG"))
            assert not fake.issues
        assert [op for op, _ in fake.operations].count("IssueCreate") == (1 if apply else 0)
    finally:
        await adapter.aclose()


# Statuses


def state(kind: str, name: str) -> LinearState:
    return LinearState(id="s", name=name, type=kind, position=0)


def test_workflow_states_read_by_their_type_and_review_by_name() -> None:
    read = {
        ("triage", "Triage"): Status.BACKLOG, ("backlog", "Icebox"): Status.BACKLOG,
        ("unstarted", "Todo"): Status.TODO, ("started", "Doing"): Status.IN_PROGRESS,
        ("started", "Code Review"): Status.IN_REVIEW, ("completed", "Shipped"): Status.DONE,
        ("canceled", "Won't do"): Status.CANCELED, ("duplicate", "Duplicate"): Status.CANCELED,
    }  # fmt: skip
    assert {key: status_of(state(*key)) for key in read} == read


async def test_a_move_picks_the_teams_state_of_that_kind_with_the_lowest_position(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    workflow = [
        ("Triage", "triage", -1), ("Icebox", "backlog", 0.5), ("Backlog", "backlog", 0), ("Doing", "started", 1.5),
        ("In Progress", "started", 2), ("Code Review", "started", 1), ("Done", "completed", 4),
    ]  # fmt: skip
    ops = fake.add_team("OPS", "Operations", workflow)
    ticket = (await tracker.create_ticket(TicketDraft(title="Routed", project="OPS"))).ticket
    issue = fake.find_issue(ticket.slug)
    assert issue["state"]["name"] == "Backlog"  # never triage, lowest backlog position
    for status, name in ((Status.IN_PROGRESS, "Doing"), (Status.IN_REVIEW, "Code Review"), (Status.DONE, "Done")):
        assert (await tracker.move_ticket(ticket.slug, status)).status is status
        assert issue["state"]["name"] == name
    with pytest.raises(Unsupported, match="The linear backend cannot put a ticket of team OPS in canceled"):
        await tracker.move_ticket(ticket.slug, Status.CANCELED)
    triaged = fake.file_issue(ops, "bob", "Reported by a customer", state="Triage")
    assert (await tracker.get_ticket(triaged["identifier"])).ticket.status is Status.BACKLOG
    found = await tracker.list_tickets(TicketFilter(project="OPS", statuses=[Status.BACKLOG]))
    assert [t.slug for t in found.tickets] == [triaged["identifier"]]


# Priorities, types, labels


async def test_priorities_are_linears_numbers_and_none_reads_as_medium(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    eng = team(fake)
    unset = fake.file_issue(eng, "bob", "No priority", priority=0)
    medium = fake.file_issue(eng, "bob", "Medium", priority=3)
    fake.file_issue(eng, "bob", "Urgent", priority=1)
    assert (await tracker.get_ticket(unset["identifier"])).ticket.priority is Priority.MEDIUM
    found = await tracker.list_tickets(TicketFilter(project="ENG", priorities=[Priority.MEDIUM]))
    assert [t.slug for t in found.tickets] == [medium["identifier"], unset["identifier"]]
    urgent = (await tracker.create_ticket(TicketDraft(title="Now", project="ENG", priority=Priority.LOW))).ticket
    assert fake.find_issue(urgent.slug)["priority"] == 4
    await tracker.update_ticket(urgent.slug, TicketChanges(priority=Priority.URGENT))
    assert fake.find_issue(urgent.slug)["priority"] == 1


async def test_types_are_the_workspace_labels_and_not_plain_labels(fake: FakeLinear, tracker: LinearTracker) -> None:
    eng = team(fake)
    both = fake.file_issue(eng, "bob", "Both", labels=["Feature", "Bug", "ui"])
    ticket = (await tracker.get_ticket(both["identifier"])).ticket
    assert (ticket.type, [label.name for label in ticket.labels]) == (TicketType.BUG, ["ui"])
    feature = await tracker.list_tickets(TicketFilter(project="ENG", types=[TicketType.FEATURE]))
    assert feature.total == 0  # the bug label wins, so the filter agrees with the reading
    with pytest.raises(Invalid, match="type=bug"):
        await tracker.create_ticket(TicketDraft(title="Sneaky", project="ENG", labels=["bug"]))
    changed = await tracker.update_ticket(ticket.slug, TicketChanges(type=TicketType.IMPROVEMENT))
    assert (changed.type, [label.name for label in changed.labels]) == (TicketType.IMPROVEMENT, ["ui"])
    relabelled = await tracker.update_ticket(ticket.slug, TicketChanges(labels=["api"]))
    assert (relabelled.type, [label.name for label in relabelled.labels]) == (TicketType.IMPROVEMENT, ["api"])


async def test_a_type_the_workspace_has_no_label_for_is_refused(fake: FakeLinear, tracker: LinearTracker) -> None:
    for label_id in [i for i, label in fake.labels.items() if label["name"] == "Feature"]:
        del fake.labels[label_id]
    with pytest.raises(Unsupported, match="The linear backend cannot set type feature here"):
        await tracker.create_ticket(TicketDraft(title="Shiny", project="ENG", type=TicketType.FEATURE))
    assert not fake.issues


async def test_a_missing_label_is_created_for_the_team_and_a_workspace_label_reused(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    shared = fake.add_label("security")
    ticket = await tracker.create_ticket(TicketDraft(title="Audit", project="ENG", labels=["Security", "infra"]))
    issue = fake.find_issue(ticket.ticket.slug)
    made = [label for label in fake.labels.values() if label["name"] == "infra"]
    assert len(made) == 1 and made[0]["team"] is team(fake) and made[0]["id"] in issue["label_ids"]
    assert shared["id"] in issue["label_ids"]


# People


async def test_assignees_and_reporters_by_display_name_or_full_name(fake: FakeLinear, tracker: LinearTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Pair", project="ENG", assignee="Bob Builder"))).ticket
    assert (ticket.assignee, ticket.reporter) == ("bob", "alice")
    mine = await tracker.list_tickets(TicketFilter(reporter="me"))
    assert [t.slug for t in mine.tickets] == [ticket.slug]
    assert (await tracker.list_tickets(TicketFilter(assignee="none"))).total == 0
    unassigned = await tracker.update_ticket(ticket.slug, TicketChanges(assignee="none"))
    assert unassigned.assignee is None and fake.find_issue(ticket.slug)["assignee"] is None
    with pytest.raises(Invalid, match="no user named 'zed'"):
        await tracker.update_ticket(ticket.slug, TicketChanges(assignee="zed"))
    with pytest.raises(Invalid, match="any assignee"):
        await tracker.update_ticket(ticket.slug, TicketChanges(assignee="*"))
    assert (await tracker.update_ticket(ticket.slug, TicketChanges(assignee="me"))).assignee == "alice"
    assert [t.slug for t in (await tracker.list_tickets(TicketFilter(assignee="*"))).tickets] == [ticket.slug]


# Paging


async def test_paging_carries_linears_cursor_and_counts_once(fake: FakeLinear, tracker: LinearTracker) -> None:
    eng = team(fake)
    for n in range(5):
        fake.file_issue(eng, "bob", f"Issue {n}")
    query = TicketFilter(project="ENG", limit=2)
    counted = len([op for op, _ in fake.operations if op == "IssueIds"])
    seen = await walk(tracker, query)
    assert [t.title for t in seen] == [f"Issue {n}" for n in reversed(range(5))]
    assert len([op for op, _ in fake.operations if op == "IssueIds"]) == counted + 1  # the first page only
    by_update = await walk(tracker, replace(query, sort=TicketSort.UPDATED))
    assert [t.title for t in by_update] == [t.title for t in seen]
    with pytest.raises(Unsupported, match="oldest first"):
        await tracker.list_tickets(replace(query, descending=False))
    with pytest.raises(Unsupported, match="priority"):
        await tracker.list_tickets(replace(query, sort=TicketSort.PRIORITY))
    with pytest.raises(Invalid, match="cursor"):
        await tracker.list_tickets(replace(query, cursor="bm90LWEtY3Vyc29y"))


async def test_a_count_past_the_pages_it_may_read_is_reported_as_capped(
    fake: FakeLinear, tracker: LinearTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    eng = team(fake)
    for n in range(260):
        fake.file_issue(eng, "bob", f"Bulk {n}")
    monkeypatch.setattr(linear, "COUNT_PAGES", 1)
    page = await tracker.list_tickets(TicketFilter(project="ENG", limit=10))
    assert (page.total_capped, page.total, len(page.tickets)) == (True, 250, 10)
    assert page.next_cursor is not None
    following = await tracker.list_tickets(TicketFilter(project="ENG", limit=10, cursor=page.next_cursor))
    assert (following.total_capped, following.total, following.tickets[0].title) == (True, 250, "Bulk 249")
    monkeypatch.setattr(linear, "COUNT_PAGES", 2)
    assert (await tracker.list_tickets(TicketFilter(project="ENG", limit=10))).total == 260


async def test_a_count_goes_no_further_than_the_callers_count_limit(fake: FakeLinear, tracker: LinearTracker) -> None:
    """Counting reads the matches' ids, 250 a request: a caller's count_limit bounds it, and the look-alike
    search before a create, which throws its total away, counts nothing."""
    eng = team(fake)
    for n in range(600):
        fake.file_issue(eng, "bob", f"Checkout login problem {n}")

    async def operations(call: Awaitable[object]) -> list[str]:
        fake.operations.clear()
        await call
        return [name for name, _ in fake.operations]

    capped = await tracker.list_tickets(TicketFilter(project="ENG", limit=10, count_limit=300))
    assert (capped.total, capped.total_capped) == (500, True)  # two requests: more than 300, said to be capped
    assert await operations(tracker.list_tickets(TicketFilter(project="ENG", count_limit=300))) == [
        "Issues", "IssueIds", "IssueIds"
    ]  # fmt: skip
    under = await tracker.list_tickets(TicketFilter(project="ENG", limit=20, count_limit=5))
    assert (under.total, under.total_capped) == (21, True)  # the page shows more than 5 already: no count
    exact = await tracker.list_tickets(TicketFilter(project="ENG", limit=10, count_limit=1000))
    assert (exact.total, exact.total_capped) == (600, False)
    draft = TicketDraft(project="ENG", title="Checkout broken after a gateway change", check_duplicates=True)
    assert await operations(tracker.create_ticket(draft)) == ["Issues", "Issues", "IssueCreate"]


async def test_a_board_costs_one_request_per_column_and_a_count_where_a_column_overflows(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    """docs/linear.md's numbers: six columns, six requests; a column holding more than per_column adds its
    count, 250 ids a request, at most COUNT_PAGES of them."""
    eng = team(fake)
    for n in range(600):
        fake.file_issue(eng, "bob", f"Backlog {n}")
    await tracker.list_projects()  # the teams, read once and kept
    fake.operations.clear()
    board = await tracker.get_board("ENG", per_column=5)
    assert sorted(name for name, _ in fake.operations) == ["IssueIds"] * 3 + ["Issues"] * len(Status)
    assert {c.status: c.total for c in board.columns}[Status.BACKLOG] == 600


async def test_text_and_updated_since_filter_on_linears_side(fake: FakeLinear, tracker: LinearTracker) -> None:
    eng = team(fake)
    fake.file_issue(eng, "bob", "Login broken", description="Safari only")
    fake.file_issue(eng, "bob", "Logout slow")
    assert [t.title for t in (await tracker.list_tickets(TicketFilter(text="SAFARI"))).tickets] == ["Login broken"]
    sent = [variables for op, variables in fake.operations if op == "Issues"][-1]
    assert "containsIgnoreCase" in str(sent["filter"])
    assert (await tracker.list_tickets(TicketFilter(updated_since="2999-01-01"))).total == 0


# Sub-issues, comments, deletion


async def test_sub_issues_filter_by_parent_and_deletion_trashes_the_whole_tree(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    parent = (await tracker.create_ticket(TicketDraft(title="Epic", project="ENG"))).ticket
    child = (await tracker.create_ticket(TicketDraft(title="Part", project="ENG", parent=parent.slug))).ticket
    await tracker.add_comment(parent.slug, "First")
    await tracker.add_comment(parent.slug, "Second, **bold**")
    found = await tracker.list_tickets(TicketFilter(parent=parent.slug))
    assert [t.slug for t in found.tickets] == [child.slug]
    detail = await tracker.get_ticket(parent.slug)
    assert [c.body for c in detail.comments] == ["First", "Second, **bold**"]
    impact = await tracker.delete_ticket(parent.slug)
    assert (impact.subtasks, impact.comments) == ((child.slug,), 2)
    assert fake.find_issue(parent.slug)["trashed"] and fake.find_issue(child.slug)["trashed"]
    with pytest.raises(NotFound, match="trash"):
        await tracker.get_ticket(child.slug)
    for gone in (child.slug, "ENG-999"):
        with pytest.raises(NotFound, match=f"no issue {gone}"):
            await tracker.add_comment(gone, "Anyone there?")


class Misbehaving(httpx2.AsyncBaseTransport):
    """Linear answering IssueRefs (a delete's sub-issues) as `refs` says, the rest as the fake does."""

    def __init__(self, fake: FakeLinear, refs: Callable[[dict[str, object]], dict[str, object]]) -> None:
        self.inner, self.refs, self.asked = fake.transport(), refs, 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(await request.aread())
        if "query IssueRefs" not in body["query"]:
            return await self.inner.handle_async_request(request)
        self.asked += 1
        if self.asked > 100:  # an adapter that never stops: fail, as no deadline would (nothing here waits)
            raise AssertionError(f"still paging sub-issues after {self.asked - 1} requests")
        return httpx2.Response(200, json={"data": {"issues": self.refs(body["variables"])}})


@pytest.mark.parametrize("cursor", ["same-cursor", None])
async def test_a_delete_stops_paging_sub_issues_on_a_repeated_or_missing_cursor(
    fake: FakeLinear, tracker: LinearTracker, cursor: str | None
) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="To delete", project="ENG"))).ticket
    child = {"id": "00000000-0000-4000-8000-000000000001", "identifier": "ENG-99"}
    transport = Misbehaving(fake, lambda _: {"nodes": [child], "pageInfo": {"hasNextPage": True, "endCursor": cursor}})
    adapter = await open_adapter(
        RemoteSettings("linear", "https://api.linear.app", KEY), policy=QUICK, transport=transport
    )
    try:
        with pytest.raises(BackendUnavailable, match="linear") as refused:
            await adapter.ticket_deletion(ticket.slug)
    finally:
        await adapter.aclose()
    assert transport.asked <= 2 and "cursor" in str(refused.value)


async def test_a_delete_reads_a_bounded_number_of_sub_issue_pages(
    fake: FakeLinear, tracker: LinearTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="To delete", project="ENG"))).ticket
    monkeypatch.setattr(linear, "REF_PAGES", 3)
    pages = itertools.count(1)

    def endless(_: dict[str, object]) -> dict[str, object]:  # every page new sub-issues, a new cursor
        n = next(pages)
        child = {"id": f"00000000-0000-4000-8000-{n:012d}", "identifier": f"ENG-{1000 + n}"}
        return {"nodes": [child], "pageInfo": {"hasNextPage": True, "endCursor": f"cursor-{n}"}}

    transport = Misbehaving(fake, endless)
    adapter = await open_adapter(
        RemoteSettings("linear", "https://api.linear.app", KEY), policy=QUICK, transport=transport
    )
    try:
        with pytest.raises(BackendUnavailable, match="linear listed more than 750 sub-issues"):
            await adapter.ticket_deletion(ticket.slug)
    finally:
        await adapter.aclose()
    assert transport.asked == 3


async def test_a_delete_reads_a_sub_issue_cycle_once(fake: FakeLinear, tracker: LinearTracker) -> None:
    parent = (await tracker.create_ticket(TicketDraft(title="Epic", project="ENG"))).ticket
    child = (await tracker.create_ticket(TicketDraft(title="Part", project="ENG", parent=parent.slug))).ticket
    ids = {t.slug: fake.find_issue(t.slug)["id"] for t in (parent, child)}

    def cycle(variables: dict[str, object]) -> dict[str, object]:  # each is the other's sub-issue
        (asked,) = cast(Any, variables)["filter"]["parent"]["id"]["in"]
        other = next(slug for slug, id_ in ids.items() if id_ != asked)
        return {"nodes": [{"id": ids[other], "identifier": other}], "pageInfo": {"hasNextPage": False}}

    transport = Misbehaving(fake, cycle)
    adapter = await open_adapter(
        RemoteSettings("linear", "https://api.linear.app", KEY), policy=QUICK, transport=transport
    )
    try:
        impact = await adapter.ticket_deletion(parent.slug)
    finally:
        await adapter.aclose()
    assert impact.subtasks == (child.slug,) and transport.asked == 2


# Workspace


async def test_the_workspace_is_the_linear_organization_with_teams_and_roles(tracker: LinearTracker) -> None:
    workspace = await tracker.workspace()
    (entry,) = workspace.organizations
    assert (entry.organization.slug, entry.role.value) == ("acme", "owner")
    assert [p.code for p in entry.projects] == ["ENG"]
    assert {m.user.username: m.role.value for m in entry.members} == {
        "alice": "owner", "bob": "member", "carol": "reporter",
    }  # fmt: skip
    with pytest.raises(NotFound, match="acme"):
        await tracker.list_projects("globex")
    with pytest.raises(Unsupported, match=r"The linear backend cannot create, rename and delete projects: .*teams"):
        await tracker.create_project("New team")


# Through the MCP tools


@asynccontextmanager
async def mcp_client(fake: FakeLinear) -> AsyncGenerator[Client]:
    @asynccontextmanager
    async def lifespan(_: object) -> AsyncGenerator[AppState]:
        adapter = await opened(fake)
        try:
            yield AppState(tracker_of=lambda _: adapter, local_principal=REMOTE_CALLER)
        finally:
            await adapter.aclose()

    async with Client(create_server(lifespan)) as client:  # pyright: ignore[reportArgumentType]
        yield client


async def test_the_tools_work_in_front_of_linear(fake: FakeLinear) -> None:
    async with mcp_client(fake) as client:
        context = await call(client, "get_workspace_context")
        assert "backend: linear; it cannot" in context and "acme" in context
        slug = slug_of(await call(client, "create_ticket", project="ENG", title="Via MCP", type="bug"))
        assert slug == "ENG-1"
        await call(client, "move_ticket", slug=slug, status="in_review")
        assert fake.find_issue(slug)["state"]["name"] == "In Review"
        assert slug in await call(client, "list_tickets", project="ENG", status=["in_review"])
        assert "## in_review (1)" in await call(client, "get_board", project="ENG")
        await call(client, "add_comment", slug=slug, body="Looks good")
        assert "Looks good" in await call(client, "get_ticket", slug=slug)
        assert "Linear teams" in await call_error(client, "create_project", name="Nope")
        await call(client, "delete_ticket", slug=slug, confirm=True)
        assert fake.find_issue(slug)["trashed"] is True
