"""The remote HTTP client against a real, misbehaving HTTP server on loopback (tests/fixtures/fault_server.py).

The fault matrix runs every case once as an idempotent GET and once as a non-idempotent POST and checks
three things: the request ends within a bound derived from the policy, it ends with the right reply or
error class and a message that says what happened, and the server saw exactly the expected number of
attempts (a POST is never sent twice unless the connection was refused before anything was sent).
Then: Retry-After in both forms and rate-limit reset headers (the pause between attempts is measured
on the server), redirects (credentials never reach another origin), base URL validation, the body cap,
and the token absent from every message and log record.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.fixtures.fault_server import FaultServer, Step, json_step, refused_url
from tickets_mcp.config import read_token_file
from tickets_mcp.errors import (
    BackendUnavailable,
    Conflict,
    Invalid,
    NotFound,
    PermissionDenied,
    RateLimited,
    TooLarge,
    TrackerError,
)
from tickets_mcp.remotes.client import (
    Ambiguous,
    Policy,
    RedirectedAway,
    RemoteClient,
    Reply,
    TokenRejected,
    remote_message,
    retry_after,
)

pytestmark = pytest.mark.anyio

TOKEN = "tok-5ecret-Abc123xyz"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
POLICY = Policy(timeout=0.3, deadline=2.5, retries=3, backoff=0.02, max_body=64 * 1024)
SLACK = 1.0  # seconds a request may run past its deadline: scheduling, not a benchmark
WITHIN_DEADLINE = POLICY.deadline + SLACK
ONE_ATTEMPT = POLICY.timeout + 0.5  # a request that must not retry or wait
BODY = {"title": "Printer on fire"}
BIG = b"[" + b"1," * 50_000 + b"1]"  # 100 KB of valid JSON, over the 64 KB cap


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Module-wide, so that one server and one client serve every test (a client costs an SSL context)."""
    return "asyncio"


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


@pytest.fixture(scope="module")
def shared_other() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


@pytest.fixture
def server(shared_server: FaultServer) -> FaultServer:
    """The tracker's server, with no scripts and no requests seen yet."""
    shared_server.reset()
    return shared_server


@pytest.fixture
def other(shared_other: FaultServer) -> FaultServer:
    """A second server on another port: another origin."""
    shared_other.reset()
    return shared_other


@pytest.fixture(scope="module")
async def client(shared_server: FaultServer) -> AsyncIterator[RemoteClient]:
    async with RemoteClient("acme", shared_server.url, AUTH, policy=POLICY) as remote:
        yield remote


async def outcome(client: RemoteClient, method: str, path: str, **kwargs: Any) -> tuple[Reply | TrackerError, float]:
    """The reply or the tracker error of one request, and how long it took."""
    kwargs.setdefault("json_body", BODY if method == "POST" else None)
    start = time.monotonic()
    try:
        result: Reply | TrackerError = await client.request(method, path, **kwargs)
    except TrackerError as exc:
        result = exc
    return result, time.monotonic() - start


def http_date(offset: float) -> dict[str, str]:
    return {"Retry-After": email.utils.formatdate(time.time() + offset, usegmt=True)}


# --- the fault matrix ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    error: type[TrackerError] | None  # exactly this class; None for a Reply
    says: tuple[str, ...] = ()  # fragments of str(error)
    attempts: int = 1  # requests the server saw
    within: float = WITHIN_DEADLINE  # seconds
    pause: float = 0.0  # seconds between attempts at least


@dataclass(frozen=True)
class Case:
    steps: tuple[Step, ...]
    get: Expect
    post: Expect


