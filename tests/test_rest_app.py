"""The REST front end as a whole, and the harness every tests/test_rest_*.py module drives it with.

Each module runs one real `tickets-mcp serve` (tests/http_server.py) per store, SQLite and PostgreSQL
(conftest.py's module_store_location); each test gets a world of its own inside it, seeded straight
into the server's database so tests never see each other's data: an organization (owner alice<n>,
member bob<n>, reporter carol<n>) with projects Inbox (code INBOX<n>, the oldest, so the default) and
Later (LATER<n>), a second organization owned by dave<n>, and a token of every kind. Two projects, so a
call that names none must find the default project rather than be asked which.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Generator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from tests.http_server import ServerProcess, bearer, running_server
from tests.stores import Location
from tickets_mcp.core import admin
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal
from tickets_mcp.domain import Role, TokenKind
from tickets_mcp.stores.factory import open_store

pytestmark = pytest.mark.anyio

WORLDS = itertools.count(1)


@dataclass(frozen=True)
class Person:
    username: str
    id: int
    name: str


@dataclass(frozen=True)
class Tokens:
    alice: str  # owner of the test's organization, personal token
    bob: str  # member
    carol: str  # reporter
    dave: str  # owner of the other organization only
    erin: str  # admin
    inbox: str  # project token for the test's project
    reader: str  # organization key of the test's organization: tickets:read
    writer: str  # organization key: tickets:write
    manager: str  # organization key: projects:write


@dataclass(frozen=True)
class World:
    org: str  # the test organization's slug
    org_id: str
    other_org: str  # slug of dave's organization
    project: str  # code of the test project, named Inbox: the organization's default project
    project_id: str
    later: str  # code of the organization's second project, named Later
    people: dict[str, Person]  # by first name: alice, bob, carol, dave, erin
    tokens: Tokens

    def person(self, who: str) -> Person:
        return self.people[who]

    def user_id(self, who: str) -> int:
        return self.people[who].id

    def slug(self, number: int) -> str:
        return f"{self.project}-{number}"


@dataclass(frozen=True)
class Rest(World):
    """One test's world on the module's server, and an httpx2 client pointed at it."""

    client: httpx2.AsyncClient
    server: ServerProcess

    @property
    def db(self) -> Location:
        return self.server.db


@contextmanager
def module_server(location: Location) -> Generator[ServerProcess]:
    with running_server(location) as server:
        yield server


async def seed_world(db: Location) -> World:
    n = next(WORLDS)
    store = await open_store(db)
    try:
        people: dict[str, Person] = {}
        for who in ("alice", "bob", "carol", "dave", "erin"):
            user = await admin.add_user(store, f"{who}{n}", f"{who.title()} Example")
            people[who] = Person(user.username, user.id, user.name)
        org = await admin.add_organization(store, f"Team {n}", people["alice"].username)
        other = await admin.add_organization(store, f"Rivals {n}", people["dave"].username)
        await admin.set_member(store, org.slug, people["bob"].username, Role.MEMBER)
        await admin.set_member(store, org.slug, people["carol"].username, Role.REPORTER)
        await admin.set_member(store, org.slug, people["erin"].username, Role.ADMIN)
        owner = LocalTracker(store, Principal(user_id=people["alice"].id, username=people["alice"].username))
        project = await owner.create_project("Inbox", code=f"INBOX{n}", organization=org.slug)
        later = await owner.create_project("Later", code=f"LATER{n}", organization=org.slug)

        async def token(kind: TokenKind, who: str, **options: str) -> str:
            username = people[who].username
            return (await admin.create_token(store, kind=kind, username=username, name="test", **options)).secret

        key = TokenKind.ORGANIZATION
        tokens = Tokens(
            alice=await token(TokenKind.PERSONAL, "alice"),
            bob=await token(TokenKind.PERSONAL, "bob"),
            carol=await token(TokenKind.PERSONAL, "carol"),
            dave=await token(TokenKind.PERSONAL, "dave"),
            erin=await token(TokenKind.PERSONAL, "erin"),
            inbox=await token(TokenKind.PROJECT, "alice", project_ref=project.code),
            reader=await token(key, "alice", organization_ref=org.slug, scopes="tickets:read"),
            writer=await token(key, "alice", organization_ref=org.slug, scopes="tickets:write"),
            manager=await token(key, "alice", organization_ref=org.slug, scopes="projects:write"),
        )
    finally:
        await store.close()
    return World(org.slug, org.id, other.slug, project.code, project.id, later.code, people, tokens)


@asynccontextmanager
async def rest_world(server: ServerProcess) -> AsyncGenerator[Rest]:
    world = await seed_world(server.db)
    async with httpx2.AsyncClient(base_url=server.url, timeout=30.0, verify=False) as client:
        yield Rest(**vars(world), client=client, server=server)


def json_of(response: httpx2.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[ServerProcess]:
    with module_server(module_store_location) as running:
        yield running


@pytest.fixture
async def rest(server: ServerProcess) -> AsyncGenerator[Rest]:
    async with rest_world(server) as world:
        yield world


# Tests of the app as a whole

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
]


@pytest.fixture(scope="module")
def revoked_token(server: ServerProcess) -> str:
    """A personal token made and revoked with the admin CLI, as an operator would."""
    secret = server.create_token("--user", "alice", "--name", "revoked")
    server.revoke_token(secret)
    return secret


@pytest.fixture
async def anonymous(server: ServerProcess) -> AsyncGenerator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=server.url, timeout=30.0, verify=False) as client:
        yield client


def challenge_of_401(response: httpx2.Response) -> str:
    """Seed 003's 401 body, exactly (seed 004's routes add their errors array beside it); what went wrong and
    what to do travel in the challenge's error_description (RFC 6750), which seed clients do not parse."""
    body = json_of(response, 401)
    body.pop("errors", None)
    assert body == {"message": "401 Unauthorized"}
    return response.headers["WWW-Authenticate"]


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
    assert len(rest_operations) == 24 + 16  # the seed dialects, and the native API (the Tracker protocol)
    for operation in rest_operations:  # errors are documented as they are sent: 400, not FastAPI's 422
        assert "4XX" in operation["responses"] and "422" not in operation["responses"], operation["operationId"]
