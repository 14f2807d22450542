"""Resource subscriptions: a client subscribed to a ticket, a board or a project's activity hears
notifications/resources/updated with the URI it subscribed to whenever that changes, whoever changed it
(a tool, REST, the board, another process on the same database: core/changes.py reads them all).

One registry for both protocol eras:
- handshake era (2025-11-25 and before): resources/subscribe and resources/unsubscribe, per session; the
  notification goes out on the session's own channel (the stdio pipe, streamable HTTP's GET stream, the
  SSE stream). A session's subscriptions end with it (its connection's exit stack).
- 2026-07-28: subscriptions/listen with resourceSubscriptions; the stream is the listen request's own
  response and its subscriptions end with it. The SDK's ListenHandler serves each stream (the ack, the
  stamps, a bounded backlog) on a bus of its own, so a stream hears only the URIs it asked for.

A URI is resolved when subscribed to by reading it as the caller, with the resource's own permission
(what the caller may not read it may not watch), to a topic: a ticket (its project and number), a
project's board, or its activity. What a caller may read is checked then, not again for each change: a
member removed later goes on hearing that a URI changed (never what changed) until it unsubscribes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Literal, NamedTuple, Protocol

import anyio
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.session import ServerSession
from mcp.server.subscriptions import ListenHandler, ResourceUpdated, ServerEvent, SubscriptionBus
from mcp.shared.exceptions import MCPError
from mcp.shared.uri_template import UriTemplate
from mcp.types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    EmptyResult,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
    UnsubscribeRequestParams,
)

from tickets_mcp.core.changes import ChangeFeed
from tickets_mcp.core.tracker import Tracker
from tickets_mcp.domain.audit import Touched
from tickets_mcp.errors import BackendUnavailable, NotFound, TrackerError
from tickets_mcp.mcp import resources

logger = logging.getLogger(__name__)

URIS_PER_WATCHER = 100  # resources one session, or one listen stream, may watch
STREAMS_PER_CALLER = 16  # listen streams one token (or the local user) may hold open
STREAMS_MAX = 1024  # listen streams this server holds open, as the SDK's own handler allows
SEND_SECONDS = 5.0  # how long one session's notifications may take before they are given up
_STATE_KEY = "tickets_mcp.subscriptions"  # a session's watcher, in its connection's state


class Topic(NamedTuple):
    """What a subscription watches: a ticket (by number) of a project, or the project's board or activity."""

    kind: Literal["ticket", "board", "activity"]
    project_id: str
    number: int = 0


def topics(change: Touched) -> Iterator[Topic]:
    for number in change.tickets:
        yield Topic("ticket", change.project_id, number)
    if change.board:
        yield Topic("board", change.project_id)
    yield Topic("activity", change.project_id)


async def _ticket(tracker: Tracker, slug: str) -> Topic:
    ticket = (await tracker.get_ticket(slug, history=0)).ticket
    return Topic("ticket", ticket.project_id, ticket.number)


async def _board(tracker: Tracker, project: str) -> Topic:
    return Topic("board", (await tracker.get_board(project, per_column=1)).project.id)


async def _activity(tracker: Tracker, project: str) -> Topic:
    # The board is read for its project: who may read one may read the other (Action.READ of the project).
    return Topic("activity", (await tracker.get_board(project, per_column=1)).project.id)


async def _attachment(tracker: Tracker, slug: str, id: str) -> Topic:
    # A file never changes: what may change is whether its ticket still has it, heard as the ticket's change.
    detail = await tracker.get_ticket(slug, history=0)
    if not any(str(attachment.id) == id for attachment in detail.attachments):
        raise NotFound(f"{detail.ticket.slug} has no attachment {id}.", hint="get_ticket lists its attachments.")
    return Topic("ticket", detail.ticket.project_id, detail.ticket.number)


# Each resource template's reading, for a subscription: it checks what the template's handler checks. Each
# takes the template's variables by name.
_RESOLVERS: dict[Callable[..., Awaitable[str | bytes]], Callable[..., Awaitable[Topic]]] = {
    resources.ticket: _ticket,
    resources.board: _board,
    resources.activity: _activity,
    resources.attachment: _attachment,
}
_TEMPLATES = [(UriTemplate.parse(t.uri), t.uri, _RESOLVERS[t.handler]) for t in resources.TEMPLATES]


class Caller(Protocol):
    """The server's lifespan state (server.AppState), as subscriptions use it."""

    @property
    def changes(self) -> ChangeFeed | None:
        """What its backend's changes are read from; None: nothing is watched (a remote tracker)."""
        ...

    def tracker(self, client: str | None = None) -> Tracker: ...


Request = ServerRequestContext[Any, Any]  # its lifespan_context a Caller