OK = json_step(200, {"id": 7})
NOT_APPLIED = "may or may not have been applied"
MATRIX: dict[str, Case] = {
    "timeout": Case(
        (Step(delay=1.0),),
        get=Expect(BackendUnavailable, ("acme did not answer GET /x after 4 attempts (timed out)",), 4),
        post=Expect(Ambiguous, ("acme did not answer POST /x (timed out)", NOT_APPLIED), 1, ONE_ATTEMPT),
    ),
    "reset": Case(
        (Step(reset=True),),
        get=Expect(
            BackendUnavailable, ("acme did not answer GET /x after 4 attempts (the connection was dropped)",), 4
        ),
        post=Expect(Ambiguous, ("acme did not answer POST /x (the connection was dropped)", NOT_APPLIED)),
    ),
    "hangup": Case(
        (Step(hangup=True),),
        get=Expect(
            BackendUnavailable, ("acme did not answer GET /x after 4 attempts (the connection was dropped)",), 4
        ),
        post=Expect(Ambiguous, ("acme did not answer POST /x (the connection was dropped)", NOT_APPLIED)),
    ),
    "body-cut-short-then-ok": Case(
        (Step(200, b'{"id": 7, "title": "half"}', cut=10), OK),
        get=Expect(None, attempts=2),
        post=Expect(Ambiguous, ("acme did not answer POST /x (the connection was dropped)", NOT_APPLIED)),
    ),
    "reset-then-ok": Case(
        (Step(reset=True), OK),
        get=Expect(None, attempts=2),
        post=Expect(Ambiguous, (NOT_APPLIED,)),
    ),
    "500-then-ok": Case(
        (json_step(500, {"message": "boom"}), OK),
        get=Expect(None, attempts=2),
        post=Expect(Ambiguous, ("acme failed POST /x with HTTP 500 (boom)", NOT_APPLIED)),
    ),
    "502-always": Case(
        (Step(502, b"<html>Bad Gateway</html>", content_type="text/html"),),
        get=Expect(
            BackendUnavailable, ("acme failed GET /x with HTTP 502 after 4 attempts (<html>Bad Gateway</html>)",), 4
        ),
        post=Expect(Ambiguous, ("acme failed POST /x with HTTP 502", NOT_APPLIED)),
    ),
    "503-twice-then-ok": Case(
        (Step(503), Step(503), OK),
        get=Expect(None, attempts=3),
        post=Expect(BackendUnavailable, ("acme failed POST /x with HTTP 503", "Retry later.")),
    ),
    "503-retry-after-beyond-deadline": Case(
        (json_step(503, {"message": "maintenance"}, headers={"Retry-After": "30"}),),
        get=Expect(BackendUnavailable, ("HTTP 503 (maintenance)", "Retry after 30 s."), 1, ONE_ATTEMPT),
        post=Expect(BackendUnavailable, ("HTTP 503 (maintenance)", "Retry after 30 s."), 1, ONE_ATTEMPT),
    ),
    "504-always": Case(
        (Step(504),),
        get=Expect(BackendUnavailable, ("acme failed GET /x with HTTP 504 after 4 attempts",), 4),
        post=Expect(Ambiguous, ("acme failed POST /x with HTTP 504", NOT_APPLIED)),
    ),
    "429-retry-after-1s-then-ok": Case(
        (json_step(429, {"message": "slow down"}, headers={"Retry-After": "1"}), OK),
        get=Expect(None, attempts=2, pause=1.0),
        post=Expect(RateLimited, ("acme is rate limiting these requests; retry after 1 s.",), 1, ONE_ATTEMPT),
    ),
    "429-retry-after-beyond-deadline": Case(
        (Step(429, headers={"Retry-After": "30"}),),
        get=Expect(RateLimited, ("acme is rate limiting these requests; retry after 30 s.",), 1, ONE_ATTEMPT),
        post=Expect(RateLimited, ("acme is rate limiting these requests; retry after 30 s.",), 1, ONE_ATTEMPT),
    ),
    "429-http-date-beyond-deadline": Case(
        (Step(429, headers=lambda: http_date(60)),),
        get=Expect(RateLimited, ("rate limiting these requests; retry after",), 1, ONE_ATTEMPT),
        post=Expect(RateLimited, ("rate limiting these requests; retry after",), 1, ONE_ATTEMPT),
    ),
    "403-rate-limit-used-up": Case(
        (
            json_step(
                403,
                {"message": "API rate limit exceeded"},
                headers=lambda: {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 600)},
            ),
        ),
        get=Expect(RateLimited, ("rate limiting these requests; retry after",), 1, ONE_ATTEMPT),
        post=Expect(RateLimited, ("rate limiting these requests; retry after",), 1, ONE_ATTEMPT),
    ),
    "403-secondary-rate-limit": Case(  # GitHub's secondary limits: a 403 naming its wait, the remaining count left
        (json_step(403, {"message": "You have exceeded a secondary rate limit."}, headers={"Retry-After": "60"}),),
        get=Expect(RateLimited, ("acme is rate limiting these requests; retry after 60 s.",), 1, ONE_ATTEMPT),
        post=Expect(RateLimited, ("acme is rate limiting these requests; retry after 60 s.",), 1, ONE_ATTEMPT),
    ),
    "malformed-json": Case(
        (Step(200, b'{"id": 7,'),),
        get=Expect(BackendUnavailable, ("acme answered GET /x with a body that is not JSON (HTTP 200)",)),
        post=Expect(Ambiguous, ("acme answered POST /x with a body that is not JSON", f"so POST /x {NOT_APPLIED}")),
    ),
    "garbled-gzip": Case(
        (Step(200, b"this is not gzip", headers={"Content-Encoding": "gzip"}),),
        get=Expect(BackendUnavailable, ("acme answered GET /x with a garbled body.",)),
        post=Expect(Ambiguous, ("acme answered POST /x with a garbled body, so POST /x", NOT_APPLIED)),
    ),
    "oversized-with-length": Case(
        (Step(200, BIG),),
        get=Expect(BackendUnavailable, ("acme answered GET /x with more than 64 KB (HTTP 200), which was not read",)),
        post=Expect(Ambiguous, ("acme answered POST /x with more than 64 KB", NOT_APPLIED)),
    ),
    "oversized-chunked": Case(
        (Step(200, BIG, chunked=True),),
        get=Expect(BackendUnavailable, ("acme answered GET /x with more than 64 KB (HTTP 200), which was not read",)),
        post=Expect(Ambiguous, ("acme answered POST /x with more than 64 KB", NOT_APPLIED)),
    ),
    "401-revoked": Case(
        (json_step(401, {"message": "Token revoked"}),),
        get=Expect(TokenRejected, ("acme rejected the token (Token revoked).", "expired or revoked")),
        post=Expect(TokenRejected, ("acme rejected the token (Token revoked).",)),
    ),
    "403-scope": Case(
        (
            json_step(
                403,
                {"error": "insufficient_scope", "error_description": "The token's scopes are too narrow."},
                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="write:tickets"'},
            ),
        ),
        get=Expect(PermissionDenied, ("acme refused GET /x: the token lacks the scope write:tickets",)),
        post=Expect(PermissionDenied, ("acme refused POST /x: the token lacks the scope write:tickets",)),
    ),
    "404": Case(
        (json_step(404, {"message": "Ticket not found"}),),
        get=Expect(NotFound, ("acme: GET /x: not found (Ticket not found).",)),
        post=Expect(NotFound, ("acme: POST /x: not found (Ticket not found).",)),
    ),
    "409": Case(
        (json_step(409, {"message": "Name taken"}),),
        get=Expect(Conflict, ("acme: GET /x: conflict (Name taken).",)),
        post=Expect(Conflict, ("acme: POST /x: conflict (Name taken).",)),
    ),
    "422": Case(
        (json_step(422, {"errors": [{"detail": "title is required"}]}),),
        get=Expect(Invalid, ("acme refused GET /x (HTTP 422): title is required.",)),
        post=Expect(Invalid, ("acme refused POST /x (HTTP 422): title is required.",)),
    ),
}


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("name", list(MATRIX))
async def test_fault_matrix(name: str, method: str, server: FaultServer, client: RemoteClient) -> None:
    case = MATRIX[name]
    expect = case.get if method == "GET" else case.post
    server.script("/x", *case.steps)

    result, elapsed = await outcome(client, method, "/x")

    assert elapsed <= expect.within, f"{name}: took {elapsed:.2f} s, bound {expect.within:.2f} s"
    if expect.error is None:
        assert isinstance(result, Reply), result
        assert (result.status, result.body, result.attempts) == (200, {"id": 7}, expect.attempts)
    else:
        assert type(result) is expect.error, f"{name}: {type(result).__name__}: {result}"
        for fragment in expect.says:
            assert fragment in str(result), f"{name}: {fragment!r} not in {str(result)!r}"
        assert TOKEN not in str(result)
    seen = server.requests("/x")
    assert len(seen) == expect.attempts, f"{name}: the server saw {len(seen)} requests"
    assert all(gap >= expect.pause for gap in server.gaps("/x")), server.gaps("/x")
    assert all(s.method == method and s.headers["authorization"] == f"Bearer {TOKEN}" for s in seen)
    if method == "POST":
        assert all(json.loads(s.body) == BODY for s in seen)


