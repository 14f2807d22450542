"""The REST suites' harness: one served app per module and store, and a world of its own for each test.

A module takes the `rest` fixture and gets, on its `rest_server` (the serve app in process, one per
module and store: conftest.py's module_store_location), a world seeded straight into the server's
store so tests never see each other's data: an organization (owner alice<n>, member bob<n>, reporter
carol<n>, admin erin<n>) with projects Inbox (code INBOX<n>, the oldest, so the default) and Later
(LATER<n>), a second organization owned by dave<n>, and a token of every kind. Two projects, so a call
that names none must find the default project rather than be asked which.

A module whose subject is the HTTP server itself (sockets, the process) overrides `rest_server` with
a real process; the world and its tests stay the same:

    @pytest.fixture(scope="module")
    def rest_server(module_store_location: Location) -> Iterator[Served]:
        with running_server(module_store_location) as server:
            yield server

Registered as a pytest plugin in conftest.py.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import pytest

from tests.asgi_server import serving_app
from tests.http_server import Served
from tests.stores import Location
from tickets_mcp.core import admin
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal
from tickets_mcp.domain import Role, TokenKind
from tickets_mcp.stores import Store

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
    server: Served

    @property
    def db(self) -> Location:
        return self.server.db


async def seed_world(store: Store) -> World:
    """A new world in `store`, with names no other world in this process has."""
    n = next(WORLDS)
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
    return World(org.slug, org.id, other.slug, project.code, project.id, later.code, people, tokens)


@asynccontextmanager
async def rest_world(server: Served) -> AsyncGenerator[Rest]:
    """A new world on `server`, and a client for it."""
    world = await anyio.to_thread.run_sync(server.seed, seed_world)
    async with server.async_client() as client:
        yield Rest(**vars(world), client=client, server=server)


def json_of(response: httpx2.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


def challenge_of_401(response: httpx2.Response) -> str:
    """Seed 003's 401 body, exactly (seed 004's routes add their errors array beside it); what went wrong and
    what to do travel in the challenge's error_description (RFC 6750), which seed clients do not parse."""
    body = json_of(response, 401)
    body.pop("errors", None)
    assert body == {"message": "401 Unauthorized"}
    return response.headers["WWW-Authenticate"]


@pytest.fixture(scope="module")
def rest_server(module_store_location: Location) -> Iterator[Served]:
    """The serve app in process, on a store of the module's own."""
    with serving_app(module_store_location) as server:
        yield server


@pytest.fixture
async def rest(rest_server: Served) -> AsyncGenerator[Rest]:
    async with rest_world(rest_server) as world:
        yield world
