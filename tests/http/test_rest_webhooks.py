"""Webhooks over the native REST API: who may manage them, what a listing shows of a secret, the URL check, and a
hook made over REST hearing a ticket filed over REST, delivered by the app's own dispatcher to a real receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from tests.fixtures.asgi_server import serving_app
from tests.fixtures.http_server import Served, bearer
from tests.fixtures.rest_world import Rest, json_of, rest_world
from tests.fixtures.stores import Location, table_rows
from tests.fixtures.webhook_receiver import WebhookReceiver
from tickets_mcp.core import admin
from tickets_mcp.domain import TokenKind
from tickets_mcp.stores import Store

pytestmark = pytest.mark.anyio

HOOKS = "/api/v1/native/webhooks"
URL = "https://hooks.example.com/T0/B1/receiver-secret?team=web"


@pytest.fixture(scope="module")
def rest_server(module_store_location: Location) -> Iterator[Served]:
    """The serve app, which may send webhooks to loopback (the end-to-end test's receiver)."""
    with serving_app(module_store_location, webhook_networks=["127.0.0.1"]) as server:
        yield server


async def key(rest: Rest, scopes: str) -> str:
    """An organization key of the test's organization, made by its owner, with `scopes`."""

    async def create(store: Store) -> str:
        username = rest.person("alice").username
        issued = await admin.create_token(
            store, kind=TokenKind.ORGANIZATION, username=username, name="hooks", organization_ref=rest.org,
            scopes=scopes,
        )  # fmt: skip
        return issued.secret

    return await anyio.to_thread.run_sync(rest.server.seed, create)


async def add(rest: Rest, token: str, **body: object) -> dict[str, Any]:
    """POST a hook (to URL, for the test's organization, unless `body` says otherwise); the 201's document."""
    sent = {"url": URL, "organization": rest.org, **body}
    return json_of(await rest.client.post(HOOKS, json=sent, headers=bearer(token)), 201)


async def test_an_owner_adds_a_hook_and_its_secret_is_shown_in_that_answer_only(rest: Rest) -> None:
    made = await add(rest, rest.tokens.alice, events=["moved", "ticket.commented"], description="CI")
    secret, webhook = made["secret"], made["webhook"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert webhook["secret_hint"] == secret[:10] + "…" and secret not in json.dumps(webhook)
    assert webhook["events"] == ["ticket.moved", "ticket.commented"] and webhook["active"] is True
    assert (webhook["organization"], webhook["url"], webhook["created_by"]) == (
        rest.org,
        URL,
        rest.person("alice").username,
    )
    listing = await rest.client.get(HOOKS, params={"organization": rest.org}, headers=bearer(rest.tokens.alice))
    assert [hook["id"] for hook in json_of(listing, 200)] == [webhook["id"]]
    assert secret[10:20] not in listing.text
    log = await rest.client.get(f"{HOOKS}/{webhook['id']}/deliveries", headers=bearer(rest.tokens.alice))
    assert json_of(log, 200) == []
    audit = table_rows(rest.db, f"SELECT changes FROM events WHERE subject = 'webhook {webhook['id']}'")
    assert "hooks.example.com" in str(audit) and "receiver-secret" not in str(audit) and "whsec_" not in str(audit)


async def test_members_reporters_and_project_tokens_are_refused_and_other_organizations_find_nothing(
    rest: Rest,
) -> None:
    webhook_id = (await add(rest, rest.tokens.alice))["webhook"]["id"]
    for token in (rest.tokens.bob, rest.tokens.carol):
        refused = await rest.client.post(HOOKS, json={"url": URL, "organization": rest.org}, headers=bearer(token))
        assert "may not manage webhooks" in json_of(refused, 403)["message"]
        assert "may not see webhooks" in json_of(await rest.client.get(HOOKS, headers=bearer(token)), 403)["message"]
        for method, path in (("DELETE", ""), ("POST", "/enable"), ("GET", "/deliveries")):
            json_of(await rest.client.request(method, f"{HOOKS}/{webhook_id}{path}", headers=bearer(token)), 403)
    project_token = await rest.client.get(HOOKS, headers=bearer(rest.tokens.inbox))
    assert "project token" in json_of(project_token, 403)["message"]
    dave = bearer(rest.tokens.dave)
    assert json_of(await rest.client.get(HOOKS, headers=dave), 200) == []  # his own organization has none
    for method, path in (("DELETE", ""), ("POST", "/enable"), ("GET", "/deliveries")):
        missing = json_of(await rest.client.request(method, f"{HOOKS}/{webhook_id}{path}", headers=dave), 404)
        assert missing["message"].startswith(f"No webhook {webhook_id}.")
    json_of(await rest.client.get(HOOKS, params={"organization": rest.org}, headers=dave), 404)


async def test_an_admin_manages_hooks_and_removing_one_twice_finds_it_gone(rest: Rest) -> None:
    erin = bearer(rest.tokens.erin)
    webhook_id = (await add(rest, rest.tokens.erin))["webhook"]["id"]
    enabled = json_of(await rest.client.post(f"{HOOKS}/{webhook_id}/enable", headers=erin), 200)
    assert enabled["active"] is True and enabled["failures"] == 0
    assert json_of(await rest.client.delete(f"{HOOKS}/{webhook_id}", headers=erin), 200)["id"] == webhook_id
    json_of(await rest.client.delete(f"{HOOKS}/{webhook_id}", headers=erin), 404)
    assert table_rows(rest.db, f"SELECT id FROM webhooks WHERE id = {webhook_id}") == []


async def test_an_organization_key_needs_a_webhooks_scope_which_no_other_scope_implies(rest: Rest) -> None:
    for token in (rest.tokens.writer, rest.tokens.manager):
        refused = await rest.client.post(HOOKS, json={"url": URL}, headers=bearer(token))
        assert "lacks the scope to manage webhooks (needs webhooks:write)" in json_of(refused, 403)["message"]
    reader = await key(rest, "webhooks:read")
    assert json_of(await rest.client.get(HOOKS, headers=bearer(reader)), 200) == []
    json_of(await rest.client.post(HOOKS, json={"url": URL}, headers=bearer(reader)), 403)
    writer = await key(rest, "webhooks:write")
    webhook_id = (await add(rest, writer))["webhook"]["id"]
    assert [hook["id"] for hook in json_of(await rest.client.get(HOOKS, headers=bearer(writer)), 200)] == [webhook_id]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"url": "http://127.0.0.2:9/hooks"}, "127.0.0.2 is a loopback address"),  # 127.0.0.1 alone is allowed
        ({"url": "http://10.0.0.5/hooks"}, "--webhook-allow-network"),
        ({"url": "ftp://hooks.example.com/x"}, "http:// or https://"),
        ({"url": "https://bot:hunter2@hooks.example.com/x"}, "user name or password"),
        ({"url": URL, "events": ["craeted"]}, "ticket.created"),
        ({"url": URL, "secret": "mine"}, "secret"),
    ],
)
async def test_a_hook_the_server_will_not_have_is_400_saying_why(
    rest: Rest, body: dict[str, object], words: str
) -> None:
    sent = {"organization": rest.org, **body}
    refused = await rest.client.post(HOOKS, json=sent, headers=bearer(rest.tokens.alice))
    message = json_of(refused, 400)["message"]
    assert words in message and "hunter2" not in message