async def test_rate_limited_carries_the_servers_wait(server: FaultServer, client: RemoteClient) -> None:
    server.script("/x", Step(429, headers={"Retry-After": "30"}))
    result, _ = await outcome(client, "GET", "/x")
    assert isinstance(result, RateLimited)
    assert result.retry_after == 30.0

    server.script("/d", Step(429, headers=lambda: http_date(60)))
    result, _ = await outcome(client, "GET", "/d")
    assert isinstance(result, RateLimited)
    assert 58.0 <= result.retry_after <= 61.0
    assert f"retry after {int(result.retry_after)} s" in str(result)


async def test_a_refused_connection_is_retried_even_for_a_post() -> None:
    """Nothing was sent, so sending again cannot apply anything twice; it ends as unavailable, not ambiguous."""
    policy = Policy(timeout=0.3, deadline=2.5, retries=3, backoff=0.01)
    async with RemoteClient("acme", refused_url(), AUTH, policy=policy) as client:
        for method in ("GET", "POST"):
            result, elapsed = await outcome(client, method, "/x")
            assert elapsed <= WITHIN_DEADLINE
            assert type(result) is BackendUnavailable
            assert f"acme did not answer {method} /x after 4 attempts (could not connect)" in str(result)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_trickling_answer_ends_at_the_deadline(method: str, server: FaultServer) -> None:
    """A server that sends a byte every 0.2 s never trips the per-read timeout; the deadline still holds."""
    server.script("/x", Step(200, b'{"id": 7, "padding": "' + b"x" * 100 + b'"}', drip=0.2))
    policy = Policy(timeout=0.3, deadline=0.7, retries=3, backoff=0.02)
    async with RemoteClient("acme", server.url, AUTH, policy=policy) as client:
        result, elapsed = await outcome(client, method, "/x")
    assert elapsed <= policy.deadline + 0.5
    assert type(result) is (BackendUnavailable if method == "GET" else Ambiguous)
    assert "timed out" in str(result)
    assert server.count("/x") == 1


