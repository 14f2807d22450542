"""ChangeFeed: what changed in the tracker, read back from the audit trail, for whoever watches (MCP resource
subscriptions).

Every change commits one `events` row in its own transaction, whoever made it: a tool, a REST call, the
board, a `tickets` command, another process on the same database. So the trail is the one source, read
from a cursor (the last id seen) in one indexed range query:

- at once after each write this process commits (the store tells `kick`): a watcher hears of a change
  made through this process before the call that made it has answered, or just after;
- every `interval` seconds otherwise, for what other processes commit: another replica behind the same
  load balancer, a second stdio server on the same SQLite file, an admin command.

Only while someone watches (`hold`): idle, the feed reads nothing. Each read is one query per process
however many sessions watch, and costs what was written since the last, never the tracker's size.

PostgreSQL hands out ids when a transaction inserts, not when it commits, so a later id can commit
first: an id skipped below the cursor is remembered for `GAP_SECONDS` and asked for again by id (a
transaction rolled back leaves one for good). SQLite commits one writer at a time, in id order.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

import anyio

from tickets_mcp.domain.audit import Recorded, Touched, touched

logger = logging.getLogger(__name__)

POLL_SECONDS = 2.0  # how long a change another process commits may take to be heard
PAGE = 500  # entries read at a time; a full page is followed by the next at once
GAP_SECONDS = 30.0  # how long an id skipped below the cursor is waited for: far longer than any write transaction
GAPS_MAX = 1000  # ids waited for at most; the oldest are given up first

Listener = Callable[[Sequence[Touched]], Awaitable[None]]


class AuditTrail(Protocol):
    """What the feed reads: the store's trail (stores/port.py)."""

    async def last_event_id(self) -> int: ...
    async def events_after(self, cursor: int, missing: Sequence[int], limit: int) -> list[Recorded]: ...


class ChangeFeed:
    """The changes committed to one store, in commit order per process, told to its listeners while held."""

    def __init__(self, trail: AuditTrail, *, interval: float = POLL_SECONDS) -> None:
        self._trail = trail
        self._interval = interval
        self._listeners: dict[object, Listener] = {}
        self._holds = 0
        self._cursor: int | None = None  # None: nobody watches, nothing is read
        self._epoch = 0  # bumped whenever the cursor is set anew: a read begun before is dropped
        self._gaps: dict[int, float] = {}  # id skipped below the cursor -> when to stop waiting for it
        self._wake: anyio.Event | None = None  # made by the running feed, on its event loop
        self._failing = False

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Tell `listener` of what each read finds (nothing while the feed is not held); returns how to stop."""
        key = object()
        self._listeners[key] = listener

        def stop() -> None:
            self._listeners.pop(key, None)

        return stop

    async def hold(self) -> None:
        """Someone starts watching: from now on each change is read. The first hold reads where the trail
        ends, so a change committed once this returns is heard, and none before."""
        self._holds += 1
        if self._cursor is not None:
            return
        try:
            last = await self._trail.last_event_id()
        except BaseException:
            self._holds -= 1
            raise
        if self._cursor is None and self._holds > 0:
            self._restart(last)

    def release(self) -> None:
        """One watcher less; the last one leaves the feed idle."""
        self._holds = max(0, self._holds - 1)
        if self._holds == 0:
            self._restart(None)

    def kick(self) -> None:
        """A write was committed here: read now (the store calls this after each commit)."""
        if self._cursor is not None and self._wake is not None:
            self._wake.set()

    def _restart(self, cursor: int | None) -> None:
        self._cursor = cursor
        self._epoch += 1
        self._gaps.clear()
        if self._wake is not None:
            self._wake.set()

    @asynccontextmanager
    async def running(self) -> AsyncGenerator[None]:
        """Read the trail while the body runs (the MCP server's lifespan)."""
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._run)
                try:
                    yield
                finally:
                    tasks.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # _run never raises, so what the group holds is the body's own: raised as the body raised it.
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    async def _run(self) -> None:
        self._wake = anyio.Event()
        while True:
            with anyio.move_on_after(self._interval if self._cursor is not None else math.inf):
                await self._wake.wait()
            self._wake = anyio.Event()  # before reading: a commit during the read asks for another at once
            await self.read()

    async def read(self) -> None:
        """Read what was committed since the last read and tell the listeners; a failure is logged and the
        same range read again next time."""
        while self._cursor is not None:
            cursor, epoch = self._cursor, self._epoch
            try:
                entries = await self._trail.events_after(cursor, sorted(self._gaps), PAGE)
            except Exception as exc:  # the database away for a while: the watchers hear of it when it is back
                if not self._failing:
                    logger.warning("Reading the audit trail for subscribers failed; retrying: %s", exc)
                self._failing = True
                return
            self._failing = False
            if epoch != self._epoch:
                continue  # the feed went idle or started anew while this was read
            found = self._advance(cursor, entries)
            if found:
                await self._tell(found)
            if sum(entry.id > cursor for entry in entries) < PAGE:
                return

    def _advance(self, cursor: int, entries: Sequence[Recorded]) -> list[Touched]:
        """Move the cursor past `entries` and note the ids skipped below it; what they touched."""
        now = time.monotonic()
        for entry in entries:
            self._gaps.pop(entry.id, None)
        newest = max((entry.id for entry in entries), default=cursor)
        if newest > cursor:
            seen = {entry.id for entry in entries}
            for skipped in range(max(cursor + 1, newest - GAPS_MAX), newest):
                if skipped not in seen:
                    self._gaps[skipped] = now + GAP_SECONDS
            self._cursor = newest
        for skipped, deadline in list(self._gaps.items()):
            if deadline <= now:
                del self._gaps[skipped]
        while len(self._gaps) > GAPS_MAX:
            del self._gaps[min(self._gaps)]
        return [found for entry in entries if (found := touched(entry)) is not None]

    async def _tell(self, found: Sequence[Touched]) -> None:
        for listener in list(self._listeners.values()):
            try:
                await listener(found)
            except Exception:  # one listener's bug must not starve the others, nor stop the feed
                logger.exception("A change listener failed")
