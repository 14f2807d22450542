"""Milestones on GitHub, against the fake GitHub behind GitHub's OpenAPI description (every request and answer
validated by tests/fixtures/openapi_peer.py): listed with their progress, created, renamed, closed (with
the local rule for their open tickets), assigned, filtered by; what GitHub lacks is refused naming it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.fixtures.fake_github import FakeGitHub, Repo
from tests.fixtures.github_peer import GitHubPeer, standard_world
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import Status, Ticket
from tickets_mcp.errors import Conflict, Invalid, NotFound, PermissionDenied, Unsupported
from tickets_mcp.remotes.github import GitHubTracker

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


async def file(tracker: GitHubTracker, title: str, **fields: Any) -> Ticket:
    return (await tracker.create_ticket(TicketDraft(title=title, project="acme/web", **fields))).ticket


async def test_a_milestone_is_created_with_its_due_date_and_no_start_date(
    fake: FakeGitHub, web: Repo, tracker: GitHubTracker
) -> None:
    made = await tracker.save_milestone("acme/web", "v1.0", due_date="2030-01-31")
    assert (made.id, made.name, made.due_date, made.start_date, made.closed) == (1, "v1.0", "2030-01-31", None, False)
    assert web.milestones[1]["due_on"] == "2030-01-31T12:00:00Z"  # noon UTC: the same day where GitHub reads it
    with pytest.raises(Unsupported, match="a GitHub milestone has none"):
        await tracker.save_milestone("acme/web", "v1.0", start_date="2030-01-01")
    with pytest.raises(Unsupported, match="cannot take a milestone's due date away"):
        await tracker.save_milestone("acme/web", "v1.0", due_date="none")
    renamed = await tracker.save_milestone("acme/web", "V1.0", rename="v1.0.0", due_date="2030-02-01")
    assert (renamed.id, renamed.name, renamed.due_date) == (1, "v1.0.0", "2030-02-01")
    await tracker.save_milestone("acme/web", "v2")
    with pytest.raises(Conflict, match="has a milestone named 'v2' already"):
        await tracker.save_milestone("acme/web", "v1.0.0", rename="V2")
    assert [m.name for m in await tracker.list_milestones("acme/web")] == ["v1.0.0", "v2"]


async def test_tickets_are_put_in_milestones_filtered_by_them_and_counted_in_their_progress(
    fake: FakeGitHub, web: Repo, tracker: GitHubTracker
) -> None:
    await tracker.save_milestone("acme/web", "v1", due_date="yesterday")
    planned = await file(tracker, "Planned", milestone="v1")
    assert planned.milestone == "v1"
    assert (await tracker.get_ticket(planned.slug)).ticket == planned
    done = await file(tracker, "Shipped", milestone="v1", status=Status.DONE)
    await file(tracker, "Dropped", milestone="v1", status=Status.CANCELED)
    loose = await file(tracker, "Loose")
    fake.issues[-1].milestone = None
    fake.file(web, "bob", "A pull request in it", pull_request=True).milestone = 1  # not counted: not an issue
    (progress,) = await tracker.list_milestones("acme/web")
    counts = (progress.total_tickets, progress.open_tickets, progress.done_tickets, progress.overdue_tickets)
    assert counts == (3, 1, 1, 1)  # past its due date, every open ticket in it is late
    listed = await tracker.list_tickets(TicketFilter(project="acme/web", milestone="V1"))
    assert [t.title for t in listed.tickets] == ["Dropped", "Shipped", "Planned"]
    searched = await tracker.list_tickets(TicketFilter(project="acme/web", milestone="v1", text="Planned"))
    assert [t.slug for t in searched.tickets] == [planned.slug]
    outside = await tracker.list_tickets(TicketFilter(project="acme/web", milestone="none"))
    assert loose.slug in [t.slug for t in outside.tickets] and planned.slug not in [t.slug for t in outside.tickets]
    with pytest.raises(Invalid, match="belong to a repository"):
        await tracker.list_tickets(TicketFilter(milestone="v1"))
    taken_out = await tracker.update_ticket(done.slug, TicketChanges(milestone="none"))
    assert taken_out.milestone is None
    with pytest.raises(NotFound, match="No milestone 'v9'") as unknown:
        await tracker.update_ticket(done.slug, TicketChanges(milestone="v9"))
    assert "v1" in (unknown.value.hint or "")


async def test_closing_a_milestone_with_open_tickets_needs_to_know_what_becomes_of_them(
    fake: FakeGitHub, web: Repo, tracker: GitHubTracker
) -> None:
    for name in ("v1", "v2", "v3"):
        await tracker.save_milestone("acme/web", name)
    moving = [await file(tracker, f"Open {n}", milestone="v1") for n in range(2)]
    await file(tracker, "Finished", milestone="v1", status=Status.DONE)
    with pytest.raises(Invalid, match="still holds 2 open tickets") as refused:
        await tracker.save_milestone("acme/web", "v1", closed=True)
    assert refused.value.field == "open_tickets" and web.milestones[1]["state"] == "open"
    closed = await tracker.save_milestone("acme/web", "v1", closed=True, open_tickets="v2")
    assert (closed.closed, closed.open_tickets, closed.total_tickets) == (True, 0, 1)
    assert {(await tracker.get_ticket(t.slug)).ticket.milestone for t in moving} == {"v2"}
    with pytest.raises(Invalid, match="is closed"):
        await tracker.update_ticket(moving[0].slug, TicketChanges(milestone="v1"))
    emptied = await tracker.save_milestone("acme/web", "v2", closed=True, open_tickets="none")
    assert (emptied.closed, emptied.total_tickets) == (True, 0)
    await file(tracker, "Kept", milestone="v3")
    kept = await tracker.save_milestone("acme/web", "v3", closed=True, open_tickets="keep")
    assert (kept.closed, kept.open_tickets) == (True, 1)
    assert await tracker.list_milestones("acme/web") == []
    assert [m.name for m in await tracker.list_milestones("acme/web", closed=True)] == ["v1", "v2", "v3"]


async def test_a_milestone_github_dropped_for_want_of_push_access_is_reported(
    fake: FakeGitHub, web: Repo, peer: GitHubPeer
) -> None:
    fake.add_milestone(web, "v1", "alice")
    fake.tokens["carol-token"] = "carol"  # carol may only read acme/web
    carol = await peer.open(token="carol-token")
    try:
        with pytest.raises(PermissionDenied, match="without its milestone"):
            await carol.create_ticket(TicketDraft(title="Wanted in v1", project="acme/web", milestone="v1"))
    finally:
        await carol.aclose()


async def test_what_github_has_no_field_for_is_refused_naming_it(tracker: GitHubTracker) -> None:
    for probe in (
        tracker.create_ticket(TicketDraft(title="Due", project="acme/web", due_date="friday")),
        tracker.log_time("WEB-1", 1),
        tracker.list_tickets(TicketFilter(project="acme/web", overdue=True)),
    ):
        with pytest.raises(Unsupported, match="The github backend cannot"):
            await probe
