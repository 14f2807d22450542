"""Every text search's cost is bounded, on the `serve` app and both stores (issue 15, items 1, 7).

A word of one or two characters matches only as a whole word, the caller's projects are part of the
index query, and a search that runs out of its time budget (TICKETS_SEARCH_BUDGET_MS) answers with
what it has and says so, over MCP and REST, never as an error. The look-alike check reads only the new
ticket's project, so another organization filing many similar titles cannot hide an exact duplicate.
"""

from __future__ import annotations

import sqlite3
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
import pytest
from bench.search import frequent_words, texts

from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.http_server import ServerProcess, bearer, running_server
from tests.fixtures.stores import Location
from tests.fixtures.tool_calls import call, call_error, slug_of
from tickets_mcp.config import Settings
from tickets_mcp.domain import Priority, Status, TicketType
from tickets_mcp.errors import Invalid
from tickets_mcp.mcp.render import SEARCH_STOPPED
from tickets_mcp.stores import NewProject, NewTicket
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.port import Actor
from tickets_mcp.stores.search import fts5_match, search_terms
from tickets_mcp.stores.sqlite.migrations import migrate

pytestmark = pytest.mark.slow

SEEDED = 2_000  # tickets of varied text in alice's INBOX
ONE_LETTER_WORDS = " ".join([*string.ascii_lowercase, *"012345"])  # issue 15's query: 32 words, 63 characters
COMMON_WORDS = frequent_words(7)  # three made-up words, together in most seeded tickets
DUPLICATE_TITLE = "Checkout page crashes when the cart holds a gift card"


@dataclass(frozen=True)
class World:
    location: Location
    alice: str  # owner of Local (INBOX, the seeded tickets)
    bob: str  # owner of Beta, another organization (project BETA)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _new(project_id: str, reporter_id: int, title: str, description: str = "") -> NewTicket:
    return NewTicket(
        project_id=project_id,
        type=TicketType.BUG,
        title=title,
        description=description,
        status=Status.BACKLOG,
        priority=Priority.MEDIUM,
        assignee_id=None,
        reporter_id=reporter_id,
        labels=(),
        parent_id=None,
    )


async def _seed(location: Location) -> None:
    """INBOX: two tickets telling a whole one-letter word from a prefix, then SEEDED of varied text.
    Beta: project BETA, empty."""
    store = await open_store(location)
    try:
        alice, bob = await store.find_user("alice"), await store.find_user("bob")
        assert alice is not None and bob is not None
        (inbox,) = await store.list_projects(list(await store.memberships(alice.id)))
        (beta,) = list(await store.memberships(bob.id))
        await store.create_project(NewProject(beta, "Beta work", "BETA", ""), Actor(bob.id))
        actor = Actor(alice.id)
        whole = _new(inbox.id, alice.id, "Plan x marks the spot")
        prefix = _new(inbox.id, alice.id, "Xylophone tuning drifts")
        await store.create_tickets([whole, prefix], actor)
        varied = [_new(inbox.id, alice.id, t, d) for t, d in texts(SEEDED, 7)]
        for start in range(0, len(varied), 500):
            await store.create_tickets(varied[start : start + 500], actor)
    finally:
        await store.close()


@pytest.fixture(scope="module")
def world(module_store_location: Location) -> World:
    with serving_app(module_store_location) as server:
        server.cli("user", "add", "bob")
        server.cli("org", "add", "Beta", "--owner", "bob")
        alice = server.create_token("--user", "alice")
        bob = server.create_token("--user", "bob")
    anyio.run(_seed, module_store_location)
    return World(module_store_location, alice, bob)


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[AppServer]:
    """A server with the default budget."""
    with serving_app(world.location) as app:
        yield app


@pytest.fixture(scope="module")
def starved(world: World) -> Iterator[ServerProcess]:
    """A server whose searches may run for one millisecond only: a process of its own, since the budget is
    read from the environment at each search."""
    with running_server(world.location, env={"TICKETS_SEARCH_BUDGET_MS": "1"}) as process:
        yield process


@pytest.mark.anyio
async def test_a_one_or_two_letter_word_matches_only_as_a_whole_word(server: AppServer, world: World) -> None:
    async with server.mcp_client(world.alice, http_timeout=60.0) as client:
        found = await call(client, "list_tickets", query="x", limit=100)
        assert "Plan x marks the spot" in found and "Xylophone" not in found
        assert "Xylophone" in await call(client, "list_tickets", query="xyl")  # three letters: a prefix


