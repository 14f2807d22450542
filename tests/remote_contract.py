"""The remote adapter contract: one suite every adapter passes against a real peer of its API.

`RemoteContract` holds the tests. A test module subclasses it and provides a `peer` fixture: a `Peer`
that opens the adapter, makes projects and files tickets behind the API's back, and says what the
backend's API carries (statuses, fields, filters) and what it cannot do. tests/test_remote_adapters.py
runs it for every adapter whose API `tickets-mcp serve` speaks; an adapter for another API brings a
Peer of its own and a module of two lines.

Each test makes a project of its own, so tests never see each other's tickets. Where the backend
lacks a capability, the test of that capability skips with the reason, and
test_every_operation_the_api_lacks_is_refused_naming_the_backend proves the refusal instead.
"""

from __future__ import annotations

import socket
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import httpx2
import pytest

from tickets_mcp.core.tracker import MoveDraft, TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import Capability, Priority, Project, Status, Ticket, TicketType
from tickets_mcp.errors import (
    BackendUnavailable,
    Conflict,
    Invalid,
    LikelyDuplicate,
    NotFound,
    PermissionDenied,
    Unsupported,
)
from tickets_mcp.mcp import render
from tickets_mcp.remotes.base import RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy


class Peer(ABC):
    """A remote tracker an adapter is tested against, and what its API can hold."""

    backend: str
    missing: frozenset[Capability]  # what the adapter must refuse
    statuses: tuple[Status, ...]  # what the API stores and reads back as itself, the default first
    carries: frozenset[str]  # fields of a new ticket kept beyond title, description and status: type, priority, labels
    filters: frozenset[str]  # TicketFilter fields the adapter applies besides project
    # Filters the adapter applies that this contract does not exercise (parent: the native API passes
    # it to the server, whose own suites test it); they are not expected to be refused either.
    filters_tested_elsewhere: frozenset[str] = frozenset()
    bogus_token: str  # a token of the right shape that the peer does not know

    @abstractmethod
    async def open(
        self,
        *,
        token: str | None = None,
        elsewhere: str | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        policy: Policy | None = None,
    ) -> RemoteTracker:
        """The adapter, as `open_adapter` makes it (checked with one request); `elsewhere` is another
        host (scheme://host:port) to point it at instead of the peer."""

    @abstractmethod
    async def new_project(self) -> Project:
        """An empty project the token can use; its id is the one the adapter reports."""

    @abstractmethod
    async def file(self, project: Project, draft: TicketDraft, *, reporter: str = "alice") -> None:
        """A ticket made behind the adapter's back, with every field the canonical model has."""

    @abstractmethod
    def user(self, username: str) -> str:
        """How the adapter shows (and takes) that user: its username, or its id where the API has only ids."""

    @abstractmethod
    def new_token(self) -> str: ...

    @abstractmethod
    def revoke(self, token: str) -> None: ...


