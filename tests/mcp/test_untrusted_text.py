"""Text people and agents wrote reaches a model inside its markers, with nothing invisible, on every store.

60 injection payloads (tests/fixtures/injections.py) are stored behind the tools' backs, as a remote tracker or
another program could store them, each as a ticket's title, its description and a comment. The real
server, driven over stdio by the SDK client, must then show every one inside its boundary, unable to
close it early or fake a line of its own, without a character a reader cannot see; and the database
must still hold each payload byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from tests.fixtures.injections import INJECTIONS
from tests.fixtures.stores import Location, table_rows
from tests.fixtures.tool_calls import call, spawned
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal
from tickets_mcp.domain import Priority, Status, TicketType
from tickets_mcp.mcp.render import CLOSE, INVISIBLE, OPEN
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.port import Actor, NewTicket

pytestmark = pytest.mark.anyio
TITLE_LINE = re.compile(r"^(?P<head>[^«»]*): «(?P<title>[^«»\n]*)»$")


def test_the_corpus_is_large_and_covers_every_hidden_family() -> None:
    assert len(INJECTIONS) >= 50 and len(set(INJECTIONS)) == len(INJECTIONS)
    hidden = [p for p in INJECTIONS if INVISIBLE.search(p)]
    assert len(hidden) >= 15
    for sample in ("\u200b", "\u202e", "\u2066", "\U000e0064", "\U000e0107", "\ufeff", "\u3164"):
        assert any(sample in p for p in hidden), repr(sample)


@pytest.fixture
async def stored(store_location: Location) -> AsyncIterator[list[str]]:
    """The payloads filed straight into the store (whose rules the tools enforce, not the store); their slugs."""
    store = await open_store(store_location)
    try:
        alice = await store.ensure_user("alice", "Alice")
        await store.ensure_local_workspace(alice, "Local", "Inbox", "INBOX")
        tracker = LocalTracker(store, Principal(user_id=alice.id, username="alice"))
        inbox = next(p for p in await tracker.list_projects() if p.code == "INBOX")
        actor = Actor(alice.id)
        slugs: list[str] = []
        for payload in INJECTIONS:
            draft = NewTicket(inbox.id, TicketType.BUG, payload, payload, Status.TODO, Priority.HIGH, None, alice.id,
                              (), None)  # fmt: skip
            ticket = (await store.create_ticket(draft, actor)).ticket
            await store.add_comment(ticket.id, payload, actor)
            slugs.append(ticket.slug)
        yield slugs
    finally:
        await store.close()


def words(payload: str) -> list[str]:
    """Words of the payload a reader sees, other than marker look-alikes, which are defused."""
    seen = INVISIBLE.sub("", payload)
    return [w for w in seen.split() if not re.search(r"[<>«»‹›]", w)]


async def test_every_payload_stays_inside_its_markers_and_shows_nothing_invisible(
    server_env: dict[str, str], store_location: Location, stored: list[str]
) -> None:
    async with spawned(server_env) as client:
        listing = await call(client, "list_tickets", limit=100, order="asc")
        details = [await call(client, "get_ticket", slug=slug) for slug in stored]

    lines = listing.splitlines()
    assert len(lines) == 2 + len(INJECTIONS), "a title broke out onto a line of its own"
    for line, slug, payload in zip(lines[2:], stored, INJECTIONS, strict=True):
        match = TITLE_LINE.match(line)
        assert match, line
        assert match["head"] == f"{slug} todo high bug"
        assert all(word in match["title"] for word in words(payload)), (payload, line)

    for detail, slug, payload in zip(details, stored, INJECTIONS, strict=True):
        assert not INVISIBLE.search(detail), (payload, detail)
        first, rest = detail.split("\n", 1)
        assert TITLE_LINE.match(first) and first.startswith(f"{slug}: «")
        # One description, one comment: each opened and closed once, in that order, and nothing else.
        marks = re.findall(re.escape(OPEN) + "|" + re.escape(CLOSE), rest)
        assert marks == [OPEN, CLOSE, OPEN, CLOSE], (payload, detail)
        description = rest.split(OPEN, 1)[1].split(CLOSE, 1)[0]
        comment = rest.split(OPEN)[2].split(CLOSE, 1)[0]
        assert description == comment
        assert all(word in description for word in words(payload)), (payload, description)
        assert rest.index("comments (1):") < rest.rindex(OPEN), "the comment section was faked before the real one"
    assert not INVISIBLE.search(listing)

    stored_text = table_rows(store_location, "SELECT title, description FROM tickets ORDER BY id")
    comments = table_rows(store_location, "SELECT body FROM comments ORDER BY id")
    assert stored_text == [(p, p) for p in INJECTIONS] and comments == [(p,) for p in INJECTIONS]