class _Watcher:
    """One subscriber, a session or a listen stream: the URIs it watches (as it wrote them) and their topics,
    heard from the feed of the lifespan it came in."""

    def __init__(self, feed: ChangeFeed) -> None:
        self.feed = feed
        self.uris: dict[str, Topic] = {}

    def uris_of(self, topic: Topic) -> list[str]:
        return [uri for uri, watched in self.uris.items() if watched == topic]

    async def send(self, uris: Sequence[str]) -> None:
        raise NotImplementedError


class _Session(_Watcher):
    """A handshake-era session, told on its connection's own channel."""

    def __init__(self, feed: ChangeFeed, connection: Connection) -> None:
        super().__init__(feed)
        self.connection = connection

    async def send(self, uris: Sequence[str]) -> None:
        with anyio.move_on_after(SEND_SECONDS):  # a client that stopped reading delays only itself
            for uri in uris:
                await self.connection.send_resource_updated(uri)


class _Stream(_Watcher):
    """A 2026-07-28 listen stream: its ListenHandler's listener, which buffers and writes in order."""

    def __init__(self, feed: ChangeFeed) -> None:
        super().__init__(feed)
        self.deliver: Callable[[ServerEvent], None] | None = None

    async def send(self, uris: Sequence[str]) -> None:
        if self.deliver is not None:
            for uri in uris:
                self.deliver(ResourceUpdated(uri=uri))


class _StreamBus:
    """The bus one stream's ListenHandler subscribes to: the server's own events (its tool list changed)
    reach it as before, and the updates of what this stream watches reach it alone."""

    def __init__(self, server_bus: SubscriptionBus, stream: _Stream) -> None:
        self._server_bus = server_bus
        self._stream = stream

    async def publish(self, event: ServerEvent) -> None:
        await self._server_bus.publish(event)

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        self._stream.deliver = listener
        stop = self._server_bus.subscribe(listener)

        def unsubscribe() -> None:
            stop()
            self._stream.deliver = None

        return unsubscribe


def _connection_of(session: ServerSession) -> Connection:
    """The connection a request came on. The SDK hands handlers a per-request session and keeps the
    connection (whose state and exit stack outlive the request) private to it."""
    return session._connection  # pyright: ignore[reportPrivateUsage]


