"""The webhook dispatcher against real receivers on loopback, on both stores: events delivered and signed as
docs/webhooks.md says, receivers that are down, slow or wrong, retries on the schedule, disabling, leases."""

from __future__ import annotations

import json

import anyio
import psycopg
import pytest

from tests.fixtures.dispatching import LOOPBACK, SCHEDULE, Clock, dispatcher_on
from tests.fixtures.fault_server import FaultServer, Step, refused_url
from tests.fixtures.stores import Location, events, snapshot, table_rows
from tests.fixtures.webhook_receiver import WebhookReceiver, documented_verify
from tickets_mcp.core import admin
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketChanges, TicketDraft
from tickets_mcp.dispatch.dispatcher import Dispatcher, run
from tickets_mcp.domain import LinkKind, Status
from tickets_mcp.domain.webhooks import LOG_KEPT, IssuedWebhook, Targets
from tickets_mcp.stores import Store
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.location import PostgresUrl

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(local_store: Store) -> Store:
    """alice owns organization `local` with project INBOX."""
    return local_store


async def alice(store: Store) -> LocalTracker:
    user = await store.find_user("alice")
    assert user is not None
    return LocalTracker(store, Principal(user_id=user.id, username=user.username, client="test-client"))


async def hook(store: Store, url: str, events: str = "all") -> IssuedWebhook:
    return await admin.add_webhook(store, "local", url, events, "test", LOOPBACK)


async def file(store: Store, *titles: str) -> list[str]:
    tracker = await alice(store)
    return [(await tracker.create_ticket(TicketDraft(title=title))).ticket.slug for title in titles]


async def test_every_kind_of_ticket_event_reaches_the_receiver_signed_as_the_documentation_says(store: Store) -> None:
    clock = Clock()
    with WebhookReceiver(now=clock.timestamp) as receiver:
        issued = await hook(store, receiver.url)
        receiver.secret = issued.secret
        tracker = await alice(store)
        (slug,) = await file(store, "Login fails")
        await tracker.update_ticket(slug, TicketChanges(title="Login fails on Safari"))
        await tracker.move_ticket(slug, Status.IN_PROGRESS)
        await tracker.add_comment(slug, "Seen on 17.2")
        async with dispatcher_on(store, clock) as dispatcher:
            while (await dispatcher.run_once()).attempted:
                pass
            await tracker.delete_ticket(slug)
            await dispatcher.run_once()
        delivered = sorted(receiver.deliveries, key=lambda d: int(d.document["id"].removeprefix("evt_")))
    assert [d.verified for d in delivered] == [True] * 5
    documents = [d.document for d in delivered]
    assert [d["type"] for d in documents] == [
        "ticket.created", "ticket.updated", "ticket.moved", "ticket.commented", "ticket.deleted",
    ]  # fmt: skip
    assert {(d["organization"], d["ticket"], d["actor"], d["client"]) for d in documents} == {
        ("local", slug, "alice", "test-client")
    }
    assert documents[1]["changes"] == {"title": ["Login fails", "Login fails on Safari"]}
    assert documents[2]["changes"] == {"status": ["backlog", "in_progress"]}
    assert documents[3]["comment"] == "Seen on 17.2"
    for delivery in delivered:
        assert delivery.headers["tickets-event-id"] == delivery.document["id"]
        assert delivery.headers["tickets-event"] == delivery.document["type"]
        assert delivery.headers["content-type"] == "application/json"
    log = await store.webhook_attempts(issued.webhook.id, 10)
    assert [(a.outcome, a.status, a.attempt) for a in log] == [("delivered", 204, 1)] * 5


