"""Slow and greedy clients on a real `tickets-mcp serve`, with raw sockets: connections that send nothing,
half their headers or half their body are closed after the read timeouts; connections are capped per client
address and overall; /healthz keeps answering while slow connections are held.

Loopback has a whole /8 of addresses, so "another client" is a socket bound to 127.0.0.N before it
connects. The store plays no part here (the guard runs before any request reaches the app), so these
servers run on SQLite only.
"""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import httpx2
import pytest

from tests.fixtures.http_server import ServerProcess, running_server, server_env
from tickets_mcp.http.connections import FILES_KEPT, Capacity, capacity

CLOSED_WITHIN = 15.0  # seconds a test waits for the server to close a connection its timeout ends
PER_ADDRESS = 20
HALF_HEADERS = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
SMALL_CAP = 50


@pytest.fixture(scope="module")
def short_timeouts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose header and body timeouts are one second each."""
    env = {"TICKETS_HEADER_TIMEOUT": "1", "TICKETS_BODY_TIMEOUT": "1"}
    with running_server(tmp_path_factory.mktemp("timeouts") / "tracker.db", env=env) as process:
        yield process


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server allowing PER_ADDRESS connections per client address, with timeouts longer than any test."""
    env = {"TICKETS_MAX_CONNECTIONS_PER_ADDRESS": str(PER_ADDRESS), "TICKETS_HEADER_TIMEOUT": "120"}
    with running_server(tmp_path_factory.mktemp("capped") / "tracker.db", env=env) as process:
        yield process


@pytest.fixture(scope="module")
def small_cap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server holding SMALL_CAP connections, with timeouts longer than any test."""
    env = {
        "TICKETS_MAX_CONNECTIONS": str(SMALL_CAP),
        "TICKETS_HEADER_TIMEOUT": "120",
        "TICKETS_BODY_TIMEOUT": "120",
    }
    with running_server(tmp_path_factory.mktemp("small-cap") / "tracker.db", env=env) as process:
        yield process


def hold_half_body(sock: socket.socket, path: str, token: str | None = None) -> None:
    """Send a POST promising 1000 bytes of body, wait until the app asks for the body, then send six bytes.

    `Expect: 100-continue` makes the server say when the app starts reading the body, so the test knows
    the connection is past its headers without sleeping.
    """
    authorization = f"Authorization: Bearer {token}\r\n" if token else ""
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{authorization}"
        "Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n".encode()
    )
    sock.settimeout(5.0)
    interim = bytearray()
    while b"\r\n\r\n" not in interim:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection instead of reading the body: {bytes(interim)!r}"
        interim += chunk
    assert interim.startswith(b"HTTP/1.1 100 "), bytes(interim)
    sock.sendall(b'{"a": ')


@contextmanager
def file_limit(limit: int) -> Generator[None]:
    """Lower this process's open-file limit for what it starts meanwhile (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture(scope="module")
def few_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server started with a soft limit of 200 open files (sockets included), holding 100 connections."""
    env = server_env(
        {
            "TICKETS_MAX_CONNECTIONS": "100",
            "TICKETS_MAX_CONNECTIONS_PER_ADDRESS": "100",
            "TICKETS_HEADER_TIMEOUT": "120",
        }
    )
    with file_limit(200):
        process = ServerProcess(tmp_path_factory.mktemp("few-files") / "tracker.db", [], env)
    try:
        process.wait_ready(30.0)
        yield process
    finally:
        process.stop()


def connect(server: ServerProcess, source: str = "127.0.0.1") -> socket.socket:
    """A raw TCP connection to the server from the loopback address `source`."""
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return socket.create_connection((parts.hostname, parts.port), timeout=5.0, source_address=(source, 0))


def wait_closed(sock: socket.socket, within: float = CLOSED_WITHIN) -> bytes:
    """What the server sent before closing `sock`; fails if the connection is still open after `within` s."""
    deadline = time.monotonic() + within
    received = bytearray()
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return bytes(received)
        if not chunk:
            return bytes(received)
        received += chunk
    raise AssertionError(f"the server left the connection open for {within} s; it sent {bytes(received)[:200]!r}")


def is_open(sock: socket.socket) -> bool:
    """Whether the server still holds `sock` open (it has neither closed nor reset it)."""
    sock.setblocking(False)
    try:
        return sock.recv(65536, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except ConnectionResetError:
        return False
    finally:
        sock.setblocking(True)


def read_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length body, read from a connection that stays open."""
    sock.settimeout(5.0)
    data = bytearray()
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection mid-response: {bytes(data)!r}"
        data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.mark.slow
def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(short_timeouts: ServerProcess) -> None:
    with connect(short_timeouts) as sock:
        assert wait_closed(sock) == b""


@pytest.mark.slow
def test_a_connection_that_stops_halfway_through_its_headers_gets_408_and_is_closed(
    short_timeouts: ServerProcess,
) -> None:
    with connect(short_timeouts) as sock:
        sock.sendall(HALF_HEADERS)
        answer = wait_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"headers" in answer and b"TICKETS_HEADER_TIMEOUT" in answer


