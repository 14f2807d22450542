"""Search and duplicate-safe filing as an agent meets them: list_tickets' query ranked by relevance and
paged, create_ticket answering with a look-alike, and the ways to file anyway. In memory, both stores."""

from __future__ import annotations

import pytest

from mcp import Client
from tests.fixtures.tool_calls import call, call_error, slug_of

pytestmark = pytest.mark.anyio


def slugs(listing: str) -> list[str]:
    return [line.split()[0] for line in listing.splitlines()[2:] if not line.startswith(" ")]


async def test_a_query_finds_comment_words_and_ranks_title_matches_first(client: Client) -> None:
    older = slug_of(await call(client, "create_ticket", title="Board is slow"))
    await call(client, "add_comment", slug=older, body="Only with the kraken theme")
    await call(client, "create_ticket", title="Unrelated")
    newer = slug_of(await call(client, "create_ticket", title="Kraken theme colours"))
    assert slugs(await call(client, "list_tickets", query="kraken")) == [newer, older]
    # Best match first by default; by creation when asked, oldest first when asked.
    assert slugs(await call(client, "list_tickets", query="kraken", sort="created", order="asc")) == [older, newer]
    assert slugs(await call(client, "list_tickets", query="theme kraken")) == [newer, older]
    assert "No tickets match" in await call(client, "list_tickets", query="kraken elephants")


async def test_ranked_results_page_with_the_cursor_they_give(client: Client) -> None:
    for i in range(5):
        await call(client, "create_ticket", title=f"Walrus sighting {i}", not_duplicate=True)
    first = await call(client, "list_tickets", query="walrus", limit=2)
    assert first.startswith("2 of 5 tickets by relevance then created desc; more with cursor=")
    cursor = first.split("cursor=")[1].split()[0]
    second = await call(client, "list_tickets", query="walrus", limit=2, cursor=cursor)
    assert second.startswith("2 of 5 tickets by relevance then created desc; more with cursor=")
    assert not set(slugs(first)) & set(slugs(second))
    error = await call_error(client, "list_tickets", query="other", limit=2, cursor=cursor)
    assert "different query" in error


async def test_a_look_alike_is_answered_instead_of_filed_until_the_agent_says_otherwise(client: Client) -> None:
    first = slug_of(
        await call(client, "create_ticket", title="Login fails on Safari", description="Button does nothing")
    )
    retry = {"title": "Login fails in Safari", "description": "Button does nothing"}
    refusal = await call_error(client, "create_ticket", **retry)
    assert refusal.startswith(f"Not filed: it looks like {first} backlog medium task: «Login fails on Safari» (")
    assert "comment on " + first in refusal and "not_duplicate=true" in refusal
    assert "1 of 1 tickets" in await call(client, "list_tickets")

    second = slug_of(await call(client, "create_ticket", title="Login fails in Safari", not_duplicate=True))
    assert second != first
    # A key says "this is my own retry": it answers for itself, never with a look-alike of another.
    keyed = slug_of(await call(client, "create_ticket", title="Login fails on Safari", idempotency_key="k-1"))
    assert keyed not in (first, second)
    assert slug_of(await call(client, "create_ticket", title="Login fails on Safari", idempotency_key="k-1")) == keyed


async def test_a_closed_look_alike_does_not_block_filing_a_regression(client: Client) -> None:
    fixed = slug_of(await call(client, "create_ticket", title="Export crashes on big files"))
    await call(client, "move_ticket", slug=fixed, status="done")
    again = slug_of(await call(client, "create_ticket", title="Export crashes on big files"))
    assert again != fixed