async def test_a_tampered_body_another_secret_or_an_old_timestamp_fail_the_documented_check(store: Store) -> None:
    clock = Clock()
    with WebhookReceiver(now=clock.timestamp) as receiver:
        receiver.secret = (await hook(store, receiver.url)).secret
        await file(store, "Export is slow")
        async with dispatcher_on(store, clock) as dispatcher:
            await dispatcher.run_once()
        (delivery,) = receiver.wait_for(1)
    verify = documented_verify()
    now = clock.timestamp()
    assert verify(receiver.secret, delivery.headers, delivery.body, now)
    assert not verify(receiver.secret, delivery.headers, delivery.body.replace(b"slow", b"fast"), now)
    assert not verify(receiver.secret + "x", delivery.headers, delivery.body, now)
    assert not verify(receiver.secret, delivery.headers, delivery.body, now + 301)
    assert not verify(receiver.secret, {**delivery.headers, "tickets-timestamp": str(int(now) + 1)}, delivery.body, now)


async def test_a_hook_hears_only_the_event_types_it_asked_for_and_nothing_from_before_it(store: Store) -> None:
    clock = Clock()
    await file(store, "Filed before the hook")
    with WebhookReceiver(now=clock.timestamp) as receiver:
        receiver.secret = (await hook(store, receiver.url, "moved,commented")).secret
        tracker = await alice(store)
        (slug,) = await file(store, "Filed after")
        await tracker.move_ticket(slug, Status.TODO)
        await tracker.move_ticket("INBOX-1", Status.TODO)
        async with dispatcher_on(store, clock) as dispatcher:
            await dispatcher.run_once()
        types = sorted((d.document["type"], d.document["ticket"]) for d in receiver.deliveries)
    assert types == [("ticket.moved", "INBOX-1"), ("ticket.moved", slug)]


async def test_a_receiver_that_is_down_is_retried_with_doubling_waits_then_disabled_with_the_reason(
    store: Store, location: Location
) -> None:
    clock = Clock()
    issued = await hook(store, refused_url() + "hooks")
    await file(store, "One", "Two", "Three")
    async with dispatcher_on(store, clock) as dispatcher:
        first = await dispatcher.run_once()
        assert first.attempted == 3 and first.delivered == 0  # three in flight together count as one failure
        waits: list[float] = []
        for _ in range(SCHEDULE.disable_after - 1):
            webhook = await store.find_webhook(issued.webhook.id)
            assert webhook is not None and webhook.active and webhook.retry_at is not None
            wait = clock.seconds_until(webhook.retry_at)
            waits.append(wait)
            clock.advance(wait - 1)
            assert (await dispatcher.run_once()).attempted == 0  # not before its time
            clock.advance(1)
            assert (await dispatcher.run_once()).attempted == 1  # one probe while failing, not the whole queue
        clock.advance(24 * 3600)
        assert (await dispatcher.run_once()).attempted == 0  # disabled: nothing more is tried
    assert waits == [30.0, 60.0, 120.0]
    webhook = await store.find_webhook(issued.webhook.id)
    assert webhook is not None and not webhook.active and webhook.failures == SCHEDULE.disable_after
    assert webhook.disabled_reason is not None
    assert webhook.disabled_reason.startswith(f"disabled after {SCHEDULE.disable_after} failed deliveries in a row")
    assert webhook.disabled_reason.endswith("the last: could not connect (Connection refused)")
    assert webhook.pending == 3
    log = await store.webhook_attempts(issued.webhook.id, 100)
    assert len(log) == 3 + SCHEDULE.disable_after - 1
    assert {a.outcome for a in log} == {"failed"} and {a.status for a in log} == {None}
    assert ("webhook.disabled", f"webhook {issued.webhook.id}") in [(a, s) for a, s, _ in events(location)]