# --- Retry-After and rate-limit resets: the pause between attempts, measured by the server ---------------------


def date_form(now: float) -> tuple[dict[str, str], float]:
    """Retry-After as an HTTP date, which has whole seconds: 1.5 s from now asks for 0.5 to 1.5 s."""
    when = int(now + 1.5)
    return {"Retry-After": email.utils.formatdate(when, usegmt=True)}, when - now


def epoch_form(now: float) -> tuple[dict[str, str], float]:
    when = int(now + 1.5)
    return {"X-RateLimit-Reset": str(when)}, when - now


def seconds_form(now: float) -> tuple[dict[str, str], float]:
    return {"RateLimit-Reset": "1"}, 1.0


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(date_form, id="retry-after-http-date"),
        pytest.param(seconds_form, id="ratelimit-reset-seconds"),
        pytest.param(epoch_form, id="x-ratelimit-reset-epoch"),
    ],
)
async def test_the_asked_wait_is_honoured(
    form: Callable[[float], tuple[dict[str, str], float]], server: FaultServer, client: RemoteClient
) -> None:
    """The server computes its headers as it answers and notes the wait they ask for at that moment;
    the next attempt must not arrive sooner. (Retry-After in seconds: the matrix's 429 case.)"""
    asked: list[float] = []

    def headers() -> dict[str, str]:
        made, wait = form(time.time())
        asked.append(wait)
        return made

    server.script("/x", Step(429, headers=headers), OK)
    result, elapsed = await outcome(client, "GET", "/x")
    assert isinstance(result, Reply)
    assert result.attempts == 2
    (gap,) = server.gaps("/x")
    assert gap >= asked[0] - 0.01
    assert elapsed <= WITHIN_DEADLINE


async def test_without_a_named_wait_the_backoff_doubles(server: FaultServer, client: RemoteClient) -> None:
    server.script("/x", Step(503), Step(503), Step(503), OK)
    result, _ = await outcome(client, "GET", "/x")
    assert isinstance(result, Reply)
    assert result.attempts == 4
    gaps = server.gaps("/x")
    pauses = [POLICY.backoff, 2 * POLICY.backoff, 4 * POLICY.backoff]
    assert [gap >= pause for gap, pause in zip(gaps, pauses, strict=True)] == [True, True, True]


async def test_an_exhausted_rate_limit_on_a_403_is_waited_out_when_it_resets_soon(
    server: FaultServer, client: RemoteClient
) -> None:
    server.script("/x", Step(403, headers={"X-RateLimit-Remaining": "0", "RateLimit-Reset": "0.5"}), OK)
    result, _ = await outcome(client, "GET", "/x")
    assert isinstance(result, Reply)
    assert result.attempts == 2
    (gap,) = server.gaps("/x")
    assert gap >= 0.5


# --- what the caller may mark or the method implies -----------------------------------------------------------


async def test_a_post_marked_idempotent_is_retried(server: FaultServer, client: RemoteClient) -> None:
    server.script("/x", Step(503), OK)
    result, _ = await outcome(client, "POST", "/x", idempotent=True)
    assert isinstance(result, Reply)
    assert result.attempts == 2
    assert server.count("/x", "POST") == 2


