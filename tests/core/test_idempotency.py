"""Duplicate-safe filing: create_ticket with an idempotency key files once, however often and however
concurrently it is sent; the key reused with other fields is refused. On both stores, through the real
stdio server, and in front of a remote tracker (the native backend against a real serve)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from tests.fixtures.http_server import ServerProcess, running_server
from tests.fixtures.stores import Location, table_rows
from tests.fixtures.tool_calls import call, call_error, spawned
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketDraft
from tickets_mcp.domain import Status, Ticket
from tickets_mcp.errors import Conflict, Invalid
from tickets_mcp.stores import Store

pytestmark = pytest.mark.anyio
DRAFT = TicketDraft(title="Checkout crashes on an empty cart", project="INBOX", idempotency_key="job-42:step-3")


@pytest.fixture
def store(local_store: Store) -> Store:
    return local_store


async def as_user(store: Store, name: str, token_id: int | None = None) -> LocalTracker:
    user = await store.find_user(name) or await store.ensure_user(name, name.title())
    return LocalTracker(store, Principal(user_id=user.id, username=user.username, token_id=token_id))


async def test_a_retry_gets_the_first_ticket_and_a_reused_key_is_refused(
    store: Store, store_location: Location
) -> None:
    alice = await as_user(store, "alice")
    first = (await alice.create_ticket(DRAFT)).ticket
    await alice.move_ticket(first.slug, Status.TODO)
    again = (await alice.create_ticket(DRAFT)).ticket
    assert again == first  # the reply of the first call, even though the ticket moved since
    with pytest.raises(Conflict, match=r"key 'job-42:step-3' was used before for a different ticket\. Use a new key"):
        await alice.create_ticket(TicketDraft(title="Another bug", project="INBOX", idempotency_key="job-42:step-3"))
    other = (
        await alice.create_ticket(TicketDraft(title=DRAFT.title, project="INBOX", idempotency_key="job-43"))
    ).ticket
    assert (other.number, table_rows(store_location, "SELECT COUNT(*) FROM tickets")) == (2, [(2,)])
    created = table_rows(store_location, "SELECT COUNT(*) FROM events WHERE action = 'ticket.created'")
    assert created == [(2,)]


async def test_keys_belong_to_whoever_sent_them(store: Store) -> None:
    alice, by_token = await as_user(store, "alice"), await as_user(store, "alice", token_id=7)
    assert (await alice.create_ticket(DRAFT)).ticket.number == 1
    assert (await by_token.create_ticket(DRAFT)).ticket.number == 2  # another token, its own keys


async def test_twins_sent_at_once_file_one_ticket(store: Store, store_location: Location) -> None:
    alice = await as_user(store, "alice")
    replies: list[Ticket] = []

    async def send() -> None:
        replies.append((await alice.create_ticket(DRAFT)).ticket)

    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(send)
    assert {t.slug for t in replies} == {"INBOX-1"} and len(replies) == 12
    assert table_rows(store_location, "SELECT COUNT(*) FROM tickets") == [(1,)]


async def test_a_key_must_be_visible_ascii(store: Store) -> None:
    alice = await as_user(store, "alice")
    with pytest.raises(Invalid, match="1-100 visible ASCII characters"):
        await alice.create_ticket(TicketDraft(title="x", project="INBOX", idempotency_key="two words"))


async def test_the_tool_answers_a_retry_with_the_same_reply(
    server_env: dict[str, str], store_location: Location
) -> None:
    async with spawned(server_env) as client:
        first = await call(client, "create_ticket", title="Flaky test", idempotency_key="ci-run-9")
        again = await call(client, "create_ticket", title="Flaky test", idempotency_key="ci-run-9")
        refused = await call_error(client, "create_ticket", title="Other", idempotency_key="ci-run-9")
    assert first == again == "Created INBOX-1 (backlog, version 1)."
    assert refused.startswith("The idempotency key 'ci-run-9' was used before for a different ticket.")
    assert table_rows(store_location, "SELECT COUNT(*) FROM tickets") == [(1,)]


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("keys") / "tracker.db") as running:
        yield running


async def test_in_front_of_a_remote_tracker_this_process_remembers_its_keys(serve: ServerProcess) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS_")}
    env["TICKETS_TOKEN"] = serve.create_token("--user", "alice")
    async with spawned(env, "--backend", "native", "--url", serve.url) as client:
        replies: list[str] = []

        async def send() -> None:
            replies.append(await call(client, "create_ticket", title="Once", project="INBOX", idempotency_key="k1"))

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(send)
        refused = await call_error(client, "create_ticket", title="Twice?", project="INBOX", idempotency_key="k1")
    assert len(set(replies)) == 1 and len(replies) == 5
    assert "was used before for a different ticket" in refused
    assert table_rows(Path(str(serve.db)), "SELECT title FROM tickets") == [("Once",)]
