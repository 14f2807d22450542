"""What a hostile or careless client passes the tools: text no database stores (a NUL, a lone surrogate) and
forged cursors. Each is a tool error naming the argument, never 'Error executing tool'."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from mcp import Client
from tests.fixtures.tool_calls import call, call_error, connect, slug_of
from tickets_mcp.cli.servers import stdio_server
from tickets_mcp.config import Settings
from tickets_mcp.mcp.server import TrackerServer

pytestmark = pytest.mark.anyio


def forged(payload: dict[str, Any]) -> str:
    """A cursor as they were before they were signed: base64 of JSON, which anyone could write."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def cursor_in(page: str) -> str:
    match = re.search(r"cursor=(\S+)", page)
    assert match, page
    return match.group(1)


@pytest.mark.parametrize("bad", [chr(0xD800), chr(0xDFFF), "\x00"], ids=["high-surrogate", "low-surrogate", "nul"])
async def test_text_no_database_stores_is_a_tool_error_naming_the_argument(client: Client, bad: str) -> None:
    slug = slug_of(await call(client, "create_ticket", title="fine"))
    for tool, arguments, field in [
        ("create_ticket", {"title": f"a{bad}b"}, "title"),
        ("create_ticket", {"title": "ok", "labels": ["fine", bad]}, "labels.1"),
        ("update_ticket", {"slug": slug, "description": bad}, "description"),
        ("add_comment", {"slug": slug, "body": f"x{bad}"}, "body"),
        ("list_tickets", {"query": bad}, "query"),
        ("create_project", {"name": f"Pro{bad}ject"}, "name"),
        ("list_tickets", {"cursor": bad}, "cursor"),
    ]:
        error = await call_error(client, tool, **arguments)
        assert error.startswith(f"Invalid arguments for {tool}: {field} contains U+0000 (NUL) or a lone"), error
    await call(client, "create_ticket", title="a\U0001f600b")  # a character outside the BMP is text


async def test_list_tickets_refuses_a_forged_or_altered_cursor_saying_to_start_again(client: Client) -> None:
    for i in range(3):
        await call(client, "create_ticket", title=f"t{i}")
    cursor = cursor_in(await call(client, "list_tickets", limit=2))
    assert "t0" in await call(client, "list_tickets", limit=2, cursor=cursor)
    inner = cursor.rsplit(".", 1)[0]
    for attempt in [
        forged({"v": 2**63, "i": 2**63, "f": "000000000000"}),
        forged({"v": "a\x00b", "i": 1, "f": "000000000000"}),
        forged({"v": 1, "i": 1}) + "." + "A" * 16,
        inner,
        inner + "." + "A" * 16,
        cursor[:-1] + ("A" if cursor[-1] != "A" else "B"),
        "not a cursor",
    ]:
        error = await call_error(client, "list_tickets", limit=2, cursor=attempt)
        assert "cursor" in error and "Start again without a cursor" in error, (attempt, error)


async def test_a_cursor_from_another_stdio_process_is_refused(server: TrackerServer, settings: Settings) -> None:
    async with connect(server) as client:
        for i in range(3):
            await call(client, "create_ticket", title=f"t{i}")
        cursor = cursor_in(await call(client, "list_tickets", limit=2))
    async with connect(stdio_server(settings)) as other:  # its own key, as a second process has
        error = await call_error(other, "list_tickets", limit=2, cursor=cursor)
    assert "Start again without a cursor" in error
