"""Ids are the types the seeds give them: a boolean is no integer, an integer no ticket has is a 404, and a
JSON body sent without its Content-Type is told to send the header."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of

pytestmark = pytest.mark.anyio


def mesh(rest: Rest) -> str:
    return f"/api/v1/ext/orgs/{rest.org}/tickets"


async def project_number(rest: Rest) -> int:
    projects = json_of(await rest.client.get("/api/v1/native/projects", headers=bearer(rest.tokens.alice)), 200)
    return next(p["number"] for p in projects if p["code"] == rest.project)


async def refused(rest: Rest, method: str, path: str, body: Any, field: str, headers: dict[str, str]) -> None:
    response = await rest.client.request(method, path, json=body, headers=headers)
    message = json_of(response, 400)["message"]
    assert field in message and "integer" in message, message


async def test_true_is_not_an_integer_id_for_agentsmesh_or_abf(rest: Rest) -> None:
    key = {"X-API-Key": rest.tokens.writer}
    await refused(rest, "POST", mesh(rest), {"title": "bool id", "repository_id": True}, "repository_id", key)
    await refused(rest, "POST", mesh(rest), {"title": "bool id", "assignee_id": True}, "assignee_id", key)
    filed = json_of(await rest.client.post(mesh(rest), json={"title": "real"}, headers=key), 201)["ticket"]
    await refused(rest, "PUT", f"{mesh(rest)}/{filed['slug']}", {"assignee_id": True}, "assignee_id", key)
    await refused(rest, "PUT", f"{mesh(rest)}/{filed['slug']}", {"assignee_id": False}, "assignee_id", key)
    await refused(rest, "PUT", f"{mesh(rest)}/{filed['slug']}", {"assignee_id": "3"}, "assignee_id", key)
    issues = f"/api/v1/projects/{await project_number(rest)}/issues.json"
    alice = bearer(rest.tokens.alice)
    await refused(
        rest, "POST", issues, {"issue": {"title": "t", "body": "b", "assignee_id": True}}, "assignee_id", alice
    )
    await refused(
        rest, "PUT", issues.replace(".json", "/1.json"), {"issue": {"assignee_id": True}}, "assignee_id", alice
    )
    listed = json_of(await rest.client.get(mesh(rest), headers=key), 200)["tickets"]
    assert [(t["slug"], t["assignee_id"]) for t in listed] == [(filed["slug"], None)]  # nothing filed or assigned


async def test_integer_ids_and_project_codes_are_still_accepted(rest: Rest) -> None:
    key = {"X-API-Key": rest.tokens.writer}
    body = {"title": "by code", "repository_id": rest.later, "assignee_id": rest.user_id("bob")}
    ticket = json_of(await rest.client.post(mesh(rest), json=body, headers=key), 201)["ticket"]
    assert (ticket["slug"], ticket["assignee_id"]) == (f"{rest.later}-1", rest.user_id("bob"))
    number = await project_number(rest)
    by_number = json_of(
        await rest.client.post(mesh(rest), json={"title": "n", "repository_id": number}, headers=key), 201
    )
    assert by_number["ticket"]["slug"] == rest.slug(1)


@pytest.mark.parametrize("number", ["0", "-1", "99999999999999999999", "12345"])
async def test_an_abf_issue_number_no_issue_has_is_a_404_naming_the_issue(rest: Rest, number: str) -> None:
    project = await project_number(rest)
    path = f"/api/v1/projects/{project}/issues/{number}.json"
    for response in (
        await rest.client.get(path, headers=bearer(rest.tokens.alice)),
        await rest.client.put(path, json={"issue": {"title": "x"}}, headers=bearer(rest.tokens.alice)),
    ):
        assert json_of(response, 404)["message"].startswith(f"Issue {number} not found in project {project}.")


@pytest.mark.parametrize("number", ["0", "9223372036854775807", "99999999999"])
async def test_an_agentsmesh_slug_whose_number_no_ticket_has_is_a_404(rest: Rest, number: str) -> None:
    slug = f"{rest.project}-{number}"
    key = {"X-API-Key": rest.tokens.writer}
    for response in (
        await rest.client.get(f"{mesh(rest)}/{slug}", headers=key),
        await rest.client.put(f"{mesh(rest)}/{slug}", json={"title": "x"}, headers=key),
        await rest.client.patch(f"{mesh(rest)}/{slug}/status", json={"status": "done"}, headers=key),
    ):
        assert json_of(response, 404)["message"].startswith(f"Ticket {slug} not found")
    assert json_of(await rest.client.delete(f"{mesh(rest)}/{slug}", headers=key), 200) == {"message": "Ticket deleted"}
    malformed = await rest.client.get(f"{mesh(rest)}/not-a-slug!", headers=key)
    assert "not a ticket slug" in json_of(malformed, 400)["message"]


async def test_a_json_body_without_its_content_type_is_told_to_send_the_header(rest: Rest) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}  # what curl -d sends
    content = b'{"title": "no header"}'
    mesh_response = await rest.client.post(
        mesh(rest), content=content, headers={"X-API-Key": rest.tokens.writer} | form
    )
    issue = b'{"issue": {"title": "t", "body": "b"}}'
    abf_response = await rest.client.post(
        f"/api/v1/projects/{await project_number(rest)}/issues.json",
        content=issue,
        headers=bearer(rest.tokens.alice) | form,
    )
    for response in (mesh_response, abf_response):
        assert "Content-Type: application/json" in json_of(response, 400)["message"]


async def test_the_openapi_schema_types_integer_project_ids_as_integer_or_string(rest: Rest) -> None:
    schema = json_of(await rest.client.get("/openapi.json"), 200)

    def parameter(path: str, method: str, name: str) -> dict[str, Any]:
        return next(p for p in schema["paths"][path][method]["parameters"] if p["name"] == name)["schema"]

    types = {"integer", "string"}
    assert {
        s.get("type") for s in parameter("/api/v1/ext/orgs/{org}/tickets", "get", "repository_id")["anyOf"]
    } >= types
    for method in ("get", "post"):
        assert {s["type"] for s in parameter("/api/v1/projects/{id}/issues.json", method, "id")["anyOf"]} == types
