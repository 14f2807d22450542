"""Who may do what, over REST: every endpoint × every kind of caller, each cell stated by hand.

A cell either succeeds (2xx) or is refused (401 without a valid token, 403 or 404 with one), and a
refusal changes nothing: tickets, projects, labels, comments, counters and the audit trail are
compared before and after. The expected cells are written out here, not derived from the code
under test, so a change of policy has to change this table too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.http_server import ServerProcess, running_server
from tests.test_rest_app import World, seed_world

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CALLERS = ["none", "malformed", "revoked", "owner", "member", "reporter", "outsider", "project", "reader",
           "writer", "manager"]  # fmt: skip
HUMANS = {"owner", "member", "reporter"}
# What each kind of action allows, by caller. Anything not listed is refused.
ALLOWED = {
    "browse": HUMANS | {"reader", "writer", "manager"},
    "read": HUMANS | {"reader", "writer"},
    "file": HUMANS | {"project", "writer"},
    "edit": {"owner", "member", "writer"},
    "manage": {"owner", "manager"},
}


@dataclass(frozen=True)
class Fixture:
    """What one cell works on: a fresh ticket and a fresh empty project, made by the owner."""

    slug: str
    number: int
    project_id: str


@dataclass(frozen=True)
class Endpoint:
    name: str
    action: str
    method: str
    path: Callable[[World, Fixture], str]
    body: Callable[[World, Fixture], dict[str, Any]] | None = None
    # Lists "your" organizations: a caller from elsewhere gets 200 with their own, never this one.
    lists_own: bool = False


ENDPOINTS = [
    # Seed 000 BugToMe
    Endpoint("bugtome list organizations", "browse", "GET", lambda w, f: "/api/v1/mcp/organizations", lists_own=True),
    Endpoint("bugtome list projects", "browse", "GET", lambda w, f: f"/api/v1/mcp/organizations/{w.org_id}/projects"),
    Endpoint("bugtome list tickets", "read", "GET",
             lambda w, f: f"/api/v1/mcp/organizations/{w.org_id}/tickets?project_id={w.project_id}"),
    Endpoint("bugtome file ticket", "file", "POST", lambda w, f: "/api/v1/tickets",
             lambda w, f: {"title": "matrix", "project_id": w.project_id}),
    # Seed 001 AgentsMesh
    Endpoint("agentsmesh list", "read", "GET", lambda w, f: f"/api/v1/ext/orgs/{w.org}/tickets"),
    Endpoint("agentsmesh board", "read", "GET", lambda w, f: f"/api/v1/ext/orgs/{w.org}/tickets/board"),
    Endpoint("agentsmesh get", "read", "GET", lambda w, f: f"/api/v1/ext/orgs/{w.org}/tickets/{f.slug}"),
    Endpoint("agentsmesh create", "file", "POST", lambda w, f: f"/api/v1/ext/orgs/{w.org}/tickets",
             lambda w, f: {"title": "matrix", "type": "task", "repository_id": w.project_id}),
    Endpoint("agentsmesh update", "edit", "PUT", lambda w, f: f"/api/v1/ext/orgs/{w.org}/tickets/{f.slug}",
             lambda w, f: {"title": "changed"}),
    Endpoint("agentsmesh status", "edit", "PATCH", lambda w, f: f"/api/v1/ext/orgs/{w.org}/tickets/{f.slug}/status",
             lambda w, f: {"status": "in_progress"}),
    Endpoint("agentsmesh delete", "edit", "DELETE", lambda w, f: f"/api/v1/ext/orgs/{w.org}/tickets/{f.slug}"),
    # Seed 002 ABF
    Endpoint("abf project issues", "read", "GET", lambda w, f: f"/api/v1/projects/{w.project_id}/issues.json"),
    Endpoint("abf issue", "read", "GET", lambda w, f: f"/api/v1/projects/{w.project_id}/issues/{f.number}.json"),
    Endpoint("abf group issues", "read", "GET", lambda w, f: f"/api/v1/group/{w.org_id}/issues.json"),
    Endpoint("abf create issue", "file", "POST", lambda w, f: f"/api/v1/projects/{w.project_id}/issues.json",
             lambda w, f: {"issue": {"title": "matrix", "body": "b"}}),
    Endpoint("abf update issue", "edit", "PUT",
             lambda w, f: f"/api/v1/projects/{w.project_id}/issues/{f.number}.json",
             lambda w, f: {"issue": {"title": "changed"}}),
    # Seed 004 Terraform projects
    Endpoint("terraform list projects", "browse", "GET", lambda w, f: f"/api/v1/organizations/{w.org}/projects"),
    Endpoint("terraform show project", "browse", "GET", lambda w, f: f"/api/v1/projects/{f.project_id}"),
    Endpoint("terraform create project", "manage", "POST", lambda w, f: f"/api/v1/organizations/{w.org}/projects",
             lambda w, f: {"data": {"type": "projects", "attributes": {"name": f"Matrix {f.number}"}}}),
    Endpoint("terraform rename project", "manage", "PATCH", lambda w, f: f"/api/v1/projects/{f.project_id}",
             lambda w, f: {"data": {"type": "projects", "attributes": {"name": f"Renamed {f.number}"}}}),
    Endpoint("terraform delete project", "manage", "DELETE", lambda w, f: f"/api/v1/projects/{f.project_id}"),
]  # fmt: skip

# Reads whose refusal for a caller outside the organization is a plain "not found".
TABLES = ["tickets", "projects", "labels", "ticket_labels", "comments", "events", "memberships", "organizations"]


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(db)
    try:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in TABLES}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("matrix") / "tracker.db") as process:
        yield process


@pytest.fixture(scope="module")
def world_and_revoked(server: ServerProcess) -> tuple[World, str]:
    import anyio

    world = anyio.run(seed_world, server.db)
    revoked = server.create_token("--user", world.person("alice").username)
    server.revoke_token(revoked)
    return world, revoked


@pytest.fixture
async def client(server: ServerProcess) -> AsyncGenerator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=server.url, timeout=30.0) as c:
        yield c


def headers_for(caller: str, world: World, revoked: str) -> dict[str, str]:
    tokens = world.tokens
    secret = {
        "none": None,
        "malformed": "pk_not-a-real-token",
        "revoked": revoked,
        "owner": tokens.alice,
        "member": tokens.bob,
        "reporter": tokens.carol,
        "outsider": tokens.dave,
        "project": tokens.inbox,
        "reader": tokens.reader,
        "writer": tokens.writer,
        "manager": tokens.manager,
    }[caller]
    return {} if secret is None else {"Authorization": f"Bearer {secret}"}


async def fresh_fixture(client: httpx2.AsyncClient, world: World, serial: int) -> Fixture:
    owner = {"Authorization": f"Bearer {world.tokens.alice}"}
    created = await client.post(
        f"/api/v1/ext/orgs/{world.org}/tickets",
        json={"title": f"cell {serial}", "type": "task", "repository_id": world.project_id},
        headers=owner,
    )
    assert created.status_code == 201, created.text
    slug = created.json()["ticket"]["slug"]
    project = await client.post(
        f"/api/v1/organizations/{world.org}/projects",
        json={"data": {"type": "projects", "attributes": {"name": f"Cell {serial}"}}},
        headers=owner,
    )
    assert project.status_code == 201, project.text
    return Fixture(slug=slug, number=int(slug.rsplit("-", 1)[1]), project_id=project.json()["data"]["id"])


SERIAL = iter(range(1, 1_000_000))


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
async def test_each_rest_endpoint_allows_exactly_the_callers_the_policy_names(
    server: ServerProcess,
    world_and_revoked: tuple[World, str],
    client: httpx2.AsyncClient,
    endpoint: Endpoint,
    caller: str,
) -> None:
    world, revoked = world_and_revoked
    fixture = await fresh_fixture(client, world, next(SERIAL))
    before = snapshot(server.db)
    body = endpoint.body(world, fixture) if endpoint.body else None
    response = await client.request(
        endpoint.method, endpoint.path(world, fixture), json=body, headers=headers_for(caller, world, revoked)
    )
    if endpoint.lists_own and caller == "outsider":
        assert response.status_code == 200, response.text
        assert world.org_id not in response.text
        return
    allowed = caller in ALLOWED[endpoint.action]
    if allowed:
        assert 200 <= response.status_code < 300, f"{caller} refused: {response.status_code} {response.text}"
        return
    if caller in ("none", "malformed", "revoked"):
        assert response.status_code == 401, response.text
    else:
        assert response.status_code in (403, 404), f"{caller} allowed: {response.status_code} {response.text}"
    assert "message" in response.json()
    assert snapshot(server.db) == before, f"refused {endpoint.name} for {caller} still changed the database"
