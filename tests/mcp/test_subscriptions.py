"""Resource subscriptions through the in-memory SDK client, on both stores and both protocol eras: the
handshake era's resources/subscribe (notifications reach the message handler) and 2026-07-28's
subscriptions/listen (they reach the listen stream).

Absence is asserted by order, never by waiting: a change that would have been heard is followed by one
that is, and the next URI heard must be the second's.
"""

from __future__ import annotations

import pytest
from mcp.shared.exceptions import MCPError

from tests.fixtures.subscriptions import Heard, next_uri, subscribe, unsubscribe, watching
from tests.fixtures.tool_calls import call, connect, slug_of
from tickets_mcp.config import Settings
from tickets_mcp.core import admin
from tickets_mcp.core.local_backend import LocalBackend
from tickets_mcp.core.tracker import Principal
from tickets_mcp.mcp import subscriptions
from tickets_mcp.mcp.server import TrackerServer
from tickets_mcp.stores.factory import open_store

pytestmark = pytest.mark.anyio

MODES = [pytest.param("auto", id="2026-07-28"), pytest.param("legacy", id="legacy-handshake")]
BOARD = "tracker://projects/INBOX/board"
# Each way a tool changes a ticket, the last deleting it.
CHANGES: list[tuple[str, dict[str, object]]] = [
    ("update_ticket", {"priority": "high"}),
    ("add_comment", {"body": "seen"}),
    ("move_ticket", {"status": "todo"}),
    ("delete_ticket", {"confirm": True}),
]


def ticket(slug: str) -> str:
    return f"tracker://tickets/{slug}"


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_watching_a_ticket_hears_its_uri_at_each_update_comment_move_and_deletion(
    server: TrackerServer, mode: str
) -> None:
    async with watching(server, mode) as watch:
        slug = slug_of(await call(watch.client, "create_ticket", title="Watched"))
        await watch.start(ticket(slug))
        for tool, arguments in CHANGES:
            await call(watch.client, tool, slug=slug, **arguments)
            assert await watch.next() == ticket(slug), tool


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_watching_a_board_hears_tickets_filed_and_moved_in_its_project_and_nothing_of_others(
    server: TrackerServer, mode: str
) -> None:
    async with watching(server, mode) as watch:
        await call(watch.client, "create_project", name="Web shop", code="WEB")
        web = slug_of(await call(watch.client, "create_ticket", title="Watched elsewhere", project="WEB"))
        await watch.start(BOARD, ticket(web))
        slug = slug_of(await call(watch.client, "create_ticket", title="On the board", project="INBOX"))
        assert await watch.next() == BOARD
        other = slug_of(await call(watch.client, "create_ticket", title="Not watched", project="WEB"))
        await call(watch.client, "move_ticket", slug=other, status="done")
        await call(watch.client, "update_ticket", slug=web, priority="high")
        assert await watch.next() == ticket(web)  # had WEB's changes reached INBOX's board, it came first
        await call(watch.client, "move_ticket", slug=slug, status="in_progress")
        assert await watch.next() == BOARD


@pytest.mark.parametrize("mode", MODES)
async def test_a_ticket_and_its_board_watched_together_are_each_heard_once_per_change(
    server: TrackerServer, mode: str
) -> None:
    async with watching(server, mode) as watch:
        slug = slug_of(await call(watch.client, "create_ticket", title="Twice watched"))
        other = slug_of(await call(watch.client, "create_ticket", title="Only on the board"))
        await watch.start(ticket(slug), BOARD)
        await call(watch.client, "update_ticket", slug=slug, title="Renamed")
        assert {await watch.next(), await watch.next()} == {ticket(slug), BOARD}
        await call(watch.client, "update_ticket", slug=other, title="Renamed too")
        assert await watch.next() == BOARD  # the board alone: the ticket watched did not change


