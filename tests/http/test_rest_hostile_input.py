"""What a hostile or careless client sends the REST dialects: lone surrogates and NUL in bodies, integers
past any database's range in paging parameters, forged cursors. Each is a 400 naming the field, never a 500."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest

from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of
from tests.fixtures.stores import Location
from tickets_mcp.cli.servers import http_app
from tickets_mcp.config import Settings
from tickets_mcp.core import admin
from tickets_mcp.domain import TokenKind
from tickets_mcp.http.settings import ServeSettings, state_keys_from
from tickets_mcp.stores.factory import open_store

pytestmark = pytest.mark.anyio

HUGE = str(2**63)
SURROGATE = "\\ud800"  # as JSON writes it: json.loads gives a str UTF-8 cannot encode
NUL = "\\u0000"


def writes(rest: Rest, bad: str) -> list[tuple[str, str, str, str]]:
    """(method, path, raw JSON body carrying `bad` in one string, the field it should be named by) per dialect."""
    mesh = f"/api/v1/ext/orgs/{rest.org}/tickets"
    abf = f"/api/v1/projects/{rest.project_id}/issues"
    return [
        ("POST", "/api/v1/tickets", f'{{"title": "a{bad}b", "project_id": "{rest.project}"}}', "title"),
        ("POST", mesh, f'{{"title": "ok", "description": "{bad}", "repository_id": "{rest.project}"}}', "description"),
        (
            "POST",
            mesh,
            f'{{"title": "ok", "labels": ["fine", "x{bad}"], "repository_id": "{rest.project}"}}',
            "labels.1",
        ),
        ("PUT", f"{mesh}/{rest.slug(1)}", f'{{"title": "{bad}"}}', "title"),
        ("POST", f"{abf}.json", f'{{"issue": {{"title": "t", "body": "{bad}"}}}}', "issue.body"),
        ("PUT", f"{abf}/1.json", f'{{"issue": {{"title": "{bad}"}}}}', "issue.title"),
        (
            "POST",
            f"/api/v1/organizations/{rest.org}/projects",
            f'{{"data": {{"type": "projects", "attributes": {{"name": "n{bad}"}}}}}}',
            "data.attributes.name",
        ),
        ("POST", "/api/v1/native/tickets", f'{{"title": "t{bad}", "project": "{rest.project}"}}', "title"),
        ("POST", f"/api/v1/native/tickets/{rest.slug(1)}/comments", f'{{"body": "{bad}"}}', "body"),
    ]


@pytest.mark.parametrize("bad", [SURROGATE, NUL], ids=["lone-surrogate", "nul"])
async def test_a_lone_surrogate_or_nul_in_any_write_body_is_a_400_naming_the_field(rest: Rest, bad: str) -> None:
    headers = bearer(rest.tokens.alice) | {"Content-Type": "application/json"}
    first = await rest.client.post(
        "/api/v1/native/tickets", json={"title": "one", "project": rest.project}, headers=bearer(rest.tokens.alice)
    )
    json_of(first, 201)
    for method, path, body, field in writes(rest, bad):
        response = await rest.client.request(method, path, content=body.encode(), headers=headers)
        message = json_of(response, 400)["message"]
        assert field in message, (path, message)


PAGING = [
    ("/api/v1/mcp/organizations/{org}/tickets", ["page", "per_page"]),
    ("/api/v1/ext/orgs/{org}/tickets", ["limit", "offset"]),
    ("/api/v1/issues.json", ["page", "per_page"]),
    ("/api/v1/organizations/{org}/projects", ["page[number]", "page[size]"]),
    ("/api/v1/native/tickets", ["offset", "count_limit", "limit"]),
]


@pytest.mark.parametrize(("path", "names"), PAGING)
@pytest.mark.parametrize("value", [HUGE, str(2**64 + 1), "9" * 40])
async def test_an_integer_past_any_database_in_a_paging_parameter_is_a_400_naming_it(
    rest: Rest, path: str, names: list[str], value: str
) -> None:
    for name in names:
        response = await rest.client.get(
            path.format(org=rest.org), params={name: value}, headers=bearer(rest.tokens.alice)
        )
        message = json_of(response, 400)["message"]
        assert name in message, (name, message)


def forged(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def test_a_forged_cursor_is_a_400_saying_to_start_again_without_one(rest: Rest) -> None:
    headers = bearer(rest.tokens.alice)
    for title in ("one", "two", "three"):
        json_of(
            await rest.client.post(
                "/api/v1/native/tickets", json={"title": title, "project": rest.project}, headers=headers
            ),
            201,
        )
    listing = "/api/v1/native/tickets"
    page = json_of(await rest.client.get(listing, params={"project": rest.project, "limit": 2}, headers=headers), 200)
    cursor = page["next_cursor"]
    following = await rest.client.get(
        listing, params={"project": rest.project, "limit": 2, "cursor": cursor}, headers=headers
    )
    assert [t["title"] for t in json_of(following, 200)["tickets"]] == ["one"]
    inner = cursor.rsplit(".", 1)[0]
    attempts = [
        forged({"v": 2**63, "i": 2**63, "f": "000000000000"}),
        forged({"v": "a\x00b", "i": 1, "f": "000000000000"}),
        forged({"v": 1, "i": 1}) + "." + "A" * 16,
        inner,  # the real payload without its MAC
        inner + "." + "A" * 16,
        cursor[:-1] + ("A" if cursor[-1] != "A" else "B"),
        "\x00",
    ]
    for attempt in attempts:
        response = await rest.client.get(
            listing, params={"project": rest.project, "limit": 2, "cursor": attempt}, headers=headers
        )
        message = json_of(response, 400)["message"]
        assert "cursor" in message and "without a cursor" in message, (attempt, message)


@asynccontextmanager
async def replica(db: Location, state_key: str) -> AsyncGenerator[httpx2.AsyncClient]:
    """One `serve` app in process with its own TICKETS_STATE_KEY, and a client for it."""
    settings = ServeSettings(store=Settings(db=db, username="alice"), state_keys=state_keys_from(state_key))
    app = http_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=settings.base_url) as http,
    ):
        yield http


async def test_a_cursor_signed_by_one_replica_works_on_another_with_its_key_and_fails_with_another_key(
    store_location: Location,
) -> None:
    key, other_key = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    listing = {"limit": 2, "sort": "created", "descending": "false"}
    async with replica(store_location, key) as first:
        store = await open_store(store_location)
        try:
            token = bearer(
                (await admin.create_token(store, kind=TokenKind.PERSONAL, username="alice", name="t")).secret
            )
        finally:
            await store.close()
        for title in ("one", "two", "three"):
            json_of(await first.post("/api/v1/native/tickets", json={"title": title}, headers=token), 201)
        cursor = json_of(await first.get("/api/v1/native/tickets", params=listing, headers=token), 200)["next_cursor"]
        assert len(cursor) < 120, cursor  # compact: a short MAC on a short payload
    async with replica(store_location, key) as second:
        page = json_of(
            await second.get("/api/v1/native/tickets", params=listing | {"cursor": cursor}, headers=token), 200
        )
        assert [ticket["title"] for ticket in page["tickets"]] == ["three"]
    async with replica(store_location, f"{other_key},{key}") as rotated:  # the old key still opens what it signed
        json_of(await rotated.get("/api/v1/native/tickets", params=listing | {"cursor": cursor}, headers=token), 200)
    async with replica(store_location, other_key) as stranger:
        refused = await stranger.get("/api/v1/native/tickets", params=listing | {"cursor": cursor}, headers=token)
        assert "without a cursor" in json_of(refused, 400)["message"]
