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

Every request is recorded on arrival, before the step runs (method, path, query, headers, body and a
time.monotonic() stamp), so a test counts attempts and measures the waits between them. Leaving the
block wakes sleeping steps, closes open connections and joins every handler thread.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

Headers = Mapping[str, str] | Callable[[], Mapping[str, str]]


@dataclass(frozen=True)
class Step:
    """One scripted answer."""

    status: int = 200
    body: bytes = b"{}"
    headers: Headers = field(default_factory=dict[str, str])
    content_type: str = "application/json"
    delay: float = 0.0  # seconds to wait before answering (interrupted when the server stops)
    reset: bool = False  # read the request, then drop the connection with a TCP reset; no answer
    hangup: bool = False  # read the request, then close the connection in good order (FIN); no answer
    cut: int | None = None  # send only this many bytes of the body (the headers promise all), then close
    chunked: bool = False  # send the body with Transfer-Encoding: chunked, without Content-Length
    drip: float = 0.0  # seconds between body bytes, sent one at a time (a slow but live server)


def json_step(status: int, payload: Any, **kwargs: Any) -> Step:
    return Step(status, json.dumps(payload).encode(), **kwargs)


@dataclass(frozen=True)
class Seen:
    """One request as the server received it; header names are lower case."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    at: float  # time.monotonic() when the request had been read


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close joins the handler threads
    block_on_close = True
    owner: FaultServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

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
        step = owner.record(
            Seen(self.command, split.path, split.query, {k.lower(): v for k, v in self.headers.items()}, body,
                 time.monotonic())
        )  # fmt: skip
        try:
            self.answer(step)
        except OSError:  # the client gave up (time-out, body cap): expected in these tests
            self.close_connection = True

    def answer(self, step: Step) -> None:
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
        self.send_response(step.status)
        self.send_header("Content-Type", step.content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        if step.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(step.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if step.chunked:
            for start in range(0, len(step.body), 16384):
                piece = step.body[start : start + 16384]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif step.cut is not None:
            self.wfile.write(step.body[: step.cut])
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif step.drip:
            for byte in step.body:
                if owner.stopping.wait(step.drip):
                    self.close_connection = True
                    return
                self.wfile.write(bytes([byte]))
        else:
            self.wfile.write(step.body)


class FaultServer:
    """A threaded HTTP server on `host`, port 0; use as a context manager."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.stopping = threading.Event()
        self.seen: list[Seen] = []
        self._scripts: dict[str, list[Step]] = {}
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

    def reset(self) -> None:
        """Forget every script and every request seen (for a server shared by several tests)."""
        with self._lock:
            self._scripts.clear()
            self.seen.clear()

    def record(self, seen: Seen) -> Step:
        with self._lock:
            self.seen.append(seen)
            steps = self._scripts.get(seen.path)
            if not steps:
                return json_step(404, {"message": f"{seen.path} is not scripted"})
            return steps.pop(0) if len(steps) > 1 else steps[0]

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
