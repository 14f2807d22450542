"""Seed 000, BugToMe: the seed's example workflow replayed, with its shapes, tokens and counts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of

pytestmark = pytest.mark.anyio

ISO_SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
ORGS = "/api/v1/mcp/organizations"


async def file_ticket(rest: Rest, token: str | None = None, **fields: Any) -> dict[str, Any]:
    response = await rest.client.post("/api/v1/tickets", json=fields, headers=bearer(token or rest.tokens.alice))
    return json_of(response, 201)["ticket"]


async def test_step_1_lists_the_organizations_the_token_may_see_as_id_name_slug(rest: Rest) -> None:
    body = json_of(await rest.client.get(ORGS, headers=bearer(rest.tokens.alice)), 200)
    assert list(body) == ["organizations"]
    (org,) = body["organizations"]
    assert set(org) == {"id", "name", "slug"}
    assert (org["id"], org["slug"]) == (rest.org_id, rest.org)
    assert org["name"] == "Team " + rest.org.removeprefix("team-")
    dave = json_of(await rest.client.get(ORGS, headers=bearer(rest.tokens.dave)), 200)
    assert [o["slug"] for o in dave["organizations"]] == [rest.other_org]


async def test_step_2_lists_projects_with_the_seeds_fields_and_ticket_counts(rest: Rest) -> None:
    await file_ticket(rest, title="Still open", project_id=rest.project)
    await file_ticket(rest, title="Being fixed", project_id=rest.project, status="in_progress")
    await file_ticket(rest, title="Fixed, to verify", project_id=rest.project, status="resolved")
    await file_ticket(rest, title="Done with", project_id=rest.project, status="closed")
    body = json_of(await rest.client.get(f"{ORGS}/{rest.org_id}/projects", headers=bearer(rest.tokens.alice)), 200)
    project, later = body["projects"]  # by name
    assert set(project) == {"id", "name", "code", "description", "tickets_count", "open_tickets_count", "created_at"}
    assert (project["code"], project["tickets_count"], project["open_tickets_count"]) == (rest.project, 4, 3)
    assert (later["code"], later["tickets_count"], later["open_tickets_count"]) == (rest.later, 0, 0)
    assert ISO_SECONDS.fullmatch(project["created_at"])


async def test_step_3_lists_a_projects_tickets_newest_first_in_bugtome_words(rest: Rest) -> None:
    projects = json_of(await rest.client.get(f"{ORGS}/{rest.org_id}/projects", headers=bearer(rest.tokens.alice)), 200)
    project_id = projects["projects"][0]["id"]
    await file_ticket(rest, title="Checkout fails", project_id=project_id, priority="critical", labels=["payments"])
    await file_ticket(rest, title="Typo on the about page", project_id=project_id, priority="low")
    url = f"{ORGS}/{rest.org_id}/tickets"
    body = json_of(await rest.client.get(url, params={"project_id": project_id}, headers=bearer(rest.tokens.bob)), 200)
    assert list(body) == ["tickets"]
    newest, oldest = body["tickets"]
    assert newest["title"] == "Typo on the about page"
    assert (oldest["priority"], oldest["status"], oldest["type"], oldest["labels"]) == (
        "critical", "open", "bug", ["payments"],
    )  # fmt: skip
    assert (oldest["slug"], oldest["project_id"], oldest["reporter"]) == (
        rest.slug(1),
        project_id,
        rest.person("alice").username,
    )
    assert ISO_SECONDS.fullmatch(oldest["created_at"]) and oldest["closed_at"] is None


async def test_tickets_filter_by_bugtome_status_and_priority(rest: Rest) -> None:
    await file_ticket(rest, title="Open one", project_id=rest.project)
    await file_ticket(rest, title="Resolved one", project_id=rest.project, status="resolved", priority="critical")
    url = f"{ORGS}/{rest.org}/tickets"
    headers = bearer(rest.tokens.alice)
    resolved = json_of(await rest.client.get(url, params={"status": "resolved"}, headers=headers), 200)
    assert [t["title"] for t in resolved["tickets"]] == ["Resolved one"]
    critical = json_of(await rest.client.get(url, params={"priority": "critical"}, headers=headers), 200)
    assert [t["title"] for t in critical["tickets"]] == ["Resolved one"]
    wrong = json_of(await rest.client.get(url, params={"status": "in_review"}, headers=headers), 400)
    assert "status" in wrong["message"]


async def test_page_and_per_page_cut_the_list_and_the_headers_give_the_total(rest: Rest) -> None:
    for n in range(3):
        await file_ticket(rest, title=f"Ticket {n}", project_id=rest.project)
    url = f"{ORGS}/{rest.org}/tickets"
    headers = bearer(rest.tokens.alice)
    response = await rest.client.get(url, params={"page": 2, "per_page": 2}, headers=headers)
    assert [t["title"] for t in json_of(response, 200)["tickets"]] == ["Ticket 0"]
    assert (response.headers["X-Total"], response.headers["X-Total-Pages"], response.headers["X-Prev-Page"]) == (
        "3", "2", "1",
    )  # fmt: skip
    first = await rest.client.get(url, headers=headers)
    assert (first.headers["X-Per-Page"], first.headers["X-Next-Page"]) == ("20", "")  # seed 003's default
    capped = await rest.client.get(url, params={"per_page": 500}, headers=headers)
    assert capped.headers["X-Per-Page"] == "100"
    assert json_of(await rest.client.get(url, params={"page": 0}, headers=headers), 400)["message"]


async def test_filing_a_ticket_answers_201_with_the_ticket(rest: Rest) -> None:
    ticket = await file_ticket(
        rest,
        title="Login button unresponsive",
        project_id=rest.project,
        description="Steps: click it.",
        priority="high",
        assignee=rest.person("bob").username,
        labels=["ui"],
    )
    assert (ticket["slug"], ticket["status"], ticket["priority"], ticket["assignee"]) == (
        rest.slug(1), "open", "high", rest.person("bob").username,
    )  # fmt: skip


async def test_filing_without_a_title_is_a_400_naming_the_title(rest: Rest) -> None:
    response = await rest.client.post(
        "/api/v1/tickets", json={"project_id": rest.project}, headers=bearer(rest.tokens.alice)
    )
    assert "title" in json_of(response, 400)["message"]
    blank = await rest.client.post("/api/v1/tickets", json={"title": "  "}, headers=bearer(rest.tokens.alice))
    assert "title" in json_of(blank, 400)["message"]


async def test_a_project_token_files_in_its_own_project_without_naming_it(rest: Rest) -> None:
    ticket = await file_ticket(rest, token=rest.tokens.inbox, title="From CI: test_login failed")
    assert ticket["slug"] == rest.slug(1)


async def test_a_project_token_may_not_file_elsewhere_nor_read(rest: Rest) -> None:
    created = await rest.client.post(
        f"/api/v1/organizations/{rest.org}/projects",
        json={"data": {"type": "projects", "attributes": {"name": "Website"}}},
        headers=bearer(rest.tokens.alice),
    )
    website = json_of(created, 201)["data"]["id"]
    elsewhere = await rest.client.post(
        "/api/v1/tickets", json={"title": "Nope", "project_id": website}, headers=bearer(rest.tokens.inbox)
    )
    assert "project token" in json_of(elsewhere, 403)["message"]
    listing = await rest.client.get(f"{ORGS}/{rest.org}/tickets", headers=bearer(rest.tokens.inbox))
    json_of(listing, 403)


async def test_an_unknown_organization_or_project_is_a_404(rest: Rest) -> None:
    headers = bearer(rest.tokens.alice)
    assert json_of(await rest.client.get(f"{ORGS}/no-such-org/projects", headers=headers), 404)["message"]
    assert json_of(await rest.client.get(f"{ORGS}/{rest.other_org}/projects", headers=headers), 404)["message"]
    missing = await rest.client.get(f"{ORGS}/{rest.org}/tickets", params={"project_id": "NOPE"}, headers=headers)
    assert json_of(missing, 404)["message"]
    filing = await rest.client.post("/api/v1/tickets", json={"title": "x", "project_id": "NOPE"}, headers=headers)
    json_of(filing, 404)
