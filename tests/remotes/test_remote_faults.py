"""The fault matrix of every remote adapter: real network faults between the adapter and its real peer.

native, agentsmesh, bugtome and abf talk to one `tickets-mcp serve`, gitlab to the fake GitLab served
over HTTP (tests/fixtures/remote_peers.py), each through a FaultServer proxy on loopback. The proxy passes
requests on, except the next one a case scripts, on the path of the adapter's ticket list (a read) or
the next POST (a create or a comment): it answers late, 429 with Retry-After in seconds or as an HTTP
date, 5xx, malformed JSON, an oversized body, a redirect to another host, or it passes the request on
and then loses or spoils the answer, so the write was applied while the adapter cannot know. A revoked
token is revoked on the peer itself.

Every case checks the error's class, that its message starts with the backend's name and says what to
do, that it ended within its bound, and how many requests the proxy saw of the faulted kind: a POST
goes out once, whatever happens, and a create whose answer was lost finds the ticket it made instead
of filing it again. The peer is then asked how many tickets or comments exist.
"""

from __future__ import annotations

import email.utils
import itertools
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, cast

import pytest

from tests.fixtures.fake_gitlab import TOKEN as GITLAB_TOKEN
from tests.fixtures.fault_server import FaultServer, Seen, Step, json_step, relay
from tests.fixtures.handler_server import HandlerServer
from tests.fixtures.http_server import ServerProcess, running_server
from tests.fixtures.redmine_peer import URL as REDMINE_URL
from tests.fixtures.redmine_peer import RedminePeer, needs_redmine
from tests.fixtures.remote_contract import Peer
from tests.fixtures.remote_peers import GitLabPeer, serve_peer
from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import TicketDraft, TicketFilter
from tickets_mcp.domain import Capability, Comment, Project, Status, Ticket, TicketPage
from tickets_mcp.errors import BackendUnavailable, PermissionDenied, RateLimited, TrackerError
from tickets_mcp.remotes import abf, agentsmesh, bugtome, gitlab, native, redmine
from tickets_mcp.remotes.base import RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy, RedirectedAway, Reply, TokenRejected

pytestmark = pytest.mark.anyio

POLICY = Policy(timeout=0.5, deadline=3.0, retries=2, backoff=0.05, max_body=64 * 1024)
ATTEMPTS = 1 + POLICY.retries
SLACK = 1.0  # seconds past a bound for scheduling, not a benchmark
WITHIN_DEADLINE = POLICY.deadline + SLACK
AT_ONCE = POLICY.timeout + SLACK  # a case that must neither retry nor wait
LATE = Step(delay=2 * POLICY.timeout)  # answered after the client gave up
# For a test about what is answered, not when: a loaded CI machine may take longer than POLICY's half second.
UNHURRIED = Policy(retries=0, max_body=64 * 1024)
BIG = b'{"tickets": [' + b'"padding",' * 8_000 + b'"end"]}'  # 80 KB of JSON, over the 64 KB cap
LISTED, FILED, SAID = "Listed before the fault", "Printer on fire", "Seen on the third floor too."

ADAPTERS: dict[str, type[RemoteTracker]] = {
    tracker.name: tracker
    for tracker in (
        native.NativeTracker,
        agentsmesh.AgentsMeshTracker,
        bugtome.BugToMeTracker,
        abf.AbfTracker,
        gitlab.GitLabTracker,
        redmine.RedmineTracker,
    )
}
NEEDS = {"redmine": needs_redmine}  # backends whose peer is a live system that may not be running here
LIST_PATHS = {"native": "/tickets", "agentsmesh": "/tickets", "bugtome": "/tickets", "abf": "/issues.json",
              "gitlab": "/issues", "redmine": "/issues.json"}  # fmt: skip
COMMENT_METHODS = {"redmine": "PUT"}  # a Redmine comment is a PUT of the issue with notes
ONE_LIST = {"abf": (Status.BACKLOG,)}  # ABF reads open and closed issues apart: one status, one remote list


def retry_at_the_second_after_next() -> dict[str, str]:
    """Retry-After as an HTTP date, which has whole seconds: more than 1 s and at most 2 s from now."""
    return {"Retry-After": email.utils.formatdate(math.ceil(time.time()) + 1, usegmt=True)}


# --- the cases --------------------------------------------------------------------------------------------------

Op = Literal["read", "create", "comment"]


