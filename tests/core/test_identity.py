"""Tokens: shown once, stored hashed, limited by kind and scope, revocable at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fixtures.stores import Location, snapshot
from tickets_mcp.cli.workspace import open_local_store
from tickets_mcp.config import Settings
from tickets_mcp.core import admin
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tokens import UngrantedToken, authenticate, digest, principal_of_digest
from tickets_mcp.core.tracker import TicketDraft, TicketFilter
from tickets_mcp.domain import Status, TokenKind
from tickets_mcp.errors import Invalid, PermissionDenied
from tickets_mcp.stores import Store

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    store, _ = await open_local_store(settings)
    await admin.add_user(store, "bob")
    await admin.set_member(store, "local", "bob", admin.Role.MEMBER)
    yield store
    await store.close()


async def tracker(store: Store, secret: str) -> LocalTracker:
    principal = await authenticate(store, secret)
    assert principal is not None
    return LocalTracker(store, principal)


async def test_a_personal_token_acts_as_its_user_and_is_stored_only_as_a_hash(
    store: Store, store_location: Location
) -> None:
    issued = await admin.create_token(store, kind=TokenKind.PERSONAL, username="bob", name="laptop")
    assert issued.secret.startswith("pk_")
    bob = await tracker(store, issued.secret)
    ticket = (await bob.create_ticket(TicketDraft(title="From bob"))).ticket
    assert ticket.reporter == "bob"
    dump = repr(snapshot(store_location))  # every row of every table
    assert issued.secret not in dump
    assert issued.secret[len("pk_") + 6 :] not in dump


async def test_an_unknown_malformed_or_revoked_token_authenticates_nobody(store: Store) -> None:
    issued = await admin.create_token(store, kind=TokenKind.PERSONAL, username="bob", name="x")
    assert await authenticate(store, "pk_" + "a" * 43) is None
    assert await authenticate(store, "not a token") is None
    assert await authenticate(store, issued.secret + "x") is None
    assert await authenticate(store, issued.secret) is not None
    await store.revoke_token(issued.token.id, admin.CLI)
    assert await authenticate(store, issued.secret) is None


async def test_a_key_whose_creator_lost_owner_or_admin_is_refused_saying_why_and_a_revoked_one_stays_none(
    store: Store,
) -> None:
    await admin.set_member(store, "local", "bob", admin.Role.ADMIN)
    key = await admin.create_token(
        store, kind=TokenKind.ORGANIZATION, username="bob", name="ci", organization_ref="local", scopes="tickets:read"
    )
    personal = await admin.create_token(store, kind=TokenKind.PERSONAL, username="bob", name="laptop")
    assert await principal_of_digest(store, digest(key.secret)) is not None
    await admin.remove_member(store, "local", "bob")
    with pytest.raises(UngrantedToken, match="organization key no longer works") as refused:
        await authenticate(store, key.secret)
    assert key.secret not in str(refused.value)
    assert await principal_of_digest(store, digest(key.secret)) is None  # what a board session holds
    assert await authenticate(store, personal.secret) is not None
    await store.revoke_token(key.token.id, admin.CLI)
    assert await authenticate(store, key.secret) is None  # revoked says nothing more, whoever made it


async def test_a_token_records_its_last_use(store: Store) -> None:
    issued = await admin.create_token(store, kind=TokenKind.PERSONAL, username="bob", name="x")
    assert issued.token.last_used_at is None
    await authenticate(store, issued.secret)
    (listed,) = [t for t in await store.list_tokens() if t.id == issued.token.id]
    assert listed.last_used_at is not None


async def test_a_read_only_organization_key_reads_but_may_not_write(store: Store) -> None:
    owner = await store.find_user("alice")
    assert owner is not None
    issued = await admin.create_token(
        store, kind=TokenKind.ORGANIZATION, username="alice", name="ci", organization_ref="local", scopes="tickets:read"
    )
    key = await tracker(store, issued.secret)
    assert (await key.list_tickets(TicketFilter())).total == 0
    with pytest.raises(PermissionDenied, match=r"needs tickets:write"):
        await key.create_ticket(TicketDraft(title="nope"))
    with pytest.raises(PermissionDenied, match=r"projects:write"):
        await key.create_project("Nope")


async def test_a_write_key_implies_read_and_projects_write_manages_projects(store: Store) -> None:
    issued = await admin.create_token(
        store, kind=TokenKind.ORGANIZATION, username="alice", name="bot", organization_ref="local",
        scopes="tickets:write,projects:write",
    )  # fmt: skip
    key = await tracker(store, issued.secret)
    ticket = (await key.create_ticket(TicketDraft(title="By the bot"))).ticket
    assert (await key.get_ticket(ticket.slug)).ticket.title == "By the bot"
    assert (await key.create_project("Bot Project")).code == "BP"


async def test_a_project_token_only_files_tickets_in_its_project(store: Store) -> None:
    issued = await admin.create_token(store, kind=TokenKind.PROJECT, username="alice", name="ci", project_ref="INBOX")
    personal = await admin.create_token(store, kind=TokenKind.PERSONAL, username="alice", name="me")
    alice = await tracker(store, personal.secret)
    await alice.create_project("Other", code="OTH")
    ci = await tracker(store, issued.secret)
    ticket = (await ci.create_ticket(TicketDraft(title="CI failure"))).ticket
    assert ticket.slug == "INBOX-1"
    with pytest.raises(PermissionDenied, match="project token"):
        await ci.create_ticket(TicketDraft(title="elsewhere", project="OTH"))
    with pytest.raises(PermissionDenied):
        await ci.get_ticket(ticket.slug)
    with pytest.raises(PermissionDenied):
        await ci.list_tickets(TicketFilter())
    with pytest.raises(PermissionDenied):
        await ci.move_ticket(ticket.slug, Status.DONE)


async def test_only_owners_and_admins_create_organization_or_project_tokens(store: Store) -> None:
    with pytest.raises(Invalid, match="owner or admin"):
        await admin.create_token(store, kind=TokenKind.PROJECT, username="bob", name="x", project_ref="INBOX")
    with pytest.raises(Invalid, match="scope"):
        await admin.create_token(
            store, kind=TokenKind.ORGANIZATION, username="alice", name="x", organization_ref="local", scopes="tickets:x"
        )


def test_the_token_commands_show_the_secret_once_and_list_only_prefixes(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    env = {"TICKETS_USER": "alice", "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tickets_mcp", "--db", db, *args],
            capture_output=True, text=True, env=env, timeout=60, check=True,
        )  # fmt: skip

    secret = run("token", "create", "--user", "alice", "--name", "laptop").stdout.strip()
    assert secret.startswith("pk_")
    listing = run("token", "list").stdout
    assert secret not in listing
    assert secret[:9] in listing
    assert "laptop" in listing
    run("token", "revoke", "1")
    assert "revoked" in run("token", "list").stdout
