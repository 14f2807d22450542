"""Seed 004, HCP Terraform projects: JSON:API create/list/show/update/delete, name rules, paging, who may manage."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest

from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of

pytestmark = pytest.mark.anyio

JSON_API = "application/vnd.api+json"


def projects(rest: Rest) -> str:
    return f"/api/v1/organizations/{rest.org}/projects"


def payload(name: str, **attributes: Any) -> dict[str, Any]:
    return {"data": {"type": "projects", "attributes": {"name": name, **attributes}}}


async def create(rest: Rest, name: str, token: str | None = None) -> dict[str, Any]:
    response = await rest.client.post(projects(rest), json=payload(name), headers=bearer(token or rest.tokens.alice))
    return json_of(response, 201)["data"]


def error_of(body: dict[str, Any], status: int) -> str:
    """Errors carry seed 003's message and JSON:API's errors array, both saying the same; the title is the
    status's own phrase, the same for every error of that status, as JSON:API asks of a title."""
    (error,) = body["errors"]
    assert error["status"] == str(status) and error["detail"] == body["message"]
    assert error["title"] == HTTPStatus(status).phrase
    return body["message"]


async def test_the_sample_payload_creates_a_project_answering_201_with_a_json_api_document(rest: Rest) -> None:
    response = await rest.client.post(
        projects(rest),
        content=b'{"data": {"type": "projects", "attributes": {"name": "my-project"}}}',
        headers={**bearer(rest.tokens.alice), "Content-Type": JSON_API},
    )
    assert response.headers["content-type"].startswith(JSON_API)
    data = json_of(response, 201)["data"]
    assert (data["type"], data["attributes"]["name"]) == ("projects", "my-project")
    assert set(data["attributes"]) == {
        "name", "description", "code", "created-at", "tickets-count", "open-tickets-count",
    }  # fmt: skip
    assert data["relationships"]["organization"]["data"] == {"id": rest.org, "type": "organizations"}
    assert data["links"]["self"] == f"/api/v1/projects/{data['id']}"


@pytest.mark.parametrize("name", ["abc", "a" * 36, "Web App_2-x", "123"])
async def test_names_of_3_to_36_letters_digits_spaces_dashes_and_underscores_are_accepted(
    rest: Rest, name: str
) -> None:
    assert (await create(rest, name))["attributes"]["name"] == name


@pytest.mark.parametrize("name", ["ab", "a" * 37, "web/app", "web.app", "émoji"])
async def test_other_names_are_a_400(rest: Rest, name: str) -> None:
    response = await rest.client.post(projects(rest), json=payload(name), headers=bearer(rest.tokens.alice))
    assert "name" in error_of(json_of(response, 400), 400).lower()


async def test_a_name_that_exists_is_a_409(rest: Rest) -> None:
    await create(rest, "Website")
    again = await rest.client.post(projects(rest), json=payload("Website"), headers=bearer(rest.tokens.alice))
    assert "already exists" in error_of(json_of(again, 409), 409)


async def test_a_payload_without_the_projects_type_or_a_name_is_a_400(rest: Rest) -> None:
    headers = bearer(rest.tokens.alice)
    wrong_type = {"data": {"type": "workspaces", "attributes": {"name": "Website"}}}
    json_of(await rest.client.post(projects(rest), json=wrong_type, headers=headers), 400)
    no_name: dict[str, Any] = {"data": {"type": "projects", "attributes": {}}}
    assert "name" in json_of(await rest.client.post(projects(rest), json=no_name, headers=headers), 400)["message"]
    json_of(await rest.client.post(projects(rest), json={}, headers=headers), 400)


async def test_owners_and_keys_with_projects_write_may_create_members_and_ticket_keys_may_not(rest: Rest) -> None:
    await create(rest, "By manager key", rest.tokens.manager)
    for token in (rest.tokens.bob, rest.tokens.writer, rest.tokens.inbox):
        refused = await rest.client.post(projects(rest), json=payload("Refused"), headers=bearer(token))
        error_of(json_of(refused, 403), 403)


async def test_an_unknown_organization_is_a_404_and_no_token_a_401_both_json_api(rest: Rest) -> None:
    missing = await rest.client.post(
        "/api/v1/organizations/nope/projects", json=payload("x-y-z"), headers=bearer(rest.tokens.alice)
    )
    error_of(json_of(missing, 404), 404)
    other = await rest.client.get(f"/api/v1/organizations/{rest.other_org}/projects", headers=bearer(rest.tokens.alice))
    error_of(json_of(other, 404), 404)
    anonymous = await rest.client.get(projects(rest))
    assert error_of(json_of(anonymous, 401), 401).startswith("401 Unauthorized")
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")


