"""The Store contract for saying why a listed ticket matched, SQLite and PostgreSQL alike: where a text
query's words were found when not in the title, as a few words around the first hit, and the order the
page is sorted in, tie-break included."""

from __future__ import annotations

import pytest

from tests.fixtures.store_contract import World, draft
from tickets_mcp.domain import Snippet, TicketSort
from tickets_mcp.stores import Store, TicketQuery

pytestmark = pytest.mark.anyio

LONG = " ".join(f"word{i}" for i in range(40))


async def test_a_match_outside_the_title_comes_with_the_words_around_it(store: Store, world: World) -> None:
    titled = (
        await store.create_ticket(draft(world, "Kraken theme broken", description="kraken again"), world.actor)
    ).ticket
    described = (
        await store.create_ticket(
            draft(world, "Slow board", description=f"{LONG} the kraken theme makes it slow {LONG}"), world.actor
        )
    ).ticket
    commented = (await store.create_ticket(draft(world, "Colours"), world.actor)).ticket
    await store.add_comment(commented.id, "Nothing here", world.actor)
    await store.add_comment(commented.id, "Only\nwith the Krakens theme on Safari", world.actor)

    page = await store.list_tickets(TicketQuery(project_ids=[world.inbox.id], text="kraken", limit=10))

    assert {t.id for t in page.tickets} == {titled.id, described.id, commented.id}
    assert titled.id not in page.snippets  # the title says it
    assert page.snippets[described.id] == Snippet(
        field="description", text="…word37 word38 word39 the kraken theme makes it slow word0 word1…"
    )
    assert page.snippets[commented.id] == Snippet(field="comment", text="Only\nwith the Krakens theme on Safari")


async def test_words_missing_from_the_title_are_the_ones_shown(store: Store, world: World) -> None:
    ticket = (
        await store.create_ticket(draft(world, "Export fails", description="when the walrus sings"), world.actor)
    ).ticket
    page = await store.list_tickets(TicketQuery(project_ids=[world.inbox.id], text="export walrus"))
    assert page.snippets == {ticket.id: Snippet(field="description", text="when the walrus sings")}


async def test_only_the_pages_rows_get_snippets(store: Store, world: World) -> None:
    for i in range(3):
        await store.create_ticket(draft(world, f"Item {i}", description="about the walrus"), world.actor)
    page = await store.list_tickets(TicketQuery(project_ids=[world.inbox.id], text="walrus", limit=2))
    assert set(page.snippets) == {t.id for t in page.tickets} and len(page.tickets) == 2


async def test_a_page_says_what_it_is_sorted_on_then_what_breaks_ties(store: Store, world: World) -> None:
    await store.create_ticket(draft(world, "One walrus"), world.actor)

    async def order(**fields: object) -> tuple[str, ...]:
        query = TicketQuery(project_ids=[world.inbox.id], **fields)  # pyright: ignore[reportArgumentType]
        return (await store.list_tickets(query)).order

    assert await order() == ("created desc",)
    assert await order(sort=TicketSort.CREATED, descending=False) == ("created asc",)
    assert await order(sort=TicketSort.UPDATED) == ("updated desc", "created desc")
    assert await order(sort=TicketSort.PRIORITY, descending=False) == ("priority asc", "created asc")
    assert await order(sort=TicketSort.RELEVANCE, text="walrus") == ("relevance", "created desc")
