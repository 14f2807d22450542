"""Seed 002, ABF issues: the seed's create and update requests replayed, its issue shape, filters and push rule."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of

pytestmark = pytest.mark.anyio

UNIX = re.compile(r"[1-9]\d{9}")
SEED_REQUEST = {
    "issue": {
        "title": "fix security bug",
        "body": "fixed at 123456",
        "status": "closed",
        "assignee_id": 15,
        "labels": ["Security", "Bug"],
    }
}


def issues(rest: Rest) -> str:
    """The test project's issues, addressed by project id as the issues' own `url` does."""
    return f"/api/v1/projects/{rest.project_id}/issues"


async def create(rest: Rest, token: str | None = None, **issue: Any) -> int:
    issue.setdefault("body", "")
    response = await rest.client.post(
        f"{issues(rest)}.json", json={"issue": issue}, headers=bearer(token or rest.tokens.alice)
    )
    return json_of(response, 201)["issue"]["number"]


async def get(rest: Rest, number: int) -> dict[str, Any]:
    return json_of(await rest.client.get(f"{issues(rest)}/{number}.json", headers=bearer(rest.tokens.alice)), 200)[
        "issue"
    ]


async def numbers(rest: Rest, path: str, token: str | None = None, **params: Any) -> list[str]:
    response = await rest.client.get(path, params=params, headers=bearer(token or rest.tokens.alice))
    return [issue["number"] for issue in json_of(response, 200)["issues"]]


def user(rest: Rest, who: str) -> dict[str, Any]:
    person = rest.person(who)
    return {"id": person.id, "uname": person.username, "name": person.name, "url": f"/api/v1/users/{person.id}.json"}


async def test_the_seeds_create_request_answers_201_with_number_and_message(rest: Rest) -> None:
    request = {"issue": {**SEED_REQUEST["issue"], "assignee_id": rest.user_id("bob")}}
    response = await rest.client.post(f"{issues(rest)}.json", json=request, headers=bearer(rest.tokens.alice))
    assert json_of(response, 201) == {"issue": {"number": 1, "message": "Issue has been created successfully"}}


async def test_an_issue_has_the_seeds_fields_users_as_objects_labels_with_colors_and_unix_times(rest: Rest) -> None:
    request = {"issue": {**SEED_REQUEST["issue"], "assignee_id": rest.user_id("bob")}}
    await rest.client.post(f"{issues(rest)}.json", json=request, headers=bearer(rest.tokens.alice))
    body = json_of(await rest.client.get(f"{issues(rest)}/1.json", headers=bearer(rest.tokens.carol)), 200)
    assert list(body) == ["issue"]
    issue = body["issue"]
    assert list(issue) == [
        "number", "title", "status", "labels", "assignee", "url", "body", "owner", "closed_at", "closed_by",
        "created_at", "updated_at",
    ]  # fmt: skip
    assert (issue["number"], issue["title"], issue["status"], issue["body"]) == (
        "1", "fix security bug", "closed", "fixed at 123456",
    )  # fmt: skip
    assert [label["name"] for label in issue["labels"]] == ["Bug", "Security"]
    assert all(re.fullmatch(r"[0-9a-f]{6}", label["color"]) for label in issue["labels"])
    assert issue["assignee"] == user(rest, "bob")
    assert issue["owner"] == issue["closed_by"] == user(rest, "alice")
    assert re.fullmatch(r"/api/v1/projects/[1-9]\d*/issues/1\.json", issue["url"])  # the project's number
    for stamp in ("created_at", "updated_at", "closed_at"):
        assert UNIX.fullmatch(issue[stamp]) and abs(int(issue[stamp]) - time.time()) < 600


async def test_without_push_access_assignee_and_labels_are_dropped_silently(rest: Rest) -> None:
    number = await create(
        rest, rest.tokens.carol, title="Reporter's bug", assignee_id=rest.user_id("bob"), labels=["Bug"]
    )
    issue = await get(rest, number)
    assert (issue["assignee"], issue["labels"], issue["owner"]["uname"]) == (None, [], rest.person("carol").username)
    via_project_token = await create(rest, rest.tokens.inbox, title="From CI", labels=["ci"])
    assert (await get(rest, via_project_token))["labels"] == []
    member = await create(rest, rest.tokens.bob, title="Member's bug", labels=["Bug"])
    assert [label["name"] for label in (await get(rest, member))["labels"]] == ["Bug"]


async def test_a_missing_title_or_body_is_a_400(rest: Rest) -> None:
    headers = bearer(rest.tokens.alice)
    no_title = await rest.client.post(f"{issues(rest)}.json", json={"issue": {"body": "b"}}, headers=headers)
    assert "title" in json_of(no_title, 400)["message"]
    no_body = await rest.client.post(f"{issues(rest)}.json", json={"issue": {"title": "t"}}, headers=headers)
    # http/errors.py drops every location part named "body", so the message says "issue", not "issue.body".
    assert "Field required" in json_of(no_body, 400)["message"]
    json_of(await rest.client.post(f"{issues(rest)}.json", json={}, headers=headers), 400)


async def test_the_seeds_update_request_answers_number_and_message_and_changes_the_issue(rest: Rest) -> None:
    number = await create(rest, title="old title", labels=["Old"])
    request = {"issue": {**SEED_REQUEST["issue"], "assignee_id": rest.user_id("carol")}}
    response = await rest.client.put(f"{issues(rest)}/{number}.json", json=request, headers=bearer(rest.tokens.bob))
    assert json_of(response, 200) == {"issue": {"number": number, "message": "Issue has been updated successfully"}}
    issue = await get(rest, number)
    assert (issue["title"], issue["status"], issue["assignee"]["uname"]) == (
        "fix security bug",
        "closed",
        rest.person("carol").username,
    )
    assert [label["name"] for label in issue["labels"]] == ["Bug", "Security"]


async def test_an_update_changes_only_what_it_sends_and_an_empty_label_list_clears_them(rest: Rest) -> None:
    number = await create(rest, title="keep me", labels=["A"], assignee_id=rest.user_id("bob"))
    url = f"{issues(rest)}/{number}.json"
    headers = bearer(rest.tokens.alice)
    json_of(await rest.client.put(url, json={"issue": {"labels": []}}, headers=headers), 200)
    issue = await get(rest, number)
    assert (issue["title"], issue["labels"], issue["assignee"]["uname"]) == ("keep me", [], rest.person("bob").username)
    json_of(await rest.client.put(url, json={"issue": {"assignee_id": None}}, headers=headers), 200)
    assert (await get(rest, number))["assignee"] is None
    json_of(await rest.client.put(url, json={"issue": {"status": "closed"}}, headers=headers), 200)
    json_of(await rest.client.put(url, json={"issue": {"status": "open"}}, headers=headers), 200)
    reopened = await get(rest, number)
    assert (reopened["status"], reopened["closed_at"], reopened["closed_by"]) == ("open", None, None)


async def test_a_reporter_may_file_but_not_update(rest: Rest) -> None:
    number = await create(rest, title="mine")
    response = await rest.client.put(
        f"{issues(rest)}/{number}.json", json={"issue": {"title": "x"}}, headers=bearer(rest.tokens.carol)
    )
    json_of(response, 403)


async def test_issue_lists_default_to_open_issues_assigned_to_me(rest: Rest) -> None:
    alice = rest.user_id("alice")
    mine = await create(rest, title="mine", assignee_id=alice)
    await create(rest, title="closed mine", assignee_id=alice, status="closed")
    await create(rest, rest.tokens.bob, title="bob's, unassigned")
    for path in ("/api/v1/issues.json", "/api/v1/user/issues.json", f"/api/v1/group/{rest.org}/issues.json"):
        assert await numbers(rest, path) == [str(mine)]
        assert await numbers(rest, path, filter="all") == ["3", "1"]
        assert await numbers(rest, path, filter="created", status="closed") == ["2"]
        assert await numbers(rest, path, rest.tokens.bob, filter="created") == ["3"]
    body = json_of(await rest.client.get("/api/v1/issues.json", headers=bearer(rest.tokens.alice)), 200)
    assert body["url"] == "/api/v1/issues.json"


async def test_the_paths_answer_without_their_json_suffix_and_a_project_code_works_as_its_id(rest: Rest) -> None:
    number = await create(rest, title="suffix-free", assignee_id=rest.user_id("alice"))
    headers = bearer(rest.tokens.alice)
    by_code = f"/api/v1/projects/{rest.project}/issues"
    assert json_of(await rest.client.get(f"{by_code}/{number}", headers=headers), 200)["issue"]["number"] == "1"
    assert await numbers(rest, "/api/v1/issues") == ["1"]
    assert await numbers(rest, by_code) == ["1"]
    assert await numbers(rest, issues(rest)) == ["1"]


async def test_project_issues_filter_by_assignee_none_any_or_name_and_by_creator(rest: Rest) -> None:
    await create(rest, title="bob's", assignee_id=rest.user_id("bob"))
    await create(rest, title="nobody's")
    await create(rest, rest.tokens.bob, title="carol's", assignee_id=rest.user_id("carol"))
    path = f"{issues(rest)}.json"
    assert await numbers(rest, path) == ["3", "2", "1"]
    assert await numbers(rest, path, assignee="none") == ["2"]
    assert await numbers(rest, path, assignee="*") == ["3", "1"]
    assert await numbers(rest, path, assignee="*", per_page=1, page=2) == ["1"]
    assert await numbers(rest, path, assignee=rest.person("bob").username) == ["1"]
    assert await numbers(rest, path, creator=rest.person("bob").username) == ["3"]
    unknown = await rest.client.get(path, params={"assignee": "zed"}, headers=bearer(rest.tokens.alice))
    json_of(unknown, 400)


async def test_project_issues_filter_by_labels_sort_direction_and_since(rest: Rest) -> None:
    await create(rest, title="one", labels=["Bug", "Security"])
    await create(rest, title="two", labels=["Bug"])
    await create(rest, title="three")
    path = f"{issues(rest)}.json"
    assert await numbers(rest, path, labels="Bug") == ["2", "1"]
    assert await numbers(rest, path, labels="Bug,Security") == ["1"]
    assert await numbers(rest, path, direction="asc") == ["1", "2", "3"]
    await rest.client.put(
        f"{issues(rest)}/1.json", json={"issue": {"title": "one, edited"}}, headers=bearer(rest.tokens.alice)
    )
    assert await numbers(rest, path, sort="updated") == ["1", "3", "2"]
    assert await numbers(rest, path, since=int(time.time()) + 3600) == []
    assert await numbers(rest, path, since=0) == ["3", "2", "1"]
    json_of(await rest.client.get(path, params={"sort": "priority"}, headers=bearer(rest.tokens.alice)), 400)


async def test_page_and_per_page_follow_seed_003_with_a_default_of_20(rest: Rest) -> None:
    for n in range(3):
        await create(rest, title=f"issue {n}")
    response = await rest.client.get(
        f"{issues(rest)}.json", params={"per_page": 2, "page": 2}, headers=bearer(rest.tokens.alice)
    )
    assert [i["number"] for i in json_of(response, 200)["issues"]] == ["1"]
    assert response.headers["X-Total"] == "3"
    default = await rest.client.get(f"{issues(rest)}.json", headers=bearer(rest.tokens.alice))
    assert default.headers["X-Per-Page"] == "20"


async def test_an_unknown_project_group_or_number_is_a_404(rest: Rest) -> None:
    headers = bearer(rest.tokens.alice)
    json_of(await rest.client.get("/api/v1/projects/NOPE/issues.json", headers=headers), 404)
    json_of(await rest.client.get("/api/v1/projects/NOPE/issues/1.json", headers=headers), 404)
    json_of(await rest.client.get(f"{issues(rest)}/7.json", headers=headers), 404)
    json_of(await rest.client.get(f"/api/v1/group/{rest.other_org}/issues.json", headers=headers), 404)
    json_of(await rest.client.put(f"{issues(rest)}/7.json", json={"issue": {"title": "x"}}, headers=headers), 404)
    json_of(await rest.client.post("/api/v1/projects/NOPE/issues.json", json=SEED_REQUEST, headers=headers), 404)


async def test_an_update_that_changes_nothing_answers_the_seeds_success_and_leaves_the_issue_as_it_is(
    rest: Rest,
) -> None:
    number = await create(rest, title="Left alone", labels=["A"])
    before = await get(rest, number)
    url = f"{issues(rest)}/{number}.json"
    bodies: list[dict[str, Any]] = [{"issue": {}}, {"issue": {"title": None, "labels": None}}]
    for body in bodies:
        answered = json_of(await rest.client.put(url, json=body, headers=bearer(rest.tokens.bob)), 200)
        assert answered == {"issue": {"number": number, "message": "Issue has been updated successfully"}}
    assert await get(rest, number) == before


async def test_an_update_that_changes_nothing_still_needs_push_access(rest: Rest) -> None:
    number = await create(rest, title="Not yours to touch")
    url = f"{issues(rest)}/{number}.json"
    json_of(await rest.client.put(url, json={"issue": {}}, headers=bearer(rest.tokens.carol)), 403)
    missing = f"{issues(rest)}/999.json"
    json_of(await rest.client.put(missing, json={"issue": {}}, headers=bearer(rest.tokens.bob)), 404)


async def test_a_users_url_answers_that_user_to_members_of_an_organization_they_share(rest: Rest) -> None:
    number = await create(rest, title="Who filed me", assignee_id=rest.user_id("bob"))
    issue = await get(rest, number)
    for url, who in ((issue["owner"]["url"], "alice"), (issue["assignee"]["url"], "bob")):
        for token in (rest.tokens.alice, rest.tokens.carol, rest.tokens.reader):
            assert json_of(await rest.client.get(url, headers=bearer(token)), 200) == {"user": user(rest, who)}
    bare = issue["owner"]["url"].removesuffix(".json")
    assert json_of(await rest.client.get(bare, headers=bearer(rest.tokens.bob)), 200) == {"user": user(rest, "alice")}


async def test_a_user_outside_the_callers_organizations_or_unknown_is_a_404(rest: Rest) -> None:
    alice, dave = rest.user_id("alice"), rest.user_id("dave")
    for token, user_id in ((rest.tokens.alice, dave), (rest.tokens.dave, alice), (rest.tokens.inbox, alice)):
        json_of(await rest.client.get(f"/api/v1/users/{user_id}.json", headers=bearer(token)), 404)
    json_of(await rest.client.get("/api/v1/users/2147483647.json", headers=bearer(rest.tokens.alice)), 404)
    json_of(await rest.client.get("/api/v1/users/alice.json", headers=bearer(rest.tokens.alice)), 400)
