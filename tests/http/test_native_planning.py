"""Planning over the native REST API: links, milestones, due dates, estimates and time, with the status codes
of seed 003 for what is refused. On the serve app in process, both stores."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of

pytestmark = pytest.mark.anyio

API = "/api/v1/native"


async def file(rest: Rest, title: str, **fields: Any) -> dict[str, Any]:
    body = {"title": title, "project": rest.project, **fields}
    return json_of(await rest.client.post(f"{API}/tickets", json=body, headers=bearer(rest.tokens.alice)), 201)


async def test_a_ticket_carries_a_due_date_an_estimate_and_a_milestone(rest: Rest) -> None:
    owner = bearer(rest.tokens.alice)
    milestone = json_of(
        await rest.client.put(
            f"{API}/projects/{rest.project}/milestones/Sprint 1", json={"due_date": "2030-01-31"}, headers=owner
        ),
        200,
    )
    assert (milestone["name"], milestone["due_date"], milestone["closed"]) == ("Sprint 1", "2030-01-31", False)
    ticket = await file(rest, "Planned", due_date="2030-01-15", estimate=5, milestone="Sprint 1")
    assert (ticket["due_date"], ticket["estimate"], ticket["milestone"]) == ("2030-01-15", 5.0, "Sprint 1")
    changed = json_of(
        await rest.client.patch(
            f"{API}/tickets/{ticket['slug']}", json={"estimate": "none", "milestone": "none"}, headers=owner
        ),
        200,
    )
    assert (changed["estimate"], changed["milestone"]) == (None, None)
    listed = json_of(
        await rest.client.get(
            f"{API}/tickets", params={"project": rest.project, "due_before": "2030-01-20"}, headers=owner
        ),
        200,
    )
    assert [t["slug"] for t in listed["tickets"]] == [ticket["slug"]]


async def test_links_are_made_read_from_both_sides_and_removed(rest: Rest) -> None:
    owner = bearer(rest.tokens.alice)
    first, second = await file(rest, "First step"), await file(rest, "Second step")
    linked = json_of(
        await rest.client.post(
            f"{API}/tickets/{second['slug']}/links", json={"kind": "blocked_by", "other": first["slug"]}, headers=owner
        ),
        200,
    )
    assert linked["links"] == [
        {"kind": "blocked_by", "slug": first["slug"], "title": "First step", "status": "backlog"}
    ]
    detail = json_of(await rest.client.get(f"{API}/tickets/{first['slug']}", headers=owner), 200)
    assert [(link["kind"], link["slug"]) for link in detail["links"]] == [("blocks", second["slug"])]
    blocked = json_of(
        await rest.client.get(f"{API}/tickets", params={"project": rest.project, "blocked": "true"}, headers=owner),
        200,
    )
    assert [t["slug"] for t in blocked["tickets"]] == [second["slug"]]
    assert blocked["tickets"][0]["blocked_by"] == [first["slug"]]
    cycle = await rest.client.post(
        f"{API}/tickets/{first['slug']}/links", json={"kind": "blocked_by", "other": second["slug"]}, headers=owner
    )
    assert cycle.status_code == 400 and "cycle" in cycle.json()["message"]
    removed = json_of(
        await rest.client.delete(f"{API}/tickets/{second['slug']}/links/blocked_by/{first['slug']}", headers=owner),
        200,
    )
    assert removed["links"] == []
    again = await rest.client.delete(f"{API}/tickets/{second['slug']}/links/blocked_by/{first['slug']}", headers=owner)
    assert again.status_code == 404


async def test_time_is_logged_and_a_reporter_or_reader_may_not(rest: Rest) -> None:
    ticket = await file(rest, "Worked on")
    logged = json_of(
        await rest.client.post(
            f"{API}/tickets/{ticket['slug']}/time", json={"hours": 1.25, "note": "triage"},
            headers=bearer(rest.tokens.bob),
        ),
        201,
    )  # fmt: skip
    assert (logged["hours"], logged["user"], logged["note"]) == (1.25, rest.person("bob").username, "triage")
    detail = json_of(await rest.client.get(f"{API}/tickets/{ticket['slug']}", headers=bearer(rest.tokens.bob)), 200)
    assert detail["ticket"]["spent"] == 1.25 and len(detail["time_entries"]) == 1
    for token in (rest.tokens.carol, rest.tokens.reader):
        refused = await rest.client.post(
            f"{API}/tickets/{ticket['slug']}/time", json={"hours": 1}, headers=bearer(token)
        )
        assert refused.status_code == 403, refused.text
    too_much = await rest.client.post(
        f"{API}/tickets/{ticket['slug']}/time", json={"hours": 5000}, headers=bearer(rest.tokens.bob)
    )
    assert too_much.status_code == 400


async def test_closing_a_milestone_with_open_tickets_is_a_400_until_told_what_to_do(rest: Rest) -> None:
    owner = bearer(rest.tokens.alice)
    path = f"{API}/projects/{rest.project}/milestones"
    json_of(await rest.client.put(f"{path}/Sprint 1", json={}, headers=owner), 200)
    await file(rest, "Open work", milestone="Sprint 1")
    refused = await rest.client.put(f"{path}/Sprint 1", json={"closed": True}, headers=owner)
    assert refused.status_code == 400 and "open_tickets" in refused.text
    closed = json_of(
        await rest.client.put(f"{path}/Sprint 1", json={"closed": True, "open_tickets": "keep"}, headers=owner), 200
    )
    assert (closed["closed"], closed["open_tickets"]) == (True, 1)
    json_of(await rest.client.put(f"{path}/Q3/Q4", json={"due_date": "2030-12-31"}, headers=owner), 200)
    listed = json_of(await rest.client.get(path, params={"closed": "true"}, headers=owner), 200)
    assert [(m["name"], m["closed"]) for m in listed] == [("Q3/Q4", False), ("Sprint 1", True)]
    unit = json_of(
        await rest.client.patch(f"{API}/projects/{rest.project}", json={"estimate_unit": "points"}, headers=owner),
        200,
    )
    assert unit["estimate_unit"] == "points"
