"""One webhook POST against real sockets: where it may connect, and how much of an answer it reads."""

from __future__ import annotations

import pytest

from tests.fixtures.dispatching import FAST, LOOPBACK
from tests.fixtures.fault_server import FaultServer, Step
from tickets_mcp.dispatch.sender import Sender
from tickets_mcp.domain.webhooks import Targets

pytestmark = pytest.mark.anyio


async def test_a_name_resolving_to_a_private_address_is_refused_where_the_delivery_connects() -> None:
    async def rebound(host: str, port: int) -> list[str]:  # public when the hook was made, private now
        return ["93.184.216.34", "10.0.0.7"]

    async with Sender(Targets(), FAST, lookup=rebound) as sender:
        answer = await sender.post("https://hooks.example.com/tickets", {}, b"{}")
    assert answer.status is None and answer.error is not None
    assert answer.error.startswith(
        "refused: hooks.example.com resolves to 10.0.0.7: 10.0.0.7 is a private address, which this server does not"
    )


async def test_a_name_resolving_to_an_allowed_network_is_sent_to_the_checked_address_not_looked_up_again() -> None:
    looked_up: list[str] = []
    with FaultServer() as receiver:
        receiver.script("/hooks", Step(204, body=b""))

        async def to_loopback(host: str, port: int) -> list[str]:
            looked_up.append(host)
            return ["127.0.0.1"]

        async with Sender(LOOPBACK, FAST, lookup=to_loopback) as sender:
            answer = await sender.post(f"http://receiver.test:{receiver.port}/hooks", {"X-Check": "1"}, b"{}")
        (request,) = receiver.requests("/hooks")
    assert (answer.status, answer.error) == (204, None)
    assert looked_up == ["receiver.test"]
    assert request.headers["host"] == f"receiver.test:{receiver.port}" and request.headers["x-check"] == "1"


async def test_an_answer_over_the_bound_is_not_read_further() -> None:
    with FaultServer() as receiver:
        receiver.script("/hooks", Step(200, body=b"x" * (8 * 1024 * 1024)))
        async with Sender(LOOPBACK, FAST) as sender:
            answer = await sender.post(receiver.url + "hooks", {}, b"{}")
    assert answer.error == "HTTP 200 with more than 16 KB"
    assert FAST.answer_bytes < answer.received <= FAST.answer_bytes + 64 * 1024  # a read at most past the bound


async def test_a_host_that_does_not_resolve_is_said_so() -> None:
    async with Sender(LOOPBACK, FAST) as sender:
        answer = await sender.post("http://no-such-host.invalid/hooks", {}, b"{}")
    assert answer.error is not None and answer.error.startswith("no-such-host.invalid does not resolve")
