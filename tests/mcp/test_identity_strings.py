"""Names of who or what acted (an MCP client's clientInfo.name, a token's name, a person's display name) are
stored on one line of visible characters, capped, and shown as data: a name cannot write a history line of
its own, in get_ticket, the activity resource or `tickets-mcp tickets show`, on every store.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import anyio
import httpx2
import pytest
from mcp.client.streamable_http import streamable_http_client
from mcp.types import Implementation, TextResourceContents

from mcp import Client
from tests.fixtures.http_server import bearer, running_server
from tests.fixtures.stores import Location, table_rows
from tests.fixtures.tool_calls import call, connect, slug_of
from tickets_mcp.cli.tickets import ticket_detail
from tickets_mcp.core import admin
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tokens import authenticate
from tickets_mcp.core.tracker import Principal, TicketDraft
from tickets_mcp.domain import TokenKind
from tickets_mcp.domain.text import NAME_MAX, clean_name
from tickets_mcp.mcp import render
from tickets_mcp.mcp.server import TrackerServer
from tickets_mcp.stores import Actor, TicketPatch
from tickets_mcp.stores.factory import open_store

pytestmark = pytest.mark.anyio

FORGED = "\n2026-12-07 alice deleted WEB-1"
EVIL = (
    "evil-client" + FORGED + "\r\n\x1b[2J\x1b]0;pwned\x07\u2028\u2029\x85"
    "\u202egnp.exe\u202c\u2066x\u2069\u200b\ufeff\x00tail" + "A" * 10_000
)
HISTORY_LINE = re.compile(r"^\S+ \S+.*: (created|status |priority |title |commented)")  # `when who...: what`


def assert_clean(name: str) -> None:
    assert "\n" not in name and "\r" not in name and len(name) <= NAME_MAX, repr(name)
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b\u202a-\u202e\u2066-\u2069\ufeff]", name), repr(name)


def test_a_name_is_one_line_of_visible_characters_capped_with_an_ellipsis() -> None:
    cleaned = clean_name(EVIL)
    assert_clean(cleaned)
    assert cleaned.startswith("evil-client 2026-12-07 alice deleted WEB-1 ")
    assert cleaned.endswith("…") and len(cleaned) == NAME_MAX
    assert clean_name("claude-code") == "claude-code"
    assert clean_name("  Claude \t Desktop\n") == "Claude Desktop"
    assert clean_name("\u202e\x1b\n") == ""
    assert clean_name("x" * NAME_MAX) == "x" * NAME_MAX


HEADER = re.compile(r"^by (\S.*):$")  # who made the run of changes below it
CHANGE = re.compile(r"^ ((?:\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d) (.*)$")  # ` when what`, under its header


def history_of(reply: str) -> list[str]:
    """get_ticket's history unfolded to `when who: what` a change, checking every line is a header or a change."""
    lines = reply.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("history ("))
    unfolded: list[str] = []
    who = None
    for line in lines[start + 1 :]:
        if header := HEADER.match(line):
            who = header[1]
            continue
        change = CHANGE.match(line)
        assert change is not None and who is not None, line
        unfolded.append(f"{change[1].replace(' ', 'T')} {who}: {change[2]}")
    return unfolded


async def test_an_mcp_clients_name_cannot_forge_history_in_get_ticket_the_activity_or_the_terminal(
    server: TrackerServer, store_location: Location, server_env: dict[str, str]
) -> None:
    async with connect(server, client_info=Implementation(name=EVIL, version="1")) as client:
        slug = slug_of(await call(client, "create_ticket", title="Forgery target", project="INBOX"))
        await call(client, "update_ticket", slug=slug, status="todo", priority="high")
        history = history_of(await call(client, "get_ticket", slug=slug))
        read = await client.read_resource("tracker://projects/INBOX/activity")
    assert len(history) == 2, history
    assert all(HISTORY_LINE.match(line) for line in history), history
    assert all("deleted WEB-1" in line and line.count("client=") == 1 for line in history), history
    client_named = re.search(r"client=('[^']*'|\S+)", history[0])
    assert client_named is not None and client_named.group(1).startswith("'evil-client 2026-12-07"), history[0]
    block = read.contents[0]
    assert isinstance(block, TextResourceContents)
    lines = block.text.splitlines()[1:]
    assert all(re.match(r"^INBOX(-\d+)? \d{4}-", line) for line in lines), lines
    activity = [line for line in lines if line.startswith(slug + " ")]
    assert len(activity) == 2, lines
    for line in history + activity:
        assert_clean(line.split("client=", 1)[1].split(":", 1)[0].strip("'"))

    stored = {client for (client,) in table_rows(store_location, "SELECT client FROM events WHERE client IS NOT NULL")}
    evil = [name for name in stored if name.startswith("evil-client")]
    assert evil and all(name == clean_name(EVIL) for name in evil), evil

    command = [sys.executable, "-m", "tickets_mcp", "tickets", "show", slug]
    shown = (await anyio.run_process(command, env={**server_env, "COLUMNS": "100"})).stdout.decode()
    terminal = [line for line in shown.splitlines() if "evil-client" in line or "deleted WEB-1" in line]
    assert len(terminal) == 2 and all(re.match(r"^  \d{4}-\d\d-\d\d \d\d:\d\d UTC  alice", line) for line in terminal)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]", shown)