@dataclass(frozen=True)
class Case:
    op: Op  # read: list the project's tickets (GET); create: file a ticket (POST); comment: add one (POST)
    steps: tuple[Step, ...] = ()  # for the next requests of the op's kind; the rest are passed on
    error: type[TrackerError] | None = None  # exactly this class; None: the op succeeds
    says: tuple[str, ...] = ()  # words of the message, after the backend's name
    sent: int = 1  # requests of the faulted kind the proxy saw (every request, for a revoked token)
    applied: int = 0  # tickets titled FILED, or comments saying SAID, that exist afterwards
    pause: float = 0.0  # seconds at least between attempts
    within: float = WITHIN_DEADLINE
    redirect: int | None = None  # answer with this status and a Location on the other server instead
    revoke: bool = False  # revoke the token on the peer before the op
    waits: tuple[float, float] | None = None  # bounds of RateLimited.retry_after


SLOW_DOWN = {"message": "slow down"}
FORBIDDEN = {"message": "403 Forbidden"}  # a token the remote knows, without the role or scope: not TokenRejected
LOST = ("may or may not have been applied", "Check before retrying")
TOKEN_REJECTED = ("rejected the token", "revoked", "TICKETS_TOKEN")
NOT_SENT_THERE = ("to another host", "the token was not sent there", "final address")
CASES: dict[str, Case] = {
    "read-timeout-every-attempt": Case(
        "read", (LATE,) * (ATTEMPTS + 1), BackendUnavailable,
        ("did not answer GET", f"after {ATTEMPTS} attempts (timed out)", "Retry later"), sent=ATTEMPTS,
    ),
    "read-429-retry-after-seconds-then-ok": Case(
        "read", (json_step(429, SLOW_DOWN, headers={"Retry-After": "1"}),), sent=2, pause=1.0
    ),
    "read-429-retry-after-date-then-ok": Case(
        "read", (json_step(429, SLOW_DOWN, headers=retry_at_the_second_after_next),), sent=2, pause=1.0
    ),
    "read-429-wait-past-the-deadline": Case(
        "read", (json_step(429, SLOW_DOWN, headers={"Retry-After": "30"}),), RateLimited,
        ("is rate limiting these requests; retry after 30 s",), within=AT_ONCE, waits=(30, 30),
    ),
    "read-503-then-ok": Case("read", (Step(503),), sent=2),
    "read-503-every-attempt": Case(
        "read", (json_step(503, {"message": "maintenance"}),) * (ATTEMPTS + 1), BackendUnavailable,
        ("failed GET", f"with HTTP 503 after {ATTEMPTS} attempts (maintenance)", "Retry later"), sent=ATTEMPTS,
    ),
    "read-malformed-json": Case(
        "read", (Step(200, b'{"tickets": [{"id": 1,'),), BackendUnavailable,
        ("answered GET", "with a body that is not JSON", "Check that the URL"), within=AT_ONCE,
    ),
    "read-oversized-body": Case(
        "read", (Step(200, BIG, chunked=True),), BackendUnavailable,
        ("answered GET", "with more than 64 KB (HTTP 200), which was not read", "fewer items"), within=AT_ONCE,
    ),
    "read-redirect-302-to-another-host": Case(
        "read", error=RedirectedAway, says=("redirected GET", *NOT_SENT_THERE), within=AT_ONCE, redirect=302
    ),
    "read-redirect-307-to-another-host": Case(
        "read", error=RedirectedAway, says=("redirected GET", *NOT_SENT_THERE), within=AT_ONCE, redirect=307
    ),
    "read-revoked-token": Case("read", error=TokenRejected, says=TOKEN_REJECTED, within=AT_ONCE, revoke=True),
    "read-403-forbidden": Case(
        "read", (json_step(403, FORBIDDEN),), PermissionDenied, ("refused GET", "may lack a scope or role"),
        within=AT_ONCE,
    ),
    "create-timeout-after-applied": Case("create", (relay(delay=2 * POLICY.timeout),), applied=1),
    "create-timeout-before-passed-on": Case("create", (LATE,), Ambiguous, ("did not answer POST", "timed out", *LOST)),
    "create-reset-after-applied": Case("create", (relay(reset=True),), applied=1),
    "create-429-retry-after-seconds": Case(
        "create", (json_step(429, SLOW_DOWN, headers={"Retry-After": "1"}),), RateLimited,
        ("is rate limiting these requests; retry after 1 s",), within=AT_ONCE, waits=(1, 1),
    ),
    "create-429-retry-after-date": Case(
        "create", (json_step(429, SLOW_DOWN, headers=retry_at_the_second_after_next),), RateLimited,
        ("is rate limiting these requests; retry after",), within=AT_ONCE, waits=(1, 2),
    ),
    "create-503": Case(
        "create", (json_step(503, {"message": "maintenance"}),), BackendUnavailable,
        ("failed POST", "with HTTP 503 (maintenance)", "Retry later"), within=AT_ONCE,
    ),
    "create-500-after-applied": Case("create", (relay(status=500, body=b'{"message": "boom"}'),), applied=1),
    "create-502-after-applied": Case(
        "create", (relay(status=502, body=b"<html>Bad Gateway</html>", content_type="text/html"),), applied=1
    ),
    "create-malformed-json-after-applied": Case("create", (relay(body=b'{"ticket": {"id": 7,'),), applied=1),
    "create-redirect-307-to-another-host": Case(
        "create", error=RedirectedAway, says=("redirected POST", *NOT_SENT_THERE), within=AT_ONCE, redirect=307
    ),
    "create-revoked-token": Case("create", error=TokenRejected, says=TOKEN_REJECTED, within=AT_ONCE, revoke=True),
    "create-403-forbidden": Case(
        "create", (json_step(403, FORBIDDEN),), PermissionDenied, ("refused POST", "may lack a scope or role"),
        within=AT_ONCE,
    ),
    # A lost comment is not looked for: it stays ambiguous, and the message says to check first.
    "comment-timeout-after-applied": Case(
        "comment", (relay(delay=2 * POLICY.timeout),), Ambiguous, ("did not answer POST", *LOST), applied=1
    ),
    "comment-timeout-before-passed-on": Case("comment", (LATE,), Ambiguous, ("did not answer POST", *LOST)),
    "comment-429-retry-after-seconds": Case(
        "comment", (json_step(429, SLOW_DOWN, headers={"Retry-After": "1"}),), RateLimited,
        ("is rate limiting these requests; retry after 1 s",), within=AT_ONCE, waits=(1, 1),
    ),
    "comment-503": Case(
        "comment", (Step(503, b""),), BackendUnavailable, ("failed POST", "with HTTP 503. Retry later"),
        within=AT_ONCE,
    ),
    "comment-502-after-applied": Case(
        "comment", (relay(status=502, body=b"<html>Bad Gateway</html>", content_type="text/html"),), Ambiguous,
        ("failed POST", "with HTTP 502", *LOST), applied=1,
    ),
    "comment-malformed-json-after-applied": Case(
        "comment", (relay(body=b"<html>"),), Ambiguous, ("with a body that is not JSON", *LOST), applied=1
    ),
    "comment-revoked-token": Case(
        "comment", error=TokenRejected, says=TOKEN_REJECTED, within=AT_ONCE, revoke=True
    ),
}  # fmt: skip
# Where a backend does better than the case demands. A Redmine comment is a PUT answered 204 without a
# body, and the adapter reads the issue back to return the note: a spoiled body after it was applied
# loses nothing the adapter needs, so the comment is returned.
OVERRIDES = {
    ("redmine", "comment-malformed-json-after-applied"): Case("comment", (relay(body=b"<html>"),), applied=1),
}


