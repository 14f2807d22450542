"""Destructive tools and the user's consent, in memory on both protocol eras: where the client can ask its user,
only the user's answer confirms (confirm=true does not skip the question); where it cannot, confirm=true does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from mcp.types import ElicitResult

from mcp import Client
from tests.fixtures.elicitation import ACCEPT, CANCEL, DECLINE, ScriptedUser
from tests.fixtures.tool_calls import call, call_error, connect, slug_of, text_of
from tickets_mcp.mcp.server import TrackerServer

pytestmark = pytest.mark.anyio

MODES = pytest.mark.parametrize("mode", ["auto", "legacy"], ids=["2026-07-28", "legacy-handshake"])


async def a_ticket(client: Client) -> tuple[dict[str, object], str, Callable[[], Awaitable[bool]]]:
    """delete_ticket's arguments for a new ticket with a comment, the question the user is asked, and whether
    the ticket is still there."""
    slug = slug_of(await call(client, "create_ticket", title="Keep me"))
    await call(client, "add_comment", slug=slug, body="context")

    async def exists() -> bool:
        return not (await client.call_tool("get_ticket", {"slug": slug})).is_error

    return {"slug": slug}, f"Delete {slug} with 1 comment? This cannot be undone.", exists


async def a_project(client: Client) -> tuple[dict[str, object], str, Callable[[], Awaitable[bool]]]:
    """delete_project's arguments for a new empty project, the question, and whether the project is still there."""
    await call(client, "create_project", name="Scratch", code="SCR")

    async def exists() -> bool:
        return "SCR" in await call(client, "list_projects")

    return {"project": "SCR"}, "Delete project SCR 'Scratch'?", exists


# Every tool that deletes, with how to make something for it to delete: a new destructive tool must be added here.
DESTRUCTIVE = {"delete_ticket": a_ticket, "delete_project": a_project}


async def test_every_destructive_tool_is_covered_here(server: TrackerServer) -> None:
    async with connect(server) as client:
        await call(client, "enable_tools", sets=["projects", "bulk"])
        tools = (await client.list_tools()).tools
    assert {tool.name for tool in tools if tool.annotations and tool.annotations.destructive_hint} == set(DESTRUCTIVE)


@MODES
@pytest.mark.parametrize("tool", sorted(DESTRUCTIVE))
@pytest.mark.parametrize("answer", [DECLINE, CANCEL], ids=["decline", "cancel"])
async def test_confirm_true_after_the_user_declined_asks_the_user_again_and_deletes_nothing(
    server: TrackerServer, mode: str, tool: str, answer: ElicitResult
) -> None:
    user = ScriptedUser(answer, answer)
    async with connect(server, mode=mode, elicitation_callback=user) as client:
        arguments, question, exists = await DESTRUCTIVE[tool](client)
        first = await call(client, tool, **arguments)
        second = await call(client, tool, **arguments, confirm=True)
        kept = await exists()
    assert kept
    assert user.questions == [question, question]
    for reply in (first, second):
        assert reply.startswith("Not deleted. The user declined."), reply
        assert "confirm" not in reply


@MODES
@pytest.mark.parametrize("tool", sorted(DESTRUCTIVE))
async def test_the_users_yes_deletes_whatever_confirm_says(server: TrackerServer, mode: str, tool: str) -> None:
    user = ScriptedUser(ACCEPT)
    async with connect(server, mode=mode, elicitation_callback=user) as client:
        arguments, question, exists = await DESTRUCTIVE[tool](client)
        reply = await call(client, tool, **arguments, confirm=False)
        kept = await exists()
    assert reply.startswith("Deleted ") and not kept
    assert user.questions == [question]


@MODES
async def test_a_user_who_accepts_the_form_but_unticks_confirm_has_declined(server: TrackerServer, mode: str) -> None:
    user = ScriptedUser(ElicitResult(action="accept", content={"confirm": False}))
    async with connect(server, mode=mode, elicitation_callback=user) as client:
        arguments, _, exists = await a_ticket(client)
        reply = await call(client, "delete_ticket", **arguments, confirm=True)
        kept = await exists()
    assert kept
    assert reply.startswith("Not deleted. The user declined.") and "confirm" not in reply


@MODES
@pytest.mark.parametrize("tool", sorted(DESTRUCTIVE))
async def test_a_client_that_cannot_ask_its_user_needs_confirm_true(
    server: TrackerServer, mode: str, tool: str
) -> None:
    async with connect(server, mode=mode) as client:
        arguments, _, exists = await DESTRUCTIVE[tool](client)
        refused = await call(client, tool, **arguments)
        kept = await exists()
        deleted = await call(client, tool, **arguments, confirm=True)
        gone = not await exists()
    assert kept and deleted.startswith("Deleted ") and gone
    assert refused.startswith("Not deleted. Not confirmed. This would delete "), refused
    assert "Ask the user" in refused and "confirm=true" in refused


@MODES
async def test_a_project_that_holds_tickets_is_refused_without_asking_the_user(
    server: TrackerServer, mode: str
) -> None:
    user = ScriptedUser(ACCEPT)
    async with connect(server, mode=mode, elicitation_callback=user) as client:
        await call(client, "create_project", name="Busy", code="BSY")
        await call(client, "create_ticket", title="Work", project="BSY")
        refused = text_of(await client.call_tool("delete_project", {"project": "BSY", "confirm": True}))
    assert user.questions == []
    assert "BSY" in refused and "holds 1 ticket" in refused and "confirm" not in refused


@MODES
async def test_an_unknown_ticket_is_refused_before_the_user_is_asked(server: TrackerServer, mode: str) -> None:
    user = ScriptedUser(ACCEPT)
    async with connect(server, mode=mode, elicitation_callback=user) as client:
        assert "not found" in await call_error(client, "delete_ticket", slug="INBOX-99", confirm=True)
    assert user.questions == []


@MODES
async def test_a_ticket_deleted_already_is_done_without_asking_the_user_again(server: TrackerServer, mode: str) -> None:
    user = ScriptedUser(ACCEPT, ACCEPT)
    async with connect(server, mode=mode, elicitation_callback=user) as client:
        arguments, question, _ = await a_ticket(client)
        assert (await call(client, "delete_ticket", **arguments)).startswith("Deleted ")
        again = await call(client, "delete_ticket", **arguments, confirm=True)
    assert user.questions == [question]
    assert again.startswith(f"{arguments['slug']} was already deleted (by alice client=mcp at "), again
