"""REST lists count their tickets no further than paging.COUNT_LIMIT (10,000, GitLab's threshold): past it a
page/per_page list leaves out X-Total and X-Total-Pages as GitLab does, and AgentsMesh's body total is a lower
bound that pages on to the last page. A total by project and status alone is kept, not counted, so it stays
exact. The limit is lowered to 2 here, so three tickets pass it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of
from tickets_mcp.http.rest import paging

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def low_count_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paging, "COUNT_LIMIT", 2)


async def file_five(rest: Rest) -> None:
    for n in range(5):
        body = {"title": f"Ticket {n}", "project_id": rest.project, "priority": "high"}
        json_of(await rest.client.post("/api/v1/tickets", json=body, headers=bearer(rest.tokens.alice)), 201)


async def test_a_page_per_page_list_past_the_count_leaves_the_total_out_and_still_says_the_next_page(
    rest: Rest,
) -> None:
    await file_five(rest)
    url = f"/api/v1/mcp/organizations/{rest.org}/tickets"
    headers = bearer(rest.tokens.alice)
    first = await rest.client.get(url, params={"priority": "high", "per_page": 2}, headers=headers)
    assert len(json_of(first, 200)["tickets"]) == 2
    assert "X-Total" not in first.headers and "X-Total-Pages" not in first.headers
    assert (first.headers["X-Page"], first.headers["X-Next-Page"], first.headers["X-Prev-Page"]) == ("1", "2", "")
    last = await rest.client.get(url, params={"priority": "high", "per_page": 2, "page": 3}, headers=headers)
    assert [t["title"] for t in json_of(last, 200)["tickets"]] == ["Ticket 0"]
    assert (last.headers["X-Next-Page"], last.headers["X-Prev-Page"]) == ("", "2")
    kept = await rest.client.get(url, params={"per_page": 2}, headers=headers)
    assert (kept.headers["X-Total"], kept.headers["X-Total-Pages"], kept.headers["X-Next-Page"]) == ("5", "3", "2")


async def test_abf_lists_leave_the_total_out_past_the_count_too(rest: Rest) -> None:
    await file_five(rest)
    url = f"/api/v1/projects/{rest.project_id}/issues.json"
    headers = bearer(rest.tokens.alice)
    counted = await rest.client.get(url, params={"since": 0, "per_page": 4}, headers=headers)
    assert len(json_of(counted, 200)["issues"]) == 4
    assert "X-Total" not in counted.headers and counted.headers["X-Next-Page"] == "2"
    kept = await rest.client.get(url, params={"per_page": 4}, headers=headers)  # the open ones: kept, exact
    assert (kept.headers["X-Total"], kept.headers["X-Next-Page"]) == ("5", "2")


async def agentsmesh_page(rest: Rest, **params: Any) -> tuple[list[dict[str, Any]], int]:
    url = f"/api/v1/ext/orgs/{rest.org}/tickets"
    body = json_of(await rest.client.get(url, params=params, headers={"X-API-Key": rest.tokens.writer}), 200)
    return body["tickets"], body["total"]


async def test_an_agentsmesh_total_past_the_count_is_a_lower_bound_that_pages_on_and_ends_exact(
    rest: Rest,
) -> None:
    await file_five(rest)
    everything, kept = await agentsmesh_page(rest, limit=2)
    assert kept == 5  # by project alone: kept, exact
    walked: list[str] = []
    offset, totals = 0, list[int]()
    while True:
        tickets, total = await agentsmesh_page(rest, type=everything[0]["type"], limit=2, offset=offset)
        walked += [t["title"] for t in tickets]
        totals.append(total)
        offset += 2
        if offset >= total:
            break
    assert walked == [f"Ticket {n}" for n in range(4, -1, -1)]
    assert totals == [3, 5, 5]  # at least one more after each full page, exact on the last