async def test_a_uri_is_heard_as_the_client_wrote_it(server: TrackerServer) -> None:
    heard = Heard()
    async with connect(server, mode="legacy", message_handler=heard) as client:
        slug = slug_of(await call(client, "create_ticket", title="Lower case"))
        await subscribe(client, ticket(slug.lower()))
        await call(client, "update_ticket", slug=slug, priority="low")
        assert await heard.next() == ticket(slug.lower())


async def test_after_unsubscribing_a_session_hears_nothing_more_of_that_ticket(server: TrackerServer) -> None:
    heard = Heard()
    async with connect(server, mode="legacy", message_handler=heard) as client:
        dropped = slug_of(await call(client, "create_ticket", title="Dropped"))
        kept = slug_of(await call(client, "create_ticket", title="Kept"))
        await subscribe(client, ticket(dropped))
        await subscribe(client, ticket(kept))
        await unsubscribe(client, ticket(dropped))
        await unsubscribe(client, ticket(dropped))  # again: no error
        await call(client, "update_ticket", slug=dropped, priority="high")
        await call(client, "update_ticket", slug=kept, priority="high")
        assert await heard.next() == ticket(kept)
        assert heard.uris == [ticket(kept)]


async def test_a_new_listen_stream_hears_only_what_it_asked_for_not_what_an_ended_one_did(
    server: TrackerServer,
) -> None:
    async with connect(server, mode="auto") as client:
        dropped = slug_of(await call(client, "create_ticket", title="Dropped"))
        kept = slug_of(await call(client, "create_ticket", title="Kept"))
        async with client.listen(resource_subscriptions=[ticket(dropped), ticket(kept)]):
            assert server.subscriptions.watchers == 1
        async with client.listen(resource_subscriptions=[ticket(kept)]) as stream:
            await call(client, "update_ticket", slug=dropped, priority="high")
            await call(client, "update_ticket", slug=kept, priority="high")
            assert await next_uri(stream) == ticket(kept)


async def test_a_sessions_subscriptions_are_forgotten_when_it_ends(server: TrackerServer) -> None:
    async with connect(server, mode="legacy") as client:
        slug = slug_of(await call(client, "create_ticket", title="Held"))
        await subscribe(client, ticket(slug))
        await subscribe(client, BOARD)
        assert server.subscriptions.watchers == 1
    assert server.subscriptions.watchers == 0


@pytest.mark.parametrize("mode", MODES)
async def test_a_uri_naming_nothing_or_nothing_the_caller_may_read_is_refused_saying_why(
    server: TrackerServer, settings: Settings, mode: str
) -> None:
    refusals = {
        "tracker://projects/SEC/board": r"Cannot subscribe to tracker://projects/SEC/board: Project 'SEC' not found",
        "tracker://tickets/INBOX-99": r"Cannot subscribe to tracker://tickets/INBOX-99: Ticket INBOX-99 not found",
        "tracker://nothing/here": r"Unknown resource tracker://nothing/here\. Resource templates: tracker://tickets/",
    }
    async with watching(server, mode) as watch:
        store = await open_store(settings.db)
        try:  # a project of an organization alice is no member of (once she has her own workspace)
            bob = Principal(user_id=(await admin.add_user(store, "bob", "Bob")).id, username="bob")
            await admin.add_organization(store, "Bobs", "bob")
            await LocalBackend(store, bob).tracker(bob).create_project("Secret", code="SEC")
        finally:
            await store.close()
        for uri, refusal in refusals.items():
            with pytest.raises(MCPError, match=refusal):
                await watch.start(uri)
        assert server.subscriptions.watchers == 0


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_watches_at_most_so_many_resources_at_once(
    server: TrackerServer, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subscriptions, "URIS_PER_WATCHER", 2)
    async with watching(server, mode) as watch:
        slugs = [slug_of(await call(watch.client, "create_ticket", title=f"Popular {n}")) for n in range(3)]
        with pytest.raises(MCPError, match="At most 2 resources can be watched at once"):
            await watch.start(*(ticket(slug) for slug in slugs))
        await watch.start(ticket(slugs[0]), ticket(slugs[1]))
        assert server.subscriptions.watchers == 1
