"""A scripted HTTP server on loopback, for fault tests of the remote client against real sockets.

    with FaultServer() as server:                        # 127.0.0.1, a free port, HTTP/1.1 keep-alive
        server.script("/tickets", Step(503), Step(503), Step(200, body=b'{"ok": true}'))
        ...                                              # requests to server.url + "tickets"
        assert server.count("/tickets") == 3

Each path answers with its steps in order, repeating the last one; an unscripted path answers 404.
A step can sleep before answering (past the client's time-out), drop the connection after reading the
request (with a TCP reset, or closed in good order), send part of its body and hang up, send its body
chunked (no Content-Length) or a byte at a time, and compute its headers when it answers (for an HTTP
date or a rate-limit reset relative to that moment).

As a proxy in front of a real peer, for fault tests of whole adapters whose paths differ:

    with FaultServer(upstream="http://127.0.0.1:8080/") as proxy:  # unscripted requests are passed on
        proxy.script_next("POST", relay(delay=1.0))      # the next POST is applied upstream, answered too late
        proxy.script_next("GET", Step(503), where=lambda path: path.endswith("/tickets"))

`relay(...)` passes the request on first and then misbehaves as the rest of the step says (sleeps,
resets, or replaces the upstream's status or body), so a request is really applied while its answer
is lost. A request gets its path's script if it has one, else the next step `script_next` left for
its method (and path), else it is passed on.

Every request is recorded on arrival, before the step runs (method, path, query, headers, body and a
time.monotonic() stamp), so a test counts attempts and measures the waits between them. Leaving the
block wakes sleeping steps, closes open connections and joins every handler thread.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

Headers = Mapping[str, str] | Callable[[], Mapping[str, str]]
# Not passed on between the two hops of the proxy; accept-encoding too, so that a replaced body is never
# announced as compressed.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade", "accept-encoding"}
)
SENT_BY_US = frozenset({"content-length", "date", "server"})


@dataclass(frozen=True)
class Step:
    """One scripted answer."""

    status: int | None = 200  # None: the upstream's (with forward)
    body: bytes | None = b"{}"  # None: the upstream's, with its content type (with forward)
    headers: Headers = field(default_factory=dict[str, str])
    content_type: str = "application/json"
    forward: bool = False  # pass the request to the upstream first (it is applied there), then do the rest
    delay: float = 0.0  # seconds to wait before answering (interrupted when the server stops)
    reset: bool = False  # read the request, then drop the connection with a TCP reset; no answer
    hangup: bool = False  # read the request, then close the connection in good order (FIN); no answer
    cut: int | None = None  # send only this many bytes of the body (the headers promise all), then close
    chunked: bool = False  # send the body with Transfer-Encoding: chunked, without Content-Length
    drip: float = 0.0  # seconds between body bytes, sent one at a time (a slow but live server)


RELAY = Step(None, None, forward=True)  # what an unscripted request gets from a proxy: the upstream's answer


def json_step(status: int, payload: Any, **kwargs: Any) -> Step:
    return Step(status, json.dumps(payload).encode(), **kwargs)


def relay(**changes: Any) -> Step:
    """The request passed on to the upstream, then the answer lost or spoilt: relay(delay=1.0) answers
    too late, relay(reset=True) not at all, relay(status=502, body=b"...") or relay(body=b"...") wrongly."""
    return replace(RELAY, **changes)


@dataclass(frozen=True)
class Seen:
    """One request as the server received it; header names are lower case."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    at: float  # time.monotonic() when the request had been read

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


