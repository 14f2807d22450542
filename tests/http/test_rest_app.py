"""The REST front end as a whole: every route asks for a token, the token headers it takes, and the OpenAPI
document. On the serve app in process, one world per test (tests/fixtures/rest_world.py)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import httpx2
import pytest

from tests.fixtures.http_server import Served, bearer
from tests.fixtures.rest_world import Rest, challenge_of_401, json_of

pytestmark = pytest.mark.anyio

ONE_ENDPOINT_PER_ROUTE = [
    ("GET", "/api/v1/mcp/organizations"),
    ("GET", "/api/v1/mcp/organizations/local/projects"),
    ("GET", "/api/v1/mcp/organizations/local/tickets"),
    ("POST", "/api/v1/tickets"),
    ("GET", "/api/v1/ext/orgs/local/tickets"),
    ("GET", "/api/v1/ext/orgs/local/tickets/board"),
    ("GET", "/api/v1/ext/orgs/local/tickets/INBOX-1"),
    ("POST", "/api/v1/ext/orgs/local/tickets"),
    ("PUT", "/api/v1/ext/orgs/local/tickets/INBOX-1"),
    ("PATCH", "/api/v1/ext/orgs/local/tickets/INBOX-1/status"),
    ("DELETE", "/api/v1/ext/orgs/local/tickets/INBOX-1"),
    ("GET", "/api/v1/issues.json"),
    ("GET", "/api/v1/user/issues.json"),
    ("GET", "/api/v1/group/local/issues.json"),
    ("GET", "/api/v1/projects/INBOX/issues.json"),
    ("GET", "/api/v1/projects/INBOX/issues/1.json"),
    ("POST", "/api/v1/projects/INBOX/issues.json"),
    ("PUT", "/api/v1/projects/INBOX/issues/1.json"),
    ("GET", "/api/v1/users/1.json"),
    ("GET", "/api/v1/organizations/local/projects"),
    ("POST", "/api/v1/organizations/local/projects"),
    ("GET", "/api/v1/projects/some-id"),
    ("PATCH", "/api/v1/projects/some-id"),
    ("DELETE", "/api/v1/projects/some-id"),
    ("POST", "/api/v1/native/tickets/INBOX-1/attachments"),
    ("GET", "/api/v1/native/tickets/INBOX-1/attachments/1"),
    ("DELETE", "/api/v1/native/tickets/INBOX-1/attachments/1"),
]


@pytest.fixture(scope="module")
def revoked_token(rest_server: Served) -> str:
    """A personal token made and revoked with the admin CLI, as an operator would."""
    secret = rest_server.create_token("--user", "alice", "--name", "revoked")
    rest_server.revoke_token(secret)
    return secret


@pytest.fixture
async def anonymous(rest_server: Served) -> AsyncGenerator[httpx2.AsyncClient]:
    async with rest_server.async_client() as client:
        yield client


@pytest.mark.parametrize(("method", "path"), ONE_ENDPOINT_PER_ROUTE)
async def test_every_endpoint_answers_401_without_a_token_with_seed_003s_body_and_the_hint_in_the_challenge(
    anonymous: httpx2.AsyncClient, method: str, path: str
) -> None:
    challenge = challenge_of_401(await anonymous.request(method, path, json={}))
    assert challenge.startswith('Bearer realm="tickets-mcp", error_description="This API needs a token.')
    assert "tickets-mcp token create --user NAME" in challenge and "error=" not in challenge


@pytest.mark.parametrize(("method", "path"), ONE_ENDPOINT_PER_ROUTE)
async def test_every_endpoint_answers_401_to_a_revoked_or_unknown_token_naming_invalid_token_in_the_challenge(
    anonymous: httpx2.AsyncClient, revoked_token: str, method: str, path: str
) -> None:
    for token in (revoked_token, "pk_" + "x" * 43):
        challenge = challenge_of_401(await anonymous.request(method, path, json={}, headers=bearer(token)))
        assert 'error="invalid_token", error_description="The token is unknown or revoked.' in challenge
        assert token not in challenge


async def test_the_token_is_accepted_in_bearer_x_api_key_and_private_token_headers(rest: Rest) -> None:
    path = "/api/v1/mcp/organizations"
    for headers in (
        bearer(rest.tokens.alice),
        {"X-API-Key": rest.tokens.reader},
        {"PRIVATE-TOKEN": rest.tokens.alice},
    ):
        assert json_of(await rest.client.get(path, headers=headers), 200)["organizations"]


async def test_an_unsupported_method_is_405_and_an_unknown_path_404_both_with_a_message(rest: Rest) -> None:
    headers = bearer(rest.tokens.alice)
    assert json_of(await rest.client.delete("/api/v1/mcp/organizations", headers=headers), 405)["message"]
    assert json_of(await rest.client.get("/api/v1/no/such/thing", headers=headers), 404)["message"]


async def test_the_openapi_document_describes_every_dialect_with_typed_schemas(anonymous: httpx2.AsyncClient) -> None:
    document = json_of(await anonymous.get("/openapi.json"), 200)
    paths = document["paths"]
    for path in (
        "/api/v1/mcp/organizations/{organization_id}/projects",
        "/api/v1/tickets",
        "/api/v1/ext/orgs/{org}/tickets/{slug}/status",
        "/api/v1/projects/{id}/issues/{number}.json",
        "/api/v1/organizations/{organization_name}/projects",
        "/api/v1/projects/{project_id}",
    ):
        assert path in paths, sorted(paths)
    assert "/api/v1/issues" not in paths  # the .json-less aliases stay out of the document
    operation_ids = [operation["operationId"] for path in paths.values() for operation in path.values()]
    assert len(operation_ids) == len(set(operation_ids)), "two operations share an id"
    schemas = document["components"]["schemas"]
    assert set(schemas["BugToMeProject"]["properties"]) >= {"tickets_count", "open_tickets_count"}
    assert schemas["AgentsMeshStatus"]["enum"] == ["backlog", "todo", "in_progress", "in_review", "done"]
    assert "created-at" in schemas["ProjectAttributes"]["properties"]
    listing = paths["/api/v1/organizations/{organization_name}/projects"]["get"]
    assert {"page[number]", "page[size]", "q"} <= {p["name"] for p in listing["parameters"]}
    assert listing["operationId"] == "terraform_list_projects"
    rest_operations = [op for path, item in paths.items() if path.startswith("/api/v1") for op in item.values()]
    assert len(rest_operations) == 24 + 22 + 3  # the seed dialects, the native API (the Tracker protocol), its files
    for operation in rest_operations:  # errors are documented as they are sent: 400, not FastAPI's 422
        assert "4XX" in operation["responses"] and "422" not in operation["responses"], operation["operationId"]


@pytest.mark.anyio
async def test_the_native_status_filter_takes_open_and_closed_for_their_groups(rest: Rest) -> None:
    owner = bearer(rest.tokens.alice)
    filed: dict[str, str] = {}
    for status in ("todo", "in_review", "done", "canceled"):
        body = {"title": f"A {status} ticket", "project": rest.project, "status": status}
        filed[status] = json_of(await rest.client.post("/api/v1/native/tickets", json=body, headers=owner), 201)["slug"]

    async def listed(*statuses: str) -> set[str]:
        params = {"project": rest.project, "status": list(statuses)}
        page = json_of(await rest.client.get("/api/v1/native/tickets", params=params, headers=owner), 200)
        return {ticket["slug"] for ticket in page["tickets"]}

    assert await listed("open") == {filed["todo"], filed["in_review"]}
    assert await listed("closed") == {filed["done"], filed["canceled"]}
    assert await listed("closed", "todo") == {filed["done"], filed["canceled"], filed["todo"]}
    refused = await rest.client.get("/api/v1/native/tickets", params={"status": "opened"}, headers=owner)
    assert refused.status_code == 400 and "'open'" in refused.text


async def test_the_native_api_answers_a_second_delete_404_as_for_a_ticket_never_filed(rest: Rest) -> None:
    owner = bearer(rest.tokens.alice)
    body = {"title": "Short-lived", "project": rest.project}
    slug = json_of(await rest.client.post("/api/v1/native/tickets", json=body, headers=owner), 201)["slug"]
    json_of(await rest.client.delete(f"/api/v1/native/tickets/{slug}", headers=owner), 200)
    again = json_of(await rest.client.delete(f"/api/v1/native/tickets/{slug}", headers=owner), 404)
    assert list(again) == ["message"] and again["message"].startswith(f"Ticket {slug} not found. ")  # as before
