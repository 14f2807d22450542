"""The webhook dispatcher: queues ticket events from the audit trail, claims due deliveries, sends and settles them.

`serve` runs one beside the app (`delivering_webhooks`), on every replica: the store decides who does what
(stores/sql/outbox.py: one queuer at a time, a lease on each claimed delivery), so replicas share the work and
never send one event to a hook twice at once. The stdio server runs none: a desktop client may stop it at any
moment, and a tracker kept on one machine has its events sent by `tickets-mcp webhook deliver` (from cron, say)
or by the next `serve` on the same database, whichever comes; nothing is lost meanwhile.

It never holds up requests: it runs as a task on the server's loop, its store calls are short transactions (at
most a few at once), and an idle pass is one read. `run_once` is also the entry point tests and the `webhook
deliver` command call, with their own clock, jitter and schedule.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

import anyio

from tickets_mcp.dispatch.sender import Limits, Sender
from tickets_mcp.domain.rules import format_timestamp
from tickets_mcp.domain.webhooks import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Schedule,
    Targets,
    origin,
    signature,
)
from tickets_mcp.errors import ReadOnlyStore, TrackerError
from tickets_mcp.stores import Attempted, DueDelivery, Settled, Store

log = logging.getLogger(__name__)

INTERVAL: Final = 1.0  # seconds between passes that found nothing more to do
QUEUED_AT_ONCE: Final = 500  # audit entries one queueing transaction reads
QUEUE_ROUNDS: Final = 20  # queueing transactions one pass runs at most, so it gets to sending
CLAIMED_AT_ONCE: Final = 32  # deliveries one pass sends at most
IN_FLIGHT: Final = 8  # of them at once
STORE_WRITES: Final = 2  # settling transactions at once: the pool is for requests first


@dataclass(frozen=True, slots=True)
class Pass:
    """What one pass did."""

    queued: int = 0  # audit entries read into the queue
    attempted: int = 0
    delivered: int = 0

    @property
    def busy(self) -> bool:
        """Whether it found work, so the next pass may find more at once: a hook's backlog goes out pass after
        pass (a few deliveries each, see outbox.PER_HOOK) without waiting INTERVAL between them."""
        return self.attempted > 0 or self.queued >= QUEUED_AT_ONCE * QUEUE_ROUNDS


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Dispatcher:
    store: Store
    sender: Sender
    schedule: Schedule = field(default_factory=Schedule)
    clock: Callable[[], datetime] = _utc_now
    jitter: Callable[[], float] = random.random
    name: str = field(default_factory=lambda: secrets.token_hex(6))  # marks this dispatcher's claims

    def __post_init__(self) -> None:
        self._writes = anyio.CapacityLimiter(STORE_WRITES)
        # A claim outlives any attempt, so a delivery is never taken by another dispatcher while it is sent.
        self._lease = timedelta(seconds=4 * self.sender.limits.deadline + 10)

    async def run_once(self) -> Pass:
        """Deliver what is due now: queue new events, then claim, send and settle the due deliveries."""
        now = format_timestamp(self.clock())
        work = await self.store.webhook_work(now)
        queued = 0
        if work.events:
            for _ in range(QUEUE_ROUNDS):
                read = await self.store.queue_webhook_events(now, QUEUED_AT_ONCE)
                queued += read
                if read < QUEUED_AT_ONCE:
                    break
        if not (work.deliveries or queued):
            return Pass(queued=queued)
        until = format_timestamp(self.clock() + self._lease)
        claim = f"{self.name}-{secrets.token_hex(6)}"
        due = await self.store.claim_deliveries(now, until, claim, CLAIMED_AT_ONCE)
        delivered = 0
        limiter = anyio.CapacityLimiter(IN_FLIGHT)

        async def deliver(delivery: DueDelivery) -> None:
            nonlocal delivered
            async with limiter:
                delivered += await self._deliver(delivery)

        async with anyio.create_task_group() as tasks:
            for delivery in due:
                tasks.start_soon(deliver, delivery)
        return Pass(queued=queued, attempted=len(due), delivered=delivered)

    async def _deliver(self, delivery: DueDelivery) -> bool:
        """Send one delivery and record how it went; whether it was delivered."""
        event = delivery.event
        body = event.body()
        started = self.clock()
        timestamp = int(started.timestamp())
        headers = {
            EVENT_ID_HEADER: event.event_id,
            EVENT_TYPE_HEADER: event.type.value,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(delivery.secret, timestamp, body),
        }
        began = time.monotonic()
        answer = await self.sender.post(delivery.url, headers, body)
        attempted = Attempted(
            started_at=format_timestamp(started),
            ended_at=format_timestamp(self.clock()),
            status=answer.status,
            error=answer.error,
            duration_ms=round((time.monotonic() - began) * 1000),
            jitter=self.jitter(),
        )
        try:
            async with self._writes:
                settled = await self.store.settle_delivery(delivery, attempted, self.schedule)
        except TrackerError as exc:  # the lease runs out and the delivery is sent again: at least once
            log.warning("webhook %s: could not record delivery %s: %s", delivery.webhook_id, event.event_id, exc)
            return False
        _report(delivery, attempted, settled)
        return answer.error is None


def _report(delivery: DueDelivery, attempted: Attempted, settled: Settled) -> None:
    where = f"webhook {delivery.webhook_id} ({origin(delivery.url)})"
    what = f"{delivery.event.event_id} {delivery.event.type.value} {delivery.event.ticket}"
    if settled.disabled:
        log.warning("%s disabled: %s", where, settled.disabled)
    elif settled.outcome == "gave up":
        log.warning("%s: gave up on %s after %d attempts: %s", where, what, delivery.attempt, attempted.error)
    elif attempted.error is not None:
        log.info("%s: %s attempt %d failed: %s", where, what, delivery.attempt, attempted.error)


async def run(dispatcher: Dispatcher, interval: float = INTERVAL) -> None:
    """Pass after pass until cancelled; a pass that fails (the database gone for a moment) is logged and the
    next one tries again. A read-only database stops it: nothing can be queued or settled there."""
    while True:
        try:
            done = await dispatcher.run_once()
        except ReadOnlyStore as exc:
            log.warning("webhooks are not sent: %s", exc)
            return
        except TrackerError as exc:
            log.warning("webhook dispatcher: %s", exc)
            done = Pass()
        except Exception:  # a bug must not stop deliveries for good, nor the server
            log.exception("webhook dispatcher pass failed")
            done = Pass()
        if not done.busy:
            await anyio.sleep(interval)


async def deliver_due(store: Store, targets: Targets, passes: int = 10_000) -> Pass:
    """What is due now, sent once (`tickets-mcp webhook deliver`): passes until one finds no more waiting."""
    total = Pass()
    async with Sender(targets) as sender:
        dispatcher = Dispatcher(store, sender)
        for _ in range(passes):
            done = await dispatcher.run_once()
            total = Pass(total.queued + done.queued, total.attempted + done.attempted, total.delivered + done.delivered)
            if not done.busy:
                break
    return total


@asynccontextmanager
async def delivering_webhooks(store: Store, targets: Targets, limits: Limits | None = None) -> AsyncGenerator[None]:
    """A dispatcher running in the background for the block's duration (the serve app's lifespan)."""
    async with Sender(targets, limits) as sender, anyio.create_task_group() as tasks:
        tasks.start_soon(run, Dispatcher(store, sender), name="webhook dispatcher")
        try:
            yield
        finally:
            tasks.cancel_scope.cancel()