@dataclass(frozen=True)
class Answer:
    """The upstream's answer to a request passed on."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class _Next:
    """Steps for the next requests of one method, on the paths `where` accepts."""

    method: str
    where: Callable[[str], bool] | None
    steps: list[Step]


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close joins the handler threads
    block_on_close = True
    request_queue_size = 128  # the default 5 drops a burst of connections (an adapter's concurrent reads) for 0.5 s
    owner: FaultServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms wait for a delayed ACK

    @property
    def owner(self) -> FaultServer:
        return cast(_Server, self.server).owner

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.owner.track(self.connection, True)

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # the client reset or dropped a kept-alive connection
            super().handle()

    def finish(self) -> None:
        self.owner.track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self.serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        owner = self.owner
        seen = Seen(
            self.command, split.path, split.query, {k.lower(): v for k, v in self.headers.items()}, body,
            time.monotonic(),
        )  # fmt: skip
        step = owner.record(seen)
        try:
            self.answer(step, owner.forward(seen) if step.forward else None)
        except OSError:  # the client gave up (time-out, body cap): expected in these tests
            self.close_connection = True

    def answer(self, step: Step, upstream: Answer | None) -> None:
        owner = self.owner
        if step.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if step.hangup:
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if step.delay and owner.stopping.wait(step.delay):
            self.close_connection = True
            return
        headers = step.headers() if callable(step.headers) else step.headers
        own_body = step.body is not None or upstream is None
        body = step.body if step.body is not None else upstream.body if upstream else b""
        status = step.status if step.status is not None else upstream.status if upstream else 502
        self.send_response(status)
        if own_body:
            self.send_header("Content-Type", step.content_type)
        for name, value in upstream.headers if upstream else ():
            lower = name.lower()
            if lower not in HOP_BY_HOP | SENT_BY_US and not (own_body and lower.startswith("content-")):
                self.send_header(name, value)
        for name, value in headers.items():
            self.send_header(name, value)
        if step.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if step.chunked:
            for start in range(0, len(body), 16384):
                piece = body[start : start + 16384]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif step.cut is not None:
            self.wfile.write(body[: step.cut])
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif step.drip:
            for byte in body:
                if owner.stopping.wait(step.drip):
                    self.close_connection = True
                    return
                self.wfile.write(bytes([byte]))
        else:
            self.wfile.write(body)


class FaultServer:
    """A threaded HTTP server on `host`, port 0; use as a context manager. With `upstream` (a base URL),
    a proxy: what is not scripted is passed on there, Host header and all."""

    def __init__(self, host: str = "127.0.0.1", upstream: str | None = None) -> None:
        self.stopping = threading.Event()
        self.seen: list[Seen] = []
        self.upstream = upstream
        self._scripts: dict[str, list[Step]] = {}
        self._next: list[_Next] = []
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._http = _Server((host, 0), _Handler)
        self._http.owner = self
        self.port: int = self._http.server_address[1]
        self.url = f"http://{host}:{self.port}/"
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def script(self, path: str, *steps: Step) -> None:
        """Answer requests to `path` (without its query) with `steps` in order, repeating the last."""
        with self._lock:
            self._scripts[path] = list(steps)

    def script_next(self, method: str, *steps: Step, where: Callable[[str], bool] | None = None) -> None:
        """Answer the next requests with `method` (on a path `where` accepts, if given) with `steps`, one each;
        the requests after them are passed on (or answer 404 without an upstream)."""
        if steps:
            with self._lock:
                self._next.append(_Next(method.upper(), where, list(steps)))

    def reset(self) -> None:
        """Forget every script and every request seen (for a server shared by several tests)."""
        with self._lock:
            self._scripts.clear()
            self._next.clear()
            self.seen.clear()

    def record(self, seen: Seen) -> Step:
        with self._lock:
            self.seen.append(seen)
            steps = self._scripts.get(seen.path)
            if steps:
                return steps.pop(0) if len(steps) > 1 else steps[0]
            for rule in self._next:
                if rule.method == seen.method and (rule.where is None or rule.where(seen.path)):
                    if len(rule.steps) == 1:
                        self._next.remove(rule)
                    return rule.steps.pop(0)
            if self.upstream is None:
                return json_step(404, {"message": f"{seen.path} is not scripted"})
            return RELAY

    def forward(self, seen: Seen) -> Answer:
        """Pass a request on to the upstream, in a connection of its own, and read its whole answer."""
        if self.upstream is None:
            return Answer(502, [], b'{"message": "no upstream to pass the request on to"}')
        target = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=10)
        try:
            headers = {name: value for name, value in seen.headers.items() if name not in HOP_BY_HOP}
            path = target.path.rstrip("/") + seen.target
            connection.request(seen.method, path, body=seen.body or None, headers=headers)
            response = connection.getresponse()
            return Answer(response.status, response.getheaders(), response.read())
        finally:
            connection.close()

    def requests(self, path: str | None = None, method: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if (path is None or s.path == path) and (method is None or s.method == method)]

    def count(self, path: str | None = None, method: str | None = None) -> int:
        return len(self.requests(path, method))

    def gaps(self, path: str) -> list[float]:
        """Seconds between consecutive requests to `path`."""
        times = [s.at for s in self.requests(path)]
        return [b - a for a, b in itertools.pairwise(times)]

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stopping.set()
        self._http.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # wake handlers waiting for the next request on a kept-alive connection
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._http.server_close()  # joins the handler threads
        self._thread.join(5)


def refused_url() -> str:
    """A loopback URL on which nothing listens: connecting is refused, so nothing is ever sent."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
