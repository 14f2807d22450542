"""Who may do what, over REST and MCP: every endpoint and tool × every kind of caller, each cell stated by hand.

A cell either succeeds (2xx) or is refused (401 without a valid token, 403 or 404 with one), and a
refusal changes nothing: tickets, projects, labels, comments, counters and the audit trail are
compared before and after. The expected cells are written out here, not derived from the code
under test, so a change of policy has to change this table too.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.rest_world import World, seed_world
from tests.fixtures.stores import Location, snapshot

pytestmark = pytest.mark.anyio

CALLERS = ["none", "malformed", "revoked", "owner", "admin", "member", "reporter", "outsider", "project", "reader",
           "writer", "manager"]  # fmt: skip
HUMANS = {"owner", "admin", "member", "reporter"}
# What each kind of action allows, by caller. Anything not listed is refused.
ALLOWED = {
    "browse": HUMANS | {"reader", "writer", "manager"},
    "read": HUMANS | {"reader", "writer"},
    "file": HUMANS | {"project", "writer"},
    "edit": {"owner", "admin", "member", "writer"},
    "manage": {"owner", "admin", "manager"},
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


NATIVE = "/api/v1/native"
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
    Endpoint("abf all issues", "read", "GET", lambda w, f: "/api/v1/issues.json?filter=all", lists_own=True),
    Endpoint("abf user issues", "read", "GET", lambda w, f: "/api/v1/user/issues.json?filter=all", lists_own=True),
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
    # The native API (the Tracker protocol one to one)
    Endpoint("native workspace", "browse", "GET", lambda w, f: f"{NATIVE}/workspace", lists_own=True),
    Endpoint("native organizations", "browse", "GET", lambda w, f: f"{NATIVE}/organizations", lists_own=True),
    Endpoint("native projects", "browse", "GET", lambda w, f: f"{NATIVE}/projects?organization={w.org}"),
    Endpoint("native list tickets", "read", "GET", lambda w, f: f"{NATIVE}/tickets?project={w.project_id}"),
    Endpoint("native get ticket", "read", "GET", lambda w, f: f"{NATIVE}/tickets/{f.slug}"),
    Endpoint("native board", "read", "GET", lambda w, f: f"{NATIVE}/board?project={w.project_id}"),
    Endpoint("native file ticket", "file", "POST", lambda w, f: f"{NATIVE}/tickets",
             lambda w, f: {"title": "matrix", "project": w.project_id}),
    Endpoint("native update ticket", "edit", "PATCH", lambda w, f: f"{NATIVE}/tickets/{f.slug}",
             lambda w, f: {"title": "changed"}),
    Endpoint("native move ticket", "edit", "POST", lambda w, f: f"{NATIVE}/tickets/{f.slug}/move",
             lambda w, f: {"status": "in_progress"}),
    Endpoint("native delete ticket", "edit", "DELETE", lambda w, f: f"{NATIVE}/tickets/{f.slug}"),
    Endpoint("native create project", "manage", "POST", lambda w, f: f"{NATIVE}/projects",
             lambda w, f: {"name": f"Native {f.number}", "organization": w.org}),
    Endpoint("native rename project", "manage", "PATCH", lambda w, f: f"{NATIVE}/projects/{f.project_id}",
             lambda w, f: {"name": f"Renamed {f.number}"}),
    Endpoint("native delete project", "manage", "DELETE", lambda w, f: f"{NATIVE}/projects/{f.project_id}"),
]  # fmt: skip

# Reads whose refusal for a caller outside the organization is a plain "not found".
TABLES = ["tickets", "projects", "labels", "ticket_labels", "comments", "events", "memberships", "organizations"]


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[AppServer]:
    with serving_app(module_store_location) as app:
        yield app


@pytest.fixture(scope="module")
def world_and_revoked(server: AppServer) -> tuple[World, str]:
    world = server.seed(seed_world)
    revoked = server.create_token("--user", world.person("alice").username)
    server.revoke_token(revoked)
    return world, revoked


@pytest.fixture
async def client(server: AppServer) -> AsyncGenerator[httpx2.AsyncClient]:
    async with server.async_client() as c:
        yield c


def headers_for(caller: str, world: World, revoked: str) -> dict[str, str]:
    tokens = world.tokens
    secret = {
        "none": None,
        "malformed": "pk_not-a-real-token",
        "revoked": revoked,
        "owner": tokens.alice,
        "admin": tokens.erin,
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
    server: AppServer,
    world_and_revoked: tuple[World, str],
    client: httpx2.AsyncClient,
    endpoint: Endpoint,
    caller: str,
) -> None:
    world, revoked = world_and_revoked
    fixture = await fresh_fixture(client, world, next(SERIAL))
    before = snapshot(server.db, TABLES)
    body = endpoint.body(world, fixture) if endpoint.body else None
    response = await client.request(
        endpoint.method, endpoint.path(world, fixture), json=body, headers=headers_for(caller, world, revoked)
    )
    if endpoint.lists_own and caller == "outsider":
        assert response.status_code == 200, response.text
        assert world.org_id not in response.text
        assert world.project_id not in response.text
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
    assert snapshot(server.db, TABLES) == before, f"refused {endpoint.name} for {caller} still changed the database"


# The same policy over MCP: each tool's action, with the arguments of a valid call on the fixture.
TOOLS: dict[str, tuple[str, Callable[[World, Fixture], dict[str, Any]]]] = {
    "get_workspace_context": ("browse", lambda w, f: {}),
    "list_organizations": ("browse", lambda w, f: {}),
    "enable_tools": ("browse", lambda w, f: {"sets": ["projects"]}),
    "list_projects": ("browse", lambda w, f: {"organization": w.org}),
    "create_project": ("manage", lambda w, f: {"name": f"Mcp {f.number}", "organization": w.org}),
    "update_project": ("manage", lambda w, f: {"project": f.project_id, "name": f"Mcp renamed {f.number}"}),
    "delete_project": ("manage", lambda w, f: {"project": f.project_id, "confirm": True}),
    "list_tickets": ("read", lambda w, f: {"project": w.project, "organization": w.org}),
    "get_ticket": ("read", lambda w, f: {"slug": f.slug}),
    "get_board": ("read", lambda w, f: {"project": w.project, "organization": w.org}),
    "create_ticket": ("file", lambda w, f: {"title": "matrix", "project": w.project, "not_duplicate": True}),
    "add_comment": ("comment", lambda w, f: {"slug": f.slug, "body": "matrix"}),
    "update_ticket": ("edit", lambda w, f: {"slug": f.slug, "title": "changed"}),
    "move_ticket": ("edit", lambda w, f: {"slug": f.slug, "status": "todo"}),
    "delete_ticket": ("edit", lambda w, f: {"slug": f.slug, "confirm": True}),
}
ALLOWED_MCP = {**ALLOWED, "comment": HUMANS | {"writer"}}
# Tools that list what is the caller's own: someone from another organization gets an answer without this one.
LISTS_OWN = {"get_workspace_context", "list_organizations", "enable_tools"}
VISIBLE = {
    "owner": set(TOOLS),
    "outsider": set(TOOLS),  # an owner elsewhere: the tools are there, this organization's data is not
    **{
        caller: {tool for tool, (action, _) in TOOLS.items() if caller in ALLOWED_MCP[action]}
        for caller in ("admin", "member", "reporter", "project", "reader", "writer", "manager")
    },
}


@pytest.mark.parametrize("caller", [c for c in CALLERS if c not in ("none", "malformed", "revoked")])
async def test_each_mcp_tool_allows_exactly_the_callers_the_policy_names(
    server: AppServer, world_and_revoked: tuple[World, str], client: httpx2.AsyncClient, caller: str
) -> None:
    world, revoked = world_and_revoked
    wrong: list[str] = []
    async with server.mcp_client(headers=headers_for(caller, world, revoked)) as mcp:
        await mcp.call_tool("enable_tools", {"sets": ["projects"]})  # a tool error where the caller may not browse
        visible = {tool.name for tool in (await mcp.list_tools()).tools}
        assert visible == VISIBLE[caller]
        for tool, (action, arguments) in TOOLS.items():
            fixture = await fresh_fixture(client, world, next(SERIAL))
            before = snapshot(server.db, TABLES)
            result = await mcp.call_tool(tool, arguments(world, fixture))
            text = " ".join(getattr(block, "text", "") for block in result.content)
            if caller == "outsider" and tool in LISTS_OWN:
                if result.is_error or world.org in text:
                    wrong.append(f"{tool}: {text}")
                continue
            allowed = caller in ALLOWED_MCP[action]
            if allowed == result.is_error:
                wrong.append(f"{tool} {'refused' if allowed else 'allowed'}: {text[:160]}")
            if not allowed and snapshot(server.db, TABLES) != before:
                wrong.append(f"{tool} refused but changed the database")
    assert not wrong, f"{caller}: " + "; ".join(wrong)


@pytest.mark.parametrize("caller", ["none", "malformed", "revoked"])
def test_mcp_without_a_valid_token_is_401(server: AppServer, world_and_revoked: tuple[World, str], caller: str) -> None:
    world, revoked = world_and_revoked
    with server.client() as http:
        response = http.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={**headers_for(caller, world, revoked), "Accept": "application/json, text/event-stream"},
        )
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers
