"""The board as an MCP App (the `io.modelcontextprotocol/ui` extension), in memory on both protocol eras: a
client that declares Apps is shown the app on get_board and gets the cards as structured content; any other
client sees the tools, resources and text it saw before."""

from __future__ import annotations

import hashlib
import re
from base64 import b64encode
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import TextResourceContents

from mcp import Client
from tests.fixtures.tool_calls import call, connect, slug_of, text_of
from tickets_mcp.mcp.board_app import BOARD_APP_URI, board_app_html
from tickets_mcp.mcp.server import TrackerServer

pytestmark = pytest.mark.anyio

APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


@pytest.fixture(params=["auto", "legacy"], ids=["2026-07-28", "legacy-handshake"])
async def apps_client(server: TrackerServer, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """A client that declares MCP Apps, once on each protocol era."""
    async with connect(server, mode=request.param, extensions=[APPS]) as c:
        yield c


async def test_a_client_with_apps_is_shown_the_board_app_on_get_board_alone(apps_client: Client) -> None:
    metas = {tool.name: tool.meta for tool in (await apps_client.list_tools()).tools}
    assert metas.pop("get_board") == {"ui": {"resourceUri": BOARD_APP_URI}}
    assert [meta for meta in metas.values() if meta is not None] == []
    listed = {str(resource.uri): resource for resource in (await apps_client.list_resources()).resources}
    assert listed[BOARD_APP_URI].mime_type == APP_MIME_TYPE


async def test_a_client_without_apps_sees_the_tools_resources_and_text_it_saw_before(
    client: Client, apps_client: Client
) -> None:
    slug = slug_of(await call(client, "create_ticket", title="Plain text still"))
    assert [tool.meta for tool in (await client.list_tools()).tools if tool.meta is not None] == []
    assert BOARD_APP_URI not in {str(resource.uri) for resource in (await client.list_resources()).resources}
    plain = await client.call_tool("get_board", {})
    assert plain.structured_content is None and slug in text_of(plain)
    with_app = await apps_client.call_tool("get_board", {})
    assert text_of(with_app) == text_of(plain)


async def test_get_board_gives_an_apps_client_each_card_with_its_version(apps_client: Client) -> None:
    moved = slug_of(await call(apps_client, "create_ticket", title="Moved once", priority="high", labels=["ui"]))
    waiting = slug_of(await call(apps_client, "create_ticket", title="Waiting", assignee="alice", type="bug"))
    await call(apps_client, "move_ticket", slug=moved, status="todo")
    board: dict[str, Any] = (await apps_client.call_tool("get_board", {"per_column": 1})).structured_content or {}
    assert (board["project"], board["name"], board["milestone"]) == ("INBOX", "Inbox", None)
    columns = {column["status"]: column for column in board["columns"]}
    assert list(columns) == ["backlog", "todo", "in_progress", "in_review", "done", "canceled"]
    assert columns["todo"] == {
        "status": "todo",
        "total": 1,
        "tickets": [
            {"slug": moved, "title": "Moved once", "type": "task", "priority": "high", "assignee": None,
             "labels": ["ui"], "version": 2},
        ],
    }  # fmt: skip
    assert columns["backlog"]["tickets"][0]["slug"] == waiting
    assert (columns["backlog"]["total"], columns["done"]) == (1, {"status": "done", "total": 0, "tickets": []})


async def test_the_app_is_one_self_contained_document_whose_csp_allows_only_its_own_inline_code(
    apps_client: Client,
) -> None:
    contents = (await apps_client.read_resource(BOARD_APP_URI)).contents
    assert len(contents) == 1 and isinstance(contents[0], TextResourceContents)
    app = contents[0]
    assert app.mime_type == APP_MIME_TYPE
    assert app.meta == {"ui": {"csp": {}, "prefersBorder": True}}  # no outside domain of any kind
    html = app.text
    assert html.startswith("<!doctype html>")
    assert not re.search(r"\b(src|href|action)\s*=|@import|url\(|https?://", html)  # nothing loaded from anywhere
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(scripts) == 1 and len(styles) == 1
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert policy is not None
    assert policy.group(1) == (
        f"default-src 'none'; script-src '{sha256(scripts[0])}'; style-src '{sha256(styles[0])}'; img-src data:; "
        "connect-src 'none'; frame-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"
    )


def sha256(code: str) -> str:
    return "sha256-" + b64encode(hashlib.sha256(code.encode()).digest()).decode()


async def test_the_apps_document_is_read_from_the_package_only_when_a_host_asks_for_it(server: TrackerServer) -> None:
    board_app_html.cache_clear()
    async with connect(server, extensions=[APPS]) as listing:
        await listing.list_tools()
        await listing.list_resources()
        await listing.call_tool("get_board", {})
        assert board_app_html.cache_info().misses == 0
        await listing.read_resource(BOARD_APP_URI)
    assert board_app_html.cache_info().misses == 1
