"""A request handler of the kind httpx2.MockTransport takes, served over real HTTP on loopback.

    with HandlerServer(fake.handle) as served:        # FakeGitLab, say; one request at a time
        ...                                           # requests to served.url

So a fake peer can sit behind a real network hop (and a FaultServer proxy in front of it) like a real
server. The request's URL is rebuilt from its Host header, so links the handler makes point where the
client sent the request. A handler that raises httpx2.TransportError drops the connection unanswered.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast

import httpx2

Handle = Callable[[httpx2.Request], httpx2.Response]
NOT_COPIED = frozenset({"content-length", "transfer-encoding", "connection", "content-encoding"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # not 5: a burst of connections must not wait for a SYN to be sent again
    handle_request_with: Handle
    lock: threading.Lock


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms wait for a delayed ACK

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        server = cast(_Server, self.server)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("host") or "127.0.0.1"
        request = httpx2.Request(self.command, f"http://{host}{self.path}", headers=self.headers.items(), content=body)
        try:
            with server.lock:  # the fakes keep their state in plain dicts
                response = server.handle_request_with(request)
        except httpx2.TransportError:
            self.close_connection = True
            return
        self.send_response(response.status_code)
        for name, value in response.headers.multi_items():
            if name.lower() not in NOT_COPIED:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.content)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET


class HandlerServer:
    """`handle` on 127.0.0.1, a free port; `url` ends in a slash. Use as a context manager."""

    def __init__(self, handle: Handle) -> None:
        self._http = _Server(("127.0.0.1", 0), _Handler)
        self._http.handle_request_with = handle
        self._http.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/"
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> HandlerServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._http.shutdown()
        with contextlib.suppress(OSError):
            self._http.server_close()
        self._thread.join(5)