async def test_a_disabled_hook_enabled_again_gets_what_was_queued_before_not_what_came_while_disabled(
    store: Store,
) -> None:
    clock = Clock()
    with FaultServer() as receiver:
        receiver.script("/hooks", Step(500))
        issued = await hook(store, receiver.url + "hooks")
        await file(store, "Queued while failing")
        async with dispatcher_on(store, clock) as dispatcher:
            for _ in range(SCHEDULE.disable_after):
                await dispatcher.run_once()
                clock.advance(SCHEDULE.longest_wait)
            assert receiver.count("/hooks") == SCHEDULE.disable_after
            await file(store, "Filed while disabled")
            await dispatcher.run_once()
            receiver.script("/hooks", Step(204, body=b""))
            enabled = await store.enable_webhook(issued.webhook.id, admin.CLI)
            assert enabled.active and enabled.failures == 0 and enabled.disabled_reason is None
            await file(store, "Filed after enabling")
            await dispatcher.run_once()
    sent = [request.body for request in receiver.requests("/hooks")[SCHEDULE.disable_after :]]
    assert [b'"ticket":"INBOX-1"' in body for body in sent] == [True, False]
    assert b'"ticket":"INBOX-3"' in sent[1]  # INBOX-2, filed while disabled, never went


async def test_a_slow_receiver_times_out_and_a_trickling_one_is_cut_at_the_attempts_deadline(store: Store) -> None:
    clock = Clock()
    with FaultServer() as receiver:
        receiver.script("/silent", Step(204, delay=60))
        receiver.script("/trickle", Step(200, body=b"." * 200, drip=0.05))
        silent = await hook(store, receiver.url + "silent")
        trickle = await hook(store, receiver.url + "trickle")
        await file(store, "Slow receivers")
        async with dispatcher_on(store, clock) as dispatcher:
            with anyio.fail_after(10):  # a hang fails here rather than stalling the suite
                done = await dispatcher.run_once()
    assert done.attempted == 2 and done.delivered == 0
    (silent_attempt,) = await store.webhook_attempts(silent.webhook.id, 1)
    (trickle_attempt,) = await store.webhook_attempts(trickle.webhook.id, 1)
    assert (silent_attempt.status, silent_attempt.error) == (None, "no answer within 0.5 s")
    assert (trickle_attempt.status, trickle_attempt.error) == (None, "no complete answer within 1.5 s")


@pytest.mark.parametrize(
    ("step", "error"),
    [
        (Step(500), "HTTP 500"),
        (Step(404), "HTTP 404"),
        (Step(302, headers={"Location": "/elsewhere"}), "HTTP 302: a redirect, which webhooks do not follow"),
        (Step(200, body=b"x" * (10 * 1024 * 1024)), "HTTP 200 with more than 16 KB"),
        (Step(200, body=b"x" * (10 * 1024 * 1024), chunked=True), "HTTP 200 with more than 16 KB"),
        (Step(204, reset=True), "the connection broke"),
    ],
    ids=["500", "404", "redirect", "huge-body", "huge-chunked-body", "reset"],
)
async def test_a_wrong_answer_is_a_failure_and_nothing_more_is_asked_of_the_receiver(
    store: Store, step: Step, error: str
) -> None:
    clock = Clock()
    with FaultServer() as receiver:
        receiver.script("/hooks", step)
        issued = await hook(store, receiver.url + "hooks")
        await file(store, "Wrong answers")
        async with dispatcher_on(store, clock) as dispatcher:
            with anyio.fail_after(10):
                assert (await dispatcher.run_once()).delivered == 0
        assert [r.path for r in receiver.requests()] == ["/hooks"]  # no redirect followed, no retry yet
    (attempt,) = await store.webhook_attempts(issued.webhook.id, 5)
    assert attempt.outcome == "failed" and attempt.error is not None and attempt.error.startswith(error)
    webhook = await store.find_webhook(issued.webhook.id)
    assert webhook is not None and webhook.failures == 1 and webhook.pending == 1


async def test_a_delivery_to_loopback_is_refused_where_it_connects_unless_the_operator_allows_it(store: Store) -> None:
    clock = Clock()
    with WebhookReceiver() as receiver:
        issued = await hook(store, receiver.url)  # allowed when it was made
        await file(store, "Not for loopback")
        async with dispatcher_on(store, clock, targets=Targets()) as dispatcher:
            await dispatcher.run_once()
        assert receiver.deliveries == []
    (attempt,) = await store.webhook_attempts(issued.webhook.id, 5)
    assert attempt.error is not None
    assert attempt.error.startswith("refused: 127.0.0.1 is a loopback address, which this server does not send")
    assert "--webhook-allow-network" in attempt.error