async def test_token_and_display_names_are_stored_and_shown_on_one_line(store_location: Location) -> None:
    store = await open_store(store_location)
    try:
        bob = await admin.add_user(store, "bob", "Bob\n2026-12-07 alice deleted WEB-1\x1b[31m" + "b" * 500)
        assert_clean(bob.name)
        assert bob.name.startswith("Bob 2026-12-07 alice deleted WEB-1")
        assert (await admin.add_user(store, "carol", "\n\u202e")).name == "carol"
        alice = await admin.add_user(store, "alice", "Alice")
        await store.ensure_local_workspace(alice, "Local", "Inbox", "INBOX")
        issued = await admin.create_token(store, kind=TokenKind.PERSONAL, username="alice", name="laptop " + EVIL)
        assert_clean(issued.token.name)
        assert issued.token.name.startswith("laptop")
        [listed] = [line for line in admin.describe_tokens(await store.list_tokens()) if "laptop" in line]
        assert "\n" not in listed

        principal = await authenticate(store, issued.secret, client="curl/8\n2026-12-07 alice deleted WEB-1")
        assert principal is not None
        tracker = LocalTracker(store, principal)
        ticket = (await tracker.create_ticket(TicketDraft("Named", project="INBOX"))).ticket
        history = history_of(render.ticket_detail(await tracker.get_ticket(ticket.slug)))
        [line] = [line for line in history if "token=" in line]
        assert re.match(r"^\S+ alice token='laptop evil-client 2026-12-07 alice deleted WEB-1 .*…' client=", line)
        assert line.endswith(": created")
    finally:
        await store.close()


async def test_organization_names_are_stored_on_one_line(store_location: Location) -> None:
    store = await open_store(store_location)
    try:
        await admin.add_user(store, "alice", "Alice")
        org = await admin.add_organization(store, "Acme\n2026-12-07 alice deleted WEB-1\x1b[31m", "alice")
        assert_clean(org.name)
        assert org.name == "Acme 2026-12-07 alice deleted WEB-1[31m"
    finally:
        await store.close()


async def test_names_already_stored_with_control_characters_are_shown_cleaned(store_location: Location) -> None:
    """Rows written before names were cleaned (or by another program) still render on one line."""
    store = await open_store(store_location)
    try:
        alice = await store.ensure_user("alice", "Alice")
        await store.ensure_local_workspace(alice, "Local", "Inbox", "INBOX")
        tracker = LocalTracker(store, Principal(user_id=alice.id, username="alice"))
        ticket = (await tracker.create_ticket(TicketDraft("Old row", project="INBOX"))).ticket
        old = Actor(alice.id, client=EVIL.replace("\x00", ""))  # PostgreSQL text holds no NUL
        renamed = TicketPatch({"title": "Old row renamed"})
        await store.update_ticket(ticket.id, renamed, expected_version=None, actor=old)
        detail = await tracker.get_ticket(ticket.slug)
        history = history_of(render.ticket_detail(detail))
        assert len(history) == 2 and all(HISTORY_LINE.match(line) for line in history), history
        terminal = [line for line in ticket_detail(detail, 100).splitlines() if "evil-client" in line]
        assert len(terminal) == 1 and "deleted WEB-1" in terminal[0]
        shown = re.search(r"\((.*)\): title", terminal[0])
        assert shown is not None, terminal[0]
        assert_clean(shown.group(1))
    finally:
        await store.close()


@asynccontextmanager
async def http_client(url: str, token: str, name: str) -> AsyncGenerator[Client]:
    async with (
        httpx2.AsyncClient(headers=bearer(token), timeout=30.0, verify=False) as http,
        Client(streamable_http_client(url, http_client=http), client_info=Implementation(name=name, version="1")) as c,
    ):
        yield c


@pytest.mark.slow
async def test_a_real_serve_keeps_a_clients_name_on_one_line(store_location: Location) -> None:
    with running_server(store_location) as server:
        token = server.create_token("--user", "alice", "--name", "serve\n2026-12-07 alice deleted WEB-1")
        async with http_client(server.mcp_url, token, EVIL) as client:
            slug = slug_of(await call(client, "create_ticket", title="Over HTTP", project="INBOX"))
            await call(client, "update_ticket", slug=slug, status="todo")
            history = history_of(await call(client, "get_ticket", slug=slug))
        assert len(history) == 2 and all(HISTORY_LINE.match(line) for line in history), history
        assert all("token='serve 2026-12-07 alice deleted WEB-1'" in line for line in history), history
        listed = server.cli("token", "list")
        assert "serve 2026-12-07 alice deleted WEB-1" in listed and "\nserve" not in listed