async def test_the_list_pages_with_page_number_and_size_and_reports_pagination_meta(rest: Rest) -> None:
    for name in ("Alpha", "Beta", "Gamma", "Delta"):
        await create(rest, name)
    headers = bearer(rest.tokens.alice)
    body = json_of(await rest.client.get(projects(rest), headers=headers), 200)
    assert body["meta"]["pagination"] == {
        "current-page": 1, "page-size": 20, "prev-page": None, "next-page": None, "total-pages": 1, "total-count": 6,
    }  # fmt: skip
    assert [p["attributes"]["name"] for p in body["data"]] == ["Alpha", "Beta", "Delta", "Gamma", "Inbox", "Later"]
    page = await rest.client.get(projects(rest), params={"page[number]": 2, "page[size]": 2}, headers=headers)
    body = json_of(page, 200)
    assert [p["attributes"]["name"] for p in body["data"]] == ["Delta", "Gamma"]
    pagination = body["meta"]["pagination"]
    assert (pagination["prev-page"], pagination["next-page"], pagination["total-pages"]) == (1, 3, 3)
    assert body["links"]["next"] == f"{projects(rest)}?page%5Bnumber%5D=3&page%5Bsize%5D=2"
    capped = json_of(await rest.client.get(projects(rest), params={"page[size]": 1000}, headers=headers), 200)
    assert capped["meta"]["pagination"]["page-size"] == 100
    json_of(await rest.client.get(projects(rest), params={"page[number]": 0}, headers=headers), 400)


async def test_q_finds_projects_by_name_ignoring_case(rest: Rest) -> None:
    for name in ("Web Frontend", "Web Backend", "Mobile"):
        await create(rest, name)
    body = json_of(await rest.client.get(projects(rest), params={"q": "WEB"}, headers=bearer(rest.tokens.alice)), 200)
    assert [p["attributes"]["name"] for p in body["data"]] == ["Web Backend", "Web Frontend"]
    assert body["meta"]["pagination"]["total-count"] == 2


async def listed(rest: Rest, token: str, **params: str) -> list[str]:
    body = json_of(await rest.client.get(projects(rest), params=params, headers=bearer(token)), 200)
    assert body["meta"]["pagination"]["total-count"] == len(body["data"])
    return [p["attributes"]["name"] for p in body["data"]]


UPDATE = "filter[permissions][update]"
CREATE_WORKSPACE = "filter[permissions][create-workspace]"


async def test_the_update_filter_lists_the_projects_the_caller_may_manage(rest: Rest) -> None:
    await create(rest, "Website")
    everything = await listed(rest, rest.tokens.alice)
    assert "Website" in everything
    for token in (rest.tokens.alice, rest.tokens.erin, rest.tokens.manager):
        assert await listed(rest, token, **{UPDATE: "true"}) == everything
    for token in (rest.tokens.bob, rest.tokens.carol, rest.tokens.reader, rest.tokens.writer):
        assert await listed(rest, token, **{UPDATE: "true"}) == []
    assert await listed(rest, rest.tokens.bob, **{UPDATE: "false"}) == everything


async def test_the_create_workspace_filter_lists_the_projects_the_caller_may_file_tickets_in(rest: Rest) -> None:
    await create(rest, "Website")
    everything = await listed(rest, rest.tokens.alice)
    assert "Website" in everything
    for token in (rest.tokens.alice, rest.tokens.bob, rest.tokens.carol, rest.tokens.writer):
        assert await listed(rest, token, **{CREATE_WORKSPACE: "true"}) == everything
    for token in (rest.tokens.reader, rest.tokens.manager):
        assert await listed(rest, token, **{CREATE_WORKSPACE: ""}) == []
    both = {CREATE_WORKSPACE: "true", UPDATE: "true"}
    assert await listed(rest, rest.tokens.alice, **both) == everything
    assert await listed(rest, rest.tokens.bob, **both) == []


async def test_an_unknown_filter_or_a_filter_value_other_than_true_or_false_is_a_400(rest: Rest) -> None:
    headers = bearer(rest.tokens.alice)
    unknown = await rest.client.get(projects(rest), params={"filter[permissions][destroy]": "true"}, headers=headers)
    assert "filter[permissions][destroy]" in error_of(json_of(unknown, 400), 400)
    unclear = await rest.client.get(projects(rest), params={UPDATE: "maybe"}, headers=headers)
    assert UPDATE in error_of(json_of(unclear, 400), 400)


