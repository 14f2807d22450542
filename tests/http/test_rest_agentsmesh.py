"""Seed 001, AgentsMesh tickets: the seed's curl examples replayed with an organization key, every endpoint's shape."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of

pytestmark = pytest.mark.anyio

SEED_TICKET_FIELDS = {
    "id", "slug", "type", "title", "status", "priority", "assignee_id", "repository_id", "labels",
    "parent_slug", "created_at", "updated_at",
}  # fmt: skip


def tickets(rest: Rest) -> str:
    return f"/api/v1/ext/orgs/{rest.org}/tickets"


def key(rest: Rest) -> dict[str, str]:
    return {"X-API-Key": rest.tokens.writer}


async def create(rest: Rest, **fields: Any) -> dict[str, Any]:
    return json_of(await rest.client.post(tickets(rest), json=fields, headers=key(rest)), 201)["ticket"]


async def test_the_seeds_create_example_answers_201_with_the_ticket_in_seed_shape(rest: Rest) -> None:
    response = await rest.client.post(
        tickets(rest),
        headers={"X-API-Key": rest.tokens.writer, "Content-Type": "application/json"},
        content=b'{"title": "Implement user auth", "type": "feature", "priority": "high"}',
    )
    body = json_of(response, 201)
    assert list(body) == ["ticket"]
    ticket = body["ticket"]
    assert set(ticket) == SEED_TICKET_FIELDS | {"description"}
    assert (ticket["slug"], ticket["type"], ticket["priority"], ticket["status"]) == (
        rest.slug(1), "feature", "high", "backlog",
    )  # fmt: skip
    assert (ticket["assignee_id"], ticket["labels"], ticket["parent_slug"]) == (None, [], None)
    assert isinstance(ticket["id"], int) and ticket["created_at"].endswith("Z")


async def test_the_seeds_list_example_answers_tickets_total_limit_and_offset_defaults(rest: Rest) -> None:
    for n in range(3):
        await create(rest, title=f"Ticket {n}", type="task")
    body = json_of(await rest.client.get(tickets(rest), headers={"X-API-Key": rest.tokens.reader}), 200)
    assert list(body) == ["tickets", "total", "limit", "offset"]
    assert (body["total"], body["limit"], body["offset"]) == (3, 20, 0)
    assert set(body["tickets"][0]) == SEED_TICKET_FIELDS | {"description"}
    page = json_of(await rest.client.get(tickets(rest), params={"limit": 2, "offset": 2}, headers=key(rest)), 200)
    assert ([t["title"] for t in page["tickets"]], page["total"], page["limit"]) == (["Ticket 0"], 3, 2)


async def test_the_list_filters_by_repository_status_type_assignee_and_labels(rest: Rest) -> None:
    first = await create(rest, title="Auth", type="feature", labels=["backend", "auth"], status="in_progress")
    await create(rest, title="CSS", type="bug", labels=["frontend"])

    async def titles(**params: Any) -> list[str]:
        body = json_of(await rest.client.get(tickets(rest), params=params, headers=key(rest)), 200)
        return [t["title"] for t in body["tickets"]]

    assert await titles(status="in_progress") == ["Auth"]
    assert await titles(type="bug") == ["CSS"]
    assert await titles(labels="backend,auth") == ["Auth"]
    assert await titles(repository_id=first["repository_id"]) == ["CSS", "Auth"]
    assert await titles(status="done") == []


async def test_assignee_id_is_the_users_numeric_id_both_ways(rest: Rest) -> None:
    bob = rest.user_id("bob")
    ticket = await create(rest, title="Pick me", assignee_id=bob)
    assert ticket["assignee_id"] == bob
    listed = json_of(await rest.client.get(tickets(rest), params={"assignee_id": bob}, headers=key(rest)), 200)
    assert [t["slug"] for t in listed["tickets"]] == [ticket["slug"]]
    url = f"{tickets(rest)}/{ticket['slug']}"
    unassigned = json_of(await rest.client.put(url, json={"assignee_id": None}, headers=key(rest)), 200)
    assert unassigned["ticket"]["assignee_id"] is None
    unknown = await rest.client.put(url, json={"assignee_id": 999}, headers=key(rest))
    assert "999" in json_of(unknown, 400)["message"]
    stranger = await rest.client.post(
        tickets(rest), json={"title": "x", "assignee_id": rest.user_id("dave")}, headers=key(rest)
    )
    json_of(stranger, 400)


async def test_get_by_slug_answers_the_ticket_with_its_parent_slug(rest: Rest) -> None:
    parent = await create(rest, title="Epic")
    child = await create(rest, title="Part", parent_slug=parent["slug"])
    body = json_of(await rest.client.get(f"{tickets(rest)}/{child['slug']}", headers=key(rest)), 200)
    assert list(body) == ["ticket"]
    assert (body["ticket"]["slug"], body["ticket"]["parent_slug"]) == (child["slug"], parent["slug"])


async def test_put_changes_only_the_fields_sent_and_null_clears_assignee_and_parent(rest: Rest) -> None:
    parent = await create(rest, title="Epic")
    ticket = await create(rest, title="Part", parent_slug=parent["slug"], labels=["a", "b"], priority="low")
    url = f"{tickets(rest)}/{ticket['slug']}"
    changed = json_of(await rest.client.put(url, json={"title": "Part one", "labels": ["c"]}, headers=key(rest)), 200)
    assert (changed["ticket"]["title"], changed["ticket"]["labels"], changed["ticket"]["priority"]) == (
        "Part one", ["c"], "low",
    )  # fmt: skip
    assert changed["ticket"]["parent_slug"] == parent["slug"]
    cleared = json_of(await rest.client.put(url, json={"parent_slug": None}, headers=key(rest)), 200)
    assert cleared["ticket"]["parent_slug"] is None
    moved = json_of(await rest.client.put(url, json={"status": "in_review"}, headers=key(rest)), 200)
    assert moved["ticket"]["status"] == "in_review"


async def test_patch_status_answers_the_seeds_message_and_moves_the_ticket(rest: Rest) -> None:
    ticket = await create(rest, title="Move me")
    url = f"{tickets(rest)}/{ticket['slug']}"
    assert json_of(await rest.client.patch(f"{url}/status", json={"status": "todo"}, headers=key(rest)), 200) == {
        "message": "Status updated"
    }
    assert json_of(await rest.client.get(url, headers=key(rest)), 200)["ticket"]["status"] == "todo"
    wrong = await rest.client.patch(f"{url}/status", json={"status": "open"}, headers=key(rest))
    assert "status" in json_of(wrong, 400)["message"]
    missing = await rest.client.patch(f"{url}/status", json={}, headers=key(rest))
    assert "status" in json_of(missing, 400)["message"]


async def test_the_board_has_the_five_columns_in_order_with_the_seeds_ticket_fields(rest: Rest) -> None:
    await create(rest, title="Fix CSS layout issue", type="bug", status="todo")
    await create(rest, title="Auth", type="feature", status="in_progress")
    body = json_of(await rest.client.get(f"{tickets(rest)}/board", headers=key(rest)), 200)
    columns = body["board"]["columns"]
    assert [c["status"] for c in columns] == ["backlog", "todo", "in_progress", "in_review", "done"]
    (card,) = columns[1]["tickets"]
    assert set(card) == {"id", "slug", "title", "type", "priority", "assignee_id"}
    assert card["title"] == "Fix CSS layout issue"
    by_repository = await rest.client.get(
        f"{tickets(rest)}/board", params={"repository_id": rest.project}, headers=key(rest)
    )
    assert json_of(by_repository, 200) == body


async def test_delete_answers_the_seeds_message_and_is_idempotent(rest: Rest) -> None:
    ticket = await create(rest, title="Remove me")
    url = f"{tickets(rest)}/{ticket['slug']}"
    for _ in range(2):
        assert json_of(await rest.client.delete(url, headers=key(rest)), 200) == {"message": "Ticket deleted"}
    json_of(await rest.client.get(url, headers=key(rest)), 404)
    assert json_of(await rest.client.delete(f"{tickets(rest)}/NEVER-7", headers=key(rest)), 200)
    json_of(await rest.client.delete(f"/api/v1/ext/orgs/no-such-org/tickets/{rest.slug(1)}", headers=key(rest)), 404)


async def test_a_read_only_key_reads_but_may_not_write(rest: Rest) -> None:
    reader = {"X-API-Key": rest.tokens.reader}
    json_of(await rest.client.get(tickets(rest), headers=reader), 200)
    refused = await rest.client.post(tickets(rest), json={"title": "Nope"}, headers=reader)
    assert "tickets:write" in json_of(refused, 403)["message"]


async def test_a_key_does_not_reach_another_organization(rest: Rest) -> None:
    await create(rest, title="Local only")
    other = await rest.client.get(f"/api/v1/ext/orgs/{rest.other_org}/tickets", headers=key(rest))
    json_of(other, 404)
    dave = await rest.client.get(f"{tickets(rest)}/{rest.slug(1)}", headers=bearer(rest.tokens.dave))
    json_of(dave, 404)
    json_of(
        await rest.client.get(
            f"/api/v1/ext/orgs/{rest.other_org}/tickets/{rest.slug(1)}", headers=bearer(rest.tokens.alice)
        ),
        404,
    )


async def test_a_missing_title_is_400_and_an_unknown_slug_404(rest: Rest) -> None:
    assert (
        "title"
        in json_of(await rest.client.post(tickets(rest), json={"type": "bug"}, headers=key(rest)), 400)["message"]
    )
    json_of(await rest.client.get(f"{tickets(rest)}/{rest.slug(99)}", headers=key(rest)), 404)
    json_of(await rest.client.put(f"{tickets(rest)}/{rest.slug(99)}", json={"title": "x"}, headers=key(rest)), 404)


# The default project: the seed files without repository_id, whatever number of projects the organization has.

SEED_CREATE_BODY = b'{"title":"Implement user auth","type":"feature","priority":"high"}'


async def file_the_seed_example(rest: Rest) -> str:
    """The seed's curl example, byte for byte; answers the new ticket's slug."""
    headers = {"X-API-Key": rest.tokens.writer, "Content-Type": "application/json"}
    response = await rest.client.post(tickets(rest), headers=headers, content=SEED_CREATE_BODY)
    return json_of(response, 201)["ticket"]["slug"]


async def choose_default(rest: Rest, project: str, token: str) -> httpx2.Response:
    return await rest.client.patch(f"/api/v1/native/projects/{project}", json={"default": True}, headers=bearer(token))


async def test_an_organization_with_several_projects_files_the_seeds_example_in_its_first_project(
    rest: Rest,
) -> None:
    assert await file_the_seed_example(rest) == rest.slug(1)


async def test_the_owner_chooses_another_default_project_and_the_next_filing_lands_there(rest: Rest) -> None:
    chosen = json_of(await choose_default(rest, rest.later, rest.tokens.alice), 200)
    assert chosen["code"] == rest.later
    assert await file_the_seed_example(rest) == f"{rest.later}-1"


async def test_only_an_owner_may_choose_the_default_project(rest: Rest) -> None:
    for admin_token in (rest.tokens.erin, rest.tokens.manager):  # an admin, an organization key
        refused = json_of(await choose_default(rest, rest.later, admin_token), 403)
        assert "may not choose the default project" in refused["message"]
    json_of(await choose_default(rest, rest.later, rest.tokens.bob), 403)
    json_of(await choose_default(rest, rest.later, rest.tokens.dave), 404)  # not his organization's project
    assert await file_the_seed_example(rest) == rest.slug(1)


async def test_a_deleted_default_project_is_succeeded_by_the_oldest_remaining_one(rest: Rest) -> None:
    owner = bearer(rest.tokens.alice)
    created = await rest.client.post(
        "/api/v1/native/projects", json={"name": "Third", "organization": rest.org}, headers=owner
    )
    third = json_of(created, 201)["code"]
    json_of(await choose_default(rest, third, rest.tokens.alice), 200)
    json_of(await rest.client.delete(f"/api/v1/native/projects/{third}", headers=owner), 200)
    assert await file_the_seed_example(rest) == rest.slug(1)  # Inbox, the oldest, not Later
    json_of(await rest.client.delete(f"/api/v1/native/tickets/{rest.slug(1)}", headers=owner), 200)
    json_of(await rest.client.delete(f"/api/v1/native/projects/{rest.project}", headers=owner), 200)
    assert await file_the_seed_example(rest) == f"{rest.later}-1"


async def test_the_cli_chooses_an_organizations_default_project(rest: Rest) -> None:
    shown = rest.server.cli("org", "default-project", rest.org, rest.later)
    assert shown.strip() == f"{rest.later} is the default project of {rest.org}"
    assert await file_the_seed_example(rest) == f"{rest.later}-1"
    with pytest.raises(AssertionError, match="No project"):  # a project of another organization is not one
        rest.server.cli("org", "default-project", rest.other_org, rest.later)


async def test_a_put_that_changes_nothing_answers_the_ticket_as_it_is(rest: Rest) -> None:
    created = await create(rest, title="Left alone", repository_id=rest.project, labels=["ui"])
    url = f"{tickets(rest)}/{created['slug']}"
    for token in (rest.tokens.writer, rest.tokens.bob):
        assert json_of(await rest.client.put(url, json={}, headers=bearer(token)), 200)["ticket"] == created
    assert json_of(await rest.client.get(url, headers=key(rest)), 200)["ticket"] == created  # nothing was written


async def test_a_put_that_changes_nothing_is_refused_to_whoever_may_not_change_tickets(rest: Rest) -> None:
    created = await create(rest, title="Not yours to touch", repository_id=rest.project)
    url = f"{tickets(rest)}/{created['slug']}"
    for token in (rest.tokens.reader, rest.tokens.carol):
        assert "change tickets" in json_of(await rest.client.put(url, json={}, headers=bearer(token)), 403)["message"]
    json_of(await rest.client.put(f"{tickets(rest)}/{rest.project}-999", json={}, headers=key(rest)), 404)
