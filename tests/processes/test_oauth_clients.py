"""A client with no token configured connects to a real `serve` through OAuth, as claude.ai or ChatGPT would.

The MCP SDK's own OAuth client (mcp.client.auth) finds the authorization server from the 401 challenge,
registers (RFC 7591) or names itself by a Client ID Metadata Document, sends the person's browser to
/authorize; Debian's Chromium, driven by Playwright, plays the person: logs in on the board with a token
and clicks Allow on the consent page. The client then redeems the code with its PKCE verifier and calls
tools with the access token; when that token is refused it refreshes, and the tools keep working.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from mcp import Client
from tests.fixtures.chromium import launched_async, require
from tests.fixtures.http_server import ServerProcess, running_server
from tests.fixtures.oauth_flow import query_of
from tests.fixtures.stores import execute_beside, table_rows
from tests.fixtures.tls import LocalCertificate
from tests.fixtures.tool_calls import call

CALLBACK = "http://127.0.0.1:7777/callback"

playwright_api = require("playwright.async_api")

if TYPE_CHECKING:
    from playwright.async_api import Browser, Route

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Playwright's async API runs on asyncio


class MemoryStorage:
    """The SDK client's token storage, in memory: a client that starts with nothing."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Person:
    """Whoever sits at the browser: logs in with their token, reads the consent page, clicks Allow."""

    def __init__(self, browser: Browser, token: str) -> None:
        self.browser = browser
        self.token = token
        self.consent_text = ""
        self.redirected_to: str | None = None
        self.visits = 0

    async def open(self, authorization_url: str) -> None:
        self.visits += 1
        context = await self.browser.new_context()
        page = await context.new_page()

        async def catch_callback(route: Route) -> None:
            self.redirected_to = route.request.url
            await route.fulfill(status=200, body="You may close this window.")

        await page.route(f"{CALLBACK}**", catch_callback)
        await page.goto(authorization_url)
        await page.fill("#token", self.token)  # the board's login page: no session yet
        await page.click("form.login button[type=submit]")
        await page.wait_for_selector("form.consent")
        self.consent_text = await page.inner_text("main") if await page.query_selector("main") else await page.content()
        await page.click("form.consent button[value=allow]")
        await page.wait_for_url(f"{CALLBACK}**")
        await context.close()

    async def callback(self) -> AuthorizationCodeResult:
        assert self.redirected_to is not None, "the browser never came back to the client"
        fields = query_of(self.redirected_to)
        return AuthorizationCodeResult(code=fields["code"], state=fields.get("state"), iss=fields.get("iss"))


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> LocalCertificate:
    return LocalCertificate.make(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tls: LocalCertificate) -> Iterator[ServerProcess]:
    env = {
        "TICKETS_BOARD_LOCAL": "0",  # the person logs in, as on a team server
        "TICKETS_OAUTH_PRIVATE_CLIENTS": "1",  # the metadata document below is served on 127.0.0.1
        "TICKETS_OAUTH_CA_FILE": str(tls.cert_file),
    }
    with running_server(tmp_path_factory.mktemp("oauth") / "tracker.db", env=env) as process:
        yield process


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with launched_async(playwright_api) as chromium:
        yield chromium


def metadata(name: str) -> OAuthClientMetadata:
    return OAuthClientMetadata(
        redirect_uris=[AnyUrl(CALLBACK)],
        client_name=name,
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
    )


@asynccontextmanager
async def connected(
    server: ServerProcess, auth: OAuthClientProvider, verify: ssl.SSLContext | bool = False
) -> AsyncGenerator[Client]:
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30.0, verify=verify) as http,
        Client(streamable_http_client(server.mcp_url, http_client=http)) as client,
    ):
        yield client


async def test_a_client_registers_itself_signs_in_through_the_browser_and_calls_tools(
    server: ServerProcess, browser: Browser
) -> None:
    person = Person(browser, server.create_token("--user", "alice"))
    storage = MemoryStorage()
    auth = OAuthClientProvider(server.mcp_url, metadata("Registered Agent"), storage, person.open, person.callback)

    async with connected(server, auth) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        created = await call(client, "create_ticket", title="Filed by an OAuth client")

    assert person.visits == 1
    assert "Registered Agent" in person.consent_text and "127.0.0.1" in person.consent_text
    assert {"create_ticket", "list_tickets"} <= names
    assert created.startswith("Created INBOX-")
    assert storage.tokens is not None and storage.tokens.access_token.startswith("oat_")
    assert storage.client is not None and not storage.client.client_id.startswith("https://")
    actors = table_rows(
        server.db,
        "SELECT k.name FROM events e JOIN tokens k ON k.id = e.token_id WHERE e.action = 'ticket.created'",
    )
    assert ("Registered Agent (OAuth, 127.0.0.1)",) in actors

    # An hour on, by both clocks: the access token has expired; the client refreshes on its own and goes on.
    execute_beside(server.db, "UPDATE oauth_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE kind = 'access'")
    auth.context.token_expiry_time = time.time() - 1
    spent = storage.tokens.refresh_token
    async with connected(server, auth) as client:
        listed = await call(client, "list_tickets")
    assert "Filed by an OAuth client" in listed
    assert person.visits == 1, "a refresh needs no browser"
    assert storage.tokens.refresh_token != spent


@contextmanager
def metadata_document(tls: LocalCertificate, document: dict[str, Any]) -> Generator[str]:
    """Serve `document` over HTTPS on 127.0.0.1 at /client.json; yields the URL (which is its client_id)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = tls.server_context().wrap_socket(httpd.socket, server_side=True)
    url = f"https://127.0.0.1:{httpd.server_address[1]}/client.json"
    document["client_id"] = url
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        httpd.shutdown()
        httpd.server_close()


async def test_a_client_named_by_its_metadata_document_needs_no_registration(
    server: ServerProcess, browser: Browser, tls: LocalCertificate
) -> None:
    person = Person(browser, server.create_token("--user", "alice"))
    storage = MemoryStorage()
    document: dict[str, Any] = {
        "client_name": "Documented Agent",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    with metadata_document(tls, document) as url:
        auth = OAuthClientProvider(
            server.mcp_url, metadata("Documented Agent"), storage, person.open, person.callback, client_metadata_url=url
        )
        async with connected(server, auth) as client:
            created = await call(client, "create_ticket", title="Filed by a documented client")

    assert created.startswith("Created INBOX-")
    assert storage.client is not None and storage.client.client_id == url
    assert "Documented Agent" in person.consent_text and url in person.consent_text
    assert table_rows(server.db, "SELECT COUNT(*) FROM oauth_clients WHERE client_id LIKE 'https:%'") == [(0,)]