async def test_two_dispatchers_on_one_database_never_send_an_event_twice(store: Store, location: Location) -> None:
    clock = Clock()
    other = await open_store(location)
    try:
        with WebhookReceiver(now=clock.timestamp) as receiver:
            receiver.secret = (await hook(store, receiver.url)).secret
            slugs = await file(store, *(f"Ticket {n}" for n in range(30)))
            await store.queue_webhook_events(clock.text(), 100)  # both find the whole queue due from the start
            async with dispatcher_on(store, clock, name="one") as one, dispatcher_on(other, clock, name="two") as two:
                attempted = {"one": 0, "two": 0}

                async def drain(name: str, dispatcher: Dispatcher) -> None:
                    while done := (await dispatcher.run_once()).attempted:
                        attempted[name] += done

                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(drain, "one", one)
                    tasks.start_soon(drain, "two", two)
            ids = [d.document["id"] for d in receiver.deliveries]
    finally:
        await other.close()
    assert len(ids) == len(set(ids)) == len(slugs)
    assert sum(attempted.values()) == len(slugs) and all(attempted.values()), attempted  # both took a share
    assert all(d.verified for d in receiver.deliveries)


async def test_a_delivery_claimed_by_a_dispatcher_that_died_is_sent_by_another_once_the_lease_ends(
    store: Store,
) -> None:
    clock = Clock()
    with WebhookReceiver(now=clock.timestamp) as receiver:
        receiver.secret = (await hook(store, receiver.url)).secret
        await file(store, "Claimed then abandoned")
        async with dispatcher_on(store, clock) as dispatcher:
            await store.queue_webhook_events(clock.text(), 100)
            (claimed,) = await store.claim_deliveries(clock.text(), clock.text(later=90), "dead", 10)
            assert (await dispatcher.run_once()).attempted == 0  # leased to the dead one
            clock.advance(91)
            assert (await dispatcher.run_once()).delivered == 1
        assert [d.document["id"] for d in receiver.deliveries] == [claimed.event.event_id]


async def test_an_idle_dispatcher_writes_nothing(store: Store, location: Location) -> None:
    clock = Clock()
    async with dispatcher_on(store, clock) as dispatcher:
        before = snapshot(location)
        await dispatcher.run_once()
        await hook(store, "https://hooks.example.com/tickets")
        settled = snapshot(location)
        clock.advance(3600)
        assert (await dispatcher.run_once()).attempted == 0
        assert snapshot(location) == settled
    assert before != settled  # the hook itself was written


async def test_the_delivery_log_keeps_a_hooks_latest_attempts_newest_first(store: Store) -> None:
    clock = Clock()
    with WebhookReceiver(now=clock.timestamp) as receiver:
        issued = await hook(store, receiver.url, "created")
        receiver.secret = issued.secret
        tracker = await alice(store)
        await tracker.create_tickets([TicketDraft(title=f"Bulk {n}") for n in range(LOG_KEPT)])
        await file(store, "One more")
        async with dispatcher_on(store, clock) as dispatcher:
            while (await dispatcher.run_once()).attempted:
                clock.advance(1)
    log = await store.webhook_attempts(issued.webhook.id, LOG_KEPT)
    assert len(log) == LOG_KEPT and len(receiver.deliveries) == LOG_KEPT + 1
    assert log[0].ticket == f"INBOX-{LOG_KEPT + 1}"  # sent alone, in the last pass
    first_pass = {f"INBOX-{n}" for n in range(1, 5)}  # sent together: settled in any order
    dropped = {f"INBOX-{n}" for n in range(1, LOG_KEPT + 2)} - {a.ticket for a in log}
    assert len(dropped) == 1 and dropped < first_pass and log[-1].ticket in first_pass


