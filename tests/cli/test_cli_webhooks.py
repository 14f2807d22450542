"""`tickets-mcp webhook …`: hooks managed from the command line, and `webhook deliver` sending what is due."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.cli_runs import TICKETS_MCP, assert_one_line, clean_env, run_silent
from tests.fixtures.stores import Location, location_arg
from tests.fixtures.webhook_receiver import WebhookReceiver
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketDraft
from tickets_mcp.stores.factory import open_store

URL = "https://hooks.example.com/tickets"


@pytest.fixture
def server(store_location: Location) -> Iterator[AppServer]:
    with serving_app(store_location) as served:
        yield served


def test_a_hook_added_from_the_command_line_shows_its_secret_once_and_is_listed_enabled_logged_and_removed(
    server: AppServer,
) -> None:
    added = server.run_cli("webhook", "add", "local", URL, "--events", "moved,commented", "--description", "CI")
    secret = added.stdout.strip()
    assert secret.startswith("whsec_") and "webhook 1 created; copy its secret now" in added.stderr
    (line,) = server.cli("webhooks", "list").splitlines()  # the plural works as well
    assert line.split("\t") == [
        "1", "local", URL, "events=moved,commented", f"secret={secret[:10]}…", "pending=0", "active", "CI",
    ]  # fmt: skip
    assert secret[10:] not in line
    assert server.cli("webhook", "log", "1") == ""
    assert server.cli("webhook", "enable", "1") == "webhook 1 is active; its next delivery is tried now\n"
    assert server.cli("webhook", "remove", "1") == f"webhook 1 ({URL}) removed\n"
    assert server.cli("webhook", "list", "--organization", "local") == ""
    with pytest.raises(AssertionError, match="No webhook 1"):
        server.cli("webhook", "remove", "1")


def test_the_command_line_refuses_a_hook_to_this_machine_naming_the_flag_that_allows_it(
    store_location: Location,
) -> None:
    db = location_arg(store_location)
    ended = run_silent([*TICKETS_MCP, "--db", db, "webhook", "add", "local", "http://localhost:9/x"], clean_env())
    assert_one_line(ended, "localhost names this machine", "--webhook-allow-network")


@pytest.mark.slow
def test_webhook_deliver_sends_what_is_due_where_the_operator_allowed_it(store_location: Location) -> None:
    db = location_arg(store_location)
    with WebhookReceiver() as receiver:
        add = [*TICKETS_MCP, "--db", db, "--webhook-allow-network", "127.0.0.1", "webhook", "add", "local"]
        added = run_silent([*add, receiver.url], clean_env())
        assert added.code == 0, added.stderr
        receiver.secret = added.stdout.strip()
        anyio.run(file_a_ticket, store_location)
        deliver = [*TICKETS_MCP, "--db", db, "webhook", "deliver"]
        delivered = run_silent(deliver, clean_env({"TICKETS_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8"}))
        assert delivered.code == 0, delivered.stderr
        assert delivered.stdout == "queued 1 events; 1 deliveries attempted, 1 delivered\n"
        (delivery,) = receiver.wait_for(1)
    assert delivery.verified and delivery.document["ticket"] == "INBOX-1"


async def file_a_ticket(location: Location) -> None:
    store = await open_store(location)
    try:
        alice = await store.ensure_user("alice", "alice")
        tracker = LocalTracker(store, Principal(user_id=alice.id, username="alice"))
        await tracker.create_ticket(TicketDraft(title="Sent by cron"))
    finally:
        await store.close()
