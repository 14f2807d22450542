"""Tokens at the MCP routes of `tickets-mcp serve`, in process through httpx2's ASGITransport: a missing and a
wrong token get different, precise 401s; no OAuth authorization server is advertised, since there is none
(tokens come from `tickets-mcp token create`); a valid token in any of the accepted headers gets through."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx2
import pytest
from mcp.client.streamable_http import streamable_http_client

from mcp import Client
from tests.fixtures.http_server import bearer
from tests.fixtures.stores import Location
from tests.fixtures.tool_calls import TOOLS, call
from tickets_mcp.cli.servers import http_app
from tickets_mcp.config import Settings
from tickets_mcp.core import admin
from tickets_mcp.domain import TokenKind
from tickets_mcp.http.auth import HEADER_HINT
from tickets_mcp.http.settings import ServeSettings
from tickets_mcp.logs import redact
from tickets_mcp.stores import Store

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
MCP_REQUEST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": META}}
MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": MODERN,
    "Mcp-Method": "tools/list",
}
# The MCP routes, each with a request that would be served with a valid token.
ROUTES = [("POST", "/mcp"), ("GET", "/sse"), ("POST", "/sse/messages/")]
WRONG_TOKENS = ["pk_" + "x" * 43, "not-a-token", "amk_" + "y" * 43]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Served:
    http: httpx2.AsyncClient
    transport: httpx2.ASGITransport
    store: Store
    url: str

    async def token(self) -> tuple[str, int]:
        issued = await admin.create_token(self.store, kind=TokenKind.PERSONAL, username="alice", name="laptop")
        return issued.secret, issued.token.id

    async def request(self, method: str, path: str, headers: dict[str, str]) -> httpx2.Response:
        if method == "POST":
            return await self.http.post(path, json=MCP_REQUEST, headers=MCP_HEADERS | headers)
        return await self.http.get(path, headers=headers)


@asynccontextmanager
async def served(db: Location, *, oauth: bool = True) -> AsyncGenerator[Served]:
    """The whole `serve` app in process, its lifespan running, and a client for it; `oauth` False as
    TICKETS_OAUTH=0 turns the authorization server off."""
    settings = replace(ServeSettings.from_env(Settings(db=db, username="alice")), oauth=oauth)
    app = http_app(settings)
    transport = httpx2.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=transport, base_url=settings.base_url) as http,
    ):
        yield Served(http, transport, app.state.backend.store, settings.base_url)


def message_of(response: httpx2.Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["message"])


RESOURCE_METADATA = 'resource_metadata="http://127.0.0.1:8740/.well-known/oauth-protected-resource/mcp"'


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("oauth", [True, False], ids=["oauth", "no-oauth"])
async def test_no_token_gets_401_saying_a_token_is_needed_and_how_to_make_one(
    store_location: Location, method: str, path: str, oauth: bool
) -> None:
    async with served(store_location, oauth=oauth) as server:
        refused = await server.request(method, path, {})
    assert refused.status_code == 401
    # RFC 9728 §5.1: the challenge names the resource's metadata, where a client finds how to sign in.
    expected = f'Bearer realm="tickets-mcp", {RESOURCE_METADATA}' if oauth else 'Bearer realm="tickets-mcp"'
    assert refused.headers["www-authenticate"] == expected
    message = message_of(refused)
    assert message.startswith("401 Unauthorized: this server needs a token")
    assert "tickets-mcp token create --user NAME" in message and "Authorization: Bearer" in message
    assert ("OAuth" in message) is oauth


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("header", ["Authorization", "X-API-Key", "PRIVATE-TOKEN"])
async def test_a_wrong_token_gets_401_saying_it_is_not_valid_without_echoing_it(
    store_location: Location, method: str, path: str, header: str
) -> None:
    async with served(store_location) as server:
        for token in [*WRONG_TOKENS, "oat_" + "x" * 43]:
            sent = {header: f"Bearer {token}" if header == "Authorization" else token}
            refused = await server.request(method, path, sent)
            assert refused.status_code == 401
            challenge = refused.headers["www-authenticate"]
            assert challenge.startswith('Bearer realm="tickets-mcp", error="invalid_token"')
            assert challenge.endswith(RESOURCE_METADATA)
            assert message_of(refused).startswith("401 Unauthorized: the token is not valid")
            assert token not in refused.text and token not in challenge


async def test_a_revoked_token_gets_the_wrong_token_answer(store_location: Location) -> None:
    async with served(store_location) as server:
        token, token_id = await server.token()
        assert (await server.request("POST", "/mcp", bearer(token))).status_code == 200
        await server.store.revoke_token(token_id, admin.CLI)
        refused = await server.request("POST", "/mcp", bearer(token))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert message_of(refused).startswith("401 Unauthorized: the token is not valid")
    assert token not in refused.text


@pytest.mark.parametrize(
    "path",
    ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource",
     "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"],
)  # fmt: skip
async def test_with_oauth_off_no_authorization_server_is_advertised(store_location: Location, path: str) -> None:
    async with served(store_location, oauth=False) as server:
        token, _ = await server.token()
        anonymous = await server.http.get(path)
        with_token = await server.http.get(path, headers=bearer(token))
        challenge = (await server.request("POST", "/mcp", {})).headers["www-authenticate"]
    assert anonymous.status_code == 404 and with_token.status_code == 404
    assert "resource_metadata" not in challenge


async def test_with_oauth_on_only_what_it_serves_is_advertised(store_location: Location) -> None:
    async with served(store_location) as server:
        found = {
            path: (await server.http.get(path)).status_code
            for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-authorization-server",
                         "/.well-known/openid-configuration", "/.well-known/oauth-protected-resource")
        }  # fmt: skip
    # No OpenID Connect (no ID tokens); the resource is /mcp, so the bare well-known path names nothing.
    assert found == {
        "/.well-known/oauth-protected-resource/mcp": 200,
        "/.well-known/oauth-authorization-server": 200,
        "/.well-known/openid-configuration": 404,
        "/.well-known/oauth-protected-resource": 404,
    }


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key", "PRIVATE-TOKEN"])
async def test_a_valid_token_in_any_accepted_header_reaches_the_tools(store_location: Location, header: str) -> None:
    async with served(store_location) as server:
        token, _ = await server.token()
        sent = {header: f"Bearer {token}" if header == "Authorization" else token}
        async with (
            httpx2.AsyncClient(transport=server.transport, base_url=server.url, headers=sent) as http,
            Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client,
        ):
            assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
            assert "INBOX" in await call(client, "list_projects")


async def test_rest_routes_keep_their_own_401_with_seed_003s_body(store_location: Location) -> None:
    async with served(store_location) as server:
        missing = await server.http.get("/api/v1/issues.json")
        wrong = await server.http.get("/api/v1/issues.json", headers=bearer("pk_" + "x" * 43))
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert message_of(missing) == message_of(wrong) == "401 Unauthorized"
    assert "The token is unknown or revoked." in wrong.headers["www-authenticate"]


async def test_rest_says_how_to_make_a_token_when_none_was_sent_in_the_challenge(store_location: Location) -> None:
    async with served(store_location) as server:
        missing = await server.http.get("/api/v1/issues.json")
    assert "tickets-mcp token create --user NAME" in missing.headers["www-authenticate"]


def test_the_header_hint_survives_log_redaction_whole() -> None:
    assert redact(HEADER_HINT) == HEADER_HINT
    assert "Authorization" in HEADER_HINT and "PRIVATE-TOKEN" in HEADER_HINT
