"""A ticket names its reporter, assignee and closer after they leave the organization, in every dialect's shape.

Seed 002 shows each user object with an integer `id` and a `url`; seed 001 an integer `assignee_id`. A user
removed from the organization is still the one those tickets name, so they keep their id.
"""

from __future__ import annotations

import pytest

from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of
from tickets_mcp.core import admin
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketChanges, TicketDraft
from tickets_mcp.domain import Status, Ticket
from tickets_mcp.stores.factory import open_store

pytestmark = pytest.mark.anyio


async def filed_by_carol_then_done_by_bob_who_both_leave(rest: Rest) -> Ticket:
    """A ticket carol reported, assigned to bob and closed by bob; then both are removed from the organization."""
    store = await open_store(rest.db)
    try:

        def acting(who: str) -> LocalTracker:
            return LocalTracker(store, Principal(user_id=rest.user_id(who), username=rest.person(who).username))

        filed = (
            await acting("carol").create_ticket(
                TicketDraft(title="Filed by carol", project=rest.project_id, organization=rest.org)
            )
        ).ticket
        changes = TicketChanges(assignee=rest.person("bob").username, status=Status.DONE)
        done = await acting("bob").update_ticket(filed.slug, changes)
        for who in ("carol", "bob"):
            await admin.remove_member(store, rest.org, rest.person(who).username)
        return done
    finally:
        await store.close()


def abf_user(rest: Rest, who: str) -> dict[str, object]:
    person = rest.person(who)
    return {"id": person.id, "uname": person.username, "name": person.name, "url": f"/api/v1/users/{person.id}.json"}


async def test_abf_issues_show_former_members_with_their_id_and_url(rest: Rest) -> None:
    ticket = await filed_by_carol_then_done_by_bob_who_both_leave(rest)
    alice = bearer(rest.tokens.alice)

    one = json_of(
        await rest.client.get(f"/api/v1/projects/{rest.project}/issues/{ticket.number}.json", headers=alice), 200
    )
    listed = json_of(
        await rest.client.get(
            f"/api/v1/projects/{rest.project}/issues.json", params={"status": "closed"}, headers=alice
        ),
        200,
    )

    for issue in (one["issue"], listed["issues"][0]):
        assert issue["owner"] == abf_user(rest, "carol")
        assert issue["assignee"] == abf_user(rest, "bob")
        assert issue["closed_by"] == abf_user(rest, "bob")


async def test_agentsmesh_tickets_keep_a_former_members_assignee_id(rest: Rest) -> None:
    ticket = await filed_by_carol_then_done_by_bob_who_both_leave(rest)
    key = {"X-API-Key": rest.tokens.reader}
    tickets = f"/api/v1/ext/orgs/{rest.org}/tickets"

    one = json_of(await rest.client.get(f"{tickets}/{ticket.slug}", headers=key), 200)["ticket"]
    listed = json_of(await rest.client.get(tickets, headers=key), 200)["tickets"]
    board = json_of(await rest.client.get(f"{tickets}/board", headers=key), 200)["board"]
    on_board = [t for column in board["columns"] for t in column["tickets"]]

    assert one["assignee_id"] == listed[0]["assignee_id"] == rest.user_id("bob")
    assert [t["assignee_id"] for t in on_board if t["slug"] == ticket.slug] == [rest.user_id("bob")]


async def test_a_former_member_is_no_filter_nor_assignee_and_their_user_url_answers_404(rest: Rest) -> None:
    await filed_by_carol_then_done_by_bob_who_both_leave(rest)
    key = {"X-API-Key": rest.tokens.writer}
    tickets = f"/api/v1/ext/orgs/{rest.org}/tickets"
    bob = rest.user_id("bob")

    refused = await rest.client.get(tickets, params={"assignee_id": bob}, headers=key)
    assigning = await rest.client.post(tickets, json={"title": "x", "type": "task", "assignee_id": bob}, headers=key)
    user = await rest.client.get(f"/api/v1/users/{bob}.json", headers=bearer(rest.tokens.alice))

    assert (refused.status_code, assigning.status_code, user.status_code) == (400, 400, 404)
    assert f"No member with id {bob}" in refused.text