def matrix() -> list[object]:
    """Every adapter × every case of what it can do (comments only where its API has them)."""
    return [
        pytest.param(backend, name, id=f"{backend}-{name}", marks=[NEEDS[backend]] if backend in NEEDS else [])
        for backend, tracker in ADAPTERS.items()
        for name, case in CASES.items()
        if case.op != "comment" or Capability.COMMENT not in tracker.missing
    ]


# --- the peers behind the proxy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """One adapter's peer, the proxy in front of it, and what the matrix needs to know of its API."""

    peer: Peer
    proxy: FaultServer
    token: str  # what the adapter opens with, unless a case makes its own
    list_path: str  # how the path of its ticket list ends
    statuses: tuple[Status, ...] = ()
    comment_method: str = "POST"

    def on_list(self, path: str) -> bool:
        return path.endswith(self.list_path)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("faults") / "tracker.db") as running:
        yield running


@pytest.fixture(scope="module")
def serve_proxy(server: ServerProcess) -> Iterator[FaultServer]:
    with FaultServer(upstream=server.url) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def gitlab_subject() -> Iterator[Subject]:
    peer = GitLabPeer()
    with HandlerServer(peer.fake.handle) as served, FaultServer(upstream=served.url) as proxy:
        yield Subject(peer, proxy, GITLAB_TOKEN, LIST_PATHS["gitlab"])


