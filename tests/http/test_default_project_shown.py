"""The default project is visible, and its refusals say what to do (issue 16, re-testing the default project).

The serve app in process per store (tests/fixtures/rest_world.py's world: Inbox is the default, Later the second);
the MCP tools through the SDK client in memory.
"""

from __future__ import annotations

import re
from typing import Any

import httpx2
import pytest

from mcp import Client
from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of
from tests.fixtures.tool_calls import call

pytestmark = pytest.mark.anyio

SEED_001_BODY = b'{"title":"Implement user auth","type":"feature","priority":"high"}'


async def native_projects(rest: Rest) -> dict[str, dict[str, Any]]:
    listed = json_of(await rest.client.get("/api/v1/native/projects", headers=bearer(rest.tokens.alice)), 200)
    return {p["code"]: p for p in listed}


async def choose_default(rest: Rest, project: str, token: str) -> httpx2.Response:
    return await rest.client.patch(f"/api/v1/native/projects/{project}", json={"default": True}, headers=bearer(token))


async def test_the_native_project_json_says_which_project_is_the_default(rest: Rest) -> None:
    listed = await native_projects(rest)
    assert (listed[rest.project]["default"], listed[rest.later]["default"]) == (True, False)
    assert json_of(await choose_default(rest, rest.later, rest.tokens.alice), 200)["default"] is True
    listed = await native_projects(rest)
    assert (listed[rest.project]["default"], listed[rest.later]["default"]) == (False, True)
    workspace = json_of(await rest.client.get("/api/v1/native/workspace", headers=bearer(rest.tokens.alice)), 200)
    shown = {p["code"]: p["default"] for org in workspace["organizations"] for p in org["projects"]}
    assert shown == {rest.project: False, rest.later: True}


async def test_org_list_names_each_organizations_default_project(rest: Rest) -> None:
    lines = {line.split("\t")[0]: line for line in rest.server.cli("org", "list").splitlines()}
    assert lines[rest.org].endswith(f"\tdefault={rest.project}")
    assert lines[rest.other_org].endswith("\tdefault=")  # no project yet


async def test_the_cli_finds_the_default_project_by_its_number(rest: Rest) -> None:
    number = (await native_projects(rest))[rest.later]["number"]
    shown = rest.server.cli("org", "default-project", rest.org, str(number))
    assert shown.strip() == f"{rest.later} is the default project of {rest.org}"
    assert (await native_projects(rest))[rest.later]["default"] is True


async def test_an_admin_is_told_to_ask_an_owner_and_a_key_that_only_an_owners_own_token_may(rest: Rest) -> None:
    refused = json_of(await choose_default(rest, rest.later, rest.tokens.erin), 403)["message"]
    assert refused == "Your role (admin) may not choose the default project here. Ask an organization owner."
    refused = json_of(await choose_default(rest, rest.later, rest.tokens.manager), 403)["message"]
    assert refused.startswith("An organization key may not choose the default project.")
    assert refused.endswith("An organization owner does it with their own token.")


async def test_an_organization_without_projects_says_so_and_how_to_make_one(rest: Rest) -> None:
    headers = {"X-API-Key": rest.tokens.dave, "Content-Type": "application/json"}
    url = f"/api/v1/ext/orgs/{rest.other_org}/tickets"
    refused = json_of(await rest.client.post(url, headers=headers, content=SEED_001_BODY), 400)["message"]
    assert refused.startswith(f"Organization {rest.other_org} has no project yet.")
    assert "POST /api/v1/native/projects" in refused and "one of: ." not in refused


async def test_bugtome_asks_for_project_id_by_its_own_field_name(rest: Rest) -> None:
    body = {"title": "No project by pk"}
    answer = await rest.client.post("/api/v1/tickets", json=body, headers=bearer(rest.tokens.alice))
    refused = json_of(answer, 400)["message"]
    assert refused.startswith("Several projects exist; say which one. Pass project_id as one of: ")
    assert rest.project in refused and rest.later in refused


async def test_an_empty_update_gets_the_refusal_a_real_change_would(rest: Rest) -> None:
    tickets = f"/api/v1/ext/orgs/{rest.org}/tickets"
    created = await rest.client.post(tickets, json={"title": "Left alone"}, headers={"X-API-Key": rest.tokens.writer})
    url = f"{tickets}/{json_of(created, 201)['ticket']['slug']}"
    refusals: list[str] = []
    for token in (rest.tokens.reader, rest.tokens.carol):
        empty = json_of(await rest.client.put(url, json={}, headers={"X-API-Key": token}), 403)["message"]
        real = json_of(await rest.client.put(url, json={"title": "x"}, headers={"X-API-Key": token}), 403)["message"]
        assert empty == real
        refusals.append(empty)
    assert "This key lacks the scope to change tickets" in refusals[0]
    assert "Your role (reporter) may not change tickets" in refusals[1]
    issue = f"/api/v1/projects/{rest.project_id}/issues/1.json"
    carol = bearer(rest.tokens.carol)
    empty = json_of(await rest.client.put(issue, json={"issue": {}}, headers=carol), 403)
    real = json_of(await rest.client.put(issue, json={"issue": {"title": "x"}}, headers=carol), 403)
    assert empty == real


async def test_mcp_marks_the_default_project_only_beside_another(client: Client) -> None:
    assert "(default)" not in await call(client, "list_projects")
    assert "(default)" not in await call(client, "get_workspace_context")
    await call(client, "create_project", name="Backend")
    listed = await call(client, "list_projects")
    assert re.search(r"^INBOX '.*' open=0 total=0 \(default\): <user-text>.*</user-text>$", listed, re.M)
    assert re.search(r"^BACK 'Backend' open=0 total=0$", listed, re.M)
    await call(client, "update_project", project="BACK", default=True)
    context = await call(client, "get_workspace_context")
    assert "  project BACK 'Backend' open=0 total=0 (default)\n" in context
    assert context.count("(default)") == 1