async def test_an_organization_has_at_most_twenty_hooks(rest: Rest) -> None:
    for _ in range(20):
        await add(rest, rest.tokens.alice)
    refused = await rest.client.post(HOOKS, json={"url": URL}, headers=bearer(rest.tokens.alice))
    assert "as many as it may" in json_of(refused, 409)["message"]


async def test_a_hook_made_over_rest_hears_a_ticket_filed_over_rest_from_the_apps_own_dispatcher(rest: Rest) -> None:
    with WebhookReceiver() as receiver:
        made = await add(rest, rest.tokens.alice, url=receiver.url, events=["created"])
        receiver.secret = made["secret"]
        filed = await rest.client.post(
            "/api/v1/native/tickets", json={"title": "Heard by a hook", "project": rest.project},
            headers=bearer(rest.tokens.bob),
        )  # fmt: skip
        slug = json_of(filed, 201)["slug"]
        (delivery,) = await anyio.to_thread.run_sync(receiver.wait_for, 1)
    assert delivery.verified
    assert (delivery.document["type"], delivery.document["ticket"]) == ("ticket.created", slug)
    assert delivery.document["actor"] == rest.person("bob").username


async def test_a_read_only_server_lists_hooks_but_refuses_to_add_one(store_location: Location) -> None:
    with serving_app(store_location, tier="read-only") as server:
        async with rest_world(server) as rest:
            alice = bearer(rest.tokens.alice)
            assert json_of(await rest.client.get(HOOKS, headers=alice), 200) == []
            refused = await rest.client.post(HOOKS, json={"url": URL, "organization": rest.org}, headers=alice)
            assert "tier read-only" in json_of(refused, 403)["message"]


async def test_a_description_is_kept_whole_up_to_its_limit_and_refused_past_it(rest: Rest) -> None:
    long = "Deploys to staging, then production; " * 5
    made = await add(rest, rest.tokens.alice, description=long.strip())
    assert made["webhook"]["description"] == long.strip()
    refused = await rest.client.post(
        HOOKS,
        json={"url": URL, "organization": rest.org, "description": "x" * 20_000},
        headers=bearer(rest.tokens.alice),
    )
    assert refused.status_code == 400 and "at most 200 characters" in refused.json()["message"]