class LoseAnswers(httpx2.AsyncBaseTransport):
    """Passes requests on, but a POST never gets its answer: it times out after being delivered (or before)."""

    def __init__(self, *, deliver: bool) -> None:
        self.deliver = deliver
        self.inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST":
            if self.deliver:
                response = await self.inner.handle_async_request(request)
                await response.aread()
                await response.aclose()
            raise httpx2.ReadTimeout("the answer was lost", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def nowhere() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def walk(tracker: RemoteTracker, query: TicketFilter) -> list[Ticket]:
    """Every ticket of a query, page by page with the cursor; each page counts the same total."""
    seen: list[Ticket] = []
    page = await tracker.list_tickets(query)
    total = page.total
    while True:
        seen += page.tickets
        assert (page.total, page.total_capped) == (total, False)
        if page.next_cursor is None:
            assert page.total == len(seen)
            return seen
        assert len(page.tickets) == query.limit
        page = await tracker.list_tickets(replace(query, cursor=page.next_cursor))


REFUSABLE_FILTERS: dict[str, dict[str, Any]] = {
    "types": {"types": [TicketType.BUG]},
    "priorities": {"priorities": [Priority.HIGH]},
    "assignee": {"assignee": "alice"},
    "reporter": {"reporter": "alice"},
    "labels": {"labels": ["api"]},
    "parent": {"parent": "NOPE-1"},
    "text": {"text": "Safari"},
    "updated_since": {"updated_since": "2026-01-01"},
}


class RemoteContract:
    """What every remote adapter does, in front of its peer."""

    pytestmark = pytest.mark.anyio

    @pytest.fixture
    async def tracker(self, peer: Peer) -> AsyncIterator[RemoteTracker]:
        opened = await peer.open()
        yield opened
        await opened.aclose()

    @staticmethod
    def skip_unless(peer: Peer, capability: Capability) -> None:
        if capability in peer.missing:
            pytest.skip(f"{peer.backend} cannot {capability.value}: its refusal is tested instead")

    # Start

    async def test_a_wrong_token_fails_at_start_without_showing_it(self, peer: Peer) -> None:
        with pytest.raises(PermissionDenied, match=peer.backend) as refused:
            await peer.open(token=peer.bogus_token)
        assert peer.bogus_token not in str(refused.value)

    async def test_a_url_where_nothing_answers_fails_at_start(self, peer: Peer) -> None:
        with pytest.raises(BackendUnavailable, match=peer.backend):
            await peer.open(elsewhere=nowhere(), policy=Policy(timeout=2, retries=0))

    async def test_a_revoked_token_is_refused_at_the_next_call(self, peer: Peer) -> None:
        token = peer.new_token()
        tracker = await peer.open(token=token)
        try:
            await tracker.list_organizations()
            peer.revoke(token)
            with pytest.raises(PermissionDenied, match=peer.backend) as refused:
                await tracker.list_tickets(TicketFilter())
            assert token not in str(refused.value)
        finally:
            await tracker.aclose()

    # Workspace, organizations, projects

    async def test_the_workspace_names_the_backend_and_what_it_cannot_do(
        self, peer: Peer, tracker: RemoteTracker
    ) -> None:
        project = await peer.new_project()
        await peer.file(project, TicketDraft(title="Seen in the workspace"))
        workspace = await tracker.workspace()
        assert (workspace.backend, workspace.missing) == (peer.backend, peer.missing)
        assert project.id in {p.id for entry in workspace.organizations for p in entry.projects}
        text = render.workspace(workspace)
        if peer.missing:
            assert f"backend: {peer.backend}; it cannot " in text
            assert all(capability.value in text for capability in peer.missing)
        else:
            assert f"backend: {peer.backend}\n" in text and "cannot" not in text

    async def test_organizations_and_projects_are_listed_with_their_counts(
        self, peer: Peer, tracker: RemoteTracker
    ) -> None:
        project = await peer.new_project()
        await peer.file(project, TicketDraft(title="Still open"))
        await peer.file(project, TicketDraft(title="Finished", status=Status.DONE))
        organizations = await tracker.list_organizations()
        assert organizations
        listed = {p.id: p for p in await tracker.list_projects()}
        assert project.id in listed
        mine = listed[project.id]
        assert (mine.tickets_count, mine.open_tickets_count) in ((2, 1), (None, None))
        per_organization = [p.id for org in organizations for p in await tracker.list_projects(org.slug)]
        assert project.id in per_organization
        with pytest.raises(NotFound):
            await tracker.list_projects("no-such-organization-anywhere")

    # Tickets

    async def test_a_created_ticket_reads_back_the_same_by_get_and_in_the_list(
        self, peer: Peer, tracker: RemoteTracker
    ) -> None:
        project = await peer.new_project()
        draft = TicketDraft(
            title="Checkout button does nothing on Safari",
            project=project.id,
            description="Steps:\n1. Add to cart\n2. *Pay*",
            type=TicketType.FEATURE if "type" in peer.carries else TicketType.TASK,
            priority=Priority.HIGH if "priority" in peer.carries else Priority.MEDIUM,
            status=peer.statuses[1],
            labels=("contract", "web") if "labels" in peer.carries else (),
        )
        created = await tracker.create_ticket(draft)
        assert (created.title, created.description, created.type, created.priority, created.status) == (
            draft.title, draft.description, draft.type, draft.priority, draft.status,
        )  # fmt: skip
        assert (created.project_id, [label.name for label in created.labels]) == (project.id, list(draft.labels))
        assert created.slug.endswith(f"-{created.number}")
        detail = await tracker.get_ticket(created.slug)
        assert detail.ticket == created
        page = await tracker.list_tickets(TicketFilter(project=project.id))
        assert (page.tickets, page.total, page.next_cursor) == ((created,), 1, None)

    async def test_values_the_api_cannot_hold_are_refused_and_nothing_is_filed(
        self, peer: Peer, tracker: RemoteTracker
    ) -> None:
        project = await peer.new_project()
        refused = [
            TicketDraft(title="Never filed", project=project.id, status=s) for s in Status if s not in peer.statuses
        ]
        if "type" not in peer.carries:
            refused.append(TicketDraft(title="Never filed", project=project.id, type=TicketType.BUG))
        if "priority" not in peer.carries:
            refused.append(TicketDraft(title="Never filed", project=project.id, priority=Priority.URGENT))
        if not refused:
            pytest.skip(f"{peer.backend} holds every status, type and priority of the canonical model")
        for draft in refused:
            with pytest.raises(Unsupported, match=f"The {peer.backend} backend"):
                await tracker.create_ticket(draft)
        assert (await tracker.list_tickets(TicketFilter(project=project.id))).total == 0

    async def test_a_look_alike_open_ticket_is_answered_instead_of_filing_where_the_api_can_search(
        self, peer: Peer, tracker: RemoteTracker
    ) -> None:
        project = await peer.new_project()
        first = await tracker.create_ticket(TicketDraft(title="Login fails on Safari", project=project.id))
        retry = TicketDraft(title="Login fails in Safari", project=project.id, check_duplicates=True)
        if "text" not in peer.filters:  # the check is left out, never the ticket
            assert (await tracker.create_ticket(retry)).slug != first.slug
            return
        with pytest.raises(LikelyDuplicate, match=first.slug):
            await tracker.create_ticket(retry)
        assert (await tracker.list_tickets(TicketFilter(project=project.id))).total == 1
        assert (await tracker.create_ticket(replace(retry, check_duplicates=False))).slug != first.slug

    async def test_tickets_filed_together_stand_each_on_its_own(self, peer: Peer, tracker: RemoteTracker) -> None:
        project = await peer.new_project()
        drafts = [
            TicketDraft(title="First of three", project=project.id),
            TicketDraft(title="In no project", project="NOSUCHPROJECT"),
            TicketDraft(title="Third of three", project=project.id),
        ]
        told: list[tuple[int, int]] = []

        async def progress(done: int, total: int, message: str) -> None:
            told.append((done, total))

        filing = await tracker.create_tickets(drafts, progress)
        first, missing, third = filing.outcomes
        assert not filing.atomic and isinstance(missing, NotFound)
        assert isinstance(first, Ticket) and isinstance(third, Ticket)
        assert told == [(1, 3), (2, 3), (3, 3)]
        page = await tracker.list_tickets(TicketFilter(project=project.id))
        assert sorted(t.title for t in page.tickets) == ["First of three", "Third of three"]
        assert "Filed 2 of 3, each on its own" in render.batch("Filed", filing)

    async def test_tickets_moved_together_stand_each_on_its_own(self, peer: Peer, tracker: RemoteTracker) -> None:
        project = await peer.new_project()
        ticket = await tracker.create_ticket(TicketDraft(title="Movable", project=project.id))
        column = peer.statuses[1]
        batch = await tracker.move_tickets([MoveDraft(ticket.slug, column), MoveDraft(f"{ticket.slug}00", column)])
        moved, missing = batch.outcomes
        assert not batch.atomic and isinstance(missing, (NotFound, Invalid, Unsupported))
        if Capability.MOVE_TICKETS in peer.missing:
            assert isinstance(moved, Unsupported) and peer.backend in str(moved)
        else:
            assert isinstance(moved, Ticket) and moved.status == column

    async def test_an_unknown_slug_is_not_found(self, peer: Peer, tracker: RemoteTracker) -> None:
        project = await peer.new_project()
        created = await tracker.create_ticket(TicketDraft(title="The only one", project=project.id))
        code = created.slug.rpartition("-")[0]
        for slug in (f"{code}-99999", "NOSUCHCODE-1"):
            with pytest.raises(NotFound):
                await tracker.get_ticket(slug)
        with pytest.raises(Invalid):
            await tracker.get_ticket("not a slug")

    async def test_the_filters_the_api_supports_select_the_same_tickets_as_reading_them_all(
        self, peer: Peer, tracker: RemoteTracker
    ) -> None:
        project = await peer.new_project()
        crash = TicketDraft(
            title="Crash on start", type=TicketType.BUG, priority=Priority.HIGH, labels=("ui",), assignee="bob"
        )
        dark = TicketDraft(
            title="Dark mode", type=TicketType.FEATURE, priority=Priority.LOW, status=Status.DONE, labels=("ui", "api")
        )
        tidy = TicketDraft(title="Tidy the API", status=Status.IN_PROGRESS, labels=("api",), assignee="alice")
        await peer.file(project, crash)
        await peer.file(project, dark, reporter="bob")
        await peer.file(project, tidy)
        everything = (await tracker.list_tickets(TicketFilter(project=project.id))).tickets
        assert len(everything) == 3
        cases: dict[str, tuple[dict[str, Any], Callable[[Ticket], bool]]] = {
            "statuses": ({"statuses": [Status.BACKLOG]}, lambda t: t.status is Status.BACKLOG),
            "types": ({"types": [TicketType.BUG]}, lambda t: t.type is TicketType.BUG),
            "priorities": ({"priorities": [Priority.HIGH]}, lambda t: t.priority is Priority.HIGH),
            "labels": ({"labels": ["api"]}, lambda t: "api" in {label.name for label in t.labels}),
            "assignee": ({"assignee": peer.user("bob")}, lambda t: t.assignee == peer.user("bob")),
            "reporter": ({"reporter": peer.user("bob")}, lambda t: t.reporter == peer.user("bob")),
            "updated_since": ({"updated_since": "2999-01-01"}, lambda t: False),
            "text": ({"text": "mode"}, lambda t: "mode" in f"{t.title}\n{t.description}".casefold()),
        }
        assert peer.filters <= set(cases)
        for name in sorted(peer.filters):
            arguments, keeps = cases[name]
            found = await tracker.list_tickets(TicketFilter(project=project.id, **arguments))
            expected = [t.slug for t in everything if keeps(t)]
            assert [t.slug for t in found.tickets] == expected, name
            assert found.total == len(expected), name
            assert expected or name == "updated_since", f"{name} selects nothing: the test proves nothing"

    async def test_the_filters_the_api_lacks_are_refused_naming_the_backend(
        self, peer: Peer, tracker: RemoteTracker
    ) -> None:
        project = await peer.new_project()
        for name, arguments in REFUSABLE_FILTERS.items():
            if name not in peer.filters | peer.filters_tested_elsewhere:
                with pytest.raises(Unsupported, match=f"The {peer.backend} backend cannot"):
                    await tracker.list_tickets(TicketFilter(project=project.id, **arguments))

    async def test_paging_returns_every_ticket_once_newest_first_also_across_merged_lists(
        self, peer: Peer, tracker: RemoteTracker
    ) -> None:
        project = await peer.new_project()
        first, last = peer.statuses[0], peer.statuses[-1]
        for n in range(7):
            await peer.file(project, TicketDraft(title=f"Ticket {n}", status=last if n % 3 == 1 else first))
        newest_first = [f"Ticket {n}" for n in reversed(range(7))]
        seen = await walk(tracker, TicketFilter(project=project.id, limit=3))
        assert [t.title for t in seen] == newest_first
        # two statuses are two remote lists where the API filters by one value: merged in the same order
        merged = await walk(tracker, TicketFilter(project=project.id, statuses=[first, last], limit=2))
        assert merged == seen
        only_last = await walk(tracker, TicketFilter(project=project.id, statuses=[last], limit=1))
        assert [t.title for t in only_last] == ["Ticket 4", "Ticket 1"]
        page = await tracker.list_tickets(TicketFilter(project=project.id, limit=3))
        assert page.next_cursor is not None
        with pytest.raises(Invalid, match="cursor"):
            await tracker.list_tickets(TicketFilter(project=project.id, statuses=[first], cursor=page.next_cursor))
        with pytest.raises(Invalid, match="limit"):
            await tracker.list_tickets(TicketFilter(project=project.id, limit=101))

    async def test_a_create_whose_answer_was_lost_finds_the_ticket_instead_of_filing_twice(self, peer: Peer) -> None:
        project = await peer.new_project()
        tracker = await peer.open(transport=LoseAnswers(deliver=True))
        try:
            ticket = await tracker.create_ticket(TicketDraft(title="Filed once, answer lost", project=project.id))
            page = await tracker.list_tickets(TicketFilter(project=project.id))
        finally:
            await tracker.aclose()
        assert ticket.title == "Filed once, answer lost"
        assert [t.slug for t in page.tickets] == [ticket.slug]

    async def test_a_create_that_may_not_have_arrived_says_so(self, peer: Peer) -> None:
        project = await peer.new_project()
        tracker = await peer.open(transport=LoseAnswers(deliver=False))
        try:
            with pytest.raises(Ambiguous, match="may or may not have been applied"):
                await tracker.create_ticket(TicketDraft(title="Maybe filed", project=project.id))
            assert (await tracker.list_tickets(TicketFilter(project=project.id))).total == 0
        finally:
            await tracker.aclose()

    # What an API may lack

    async def test_every_operation_the_api_lacks_is_refused_naming_the_backend(
        self, peer: Peer, tracker: RemoteTracker
    ) -> None:
        project = await peer.new_project()
        ticket = await tracker.create_ticket(TicketDraft(title="Left alone", project=project.id))
        other = await tracker.create_ticket(TicketDraft(title="A neighbour", project=project.id))
        probes: dict[Capability, list[Callable[[], Awaitable[object]]]] = {
            Capability.MANAGE_PROJECTS: [
                lambda: tracker.create_project("Contract extra"),
                lambda: tracker.update_project(project.id, name="Renamed"),
                lambda: tracker.project_deletion(project.id),
                lambda: tracker.delete_project(project.id),
            ],
            Capability.EDIT_TICKETS: [lambda: tracker.update_ticket(ticket.slug, TicketChanges(title="Changed"))],
            Capability.MOVE_TICKETS: [lambda: tracker.move_ticket(ticket.slug, peer.statuses[-1])],
            Capability.ORDER_COLUMNS: [lambda: tracker.move_ticket(ticket.slug, ticket.status, before=other.slug)],
            Capability.DELETE_TICKETS: [
                lambda: tracker.ticket_deletion(ticket.slug),
                lambda: tracker.delete_ticket(ticket.slug),
            ],
            Capability.COMMENT: [lambda: tracker.add_comment(ticket.slug, "Hello")],
            Capability.BOARD: [lambda: tracker.get_board(project.id)],
            Capability.SUBTASKS: [
                lambda: tracker.create_ticket(TicketDraft(title="A child", project=project.id, parent=ticket.slug))
            ],
        }
        assert set(probes) == set(Capability)
        for capability in sorted(peer.missing):
            for probe in probes[capability]:
                with pytest.raises(Unsupported, match=f"The {peer.backend} backend cannot"):
                    await probe()
        assert (await tracker.get_ticket(ticket.slug)).ticket == ticket
        assert (await tracker.list_tickets(TicketFilter(project=project.id))).total == 2

    # What an API may offer

    async def test_a_change_writes_the_fields_sent_and_checks_the_version(
        self, peer: Peer, tracker: RemoteTracker
    ) -> None:
        self.skip_unless(peer, Capability.EDIT_TICKETS)
        project = await peer.new_project()
        labels = ("before",) if "labels" in peer.carries else ()
        created = await tracker.create_ticket(
            TicketDraft(title="Before", project=project.id, description="Kept", labels=labels)
        )
        changes = TicketChanges(title="After", status=peer.statuses[-1], labels=["after"] if labels else None)
        changed = await tracker.update_ticket(created.slug, changes, version=created.version)
        assert (changed.title, changed.description, changed.status) == ("After", "Kept", peer.statuses[-1])
        assert [label.name for label in changed.labels] == (["after"] if labels else [])
        assert (await tracker.get_ticket(created.slug)).ticket == changed
        with pytest.raises(Conflict, match="version"):
            await tracker.update_ticket(created.slug, TicketChanges(title="Stale"), version=changed.version - 1)
        for status in (s for s in Status if s not in peer.statuses):
            with pytest.raises(Unsupported, match=f"The {peer.backend} backend"):
                await tracker.update_ticket(created.slug, TicketChanges(status=status))
        with pytest.raises(Invalid, match="Nothing to change"):
            await tracker.update_ticket(created.slug, TicketChanges())
        assert (await tracker.get_ticket(created.slug)).ticket == changed

    async def test_a_move_changes_the_column(self, peer: Peer, tracker: RemoteTracker) -> None:
        self.skip_unless(peer, Capability.MOVE_TICKETS)
        project = await peer.new_project()
        ticket = await tracker.create_ticket(TicketDraft(title="On the move", project=project.id))
        moved = await tracker.move_ticket(ticket.slug, peer.statuses[-1])
        assert moved.status == peer.statuses[-1]
        assert (await tracker.get_ticket(ticket.slug)).ticket == moved

    async def test_the_board_shows_each_column_with_its_total_and_first_tickets(
        self, peer: Peer, tracker: RemoteTracker
    ) -> None:
        self.skip_unless(peer, Capability.BOARD)
        project = await peer.new_project()
        first, last = peer.statuses[0], peer.statuses[-1]
        for title, status in (("Older", first), ("Newer", first), ("Finished", last)):
            await peer.file(project, TicketDraft(title=title, status=status))
        board = await tracker.get_board(project.id, per_column=1)
        assert board.project.id == project.id
        order = list(Status)
        assert [c.status for c in board.columns] == sorted((c.status for c in board.columns), key=order.index)
        columns = {c.status: c for c in board.columns}
        assert (columns[first].total, len(columns[first].tickets)) == (2, 1)
        assert [t.title for t in columns[last].tickets] == ["Finished"]
        assert sum(c.total for c in board.columns) == 3

    async def test_sub_tasks_show_with_their_parent_and_go_with_it(self, peer: Peer, tracker: RemoteTracker) -> None:
        self.skip_unless(peer, Capability.SUBTASKS)
        project = await peer.new_project()
        parent = await tracker.create_ticket(TicketDraft(title="Parent", project=project.id))
        child = await tracker.create_ticket(TicketDraft(title="Child", project=project.id, parent=parent.slug))
        grandchild = await tracker.create_ticket(TicketDraft(title="Grandchild", project=project.id, parent=child.slug))
        assert child.parent == parent.slug
        assert [t.slug for t in (await tracker.get_ticket(parent.slug)).subtasks] == [child.slug]
        if Capability.DELETE_TICKETS not in peer.missing:
            impact = await tracker.ticket_deletion(parent.slug)
            assert (impact.slug, impact.subtasks) == (parent.slug, (child.slug, grandchild.slug))

    async def test_deleting_a_ticket_removes_it(self, peer: Peer, tracker: RemoteTracker) -> None:
        self.skip_unless(peer, Capability.DELETE_TICKETS)
        project = await peer.new_project()
        ticket = await tracker.create_ticket(TicketDraft(title="Short-lived", project=project.id))
        kept = await tracker.create_ticket(TicketDraft(title="Stays", project=project.id))
        assert (await tracker.ticket_deletion(ticket.slug)).slug == ticket.slug
        assert (await tracker.delete_ticket(ticket.slug)).slug == ticket.slug
        with pytest.raises(NotFound):
            await tracker.get_ticket(ticket.slug)
        with pytest.raises(NotFound):
            await tracker.delete_ticket(ticket.slug)
        assert [t.slug for t in (await tracker.list_tickets(TicketFilter(project=project.id))).tickets] == [kept.slug]