@pytest.fixture(scope="module")
def redmine_subject() -> Iterator[Subject]:
    peer = RedminePeer()
    with FaultServer(upstream=REDMINE_URL) as proxy:
        yield Subject(peer, proxy, peer.token, LIST_PATHS["redmine"], comment_method=COMMENT_METHODS["redmine"])
    peer.admin.http.close()


@pytest.fixture(scope="module")
def subjects() -> dict[str, Subject]:
    """The subjects made so far, by backend: each is made at its first case (a backend's organization, say)."""
    return {}


@pytest.fixture
def subject(request: pytest.FixtureRequest, subjects: dict[str, Subject]) -> Subject:
    backend = cast(str, request.param)
    if backend not in subjects:
        if backend in ("gitlab", "redmine"):
            subjects[backend] = cast(Subject, request.getfixturevalue(f"{backend}_subject"))
        else:
            server = cast(ServerProcess, request.getfixturevalue("server"))
            peer = serve_peer(server, backend)
            proxy = cast(FaultServer, request.getfixturevalue("serve_proxy"))
            subjects[backend] = Subject(peer, proxy, peer.token, LIST_PATHS[backend], ONE_LIST.get(backend, ()))
    return subjects[backend]


@pytest.fixture(scope="module")
def other() -> Iterator[FaultServer]:
    """Another origin (another port), where a redirect would take the credential; it records what arrives."""
    with FaultServer() as running:
        yield running


# --- the matrix -------------------------------------------------------------------------------------------------

Operation = Callable[[RemoteTracker, Subject, Project, str], Awaitable[object]]


async def read(tracker: RemoteTracker, subject: Subject, project: Project, slug: str) -> object:
    return await tracker.list_tickets(TicketFilter(project=project.id, statuses=subject.statuses))


async def create(tracker: RemoteTracker, subject: Subject, project: Project, slug: str) -> object:
    return (await tracker.create_ticket(TicketDraft(title=FILED, project=project.id))).ticket


async def comment(tracker: RemoteTracker, subject: Subject, project: Project, slug: str) -> object:
    return await tracker.add_comment(slug, SAID)


OPERATIONS: dict[Op, Operation] = {"read": read, "create": create, "comment": comment}


async def applied(subject: Subject, project: Project, slug: str, op: Op) -> int:
    """What the peer holds, asked directly: tickets titled FILED, or comments saying SAID."""
    tracker = await subject.peer.open()
    try:
        if op == "comment":
            return sum(c.body == SAID for c in (await tracker.get_ticket(slug)).comments)
        page = await tracker.list_tickets(TicketFilter(project=project.id))
        return sum(t.title == FILED for t in page.tickets)
    finally:
        await tracker.aclose()


def hold_to_policy(
    tracker: RemoteTracker, monkeypatch: pytest.MonkeyPatch, method: str, where: Callable[[str], bool] | None
) -> None:
    """POLICY for the request the proxy faults, UNHURRIED for the others: an operation's own first reads (a
    Redmine comment reads the key's user and the issue before its PUT) are not under test, and a loaded
    machine's real Redmine may take longer than POLICY's half second to answer them."""
    client = tracker.client
    send = client.request

    async def request(verb: str, path: str, **options: Any) -> Reply:
        faulted = verb.upper() == method and (where is None or where(client.url(path).path))
        client.policy = POLICY if faulted else UNHURRIED  # read once as the request starts
        return await send(verb, path, **options)

    monkeypatch.setattr(client, "request", request)


def gaps(seen: list[Seen]) -> list[float]:
    return [round(b.at - a.at, 3) for a, b in itertools.pairwise(seen)]


