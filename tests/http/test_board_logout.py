"""Board logout ends the session in the store, on every replica (issue 15, item 11).

Two real `serve` processes on one database (SQLite file or PostgreSQL schema), each with its own state
key, as replicas behind a load balancer: a session opened on one is valid on the other, and once it is
logged out on either, a copied cookie reads nothing anywhere. The session store itself is checked on
both stores: expiry, logout, and one indexed read per request.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Generator, Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest

from tests.fixtures.http_server import ServerProcess, bearer, running_server
from tests.fixtures.store_contract import World
from tests.fixtures.stores import Location
from tickets_mcp.core.tokens import digest, issue_token
from tickets_mcp.domain import TokenKind
from tickets_mcp.domain.rules import format_timestamp
from tickets_mcp.stores import Store
from tickets_mcp.stores.sql.records import SESSION_SELECT
from tickets_mcp.stores.sqlite.migrations import migrate

COOKIE = "tracker_board"


@pytest.fixture(scope="module")
def replicas(module_store_location: Location) -> Iterator[list[ServerProcess]]:
    """Two replicas whose boards ask for a token, each with a state key of its own: only the store is shared."""
    with ExitStack() as stack:
        started = [
            stack.enter_context(
                running_server(
                    module_store_location,
                    env={"TICKETS_BOARD_LOCAL": "0", "TICKETS_STATE_KEY": secrets.token_urlsafe(32)},
                )
            )
            for _ in range(2)
        ]
        filed = httpx2.post(
            f"{started[0].url}/api/v1/native/tickets",
            json={"project": "INBOX", "title": "A ticket to read"},
            headers=bearer(started[0].create_token("--user", "alice")),
        )
        assert filed.status_code == 201, filed.text
        yield started


@contextmanager
def log_in(server: ServerProcess, token: str) -> Generator[httpx2.Client]:
    """A browser logged in to the board with `token`."""
    with httpx2.Client(base_url=server.url, verify=False, timeout=10) as browser:
        login = browser.post("/board/login", data={"token": token, "next": "/board/"}, headers={"Origin": server.url})
        assert login.status_code == 303 and login.headers["location"] == "/board/", login.text
        yield browser


def reads(server: ServerProcess, cookie: str) -> list[int | str]:
    """What a copy of `cookie` gets on `server` for a page, its live columns, a ticket's live part and a
    comment: each status, or "login" for a redirect to the login page."""
    with httpx2.Client(base_url=server.url, verify=False, timeout=10, cookies={COOKIE: cookie}) as copy:
        fragment = {"Accept": "text/html-fragment"}
        form = {"Origin": server.url, "Content-Type": "application/x-www-form-urlencoded"}
        replies = [
            copy.get("/board/INBOX"),
            copy.get("/board/INBOX/columns"),
            copy.get("/board/tickets/INBOX-1", headers=fragment),
            copy.post("/board/tickets/INBOX-1/comments", content=b"body=still+here", headers=form),
        ]
    return [
        "login" if reply.headers.get("location", "").startswith("/board/login") else reply.status_code
        for reply in replies
    ]


LOGGED_IN: list[int | str] = [200, 200, 200, 303]  # the comment is added, and the browser sent back to the ticket
LOGGED_OUT: list[int | str] = ["login", 401, 401, "login"]  # 401 for what board.js fetches


def test_a_copied_cookie_reads_nothing_after_logout(replicas: list[ServerProcess]) -> None:
    server = replicas[0]
    token = server.create_token("--user", "alice")
    with log_in(server, token) as browser:
        cookie = browser.cookies[COOKIE]
        assert reads(server, cookie) == LOGGED_IN
        out = browser.post("/board/logout", headers={"Origin": server.url})
        assert out.status_code == 303 and f'{COOKIE}=""' in out.headers["set-cookie"]
    assert reads(server, cookie) == LOGGED_OUT


def test_logging_out_on_one_replica_ends_the_session_on_the_other(replicas: list[ServerProcess]) -> None:
    first, second = replicas
    token = first.create_token("--user", "alice")
    with log_in(first, token) as browser:
        cookie = browser.cookies[COOKIE]
        # The session is in the store: the other replica knows it, though the state keys differ.
        assert reads(second, cookie) == LOGGED_IN
        browser.base_url = httpx2.URL(second.url)
        assert browser.post("/board/logout", headers={"Origin": second.url}).status_code == 303
    assert reads(first, cookie) == LOGGED_OUT
    assert reads(second, cookie) == LOGGED_OUT


def test_logging_out_one_browser_keeps_the_tokens_other_sessions(replicas: list[ServerProcess]) -> None:
    server = replicas[0]
    token = server.create_token("--user", "alice")
    with log_in(server, token) as laptop, log_in(server, token) as phone:
        left = laptop.cookies[COOKIE]
        assert left != phone.cookies[COOKIE]
        assert laptop.post("/board/logout", headers={"Origin": server.url}).status_code == 303
        assert reads(server, left) == LOGGED_OUT
        assert reads(server, phone.cookies[COOKIE]) == LOGGED_IN


def test_a_revoked_token_ends_its_sessions_on_every_replica(replicas: list[ServerProcess]) -> None:
    first, second = replicas
    token = first.create_token("--user", "alice")
    with log_in(first, token) as browser:
        cookie = browser.cookies[COOKIE]
    first.revoke_token(token)
    assert reads(first, cookie) == LOGGED_OUT
    assert reads(second, cookie) == LOGGED_OUT


def test_the_cookie_holds_neither_the_token_nor_its_digest(replicas: list[ServerProcess]) -> None:
    server = replicas[0]
    token = server.create_token("--user", "alice")
    with log_in(server, token) as browser:
        cookie = browser.cookies[COOKIE]
    assert token not in cookie and digest(token) not in cookie and len(cookie) >= 43  # 256 random bits


# The session store, on both stores


async def token_of(store: Store, world: World) -> tuple[str, int]:
    issued = await issue_token(store, kind=TokenKind.PERSONAL, name="board", user=world.alice, actor=world.actor)
    return issued.secret, issued.token.id


def stamp(delta: timedelta) -> str:
    return format_timestamp(datetime.now(UTC) + delta)


@pytest.mark.anyio
async def test_a_session_is_found_until_it_expires_or_ends(store: Store, world: World) -> None:
    secret, token_id = await token_of(store, world)
    live, stale = digest("session-live"), digest("session-stale")
    await store.start_session(live, token_id, stamp(timedelta(hours=12)))
    await store.start_session(stale, token_id, stamp(timedelta(seconds=-1)))
    found = await store.board_session(live)
    assert found is not None and found.token.id == token_id and found.user.username == "alice"
    assert found.token_digest == digest(secret)  # the rate-limit bucket it shares with the token's calls
    assert await store.board_session(stale) is None
    assert await store.board_session(digest("never-started")) is None
    await store.end_session(live)
    assert await store.board_session(live) is None
    await store.end_session(live)  # twice: nothing to end, no error


def test_a_session_check_is_one_read_of_primary_keys(tmp_path: Path) -> None:
    path = tmp_path / "plan.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        migrate(conn, str(path))
        query = "EXPLAIN QUERY PLAN " + SESSION_SELECT + " WHERE s.hash = ? AND s.expires_at > ?"  # as the store asks
        plan = [row[3] for row in conn.execute(query, ("x", "y"))]
    assert all(step.startswith("SEARCH") for step in plan), plan
    assert any("PRIMARY KEY (hash=?)" in step for step in plan), plan