@pytest.mark.parametrize("store_kind", ["postgres"], indirect=True)
async def test_an_event_committed_after_a_later_one_is_still_sent_and_a_rolled_back_one_forgotten(
    store: Store, location: Location
) -> None:
    """PostgreSQL draws an event's id when its transaction inserts, not when it commits."""
    assert isinstance(location, PostgresUrl)
    clock = Clock()
    ((organization_id,),) = table_rows(location, "SELECT id FROM organizations")
    insert = (
        "INSERT INTO events (at, organization_id, subject, action, changes) "
        "VALUES ('2026-01-01T00:00:00.000Z', %s, %s, 'ticket.created', '{}') RETURNING id"
    )
    with WebhookReceiver(now=clock.timestamp) as receiver:
        receiver.secret = (await hook(store, receiver.url, "created")).secret
        async with dispatcher_on(store, clock) as dispatcher:
            with psycopg.connect(location.url) as slow, psycopg.connect(location.url) as undone:
                slow.execute(insert, (organization_id, "INBOX-98"))
                undone.execute(insert, (organization_id, "INBOX-99"))
                undone.rollback()
                await file(store, "Committed first")
                await dispatcher.run_once()
                assert [d.document["ticket"] for d in receiver.deliveries] == ["INBOX-1"]
                assert len(outbox_gaps(location)) == 2
                slow.commit()
            await dispatcher.run_once()
            assert [d.document["ticket"] for d in receiver.deliveries] == ["INBOX-1", "INBOX-98"]
            assert len(outbox_gaps(location)) == 1  # the rolled-back one, looked for a while longer
            clock.advance(11 * 60)
            await dispatcher.run_once()
    assert outbox_gaps(location) == []


def outbox_gaps(location: Location) -> list[object]:
    ((gaps,),) = table_rows(location, "SELECT gaps FROM webhook_outbox")
    return list(json.loads(gaps))


async def test_the_running_dispatcher_sends_a_backlog_pass_after_pass_without_waiting_between_them(
    store: Store,
) -> None:
    clock = Clock()
    with WebhookReceiver(now=clock.timestamp) as receiver:
        receiver.secret = (await hook(store, receiver.url)).secret
        await file(store, *(f"Backlog {n}" for n in range(10)))  # more than one pass takes for one hook
        async with dispatcher_on(store, clock) as dispatcher, anyio.create_task_group() as tasks:
            tasks.start_soon(run, dispatcher, 3600.0)  # an idle pass would wait an hour
            await anyio.to_thread.run_sync(receiver.wait_for, 10)
            tasks.cancel_scope.cancel()
    assert len({d.document["id"] for d in receiver.deliveries}) == 10


async def test_a_move_to_another_project_is_sent_once_and_a_link_as_an_update_of_both_tickets(store: Store) -> None:
    clock = Clock()
    with WebhookReceiver(now=clock.timestamp) as receiver:
        receiver.secret = (await hook(store, receiver.url)).secret
        tracker = await alice(store)
        first, second = await file(store, "Schema", "Backfill")
        await tracker.create_project("Web", code="WEB")
        tracker = await alice(store)
        await tracker.link_tickets(second, LinkKind.BLOCKED_BY, first)
        moved = await tracker.move_to_project(second, "WEB")
        async with dispatcher_on(store, clock) as dispatcher:
            while (await dispatcher.run_once()).attempted:
                pass
        delivered = sorted(receiver.deliveries, key=lambda d: int(d.document["id"].removeprefix("evt_")))
    documents = [(d.document["type"], d.document["ticket"], d.document["changes"]) for d in delivered][2:]
    assert documents[:2] == [
        ("ticket.updated", second, {"kind": "blocked_by", "ticket": first}),
        ("ticket.updated", first, {"kind": "blocks", "ticket": second}),
    ] or documents[:2] == [
        ("ticket.updated", first, {"kind": "blocks", "ticket": second}),
        ("ticket.updated", second, {"kind": "blocked_by", "ticket": first}),
    ]
    [(kind, slug, changes)] = documents[2:]
    assert (kind, slug, changes["slug"]) == ("ticket.moved", moved.ticket.slug, [second, "WEB-1"])
