"""Moving a ticket to another project through the MCP tools, end to end in memory: update_ticket's `project`
(in its schema once the projects set is on), what the reply says moved with it, and the old slug in tools
and resources."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.types import TextResourceContents

from mcp import Client
from tests.fixtures.subscriptions import watching
from tests.fixtures.tool_calls import call, call_error, slug_of
from tickets_mcp.mcp.server import TrackerServer

pytestmark = pytest.mark.anyio


async def schemas(client: Client) -> dict[str, dict[str, Any]]:
    return {tool.name: tool.input_schema.get("properties", {}) for tool in (await client.list_tools()).tools}


async def with_web(client: Client) -> None:
    await call(client, "create_project", name="Web", code="WEB")


async def test_update_tickets_project_argument_is_listed_with_the_projects_set_only(client: Client) -> None:
    assert "project" not in (await schemas(client))["update_ticket"]
    await call(client, "enable_tools", sets=["projects"])
    assert "project" in (await schemas(client))["update_ticket"]


async def test_an_agent_moves_a_misfiled_ticket_and_its_old_slug_still_works(client: Client) -> None:
    await with_web(client)
    slug = slug_of(await call(client, "create_ticket", title="Button misaligned", project="INBOX"))
    result = await client.call_tool("update_ticket", {"slug": slug, "project": "WEB"})
    assert not result.is_error
    assert result.structured_content == {"slug": "WEB-1", "version": 2}
    detail = await call(client, "get_ticket", slug=slug)
    assert detail.startswith("WEB-1: «Button misaligned»\n") and "\nmoved from INBOX-1\n" in detail
    updated = await call(client, "update_ticket", slug=slug, status="todo")
    assert updated == "Updated WEB-1 (todo, version 3); it moved from INBOX-1."
    commented = await call(client, "add_comment", slug=slug, body="Moved here")
    assert commented.startswith("Commented on WEB-1 ")
    listed = await call(client, "list_tickets", project="INBOX")
    assert "WEB-1" not in listed and slug not in listed
    contents = (await client.read_resource(f"tracker://tickets/{slug}")).contents
    assert isinstance(contents[0], TextResourceContents)
    assert contents[0].text == await call(client, "get_ticket", slug="WEB-1")


async def test_the_reply_says_what_moved_along_and_what_was_left_behind(client: Client) -> None:
    await with_web(client)
    epic = slug_of(await call(client, "create_ticket", title="Epic", project="INBOX"))
    story = slug_of(await call(client, "create_ticket", title="Story", project="INBOX", parent=epic))
    task = slug_of(await call(client, "create_ticket", title="Task", project="INBOX", parent=story))
    await call(client, "update_ticket", slug=story, labels=["frontend"])
    moved = await call(client, "update_ticket", slug=story, project="WEB")
    assert moved == (
        f"Moved {story} to WEB-1 (backlog, version 3). Sub-task moved with it: {task}→WEB-2. "
        f"Its parent {epic} stayed in INBOX: it has none now. New label: frontend (the project had none)."
    )


async def test_other_fields_sent_with_the_project_are_refused_before_anything_moves(client: Client) -> None:
    await with_web(client)
    slug = slug_of(await call(client, "create_ticket", title="Moves and changes", project="INBOX"))
    refusal = await call_error(client, "update_ticket", slug=slug, project="WEB", assignee="me", status="todo")
    assert "goes alone; status, assignee came with it, so nothing was done" in refusal
    assert f"update_ticket slug={slug} project=WEB first" in refusal
    assert (await call(client, "get_ticket", slug=slug)).startswith(f"{slug}: ")  # still where it was
    await call(client, "update_ticket", slug=slug, project="WEB")
    assert "Updated WEB-1 (todo" in await call(client, "update_ticket", slug="WEB-1", status="todo")


async def test_a_move_the_tracker_refuses_says_what_to_do(client: Client) -> None:
    await with_web(client)
    slug = slug_of(await call(client, "create_ticket", title="Stays", project="INBOX"))
    same = await call_error(client, "update_ticket", slug=slug, project="INBOX")
    assert "already in INBOX" in same
    unknown = await call_error(client, "update_ticket", slug=slug, project="WBE")
    assert "WEB" in unknown
    stale = await call_error(client, "update_ticket", slug=slug, project="WEB", version=5)
    assert "version" in stale
    assert (await call(client, "get_ticket", slug=slug)).startswith(f"{slug}: ")


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_move_is_heard_on_the_old_slug_and_both_boards_and_the_new_slug_after(
    server: TrackerServer, mode: str
) -> None:
    async with watching(server, mode) as watch:
        await with_web(watch.client)
        slug = slug_of(await call(watch.client, "create_ticket", title="Watched", project="INBOX"))
        old, new = f"tracker://tickets/{slug}", "tracker://tickets/WEB-1"
        boards = {"tracker://projects/INBOX/board", "tracker://projects/WEB/board"}
        await watch.start(old, *boards)
        await call(watch.client, "update_ticket", slug=slug, project="WEB")
        assert {await watch.next() for _ in range(3)} == {old, *boards}
    async with watching(server, mode) as watch:
        await watch.start(new)
        await call(watch.client, "add_comment", slug=slug, body="Heard where it is")
        assert await watch.next() == new