async def test_show_answers_the_project_and_an_unknown_id_is_a_404(rest: Rest) -> None:
    created = await create(rest, "Website")
    url = f"/api/v1/projects/{created['id']}"
    shown = json_of(await rest.client.get(url, headers=bearer(rest.tokens.carol)), 200)["data"]
    assert shown == created
    error_of(
        json_of(await rest.client.get("/api/v1/projects/prj-missing", headers=bearer(rest.tokens.alice)), 404), 404
    )
    error_of(json_of(await rest.client.get(url, headers=bearer(rest.tokens.dave)), 404), 404)


async def test_patch_renames_keeps_the_name_when_left_out_and_refuses_a_taken_name(rest: Rest) -> None:
    created = await create(rest, "Website")
    url = f"/api/v1/projects/{created['id']}"
    headers = bearer(rest.tokens.alice)
    renamed = await rest.client.patch(url, json=payload("Web Site"), headers=headers)
    assert json_of(renamed, 200)["data"]["attributes"]["name"] == "Web Site"
    described = await rest.client.patch(
        url, json={"data": {"type": "projects", "attributes": {"description": "The public site"}}}, headers=headers
    )
    attributes = json_of(described, 200)["data"]["attributes"]
    assert (attributes["name"], attributes["description"]) == ("Web Site", "The public site")
    taken = await rest.client.patch(url, json=payload("Inbox"), headers=headers)
    error_of(json_of(taken, 409), 409)
    bad = await rest.client.patch(url, json=payload("no/slashes"), headers=headers)
    error_of(json_of(bad, 400), 400)
    member = await rest.client.patch(url, json=payload("Bob's"), headers=bearer(rest.tokens.bob))
    error_of(json_of(member, 403), 403)


async def test_delete_answers_204_with_no_body_then_404(rest: Rest) -> None:
    created = await create(rest, "Short lived")
    url = f"/api/v1/projects/{created['id']}"
    deleted = await rest.client.delete(url, headers=bearer(rest.tokens.alice))
    assert (deleted.status_code, deleted.content) == (204, b"")
    error_of(json_of(await rest.client.delete(url, headers=bearer(rest.tokens.alice)), 404), 404)


async def test_a_project_holding_tickets_is_not_deleted(rest: Rest) -> None:
    created = await create(rest, "Busy")
    filed = await rest.client.post(
        "/api/v1/tickets",
        json={"title": "Keeps it alive", "project_id": created["id"]},
        headers=bearer(rest.tokens.alice),
    )
    json_of(filed, 201)
    url = f"/api/v1/projects/{created['id']}"
    refused = await rest.client.delete(url, headers=bearer(rest.tokens.alice))
    assert "ticket" in error_of(json_of(refused, 409), 409)
    shown = json_of(await rest.client.get(url, headers=bearer(rest.tokens.alice)), 200)["data"]["attributes"]
    assert (shown["tickets-count"], shown["open-tickets-count"]) == (1, 1)
    # Seed 004: "Project not found, or user unauthorized to perform project delete" is a 404.
    member = await rest.client.delete(url, headers=bearer(rest.tokens.bob))
    assert "may not" in error_of(json_of(member, 404), 404)


async def test_every_route_is_also_served_under_api_v2_as_hcp_clients_call_it(rest: Rest) -> None:
    headers = bearer(rest.tokens.alice)
    v2 = f"/api/v2/organizations/{rest.org}/projects"
    created = json_of(await rest.client.post(v2, json=payload("Via v2"), headers=headers), 201)["data"]
    url = f"/api/v2/projects/{created['id']}"
    assert created["links"]["self"] == url  # links stay on the version the client called
    listing = json_of(await rest.client.get(v2, params={"q": "via"}, headers=headers), 200)
    assert [p["id"] for p in listing["data"]] == [created["id"]]
    assert listing["links"]["self"].startswith(f"{v2}?")
    assert json_of(await rest.client.get(url, headers=headers), 200)["data"]["attributes"]["name"] == "Via v2"
    renamed = await rest.client.patch(url, json=payload("Via v2 renamed"), headers=headers)
    assert json_of(renamed, 200)["data"]["attributes"]["name"] == "Via v2 renamed"
    shown_v1 = json_of(await rest.client.get(f"/api/v1/projects/{created['id']}", headers=headers), 200)["data"]
    assert shown_v1["links"]["self"] == f"/api/v1/projects/{created['id']}"
    assert (await rest.client.delete(url, headers=headers)).status_code == 204
    error_of(json_of(await rest.client.get(url, headers=headers), 404), 404)
    error_of(json_of(await rest.client.get(v2), 401), 401)
