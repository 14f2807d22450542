"""Seeds 001 and 002 name a project by an integer: sent as one, accepted as one (and as the UUID or code)."""

from __future__ import annotations

import pytest

from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal
from tickets_mcp.stores.factory import open_store

pytestmark = pytest.mark.anyio

SEED_ISSUE = {
    "issue": {"title": "fix security bug", "body": "fixed at 123456", "status": "closed", "labels": ["Security", "Bug"]}
}


async def second_project(rest: Rest) -> str:
    """Another project in the test's organization, so an id has to pick between them; its code."""
    store = await open_store(rest.db)
    try:
        alice = rest.person("alice")
        owner = LocalTracker(store, Principal(user_id=alice.id, username=alice.username))
        return (await owner.create_project("Second", code=f"S{rest.project}", organization=rest.org)).code
    finally:
        await store.close()


async def numbers(rest: Rest) -> dict[str, int]:
    """Each project's number by code, from the native API."""
    projects = json_of(await rest.client.get("/api/v1/native/projects", headers=bearer(rest.tokens.alice)), 200)
    return {p["code"]: p["number"] for p in projects}


def mesh(rest: Rest) -> str:
    return f"/api/v1/ext/orgs/{rest.org}/tickets"


async def test_agentsmesh_files_lists_and_boards_by_an_integer_repository_id_and_answers_with_one(rest: Rest) -> None:
    later_code = await second_project(rest)
    number = await numbers(rest)
    inbox, later = number[rest.project], number[later_code]
    assert type(inbox) is int and type(later) is int and inbox != later
    headers = {"X-API-Key": rest.tokens.writer}
    body = {"title": "Implement user auth", "type": "feature", "priority": "high", "repository_id": later}
    ticket = json_of(await rest.client.post(mesh(rest), json=body, headers=headers), 201)["ticket"]
    assert ticket["slug"] == f"{later_code}-1" and type(ticket["repository_id"]) is int
    assert ticket["repository_id"] == later
    by_uuid = {"title": "By UUID", "type": "task", "repository_id": rest.project_id}
    filed = json_of(await rest.client.post(mesh(rest), json=by_uuid, headers=headers), 201)["ticket"]
    assert (filed["slug"], filed["repository_id"]) == (rest.slug(1), inbox)

    listed = json_of(await rest.client.get(f"{mesh(rest)}?repository_id={later}", headers=headers), 200)
    assert [(t["slug"], t["repository_id"]) for t in listed["tickets"]] == [(f"{later_code}-1", later)]
    for reference in (rest.project_id, rest.project):  # the UUID and the code still name it
        page = json_of(await rest.client.get(mesh(rest), params={"repository_id": reference}, headers=headers), 200)
        assert [t["slug"] for t in page["tickets"]] == [rest.slug(1)]
    board = json_of(await rest.client.get(f"{mesh(rest)}/board?repository_id={later}", headers=headers), 200)
    assert [t["slug"] for c in board["board"]["columns"] for t in c["tickets"]] == [f"{later_code}-1"]
    got = json_of(await rest.client.get(f"{mesh(rest)}/{later_code}-1", headers=headers), 200)["ticket"]
    assert type(got["repository_id"]) is int and got["repository_id"] == later
    changed = await rest.client.put(f"{mesh(rest)}/{later_code}-1", json={"title": "Renamed"}, headers=headers)
    assert json_of(changed, 200)["ticket"]["repository_id"] == later


async def test_agentsmesh_refuses_an_integer_naming_no_project_of_the_organization(rest: Rest) -> None:
    headers = {"X-API-Key": rest.tokens.writer}
    body = {"title": "Nowhere", "type": "task", "repository_id": 999_999}
    response = await rest.client.post(mesh(rest), json=body, headers=headers)
    assert response.status_code == 404 and "999999" in response.json()["message"]
    missing = await rest.client.get(f"{mesh(rest)}?repository_id=999999", headers=headers)
    assert missing.status_code == 404


async def test_abf_paths_take_the_integer_project_id_and_issue_urls_carry_it(rest: Rest) -> None:
    inbox = (await numbers(rest))[rest.project]
    headers = bearer(rest.tokens.alice)
    created = await rest.client.post(f"/api/v1/projects/{inbox}/issues.json", json=SEED_ISSUE, headers=headers)
    assert json_of(created, 201) == {"issue": {"number": 1, "message": "Issue has been created successfully"}}
    issue = json_of(await rest.client.get(f"/api/v1/projects/{inbox}/issues/1.json", headers=headers), 200)["issue"]
    assert issue["url"] == f"/api/v1/projects/{inbox}/issues/1.json"
    listed = await rest.client.get(f"/api/v1/projects/{inbox}/issues.json?status=closed", headers=headers)
    body = json_of(listed, 200)
    assert body["url"] == f"/api/v1/projects/{inbox}/issues.json"
    assert [i["url"] for i in body["issues"]] == [f"/api/v1/projects/{inbox}/issues/1.json"]
    everywhere = json_of(await rest.client.get("/api/v1/issues.json?filter=all&status=closed", headers=headers), 200)
    assert [i["url"] for i in everywhere["issues"]] == [f"/api/v1/projects/{inbox}/issues/1.json"]
    updated = await rest.client.put(
        f"/api/v1/projects/{inbox}/issues/1.json", json={"issue": {"title": "by number"}}, headers=headers
    )
    assert json_of(updated, 200)["issue"]["number"] == 1
    by_uuid = await rest.client.get(f"/api/v1/projects/{rest.project_id}/issues/1.json", headers=headers)
    assert json_of(by_uuid, 200)["issue"]["title"] == "by number"


async def test_a_project_token_files_an_abf_issue_by_its_projects_integer_id(rest: Rest) -> None:
    later_code = await second_project(rest)
    number = await numbers(rest)
    token = bearer(rest.tokens.inbox)
    ok = await rest.client.post(f"/api/v1/projects/{number[rest.project]}/issues.json", json=SEED_ISSUE, headers=token)
    assert json_of(ok, 201)["issue"]["number"] == 1
    elsewhere = await rest.client.post(
        f"/api/v1/projects/{number[later_code]}/issues.json", json=SEED_ISSUE, headers=token
    )
    assert elsewhere.status_code == 403


async def test_a_deleted_projects_number_is_never_given_to_another(rest: Rest) -> None:
    store = await open_store(rest.db)
    try:
        alice = rest.person("alice")
        owner = LocalTracker(store, Principal(user_id=alice.id, username=alice.username))
        doomed = await owner.create_project("Doomed", organization=rest.org)
        assert doomed.number is not None
        await owner.delete_project(doomed.code, organization=rest.org)
        after = await owner.create_project("After", organization=rest.org)
        assert after.number is not None and after.number > doomed.number
        assert (await owner.get_board(after.code, organization=rest.org)).project.number == after.number
    finally:
        await store.close()
