"""ABF's `assignee=*` (issued to anyone) is a filter of the store's list query (issue 15, item 12): a page
costs a page, not every ticket of the project. The store answers `assigned` with its page, total and
cursor on both stores, and the `serve` app pages through ABF's assigned issues with the right total."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.http_server import bearer
from tests.fixtures.store_contract import World, draft, walk
from tests.fixtures.stores import Location
from tickets_mcp.domain import Status
from tickets_mcp.stores import Store, TicketQuery


@pytest.mark.anyio
async def test_the_store_lists_the_tickets_someone_is_assigned_to(store: Store, world: World) -> None:
    for n in range(1, 8):
        who = (None, world.alice, world.bob)[n % 3]
        status = Status.DONE if n == 4 else Status.BACKLOG
        await store.create_ticket(draft(world, f"ticket {n}", assignee=who, status=status), world.actor)
    query = TicketQuery(project_ids=[world.inbox.id], assigned=True, limit=2)
    assert await walk(store, query, 5) == [7, 5, 4, 2, 1]
    page = await store.list_tickets(replace(query, offset=2, limit=2))
    assert ([t.number for t in page.tickets], page.total) == ([4, 2], 5)
    open_only = replace(query, statuses=(Status.BACKLOG,), limit=10)
    assert [t.number for t in (await store.list_tickets(open_only)).tickets] == [7, 5, 2, 1]
    # A cursor of the assigned list does not page another list.
    first = await store.list_tickets(query)
    assert first.next_cursor is not None
    with pytest.raises(Exception, match="cursor"):
        await store.list_tickets(replace(query, assigned=False, cursor=first.next_cursor))


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[AppServer]:
    with serving_app(module_store_location) as app:
        yield app


def test_abf_pages_through_the_issues_assigned_to_anyone(server: AppServer) -> None:
    token = server.create_token("--user", "alice")
    server.cli("user", "add", "dora")
    server.cli("member", "set", "local", "dora", "member")
    with server.client(headers=bearer(token)) as http:
        made = http.post("/api/v1/native/projects", json={"name": "Assigned", "code": "ASG"})
        assert made.status_code == 201, made.text
        for n in range(1, 31):
            ticket = {"title": f"issue {n}", "project": "ASG", "assignee": ("dora", None, "alice")[n % 3]}
            assert http.post("/api/v1/native/tickets", json=ticket).status_code == 201
        assigned = [n for n in range(30, 0, -1) if n % 3 != 1]
        pages: list[str] = []
        for page in (1, 2, 3):
            response = http.get("/api/v1/projects/ASG/issues.json", params={"assignee": "*", "per_page": 8,
                                                                              "page": page})  # fmt: skip
            assert response.status_code == 200, response.text
            assert response.headers["x-total"] == "20" and response.headers["x-total-pages"] == "3"
            issues = response.json()["issues"]
            assert all(issue["assignee"] is not None for issue in issues)
            pages += [issue["number"] for issue in issues]
        assert pages == [str(n) for n in assigned]