async def test_a_get_marked_not_idempotent_is_not_retried(server: FaultServer, client: RemoteClient) -> None:
    server.script("/x", Step(delay=1.0))
    result, elapsed = await outcome(client, "GET", "/x", idempotent=False)
    assert type(result) is Ambiguous
    assert elapsed <= ONE_ATTEMPT
    assert server.count("/x") == 1


async def test_a_retried_delete_that_then_finds_nothing_says_it_may_have_worked(
    server: FaultServer, client: RemoteClient
) -> None:
    server.script("/x", Step(delay=1.0), json_step(404, {"message": "Ticket not found"}))
    result, _ = await outcome(client, "DELETE", "/x")
    assert type(result) is NotFound
    assert "An earlier attempt got no answer and may have applied it already." in str(result)
    assert server.count("/x", "DELETE") == 2


# --- redirects --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "status"), [("GET", 302), ("GET", 301), ("POST", 307), ("POST", 308)])
async def test_a_redirect_to_another_port_is_refused_and_gets_no_credential(
    method: str, status: int, server: FaultServer, other: FaultServer, client: RemoteClient
) -> None:
    server.script("/x", Step(status, headers={"Location": f"{other.url}stolen"}))
    other.script("/stolen", OK)
    result, elapsed = await outcome(client, method, "/x")
    assert elapsed <= ONE_ATTEMPT
    assert type(result) is RedirectedAway  # a 307/308 means "not here": nothing was applied
    assert result.origin == f"http://127.0.0.1:{other.port}"
    assert f"acme redirected {method} /x to another host (http://127.0.0.1:{other.port}); " in str(result)
    assert "the token was not sent there" in str(result)
    assert server.count("/x") == 1
    assert other.seen == []
    async with httpx2.AsyncClient() as plain:  # the other server does answer: the refusal is the client's
        assert (await plain.get(f"{other.url}stolen")).status_code == 200
    assert other.count() == 1
    assert "authorization" not in other.seen[0].headers


async def test_a_redirect_to_another_host_name_on_the_same_port_is_refused(
    server: FaultServer, client: RemoteClient
) -> None:
    server.script("/x", Step(302, headers={"Location": f"http://localhost:{server.port}/stolen"}))
    result, _ = await outcome(client, "GET", "/x")
    assert type(result) is RedirectedAway
    assert f"to another host (http://localhost:{server.port})" in str(result)
    assert server.count("/stolen") == 0


async def test_a_post_answered_see_other_on_another_host_is_ambiguous(
    server: FaultServer, other: FaultServer, client: RemoteClient
) -> None:
    """303 (or 301/302) after a POST is post/redirect/get: the POST may well have been applied."""
    server.script("/x", Step(303, headers={"Location": f"{other.url}tickets/7"}))
    result, _ = await outcome(client, "POST", "/x")
    assert type(result) is Ambiguous
    assert NOT_APPLIED in str(result)
    assert other.seen == []


async def test_a_full_url_on_another_origin_is_refused_before_sending(other: FaultServer, client: RemoteClient) -> None:
    """An adapter following a pagination link the remote returned must not carry the token elsewhere."""
    result, _ = await outcome(client, "GET", f"{other.url}page2")
    assert type(result) is BackendUnavailable
    assert "the token was not sent there" in str(result)
    assert other.seen == []


async def test_a_full_url_on_the_same_origin_is_fine(server: FaultServer, client: RemoteClient) -> None:
    server.script("/page2", OK)
    result, _ = await outcome(client, "GET", f"{server.url}page2?cursor=abc")
    assert isinstance(result, Reply)
    assert server.requests("/page2")[0].query == "cursor=abc"


async def test_a_same_origin_redirect_is_followed_with_its_own_query(server: FaultServer, client: RemoteClient) -> None:
    server.script("/x", Step(302, headers={"Location": "/target?page=2"}))
    server.script("/target", OK)
    result, _ = await outcome(client, "GET", "/x", params={"page": 1, "state": "open"})
    assert isinstance(result, Reply)
    assert (result.status, result.body, result.attempts) == (200, {"id": 7}, 1)
    first, second = server.seen
    assert (first.path, first.query) == ("/x", "page=1&state=open")
    assert (second.path, second.query) == ("/target", "page=2")  # the Location's query, not ours merged in
    assert second.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(("status", "method_after"), [(307, "POST"), (308, "POST"), (303, "GET"), (302, "GET")])