class Subscriptions:
    """Who watches what, on one server; told by each lifespan's ChangeFeed of what it reads (`watching`)."""

    def __init__(self, bus: SubscriptionBus, *, caller_of: Callable[[Request], str | None]) -> None:
        self._bus = bus  # the server's own, for events to every listen stream (its tool list changed)
        self._caller_of = caller_of  # whose listen streams a request's are counted as (None: nobody's)
        self._watchers: dict[Topic, set[_Watcher]] = {}
        self._streams: Counter[str] = Counter()

    def install(self, lowlevel: Server[Any], *, subscribe: bool) -> None:
        """Serve subscriptions/listen (in place of the SDK's own handler, which lets a stream name any URI)
        and, when `subscribe`, resources/subscribe and resources/unsubscribe."""
        lowlevel.add_request_handler("subscriptions/listen", SubscriptionsListenRequestParams, self.listen)
        if subscribe:
            lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, self.subscribe)
            lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, self.unsubscribe)

    @property
    def watchers(self) -> int:
        """Sessions and listen streams watching something now."""
        return len({watcher for watching in self._watchers.values() for watcher in watching})

    @asynccontextmanager
    async def watching(self, feed: ChangeFeed | None) -> AsyncGenerator[None]:
        """Read `feed` while the body runs (a lifespan, which hands it to requests as AppState.changes) and
        tell its subscribers of the changes it reads."""
        if feed is None:
            yield
            return
        stop = feed.listen(partial(self._tell, feed))
        try:
            async with feed.running():
                yield
        finally:
            stop()
            for watching in self._watchers.values():
                watching.difference_update({watcher for watcher in watching if watcher.feed is feed})

    # Handshake era

    async def subscribe(self, ctx: Request, params: SubscribeRequestParams) -> EmptyResult:
        uri = str(params.uri)
        feed = _feed_of(ctx, uri)
        connection = _connection_of(ctx.session)
        session = connection.state.get(_STATE_KEY)
        if not isinstance(session, _Session):
            session = _Session(feed, connection)
            connection.state[_STATE_KEY] = session
            connection.exit_stack.callback(self._forget, session)
        if uri not in session.uris:
            _check_room(session, 1)
            await self._add(session, uri, await _topic(ctx, uri))
        return EmptyResult()

    async def unsubscribe(self, ctx: Request, params: UnsubscribeRequestParams) -> EmptyResult:
        """Stop telling this session of the URI, as it subscribed to it; a URI it did not is no error."""
        session = _connection_of(ctx.session).state.get(_STATE_KEY)
        if isinstance(session, _Session):
            self._remove(session, str(params.uri))
        return EmptyResult()

    # 2026-07-28

    async def listen(self, ctx: Request, params: SubscriptionsListenRequestParams) -> SubscriptionsListenResult:
        uris = list(dict.fromkeys(params.notifications.resource_subscriptions or ()))
        caller = self._caller_of(ctx) or "anonymous"
        if self._streams[caller] >= STREAMS_PER_CALLER or self._streams.total() >= STREAMS_MAX:
            raise MCPError(
                INVALID_PARAMS,
                f"Too many listen streams open: at most {STREAMS_PER_CALLER} for one caller and "
                f"{STREAMS_MAX} in all. End one you no longer read, or watch several resources on one stream.",
            )
        stream: _Stream | None = None
        if uris:
            stream = _Stream(_feed_of(ctx, uris[0]))
            _check_room(stream, len(uris))
        resolved = [(uri, await _topic(ctx, uri)) for uri in uris]
        self._streams[caller] += 1
        try:
            if stream is None:  # no resource asked for: the SDK's handler on the server's bus, as before
                return await ListenHandler(self._bus, max_subscriptions=1)(ctx, params)
            for uri, topic in resolved:
                await self._add(stream, uri, topic)
            return await ListenHandler(_StreamBus(self._bus, stream), max_subscriptions=1)(ctx, params)
        finally:
            if stream is not None:
                self._forget(stream)
            self._streams[caller] -= 1
            if self._streams[caller] <= 0:
                del self._streams[caller]

    # The registry

    async def _add(self, watcher: _Watcher, uri: str, topic: Topic) -> None:
        if uri in watcher.uris:
            return
        await watcher.feed.hold()  # before the subscription is confirmed: a change committed after it is heard
        if uri in watcher.uris:  # the same URI subscribed to twice at once
            watcher.feed.release()
            return
        watcher.uris[uri] = topic
        self._watchers.setdefault(topic, set()).add(watcher)

    def _remove(self, watcher: _Watcher, uri: str) -> None:
        topic = watcher.uris.pop(uri, None)
        if topic is None:
            return
        watcher.feed.release()
        if not watcher.uris_of(topic):
            watching = self._watchers.get(topic, set())
            watching.discard(watcher)
            if not watching:
                self._watchers.pop(topic, None)

    def _forget(self, watcher: _Watcher) -> None:
        for uri in list(watcher.uris):
            self._remove(watcher, uri)

    async def _tell(self, feed: ChangeFeed, changes: Sequence[Touched]) -> None:
        """Send each watcher of `feed` the URIs these changes touched, once each, in the order of the
        changes; the watchers at once, so a slow one delays only itself."""
        due: dict[_Watcher, dict[str, None]] = {}
        for change in changes:
            for topic in topics(change):
                for watcher in self._watchers.get(topic, ()):
                    if watcher.feed is feed:
                        due.setdefault(watcher, {}).update(dict.fromkeys(watcher.uris_of(topic)))
        async with anyio.create_task_group() as tasks:
            for watcher, uris in due.items():
                tasks.start_soon(_send, watcher, list(uris))


def _check_room(watcher: _Watcher, more: int) -> None:
    if len(watcher.uris) + more > URIS_PER_WATCHER:
        raise MCPError(
            INVALID_PARAMS,
            f"At most {URIS_PER_WATCHER} resources can be watched at once by one session or listen stream. "
            "Unsubscribe from some, or watch a project's board instead of its tickets one by one.",
        )


def _feed_of(ctx: Request, uri: str) -> ChangeFeed:
    caller: Caller = ctx.lifespan_context
    if caller.changes is None:
        raise MCPError(
            INVALID_PARAMS,
            f"Cannot subscribe to {uri}: this server watches no changes (it serves a remote tracker, whose "
            "changes are made elsewhere too). Read the resource again when you need it.",
            {"uri": uri},
        )
    return caller.changes


async def _topic(ctx: Request, uri: str) -> Topic:
    """What `uri` names, read as the caller: refused when it names nothing, or nothing the caller may read."""
    for template, _, resolve in _TEMPLATES:
        if (found := template.match(uri)) is not None:
            params = ctx.session.client_params
            caller: Caller = ctx.lifespan_context
            tracker = caller.tracker(params.client_info.name if params is not None else None)
            try:
                return await resolve(tracker, **{name: str(value) for name, value in found.items()})
            except TrackerError as exc:
                code = INTERNAL_ERROR if isinstance(exc, BackendUnavailable) else INVALID_PARAMS
                raise MCPError(code, f"Cannot subscribe to {uri}: {exc}", {"uri": uri}) from None
    templates = ", ".join(uri for _, uri, _ in _TEMPLATES)
    raise MCPError(INVALID_PARAMS, f"Unknown resource {uri}. Resource templates: {templates}.", {"uri": uri})


async def _send(watcher: _Watcher, uris: list[str]) -> None:
    try:
        await watcher.send(uris)
    except Exception:  # one subscriber's failure must not cost the others their notifications
        logger.exception("Telling a subscriber of a change failed")