@pytest.mark.parametrize(("subject", "name"), matrix(), indirect=["subject"])
async def test_a_fault_ends_in_time_with_a_clear_error_and_no_write_sent_twice(
    subject: Subject, name: str, other: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    peer, proxy = subject.peer, subject.proxy
    case = OVERRIDES.get((peer.backend, name), CASES[name])
    project = await peer.new_project()
    if case.op == "read":
        await peer.file(project, TicketDraft(title=LISTED))
    token = peer.new_token() if case.revoke else subject.token
    # Opened and warmed up unhurried (a loaded machine may take longer than POLICY's half second), then held
    # to POLICY: the adapter knows the project (and what it keeps about its API) before, so the clock runs
    # for the faulted request, not for what any first call reads.
    tracker = await peer.open(token=token, elsewhere=proxy.url.rstrip("/"), policy=UNHURRIED)
    try:
        slug = ""
        if case.op == "comment":
            slug = (await tracker.create_ticket(TicketDraft(title="Commented on", project=project.id))).ticket.slug
        await read(tracker, subject, project, slug)
        if case.revoke:
            peer.revoke(token)
        proxy.reset()
        other.reset()
        method, where = ("GET", subject.on_list) if case.op == "read" else ("POST", None)
        if case.op == "comment":
            method = subject.comment_method
        hold_to_policy(tracker, monkeypatch, method, None if case.revoke else where)
        steps = (Step(case.redirect, headers={"Location": f"{other.url}stolen"}),) if case.redirect else case.steps
        proxy.script_next(method, *steps, where=where)

        start = time.monotonic()
        try:
            result = await OPERATIONS[case.op](tracker, subject, project, slug)
        except TrackerError as exc:
            result = exc
        elapsed = time.monotonic() - start
        seen = list(proxy.seen)
        proxy.reset()
    finally:
        await tracker.aclose()

    # A revoked token is refused at the first request, whichever it is: nothing is sent again.
    faulted = seen if case.revoke else [s for s in seen if s.method == method and (where is None or where(s.path))]
    assert len(faulted) == case.sent, [(s.method, s.target) for s in faulted]
    assert case.op != "read" or all(s.method == "GET" for s in seen), [(s.method, s.target) for s in seen]
    assert all(b.at - a.at >= case.pause - 0.01 for a, b in itertools.pairwise(faulted)), gaps(faulted)
    assert elapsed <= case.within, f"took {elapsed:.2f} s, bound {case.within:.2f} s"
    assert other.seen == []
    if case.error is None:
        if case.op == "read":
            assert isinstance(result, TicketPage), result
            assert [t.title for t in result.tickets] == [LISTED]
        elif case.op == "comment":
            assert isinstance(result, Comment), result
            assert result.body == SAID
        else:
            assert isinstance(result, Ticket), result
            assert result.title == FILED
    else:
        assert type(result) is case.error, f"{type(result).__name__}: {result}"
        message = str(result)
        assert re.match(rf"{peer.backend}\b", message), message
        says = [words.replace("POST", method) for words in case.says]
        assert all(words in message for words in says), message
        assert token not in message
        if case.waits is not None:
            assert isinstance(result, RateLimited)
            assert case.waits[0] <= result.retry_after <= case.waits[1]
    if case.op != "read":
        assert await applied(subject, project, slug, case.op) == case.applied


# --- a token the remote no longer knows is not a missing role -----------------------------------------------


@pytest.mark.parametrize(
    "subject", [pytest.param(b, marks=[NEEDS[b]] if b in NEEDS else []) for b in ADAPTERS], indirect=True
)
async def test_a_revoked_token_fails_the_workspace_instead_of_thinning_it(subject: Subject) -> None:
    """GitLab's workspace passes over member lists it may not see (a 403); passing over a 401 as well gave,
    for a revoked token, a workspace with members missing and the lowest roles instead of an error."""
    peer, proxy = subject.peer, subject.proxy
    token = peer.new_token()
    tracker = await peer.open(token=token, elsewhere=proxy.url.rstrip("/"), policy=UNHURRIED)
    try:
        await tracker.workspace()  # what the adapter keeps (projects, namespaces) is known before
        peer.revoke(token)
        proxy.reset()
        with pytest.raises(TokenRejected, match=rf"^{peer.backend} rejected the token") as refused:
            await tracker.workspace()
    finally:
        await tracker.aclose()
    assert token not in str(refused.value)
    seen = [(s.method, s.target) for s in proxy.seen]
    assert len(seen) == len(set(seen)), seen


async def test_a_bugtome_project_token_the_server_does_not_know_fails_at_start(server: ServerProcess) -> None:
    """A project token may list nothing, so the start-up check lets its 403 through; a 401 must fail there."""
    revoked = server.create_token("--kind", "project", "--user", "alice", "--project", "INBOX")
    server.revoke_token(revoked)
    for token in (revoked, "proj_" + "0" * 40):
        with pytest.raises(TokenRejected, match=r"^bugtome rejected the token") as refused:
            await bugtome.open_adapter(RemoteSettings("bugtome", server.url, token), policy=UNHURRIED)
        assert token not in str(refused.value)