async def test_a_same_origin_redirect_of_a_post(
    status: int, method_after: str, server: FaultServer, client: RemoteClient
) -> None:
    server.script("/x", Step(status, headers={"Location": "/target"}))
    server.script("/target", OK)
    result, _ = await outcome(client, "POST", "/x")
    assert isinstance(result, Reply)
    assert server.count("/x", "POST") == 1
    (target,) = server.requests("/target")
    assert target.method == method_after
    assert target.body == (json.dumps(BODY, separators=(",", ":")).encode() if method_after == "POST" else b"")


async def test_a_redirect_loop_ends(server: FaultServer, client: RemoteClient) -> None:
    server.script("/x", Step(302, headers={"Location": "/x"}))
    result, elapsed = await outcome(client, "GET", "/x")
    assert type(result) is BackendUnavailable
    assert "acme redirected GET /x more than 5 times" in str(result)
    assert server.count("/x") == 6
    assert elapsed <= ONE_ATTEMPT


# --- bodies -----------------------------------------------------------------------------------------------------


async def test_a_body_at_the_cap_is_read(server: FaultServer, client: RemoteClient) -> None:
    exact = b'"' + b"a" * (POLICY.max_body - 2) + b'"'
    server.script("/exact", Step(200, exact, chunked=True))
    server.script("/over", Step(200, exact + b" ", chunked=True))
    result, _ = await outcome(client, "GET", "/exact")
    assert isinstance(result, Reply)
    assert len(result.body) == POLICY.max_body - 2
    result, _ = await outcome(client, "GET", "/over")
    assert type(result) is BackendUnavailable


async def test_a_file_is_sent_as_octet_stream_and_read_back_as_bytes_up_to_its_bound(
    server: FaultServer, client: RemoteClient
) -> None:
    server.script("/up", Step(201, b'{"ok":1}'))
    await client.request("POST", "/up", content=b"\x00\x01 bytes", idempotent=True)
    (sent,) = server.requests("/up")
    assert (sent.body, sent.headers["content-type"]) == (b"\x00\x01 bytes", "application/octet-stream")
    server.script("/file", Step(200, b"\x89PNG" + b"x" * 96, content_type="image/png", chunked=True))
    reply = await client.request("GET", "/file", raw_max=100)
    assert reply.body == b"\x89PNG" + b"x" * 96
    result, _ = await outcome(client, "GET", "/file", raw_max=99)  # streamed: refused once past the bound
    assert type(result) is TooLarge and "more than 99 bytes" in str(result)  # as a remote 413 or a listed size


async def test_a_quote_in_a_form_file_name_is_escaped_in_its_part(server: FaultServer, client: RemoteClient) -> None:
    server.script("/uploads", Step(201, b'{"ok":1}'))
    files = {"file": ('odd "name".png', b"\x89PNG\r\n\x00", "image/png")}
    await client.request("POST", "/uploads", files=files, idempotent=True)
    (sent,) = server.requests("/uploads")
    kind, _, boundary = sent.headers["content-type"].partition("; boundary=")
    assert kind == "multipart/form-data" and boundary
    assert sent.body == (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="odd %22name%22.png"\r\n'
        + b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x00\r\n"
        + f"--{boundary}--\r\n".encode()
    )


async def test_a_file_in_a_form_is_sent_as_multipart_with_the_headers_asked_for(
    server: FaultServer, client: RemoteClient
) -> None:
    server.script("/form", Step(200, b"[]"))
    files = {"file": ("trace log.txt", b"\x00\xffbytes\r\n--", "text/plain")}
    sent_headers = {"X-Atlassian-Token": "no-check", "Authorization": "Bearer someone-else"}
    await client.request("POST", "/form", files=files, headers=sent_headers)
    (sent,) = server.requests("/form")
    assert sent.headers["x-atlassian-token"] == "no-check"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"  # the client's credential, never a caller's
    kind, _, boundary = sent.headers["content-type"].partition("; boundary=")
    assert kind == "multipart/form-data"
    opening, part, closing = sent.body.split(b"--" + boundary.encode())
    assert (opening, closing) == (b"", b"--\r\n")
    head, _, content = part.partition(b"\r\n\r\n")
    assert b'Content-Disposition: form-data; name="file"; filename="trace log.txt"' in head
    assert b"Content-Type: text/plain" in head
    assert content == b"\x00\xffbytes\r\n--\r\n"


async def test_a_form_is_sent_again_byte_for_byte_when_a_retry_is_safe(
    server: FaultServer, client: RemoteClient
) -> None:
    server.script("/form", Step(503), Step(200, b"[]"))
    await client.request("POST", "/form", files={"file": ("a.bin", b"\x01\x02", "image/png")}, idempotent=True)
    first, second = server.requests("/form")
    assert (first.body, first.headers["content-type"]) == (second.body, second.headers["content-type"])


