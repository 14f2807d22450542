"""What the real peer does not show: the adapters on API answers shaped as their seeds allow but
tickets-mcp serve never sends (no pagination headers, the seed's own examples, broken shapes),
through httpx2's MockTransport, without sockets."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import TicketDraft, TicketFilter
from tickets_mcp.domain import Status
from tickets_mcp.errors import BackendUnavailable, Invalid, NotFound
from tickets_mcp.remotes import abf, agentsmesh, bugtome
from tickets_mcp.remotes.abf import AbfTracker
from tickets_mcp.remotes.client import Policy, RemoteClient
from tickets_mcp.remotes.mapping import api_root

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx2.Request], httpx2.Response]
QUICK = Policy(timeout=2, retries=0)


def answer(body: Any, status: int = 200) -> httpx2.Response:
    return httpx2.Response(status, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def mock(handler: Handler) -> httpx2.MockTransport:
    return httpx2.MockTransport(handler)


def test_the_agentsmesh_url_names_the_organization_as_the_apis_paths_do() -> None:
    base, org = agentsmesh.organization_url("https://mesh.example.com/api/v1/ext/orgs/my%20org/tickets/")
    assert (base, org) == ("https://mesh.example.com/api/v1/ext/orgs/my%20org/", "my org")
    for url in (
        "https://mesh.example.com",
        "https://mesh.example.com/api/v1/ext/orgs/",
        "https://x/api/v1/ext/orgs/a/b",
    ):
        with pytest.raises(Invalid, match="must name the organization"):
            agentsmesh.organization_url(url)


def test_a_url_that_goes_on_into_the_api_is_cut_back_to_the_trackers_root() -> None:
    assert api_root("https://bugto.me/api/v1/mcp/organizations?x=1") == "https://bugto.me/"
    assert api_root("https://example.com/tracker/api/v1") == "https://example.com/tracker/"
    assert api_root("https://abf.example.com") == "https://abf.example.com/"


def test_abf_codes_are_short_unique_and_say_a_numeric_id() -> None:
    tracker = AbfTracker(RemoteClient("abf", "https://abf.example.com", {}), "abf.example.com")
    assert tracker._code("3") == "P3"  # pyright: ignore[reportPrivateUsage]
    assert tracker._code("550e8400-e29b-41d4-a716-446655440000") == "P550E8400"  # pyright: ignore[reportPrivateUsage]
    assert tracker._code("550e8400-ffff-41d4-a716-446655440000") == "P550E8400F"  # pyright: ignore[reportPrivateUsage]
    third = tracker._code("550e8400-fffe-41d4-a716-446655440000")  # pyright: ignore[reportPrivateUsage]
    assert third.startswith("Q") and len(third) == 10
    assert tracker._code("550e8400-e29b-41d4-a716-446655440000") == "P550E8400"  # pyright: ignore[reportPrivateUsage]


async def test_the_seed_board_examples_open_column_reads_as_backlog() -> None:
    seed_board: dict[str, Any] = {"board": {"columns": [
        {"status": "open", "tickets": [{"id": 2, "slug": "AM-43", "title": "Fix CSS layout issue", "type": "bug",
                                        "priority": "medium", "assignee_id": 5}]},
        {"status": "in_progress", "tickets": []},
    ]}}  # fmt: skip

    seed_ticket = {"id": 2, "slug": "AM-43", "title": "Fix CSS layout issue", "type": "bug", "status": "open",
                   "repository_id": 7, "created_at": "2025-01-10T08:00:00Z",
                   "updated_at": "2025-01-15T14:20:00Z"}  # fmt: skip

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/tickets/board"):
            return answer(seed_board)
        if request.url.path.endswith("/tickets/AM-43"):
            return answer({"ticket": seed_ticket})
        return answer({"tickets": [], "total": 0, "limit": 1, "offset": 0})

    settings = RemoteSettings("agentsmesh", "https://mesh.example.com/api/v1/ext/orgs/acme", "amk_x")
    tracker = await agentsmesh.open_adapter(settings, policy=QUICK, transport=mock(handler))
    try:
        board = await tracker.get_board("7")
    finally:
        await tracker.aclose()
    assert [(c.status, c.total) for c in board.columns] == [(Status.BACKLOG, 1), (Status.IN_PROGRESS, 0)]
    (card,) = board.columns[0].tickets
    assert (board.project.code, card.slug, card.number, card.assignee, card.project_id) == ("AM", "AM-43", 43, "5", "7")


async def test_an_answer_in_a_shape_the_adapter_does_not_know_is_the_backends_failure() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return answer({"tickets": [{"id": 1, "title": "no slug", "status": "backlog"}], "total": 1})

    settings = RemoteSettings("agentsmesh", "https://mesh.example.com/api/v1/ext/orgs/acme", "amk_secret")
    with pytest.raises(BackendUnavailable, match=r"agentsmesh sent a ticket list in a shape .* \(tickets\.0\.slug"):
        await agentsmesh.open_adapter(settings, policy=QUICK, transport=mock(handler))


def bugtome_without_counts(tickets: int) -> Handler:
    """A BugToMe that sends no X-Total headers: only full pages say more may follow."""
    rows = [
        {"id": n, "number": n, "slug": f"WEB-{n}", "project_id": "p1", "type": "bug", "title": f"Bug {n}",
         "status": "open", "priority": "medium", "created_at": str(1_700_000_000 + n),
         "updated_at": "2024-01-02T00:00:00Z"}
        for n in range(tickets, 0, -1)
    ]  # fmt: skip

    def handler(request: httpx2.Request) -> httpx2.Response:
        path, params = request.url.path, request.url.params
        if path == "/api/v1/mcp/organizations":
            return answer({"organizations": [{"id": "o1", "name": "Acme", "slug": "acme"}]})
        if path == "/api/v1/mcp/organizations/o1/projects":
            return answer(
                {"projects": [{"id": "p1", "name": "Web", "code": "WEB", "created_at": "2024-01-01T00:00:00Z"}]}
            )
        if path == "/api/v1/mcp/organizations/o1/tickets":
            size = int(params.get("per_page", "25"))
            start = (int(params.get("page", "1")) - 1) * size
            return answer({"tickets": rows[start : start + size]})
        return answer({"message": "404 Not Found"}, 404)

    return handler


async def test_without_counts_a_list_pages_on_and_says_its_total_is_a_lower_bound() -> None:
    settings = RemoteSettings("bugtome", "https://bugto.me", "pk_x")
    tracker = await bugtome.open_adapter(settings, policy=QUICK, transport=mock(bugtome_without_counts(5)))
    try:
        page = await tracker.list_tickets(TicketFilter(project="WEB", limit=2))
        assert ([t.slug for t in page.tickets], page.total, page.total_capped) == (["WEB-5", "WEB-4"], 3, True)
        seen = [t.slug for t in page.tickets]
        while page.next_cursor:
            page = await tracker.list_tickets(TicketFilter(project="WEB", limit=2, cursor=page.next_cursor))
            seen += [t.slug for t in page.tickets]
        assert seen == ["WEB-5", "WEB-4", "WEB-3", "WEB-2", "WEB-1"]
        assert page.total == 5
    finally:
        await tracker.aclose()


async def test_without_counts_a_ticket_is_found_by_walking_its_projects_pages() -> None:
    settings = RemoteSettings("bugtome", "https://bugto.me", "pk_x")
    tracker = await bugtome.open_adapter(settings, policy=QUICK, transport=mock(bugtome_without_counts(250)))
    try:
        assert (await tracker.get_ticket("WEB-7")).ticket.title == "Bug 7"
        assert (await tracker.get_ticket("web-250")).ticket.number == 250
        with pytest.raises(NotFound, match="WEB-251"):
            await tracker.get_ticket("WEB-251")
    finally:
        await tracker.aclose()


async def test_abf_create_that_the_api_refuses_in_its_body_is_an_error() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST":
            return answer({"issue": {"number": None, "message": "Issue has not been created"}}, 201)
        return answer({"issues": [], "url": "/api/v1/issues.json"})

    tracker = await abf.open_adapter(RemoteSettings("abf", "https://abf.example.com", "t"), transport=mock(handler))
    try:
        with pytest.raises(Invalid, match="abf did not create the issue: Issue has not been created"):
            await tracker.create_ticket(TicketDraft(title="Refused", project="3"))
    finally:
        await tracker.aclose()


UUID = "550e8400-e29b-41d4-a716-446655440000"


async def test_agentsmesh_reads_and_names_a_repository_by_an_integer_or_a_uuid() -> None:
    """A real AgentsMesh sends integers (seed 001); ids sent as strings are read the same way."""
    asked: list[str | None] = []

    def row(n: int, repository: int | str) -> dict[str, Any]:
        return {"id": n, "slug": f"AM-{n}", "title": f"T{n}", "status": "todo", "repository_id": repository,
                "created_at": "2025-01-10T08:00:00Z", "updated_at": "2025-01-15T14:20:00Z"}  # fmt: skip

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/tickets/board"):  # no project shown: one is taken to be named by its id
            return answer({"board": {"columns": []}})
        asked.append(request.url.params.get("repository_id"))
        return answer({"tickets": [row(2, 7), row(1, UUID)], "total": 2, "limit": 20, "offset": 0})

    settings = RemoteSettings("agentsmesh", "https://mesh.example.com/api/v1/ext/orgs/acme", "amk_x")
    tracker = await agentsmesh.open_adapter(settings, policy=QUICK, transport=mock(handler))
    try:
        everything = await tracker.list_tickets(TicketFilter())
        await tracker.list_tickets(TicketFilter(project="7"))
        await tracker.list_tickets(TicketFilter(project=UUID))
    finally:
        await tracker.aclose()
    assert [(t.slug, t.project_id) for t in everything.tickets] == [("AM-2", "7"), ("AM-1", UUID)]
    assert asked[-2:] == ["7", UUID]


async def test_abf_reads_issue_urls_naming_a_project_by_an_integer_or_a_uuid() -> None:
    issue: dict[str, Any] = {"title": "t", "status": "open", "labels": [], "assignee": None, "body": "", "owner": None,
             "closed_at": None, "closed_by": None, "created_at": "1348170705", "updated_at": "1348170705"}  # fmt: skip
    paths: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        paths.append(request.url.path)
        if request.url.path == "/api/v1/issues.json":
            issues = [
                {**issue, "number": "11", "url": "/api/v1/projects/3/issues/11.json"},
                {**issue, "number": "12", "url": f"/api/v1/projects/{UUID}/issues/12.json"},
            ]
            return answer({"issues": issues, "url": "/api/v1/issues.json"})
        return answer({"issue": {**issue, "number": "11", "url": "/api/v1/projects/3/issues/11.json"}})

    tracker = await abf.open_adapter(RemoteSettings("abf", "https://abf.example.com", "t"), transport=mock(handler))
    try:
        page = await tracker.list_tickets(TicketFilter(statuses=[Status.BACKLOG]))
        detail = await tracker.get_ticket("P3-11")
    finally:
        await tracker.aclose()
    assert [(t.slug, t.project_id) for t in page.tickets] == [("P3-11", "3"), ("P550E8400-12", UUID)]
    assert (detail.ticket.project_id, paths[-1]) == ("3", "/api/v1/projects/3/issues/11.json")