@pytest.mark.slow
def test_a_connection_that_stops_halfway_through_its_body_is_closed_after_the_body_timeout(
    short_timeouts: ServerProcess,
) -> None:
    with connect(short_timeouts) as sock:
        sock.sendall(
            b"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"title": '
        )
        wait_closed(sock)


@pytest.mark.slow
def test_a_keep_alive_connection_that_stalls_in_its_second_request_is_closed(short_timeouts: ServerProcess) -> None:
    with connect(short_timeouts) as sock:
        sock.sendall(HEALTHZ)
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        sock.sendall(HALF_HEADERS)
        assert wait_closed(sock).startswith(b"HTTP/1.1 408 ")


@pytest.mark.slow
def test_a_body_sent_in_pieces_without_pausing_is_answered(short_timeouts: ServerProcess) -> None:
    with connect(short_timeouts) as sock:
        sock.sendall(b"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n")
        sock.sendall(b"{")
        sock.sendall(b"}")
        assert read_response(sock).startswith(b"HTTP/1.1 401 ")  # answered by the app: no token


@pytest.mark.slow
def test_a_connection_over_the_per_address_cap_is_refused_at_once_with_a_503_naming_the_cap(
    capped: ServerProcess,
) -> None:
    with ExitStack() as stack:
        held = [stack.enter_context(connect(capped, "127.0.0.2")) for _ in range(PER_ADDRESS)]
        with connect(capped, "127.0.0.2") as over:
            refusal = wait_closed(over)
        assert refusal.startswith(b"HTTP/1.1 503 ")
        assert f"{PER_ADDRESS} connections".encode() in refusal and b"TICKETS_MAX_CONNECTIONS_PER_ADDRESS" in refusal
        assert all(is_open(sock) for sock in held)
        with connect(capped, "127.0.0.3") as other:  # another address is let in
            other.sendall(HEALTHZ)
            assert read_response(other).startswith(b"HTTP/1.1 200 ")


@pytest.mark.slow
def test_healthz_answers_while_slow_connections_outnumber_the_files_the_server_may_open(
    few_files: ServerProcess,
) -> None:
    with ExitStack() as stack:
        # 250 slow connections from 5 addresses: more than the 200 files the server may open.
        slow = [stack.enter_context(connect(few_files, f"127.0.1.{n % 5 + 1}")) for n in range(250)]
        for sock in slow[::2]:
            sock.sendall(HALF_HEADERS)
        response = httpx2.get(few_files.url + "/healthz", timeout=10.0)
        assert response.status_code == 200
        # The oldest slow connections made room: the server holds no more than its cap.
        assert sum(is_open(sock) for sock in slow) <= 100


@pytest.mark.slow
def test_healthz_answers_while_half_sent_bodies_fill_the_connection_cap(small_cap: ServerProcess) -> None:
    token = small_cap.create_token("--user", "alice", "--name", "slow-body")
    with ExitStack() as stack:
        slow: list[socket.socket] = []
        for n in range(SMALL_CAP):
            sock = stack.enter_context(connect(small_cap, f"127.0.2.{n % 3 + 1}"))
            # Bodies the app waits for: a login without a token, and a create with one.
            if n % 2:
                hold_half_body(sock, "/api/v1/native/tickets", token)
            else:
                hold_half_body(sock, "/board/login")
            slow.append(sock)
        with connect(small_cap, "127.0.2.9") as probe:
            probe.sendall(HEALTHZ)
            assert read_response(probe).startswith(b"HTTP/1.1 200 ")
        # The oldest half-sent body made room, and no other.
        assert wait_closed(slow[0]) == b""
        assert all(is_open(sock) for sock in slow[1:])


@pytest.mark.slow
def test_at_the_cap_a_connection_waiting_for_headers_makes_way_before_any_half_sent_body(
    small_cap: ServerProcess,
) -> None:
    with ExitStack() as stack:
        bodies = [stack.enter_context(connect(small_cap, "127.0.2.4")) for _ in range(SMALL_CAP - 1)]
        for sock in bodies:
            hold_half_body(sock, "/board/login")
        headers = stack.enter_context(connect(small_cap, "127.0.2.5"))
        headers.sendall(HALF_HEADERS)
        with connect(small_cap, "127.0.2.9") as probe:
            probe.sendall(HEALTHZ)
            assert read_response(probe).startswith(b"HTTP/1.1 200 ")
        assert wait_closed(headers) == b""
        assert all(is_open(sock) for sock in bodies)


def test_connections_get_half_the_open_file_limit_and_two_batches_of_accepts_fit_in_the_rest() -> None:
    room = capacity(1000, 1024)
    assert room == Capacity(max_connections=512, backlog=240, file_limit=1024)
    assert room.max_connections + 2 * room.backlog + FILES_KEPT <= 1024


def test_a_high_or_missing_open_file_limit_leaves_the_configured_cap_and_uvicorns_backlog() -> None:
    assert capacity(1000, 1 << 20) == Capacity(max_connections=1000, backlog=2048, file_limit=None)
    assert capacity(1000, None) == Capacity(max_connections=1000, backlog=2048, file_limit=None)
