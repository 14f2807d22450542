"""Two `tickets-mcp serve` replicas on one database, as behind a load balancer.

A whole session of the SDK client on the 2026-07-28 protocol (discovery, listing, calls, a bulk call that
reports progress, a confirmed deletion) goes to both replicas in turn. Agents call both at once over MCP and
REST and see one tracker: consistent reads, unique numbers, each ticket event sent once to a webhook
although both replicas deliver. The tool sets a token switches on with enable_tools are kept in the store, so
both replicas list them. A confirmation round trip (the
2026-07-28 era's input-required result, whose sealed request state the client echoes back) started on one
replica completes on the other when both share TICKETS_STATE_KEY, and fails closed when they do not.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import AsyncGenerator, Iterator
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, cast

import anyio
import httpx2
import pytest
from mcp.client.context import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import ElicitRequestParams, ElicitResult, ErrorData

from mcp import Client
from tests.fixtures.http_server import ServerProcess, bearer, running_server
from tests.fixtures.stores import Location
from tests.fixtures.tool_calls import PLANNING_TOOLS, TOOLS, call, call_error, slug_of, text_of
from tests.fixtures.webhook_receiver import WebhookReceiver
from tickets_mcp.config import Settings
from tickets_mcp.errors import Invalid
from tickets_mcp.http.settings import ServeSettings, state_keys_from

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
TICKETS = "/api/v1/ext/orgs/local/tickets"  # the AgentsMesh REST API (seed 001)


class RoundRobin(httpx2.AsyncBaseTransport):
    """A load balancer in the client: each request goes to the next replica, Host rewritten as a proxy would."""

    def __init__(self, replicas: list[str]) -> None:
        self._replicas = [httpx2.URL(url) for url in replicas]
        self._inner = httpx2.AsyncHTTPTransport()
        self._next = 0
        self.calls: list[tuple[int, str]] = []  # (replica index, tool name) of each tools/call
        self.requests: list[tuple[int, str, int]] = []  # (replica index, JSON-RPC or HTTP method, status) of each

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        index = self._next % len(self._replicas)
        self._next += 1
        target = self._replicas[index]
        request.url = request.url.copy_with(host=target.host, port=target.port)
        request.headers["host"] = f"{target.host}:{target.port}"
        method = request.method
        if method == "POST":
            message = cast(dict[str, Any], json.loads(request.content or b"{}"))
            method = str(message.get("method", "(response)"))
            if method == "tools/call":
                self.calls.append((index, str(message["params"]["name"])))
        response = await self._inner.handle_async_request(request)
        self.requests.append((index, method, response.status_code))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def confirm(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult | ErrorData:
    return ElicitResult(action="accept", content={"confirm": True})


@asynccontextmanager
async def balanced_client(replicas: list[ServerProcess], token: str) -> AsyncGenerator[tuple[Client, RoundRobin]]:
    balancer = RoundRobin([r.url for r in replicas])
    async with (
        httpx2.AsyncClient(transport=balancer, headers=bearer(token), timeout=30.0) as http,
        Client(streamable_http_client(replicas[0].mcp_url, http_client=http), elicitation_callback=confirm) as client,
    ):
        yield client, balancer


def start_replicas(stack: ExitStack, db: Location, keys: list[str]) -> list[ServerProcess]:
    return [stack.enter_context(running_server(db, env={"TICKETS_STATE_KEY": key})) for key in keys]


@pytest.fixture
def shared_key_replicas(store_location: Location) -> Iterator[list[ServerProcess]]:
    """Two replicas on one database: a SQLite file, or (the deployment docs/deployment.md describes) PostgreSQL."""
    key = secrets.token_urlsafe(32)
    with ExitStack() as stack:
        yield start_replicas(stack, store_location, [key, key])


async def test_a_confirmation_started_on_one_replica_completes_on_the_other(
    shared_key_replicas: list[ServerProcess],
) -> None:
    first = shared_key_replicas[0]
    token = first.create_token("--user", "alice")
    async with balanced_client(shared_key_replicas, token) as (client, balancer):
        slug = slug_of(await call(client, "create_ticket", title="Delete me across replicas"))
        balancer.calls.clear()
        assert "Deleted" in await call(client, "delete_ticket", slug=slug)
        # The first call got the input-required result, the retry carrying the answer went elsewhere.
        replicas = [index for index, tool in balancer.calls if tool == "delete_ticket"]
        assert len(replicas) == 2 and replicas[0] != replicas[1], balancer.calls
        assert f"{slug} was deleted (by" in await call_error(client, "get_ticket", slug=slug)


async def test_a_whole_stateless_session_is_served_by_both_replicas_in_turn(
    shared_key_replicas: list[ServerProcess],
) -> None:
    token = shared_key_replicas[0].create_token("--user", "alice")
    heard: list[tuple[float, float | None]] = []

    async def report(progress: float, total: float | None, message: str | None) -> None:
        heard.append((progress, total))

    async with balanced_client(shared_key_replicas, token) as (client, balancer):
        assert client.protocol_version == "2026-07-28"
        listed = {tool.name for tool in (await client.list_tools()).tools}
        assert {"create_ticket", "list_tickets", "delete_ticket", "get_ticket"} <= listed
        slug = slug_of(await call(client, "create_ticket", title="Filed on one replica"))
        assert slug in await call(client, "list_tickets")
        titles = [f"Bulk {n}" for n in range(5)]
        batch = {"tickets": [{"title": title} for title in titles]}
        filed = await client.call_tool("create_tickets", batch, progress_callback=report)
        assert not filed.is_error, text_of(filed)
        slugs = cast(dict[str, list[str]], filed.structured_content)["slugs"]
        assert None not in slugs and len(set(slugs)) == len(titles) and slug not in slugs, filed.structured_content
        assert heard == [(0, len(titles)), (len(titles), len(titles))], heard  # checked, then filed in one transaction
        assert "Deleted" in await call(client, "delete_ticket", slug=slug)
        assert f"{slug} was deleted (by" in await call_error(client, "get_ticket", slug=slug)
        assert titles[0] in await call(client, "get_ticket", slug=slugs[0])
    # Every request went to the other replica than the one before, and each one answered it: no session, no
    # initialize, no stream a replica would have to hold; the discovery on one, the listing on the other.
    replicas = [index for index, _, _ in balancer.requests]
    assert replicas == [n % 2 for n in range(len(replicas))]
    assert all(status == 200 for _, _, status in balancer.requests), balancer.requests
    assert {method for _, method, _ in balancer.requests} == {"server/discover", "tools/list", "tools/call"}
    assert [request[:2] for request in balancer.requests[:2]] == [(0, "server/discover"), (1, "tools/list")]
    served = Counter(index for index, _, _ in balancer.requests)
    assert served[0] >= 4 and served[1] >= 4 and abs(served[0] - served[1]) <= 1, served
    deletes = [index for index, tool in balancer.calls if tool == "delete_ticket"]
    assert deletes in ([0, 1], [1, 0]), balancer.calls


async def test_tool_sets_switched_on_through_one_replica_are_listed_and_run_on_both(
    shared_key_replicas: list[ServerProcess],
) -> None:
    alice = shared_key_replicas[0].create_token("--user", "alice")
    other = shared_key_replicas[0].create_token("--user", "alice")
    async with balanced_client(shared_key_replicas, alice) as (client, balancer):
        assert not PLANNING_TOOLS & {tool.name for tool in (await client.list_tools()).tools}
        assert await call(client, "enable_tools", sets=["planning"]) == (
            "Listed now: link_tickets, list_milestones, save_milestone, log_time."
        )
        balancer.requests.clear()
        balancer.calls.clear()
        listings = [{tool.name: tool for tool in (await client.list_tools()).tools} for _ in range(2)]
        slug = slug_of(await call(client, "create_ticket", title="Planned on both replicas"))
        saved = await call(client, "save_milestone", name="Sprint 1")
        logged = await call(client, "log_time", slug=slug, hours=1.5)
    listed_by = [index for index, method, _ in balancer.requests if method == "tools/list"]
    assert sorted(listed_by) == [0, 1], balancer.requests  # one listing from each replica
    for listing in listings:
        assert set(listing) == TOOLS | PLANNING_TOOLS
        assert "due" in listing["create_ticket"].input_schema["properties"]  # the set's arguments, too
    planned = [index for index, tool in balancer.calls if tool in PLANNING_TOOLS]
    assert sorted(planned) == [0, 1], balancer.calls  # a switched-on tool called on each replica
    assert "Sprint 1" in saved and "1.5" in logged, (saved, logged)
    async with balanced_client(shared_key_replicas, other) as (client, _):  # another token: its own sets
        for _ in range(2):
            assert not PLANNING_TOOLS & {tool.name for tool in (await client.list_tools()).tools}


async def test_replicas_without_a_shared_key_refuse_each_others_request_state(store_location: Location) -> None:
    with ExitStack() as stack:
        replicas = start_replicas(stack, store_location, [secrets.token_urlsafe(32), secrets.token_urlsafe(32)])
        token = replicas[0].create_token("--user", "alice")
        async with balanced_client(replicas, token) as (client, balancer):
            slug = slug_of(await call(client, "create_ticket", title="Kept: the state cannot cross"))
            balancer.calls.clear()
            with pytest.raises(MCPError, match="Invalid or expired requestState"):
                await client.call_tool("delete_ticket", {"slug": slug})
            assert slug in await call(client, "get_ticket", slug=slug)


async def test_agents_on_both_replicas_at_once_get_unique_numbers_and_the_same_reads(
    shared_key_replicas: list[ServerProcess],
) -> None:
    token = shared_key_replicas[0].create_token("--user", "alice")
    per_agent = 15
    created: list[str] = []

    async def mcp_agent(replica: ServerProcess, name: str) -> None:
        async with (
            httpx2.AsyncClient(headers=bearer(token), timeout=30.0) as http,
            Client(streamable_http_client(replica.mcp_url, http_client=http)) as client,
        ):
            for n in range(per_agent):
                created.append(slug_of(await call(client, "create_ticket", title=f"{name} {n}")))

    async def rest_agent(replica: ServerProcess, name: str) -> None:
        async with httpx2.AsyncClient(base_url=replica.url, headers=bearer(token), timeout=30.0) as http:
            for n in range(per_agent):
                response = await http.post(TICKETS, json={"repository_id": "INBOX", "title": f"{name} {n}"})
                assert response.status_code == 201, response.text
                created.append(str(response.json()["ticket"]["slug"]))

    with anyio.fail_after(120):
        async with anyio.create_task_group() as group:
            for i, replica in enumerate(shared_key_replicas):
                group.start_soon(mcp_agent, replica, f"mcp agent on replica {i}")
                group.start_soon(rest_agent, replica, f"rest agent on replica {i}")
    total = 4 * per_agent
    assert sorted(created, key=lambda s: int(s.split("-")[1])) == [f"INBOX-{n}" for n in range(1, total + 1)]
    listings: list[set[str]] = []
    for replica in shared_key_replicas:
        async with httpx2.AsyncClient(base_url=replica.url, headers=bearer(token), timeout=30.0) as http:
            response = await http.get(TICKETS, params={"repository_id": "INBOX", "limit": 100})
            assert response.status_code == 200, response.text
            listings.append({str(item["slug"]) for item in response.json()["tickets"]})
    assert listings[0] == listings[1] == set(created)


def test_a_state_key_is_long_enough_rotates_by_comma_and_never_prints() -> None:
    with pytest.raises(Invalid, match="at least 32 characters"):
        state_keys_from("too-short")
    new, old = "n" * 32, "o" * 40
    assert state_keys_from(f" {new} , {old} ") == (new, old)
    assert state_keys_from("") == ()
    settings = ServeSettings(store=Settings(db=Path("t.db")), state_keys=(new,))
    assert new not in repr(settings)


async def test_both_replicas_deliver_webhooks_and_each_event_is_sent_once(store_location: Location) -> None:
    count = 12
    with WebhookReceiver() as receiver, ExitStack() as stack:
        env = {"TICKETS_WEBHOOK_ALLOW_NETWORKS": "127.0.0.1"}
        replicas = [stack.enter_context(running_server(store_location, env=env)) for _ in range(2)]
        token = replicas[0].create_token("--user", "alice")
        balancer = RoundRobin([r.url for r in replicas])
        async with httpx2.AsyncClient(transport=balancer, headers=bearer(token), timeout=30.0) as http:
            made = await http.post(f"{replicas[0].url}/api/v1/native/webhooks", json={"url": receiver.url})
            assert made.status_code == 201, made.text
            receiver.secret = made.json()["secret"]
            for n in range(count):
                filed = await http.post(f"{replicas[0].url}{TICKETS}", json={"title": f"Heard once {n}"})
                assert filed.status_code == 201, filed.text
        await anyio.to_thread.run_sync(receiver.wait_for, count)
        stack.close()  # both replicas stopped: nothing more can come
    ids = [delivery.document["id"] for delivery in receiver.deliveries]
    assert len(ids) == len(set(ids)) == count
    assert all(delivery.verified for delivery in receiver.deliveries)