@pytest.mark.anyio
async def test_issue_15s_query_answers_and_another_organization_reads_its_ticket_meanwhile(
    server: AppServer, world: World
) -> None:
    async with server.mcp_client(world.bob, http_timeout=60.0) as bob:
        slug = slug_of(await call(bob, "create_ticket", title="Beta's own ticket", project="BETA"))
    replies: list[str] = []

    async def hostile() -> None:
        async with server.mcp_client(world.alice, http_timeout=60.0) as client:
            replies.append(await call(client, "list_tickets", query=ONE_LETTER_WORDS))

    async with anyio.create_task_group() as group:
        for _ in range(4):  # as many as SQLite's read connections
            group.start_soon(hostile)
        async with server.mcp_client(world.bob, http_timeout=60.0) as bob:
            assert "Beta's own ticket" in await call(bob, "get_ticket", slug=slug)
    assert len(replies) == 4
    assert all(reply.startswith(("No tickets match", SEARCH_STOPPED)) for reply in replies), replies


@pytest.mark.anyio
async def test_a_search_out_of_budget_says_so_over_mcp_and_is_never_an_error(
    starved: ServerProcess, world: World
) -> None:
    async with starved.mcp_client(world.alice, http_timeout=60.0) as client:
        stopped = await call(client, "list_tickets", query=COMMON_WORDS)
        plain = await call(client, "list_tickets", limit=5)  # no text: no budget
    assert SEARCH_STOPPED in stopped
    assert SEARCH_STOPPED not in plain and plain.startswith("5 of ")


@pytest.mark.anyio
async def test_a_search_out_of_budget_says_so_over_rest_with_a_200(starved: ServerProcess, world: World) -> None:
    async with httpx2.AsyncClient(base_url=starved.url, headers=bearer(world.alice), verify=False) as http:
        params = {"query": COMMON_WORDS, "sort": "relevance", "count_limit": 1000}
        response = await http.get("/api/v1/native/tickets", params=params)
        assert response.status_code == 200, response.text
        assert response.json()["search_stopped"] is True, response.text
        plain = await http.get("/api/v1/native/tickets", params={"limit": 5})
    assert plain.status_code == 200 and plain.json()["search_stopped"] is False


@pytest.mark.anyio
async def test_another_organizations_similar_titles_do_not_hide_an_exact_duplicate(
    server: AppServer, world: World
) -> None:
    async with server.mcp_client(world.alice, http_timeout=60.0) as alice:
        first = slug_of(await call(alice, "create_ticket", title=DUPLICATE_TITLE, project="INBOX"))
    store = await open_store(world.location)
    try:  # Beta files 150 tickets with the same title words, all newer than alice's
        bob = await store.find_user("bob")
        assert bob is not None
        (beta,) = [p for p in await store.list_projects(list(await store.memberships(bob.id))) if p.code == "BETA"]
        await store.create_tickets([_new(beta.id, bob.id, DUPLICATE_TITLE) for _ in range(150)], Actor(bob.id))
    finally:
        await store.close()
    async with server.mcp_client(world.alice, http_timeout=60.0) as alice:
        refused = await call_error(alice, "create_ticket", title=DUPLICATE_TITLE, project="INBOX")
    assert "Not filed" in refused and first in refused


def test_a_wrong_budget_is_refused_at_start_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for wrong in ("0", "abc", "60001"):
        monkeypatch.setenv("TICKETS_SEARCH_BUDGET_MS", wrong)
        with pytest.raises(Invalid, match="TICKETS_SEARCH_BUDGET_MS must be 1-60000"):
            Settings.from_env(db=":memory:")


def test_migration_7_indexes_every_ticket_and_comment_of_an_older_database_by_project(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(conn, str(path), upto=6)
        now = "2026-01-01T00:00:00.000Z"
        conn.execute("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", (now,))
        for project, code in (("aaaa-1", "AA"), ("bbbb-2", "BB")):
            conn.execute(
                "INSERT INTO projects (id, organization_id, name, code, created_at) VALUES (?, 'o', ?, ?, ?)",
                (project, code, code, now),
            )
            conn.execute(
                """INSERT INTO tickets (project_id, number, type, title, description, status, priority, position,
                                        version, created_at, updated_at)
                   VALUES (?, 1, 'bug', 'Walrus sighted', '', 'backlog', 2, 1024, 1, ?, ?)""",
                (project, now, now),
            )
        conn.execute("INSERT INTO comments (ticket_id, body, created_at) VALUES (2, 'kraken too', ?)", (now,))
        migrate(conn, str(path))
        match = "SELECT rowid FROM ticket_search WHERE ticket_search MATCH ? ORDER BY rowid"
        terms = search_terms("walrus kra")
        assert terms is not None
        assert conn.execute(match, (fts5_match(terms, ["bbbb-2"]),)).fetchall() == [(2,)]
        assert conn.execute(match, (fts5_match(terms, ["aaaa-1"]),)).fetchall() == []
        walrus = search_terms("walrus")
        assert walrus is not None
        assert conn.execute(match, (fts5_match(walrus, ["aaaa-1", "bbbb-2"]),)).fetchall() == [(1,), (2,)]
    finally:
        conn.close()
