"""Moving a ticket to another project over REST: the native API's POST, and the old slug or number in the seed
dialects, which answer the ticket as it is now (its body names where it lives). On the serve app in process,
one world per test (tests/fixtures/rest_world.py)."""

from __future__ import annotations

import pytest

from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of

pytestmark = pytest.mark.anyio

NATIVE = "/api/v1/native"


async def file(rest: Rest, title: str, **fields: object) -> str:
    body = {"title": title, "project": rest.project, **fields}
    created = await rest.client.post(f"{NATIVE}/tickets", json=body, headers=bearer(rest.tokens.alice))
    return json_of(created, 201)["slug"]


async def test_a_ticket_moves_with_its_sub_tasks_and_its_old_slug_still_answers(rest: Rest) -> None:
    owner = bearer(rest.tokens.alice)
    parent = await file(rest, "Misfiled")
    child = await file(rest, "Its part", parent=parent)
    moved = json_of(
        await rest.client.post(f"{NATIVE}/tickets/{parent}/project", json={"project": rest.later}, headers=owner), 200
    )
    assert (moved["moved_from"], moved["ticket"]["slug"]) == (parent, f"{rest.later}-1")
    assert (moved["subtasks"], moved["parent"], moved["milestone"]) == ({child: f"{rest.later}-2"}, None, None)
    detail = json_of(await rest.client.get(f"{NATIVE}/tickets/{parent}", headers=owner), 200)
    assert (detail["ticket"]["slug"], detail["moved_from"]) == (f"{rest.later}-1", [parent])
    changed = await rest.client.patch(f"{NATIVE}/tickets/{child}", json={"title": "Renamed"}, headers=owner)
    assert json_of(changed, 200)["slug"] == f"{rest.later}-2"
    listed = json_of(await rest.client.get(f"{NATIVE}/tickets", params={"project": rest.project}, headers=owner), 200)
    assert listed["total"] == 0


async def test_who_may_not_move_it_gets_403_and_a_wrong_target_400_or_404(rest: Rest) -> None:
    slug = await file(rest, "Guarded")
    path = f"{NATIVE}/tickets/{slug}/project"
    for token in (rest.tokens.carol, rest.tokens.reader, rest.tokens.inbox):
        refused = await rest.client.post(path, json={"project": rest.later}, headers=bearer(token))
        assert "message" in json_of(refused, 403)
    owner = bearer(rest.tokens.alice)
    same = json_of(await rest.client.post(path, json={"project": rest.project}, headers=owner), 400)
    assert f"already in {rest.project}" in same["message"]
    json_of(await rest.client.post(path, json={"project": "NOSUCH"}, headers=owner), 404)
    json_of(await rest.client.post(path, json={"project": rest.later, "typo": 1}, headers=owner), 400)
    member = await rest.client.post(path, json={"project": rest.later}, headers=bearer(rest.tokens.writer))
    assert json_of(member, 200)["ticket"]["slug"] == f"{rest.later}-1"


async def test_the_seed_dialects_answer_an_old_slug_or_number_with_the_ticket_where_it_is_now(rest: Rest) -> None:
    owner = bearer(rest.tokens.alice)
    slug = await file(rest, "Moved away")
    await rest.client.post(f"{NATIVE}/tickets/{slug}/project", json={"project": rest.later}, headers=owner)
    mesh = await rest.client.get(f"/api/v1/ext/orgs/{rest.org}/tickets/{slug}", headers=owner)
    assert json_of(mesh, 200)["ticket"]["slug"] == f"{rest.later}-1"
    issue = json_of(await rest.client.get(f"/api/v1/projects/{rest.project}/issues/1.json", headers=owner), 200)
    later = json_of(await rest.client.get(f"{NATIVE}/projects", headers=owner), 200)
    number = next(p["number"] for p in later if p["code"] == rest.later)
    assert (issue["issue"]["title"], issue["issue"]["url"]) == (
        "Moved away",
        f"/api/v1/projects/{number}/issues/1.json",
    )
