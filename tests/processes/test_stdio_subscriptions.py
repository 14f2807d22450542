"""Resource subscriptions on the real `tickets-mcp` process over stdio, driven by the SDK client: a change
made through the same process, and one made by another process on the same database (a second stdio
server, as two desktop clients would spawn), reach the subscribed client."""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import pytest

from mcp import Client, StdioServerParameters
from tests.fixtures.subscriptions import Heard, next_uri, subscribe
from tests.fixtures.tool_calls import call, slug_of

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

BOARD = "tracker://projects/INBOX/board"


@asynccontextmanager
async def stdio(env: dict[str, str], mode: str, heard: Heard | None = None) -> AsyncGenerator[Client]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "tickets_mcp"], env=env)
    async with Client(params, mode=mode, message_handler=heard, read_timeout_seconds=30) as client:
        yield client


async def test_a_session_subscribed_over_stdio_hears_the_ticket_it_updates(server_env: dict[str, str]) -> None:
    heard = Heard()
    async with stdio(server_env, "legacy", heard) as client:
        slug = slug_of(await call(client, "create_ticket", title="Watched over stdio"))
        await subscribe(client, f"tracker://tickets/{slug}")
        await subscribe(client, BOARD)
        await call(client, "update_ticket", slug=slug, priority="urgent")
        assert {await heard.next(), await heard.next()} == {f"tracker://tickets/{slug}", BOARD}
        await call(client, "add_comment", slug=slug, body="both again")
        assert {await heard.next(), await heard.next()} == {f"tracker://tickets/{slug}", BOARD}


async def test_a_listen_stream_over_stdio_hears_the_ticket_it_updates(server_env: dict[str, str]) -> None:
    async with stdio(server_env, "auto") as client:
        slug = slug_of(await call(client, "create_ticket", title="Listened to over stdio"))
        async with client.listen(resource_subscriptions=[f"tracker://tickets/{slug}"]) as stream:
            await call(client, "move_ticket", slug=slug, status="in_review")
            assert await next_uri(stream) == f"tracker://tickets/{slug}"


async def test_a_change_another_process_makes_on_the_same_database_is_heard_by_a_session(
    server_env: dict[str, str],
) -> None:
    heard = Heard()
    async with stdio(server_env, "legacy", heard) as watcher, stdio(server_env, "auto") as other:
        slug = slug_of(await call(watcher, "create_ticket", title="Moved by someone else"))
        await subscribe(watcher, f"tracker://tickets/{slug}")
        await subscribe(watcher, BOARD)
        await call(other, "move_ticket", slug=slug, status="done")
        assert {await heard.next(), await heard.next()} == {f"tracker://tickets/{slug}", BOARD}


async def test_a_change_another_process_makes_on_the_same_database_is_heard_by_a_listen_stream(
    server_env: dict[str, str],
) -> None:
    async with stdio(server_env, "auto") as watcher, stdio(server_env, "legacy") as other:
        slug = slug_of(await call(watcher, "create_ticket", title="Commented by someone else"))
        async with watcher.listen(resource_subscriptions=[f"tracker://tickets/{slug}"]) as stream:
            await call(other, "add_comment", slug=slug, body="from the other process")
            assert await next_uri(stream) == f"tracker://tickets/{slug}"