async def test_a_body_too_large_for_the_remote_is_too_large(server: FaultServer, client: RemoteClient) -> None:
    server.script("/up", json_step(413, {"errorMessages": ["The file is larger than the limit."]}))
    result, _ = await outcome(client, "POST", "/up", content=b"x" * 10, json_body=None)
    assert type(result) is TooLarge
    assert str(result).startswith("acme refused POST /up as too large (HTTP 413): The file is larger than the limit.")


async def test_an_oversized_error_body_is_cut_and_the_status_still_speaks(
    server: FaultServer, client: RemoteClient
) -> None:
    server.script("/x", Step(404, b"No such thing. " * 20_000, content_type="text/plain", chunked=True))
    result, _ = await outcome(client, "GET", "/x")
    assert type(result) is NotFound
    assert "acme: GET /x: not found (No such thing." in str(result)
    assert len(str(result)) < 400


async def test_head_does_not_read_the_declared_length(server: FaultServer, client: RemoteClient) -> None:
    server.script("/x", Step(200, BIG))
    result, _ = await outcome(client, "HEAD", "/x")
    assert isinstance(result, Reply)
    assert (result.status, result.body, result.headers["content-length"]) == (200, None, str(len(BIG)))


async def test_an_empty_success_is_none(server: FaultServer, client: RemoteClient) -> None:
    server.script("/x", Step(204, b""))
    result, _ = await outcome(client, "DELETE", "/x")
    assert isinstance(result, Reply)
    assert (result.status, result.body) == (204, None)


# --- base URLs --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://tracker.example.com",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://",
        "https:///api",
        "tracker.example.com",
        "",
        "https://alice:hunter2-pass@tracker.example.com",
        "https://hunter2-pass@tracker.example.com",
        "https://tracker.example.com/api?private_token=hunter2-pass",
        "https://tracker.exa\nmple.com/hunter2-pass",
        "http://[::1/hunter2-pass",
    ],
)
def test_bad_base_urls_are_refused_without_repeating_them(url: str) -> None:
    with pytest.raises(Invalid) as caught:
        RemoteClient("acme", url, AUTH, policy=POLICY)
    assert caught.value.field == "url"
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://tracker.example.com", "https://tracker.example.com/"),
        ("  https://tracker.example.com/api/v4/  ", "https://tracker.example.com/api/v4/"),
        ("http://127.0.0.1:8080/api#frag", "http://127.0.0.1:8080/api/"),
    ],
)
async def test_good_base_urls_are_normalised(url: str, base: str) -> None:
    async with RemoteClient("acme", url, AUTH, policy=POLICY) as client:
        assert str(client.base_url) == base
        assert str(client.url("/projects/a%2Fb")) == base + "projects/a%2Fb"


async def test_a_base_path_prefixes_every_path_and_messages_name_the_callers_path(server: FaultServer) -> None:
    server.script("/api/v4/projects/a%2Fb", json_step(404, {"message": "404 Project Not Found"}))
    async with RemoteClient("gitlab", server.url + "api/v4", AUTH, policy=POLICY) as client:
        result, _ = await outcome(client, "GET", "projects/a%2Fb")
    assert type(result) is NotFound
    assert "gitlab: GET projects/a%2Fb: not found (404 Project Not Found)." in str(result)
    assert server.count("/api/v4/projects/a%2Fb") == 1


# --- the token --------------------------------------------------------------------------------------------------


