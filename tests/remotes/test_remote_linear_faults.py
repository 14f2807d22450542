"""The fault matrix of tests/remotes/test_remote_faults.py, for the linear adapter: the same cases, over real sockets.

The fake Linear (which executes every request against Linear's schema) is served on loopback with a
FaultServer proxy in front. Linear's API is one path, POST /graphql, for reads and writes alike, so the
shared matrix, which tells a list from a create by path and method, cannot aim at it; here each case is
aimed at the next POST after what the adapter needs has been read (the teams), which is the operation's
own: the Issues query of a read, the issueCreate or commentCreate mutation of a create or comment. The
shared cases' words name GET for reads; for Linear a read is a POST too. Every case checks the same: the
error's class and words, its bound in time, how often the faulted operation was sent (a mutation once,
whatever happens), and what Linear holds afterwards; and that no request broke Linear's schema.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.fixtures.fault_server import FaultServer, Seen, Step
from tests.fixtures.handler_server import HandlerServer
from tests.fixtures.linear_peer import LinearPeer
from tests.remotes.test_remote_faults import CASES, FILED, LISTED, POLICY, SAID, Case
from tickets_mcp.core.tracker import TicketDraft, TicketFilter
from tickets_mcp.domain import Comment, Ticket, TicketPage
from tickets_mcp.errors import RateLimited, TrackerError

pytestmark = pytest.mark.anyio

OPERATION = {"read": "Issues", "create": "IssueCreate", "comment": "CommentCreate"}


@pytest.fixture(scope="module")
def linear() -> Iterator[tuple[LinearPeer, FaultServer]]:
    peer = LinearPeer()
    with HandlerServer(peer.fake.handle) as served, FaultServer(upstream=served.url) as proxy:
        yield peer, proxy
    assert peer.fake.violations == []


@pytest.fixture(scope="module")
def other() -> Iterator[FaultServer]:
    """Another origin, where a redirect would take the credential; it records what arrives."""
    with FaultServer() as running:
        yield running


def operation(seen: Seen) -> tuple[str, str]:
    """(query or mutation, its name) of a request the proxy saw."""
    named = re.match(r"\s*(query|mutation)\s+(\w+)", json.loads(seen.body).get("query", ""))
    return (named.group(1), named.group(2)) if named else ("", "")


def for_linear(case: Case) -> Case:
    """The case's words as Linear's requests read: every one is a POST."""
    return replace(case, says=tuple(words.replace("GET", "POST") for words in case.says))


@pytest.mark.parametrize("name", sorted(CASES))
async def test_a_fault_ends_in_time_with_a_clear_error_and_no_mutation_sent_twice(
    linear: tuple[LinearPeer, FaultServer], other: FaultServer, name: str
) -> None:
    peer, proxy = linear
    case = for_linear(CASES[name])
    project = await peer.new_project()
    if case.op == "read":
        await peer.file(project, TicketDraft(title=LISTED))
    token = peer.new_token()
    tracker = await peer.open(token=token, elsewhere=proxy.url.rstrip("/"), policy=POLICY)
    try:
        slug = ""
        if case.op == "comment":
            slug = (await tracker.create_ticket(TicketDraft(title="Commented on", project=project.id))).ticket.slug
        await tracker.list_projects()  # the teams and their states are known before the fault
        if case.revoke:
            peer.revoke(token)
        proxy.reset()
        other.reset()
        steps = (Step(case.redirect, headers={"Location": f"{other.url}stolen"}),) if case.redirect else case.steps
        proxy.script_next("POST", *steps)
        start = time.monotonic()
        try:
            if case.op == "read":
                result: object = await tracker.list_tickets(TicketFilter(project=project.id))
            elif case.op == "create":
                result = (await tracker.create_ticket(TicketDraft(title=FILED, project=project.id))).ticket
            else:
                result = await tracker.add_comment(slug, SAID)
        except TrackerError as exc:
            result = exc
        elapsed = time.monotonic() - start
        seen = list(proxy.seen)
        proxy.reset()
    finally:
        await tracker.aclose()

    faulted = seen if case.revoke else [s for s in seen if operation(s)[1] == OPERATION[case.op]]
    assert len(faulted) == case.sent, [operation(s) for s in seen]
    assert case.op != "read" or all(operation(s)[0] == "query" for s in seen), [operation(s) for s in seen]
    gaps = [round(b.at - a.at, 3) for a, b in itertools.pairwise(faulted)]
    assert all(gap >= case.pause - 0.01 for gap in gaps), gaps
    assert elapsed <= case.within, f"took {elapsed:.2f} s, bound {case.within:.2f} s"
    assert other.seen == []
    if case.error is None:
        expected = {"read": TicketPage, "create": Ticket, "comment": Comment}[case.op]
        assert isinstance(result, expected), result
    else:
        assert type(result) is case.error, f"{type(result).__name__}: {result}"
        message = str(result)
        assert message.startswith("linear"), message
        assert all(words in message for words in case.says), message
        assert token not in message
        if case.waits is not None:
            assert isinstance(result, RateLimited)
            assert case.waits[0] <= result.retry_after <= case.waits[1]
    fake = peer.fake
    if case.op == "create":
        assert sum(issue["title"] == FILED and issue["team"]["id"] == project.id for issue in fake.issues.values()) == (
            case.applied
        )
    if case.op == "comment":
        assert sum(c["body"] == SAID and c["issue"]["identifier"] == slug for c in fake.comments.values()) == (
            case.applied
        )