async def test_the_token_is_in_no_message_and_no_log_record(
    server: FaultServer, client: RemoteClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Remote messages that echo the token are redacted; no log record (ours, httpx2's, httpcore2's debug
    traces) carries the token the client sends."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpcore2")  # logs.configure, run by an earlier test, quiets it
    server.script("/echo401", json_step(401, {"message": f"token {TOKEN} was revoked"}))
    server.script("/echo403", json_step(403, {"message": f"Bearer {TOKEN} may not"}))
    server.script("/echo500", Step(500, f"crash while checking Bearer {TOKEN}".encode(), content_type="text/plain"))
    server.script("/slow", Step(delay=1.0))
    server.script("/flaky", Step(503), Step(reset=True), OK)
    messages: list[str] = []
    for method, path in [("GET", "/echo401"), ("POST", "/echo403"), ("GET", "/echo500"), ("POST", "/echo500"),
                         ("POST", "/slow"), ("GET", "/flaky")]:  # fmt: skip
        result, _ = await outcome(client, method, path)
        messages.append(str(result))
    assert "acme rejected the token (token [redacted] was revoked)." in messages[0]
    assert all(TOKEN not in message and "5ecret" not in message for message in messages), messages
    assert any("retrying" in record.getMessage() for record in caplog.records)  # the logs were captured
    assert any(record.name.startswith("httpcore2") for record in caplog.records)  # at debug level
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("headers", "body", "says"),
    [
        pytest.param({}, {"error": "insufficient_scope", "scope": "api"}, "the token lacks the scope api", id="gitlab"),
        pytest.param(
            {"X-Accepted-OAuth-Scopes": "repo", "X-OAuth-Scopes": "read:org, gist"},
            {"message": "No"},
            "the token lacks the scope repo",
            id="github-missing",
        ),
        pytest.param(
            {"X-Accepted-OAuth-Scopes": "repo", "X-OAuth-Scopes": "repo"},
            {"message": "Not a collaborator"},
            "acme refused GET /x: Not a collaborator.",
            id="github-has-it",
        ),
        pytest.param({}, {"message": "Forbidden", "scope": "project"}, "acme refused GET /x: Forbidden.", id="plain"),
    ],
)
async def test_which_scope_a_403_says_is_missing(
    headers: dict[str, str], body: Any, says: str, server: FaultServer, client: RemoteClient
) -> None:
    server.script("/x", json_step(403, body, headers=headers))
    result, _ = await outcome(client, "GET", "/x")
    assert type(result) is PermissionDenied
    assert says in str(result)
    assert ("lacks the scope" in str(result)) == ("lacks" in says)


async def test_a_scope_challenge_echoing_the_token_is_redacted(server: FaultServer, client: RemoteClient) -> None:
    challenge = f'Bearer error="insufficient_scope", scope="{TOKEN}"'
    server.script("/x", json_step(403, {"error": "insufficient_scope"}, headers={"WWW-Authenticate": challenge}))
    result, _ = await outcome(client, "GET", "/x")
    assert type(result) is PermissionDenied
    assert "the token lacks the scope [redacted]" in str(result)
    assert TOKEN not in str(result)


# --- the parsers on their own -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": " 1.5 "}, 1.5),
        ({"retry-after": "Sun, 09 Sep 2001 01:48:00 GMT"}, 60.0),  # "now", 1_000_000_020, is 01:47:00
        ({"retry-after": "Sun, 09 Sep 2001 01:46:00 GMT"}, 0.0),  # in the past: no wait
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-5"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "soon", "x-ratelimit-reset": "12"}, 12.0),  # an unreadable Retry-After falls through
        ({"x-ratelimit-reset": "1000000050"}, 30.0),  # an epoch timestamp
        ({"x-ratelimit-reset": "999999999"}, 999999999.0),  # below 10^9: taken as seconds
        ({"ratelimit-reset": "30"}, 30.0),  # seconds (the IETF draft)
        ({"x-rate-limit-reset": "later"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after(headers, now=1_000_000_020.0) == seconds


@pytest.mark.parametrize(
    ("body", "text", "said"),
    [
        ({"message": "Ticket not found"}, "", "Ticket not found"),
        ({"error": {"message": "nested"}}, "", "nested"),
        ({"error": "insufficient_scope", "error_description": "needs api"}, "", "needs api"),
        ({"errors": [{"title": "Bad", "detail": "title is required"}]}, "", "title is required"),
        ({"errors": ["plain"]}, "", "plain"),
        ({"errors": {"title": ["can't be blank"]}}, "", '{"title":["can\'t be blank"]}'),
        (None, "line one\nline\x00two", "line one line two"),
        ({"message": "x" * 500}, "", "x" * 200 + "…"),
    ],
)
def test_remote_message(body: Any, text: str, said: str) -> None:
    assert remote_message(body, text) == said


@pytest.mark.parametrize("token", ["s\u00e9cret", "\u201cquoted\u201d", "line\nbreak", "nul\x00", "cr\r"])
def test_a_token_no_http_header_can_carry_is_refused_in_one_line_without_showing_it(token: str) -> None:
    with pytest.raises(Invalid, match="holds a character an HTTP header cannot carry") as refused:
        RemoteClient("acme", "https://tracker.example.com", {"Authorization": f"Bearer {token}"})
    assert token not in str(refused.value) and "\n" not in str(refused.value)


def test_a_token_file_written_with_a_byte_order_mark_holds_the_token(tmp_path: Path) -> None:
    held = tmp_path / "token"
    held.write_bytes("\ufeffpk_token\r\n".encode())
    assert read_token_file(str(held)) == "pk_token"
