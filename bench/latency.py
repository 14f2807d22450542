"""(2) Tool-call latency over stdio and streamable HTTP, each tool against the floor's no-op tool, in rounds.

Every server stays up for the whole section. A round calls each tool a block of times on ours and the
floor's no-op as many times just before or after (in turn), so each round's ratio compares calls made
seconds apart. Over HTTP, ours runs on SQLite and, when TICKETS_BENCH_POSTGRES_URL names a server, on
PostgreSQL with the same data in the same rounds, which also gives PostgreSQL ÷ SQLite round by round.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import httpx2

from bench import postgres, workload
from bench.context import Context
from bench.rpc import HttpClient, HttpServer, StdioClient
from bench.servers import floor_http, floor_stdio, ours_http, ours_stdio
from bench.stats import Metric, latency_metric, latency_rounds, round_of, round_of_async
from tickets_mcp.stores.location import PostgresUrl

# (target, p50 ms, p99 ms, ratio to the floor)
Target = tuple[str, float | None, float | None, float | None]
TARGETS: dict[tuple[str, str], Target] = {
    ("stdio", "list_tickets"): ("≤ 2× floor (issue 22); p50 ≤ 2 ms, p99 ≤ 5 ms", 2.0, 5.0, 2.0),
    ("http, SQLite", "list_tickets"): ("p50 ≤ 4 ms", 4.0, None, None),
}
POSTGRES_PER_SQLITE = 1.2  # issue 22: PostgreSQL ÷ SQLite ≤ 1.2× per call
OAUTH = "get_ticket, OAuth access token"


def _noop(_: int) -> workload.Args:
    return {}


def _stdio_block(client: StdioClient, tool: str, factory: workload.ArgsFactory, calls: range) -> list[float]:
    samples: list[float] = []
    for i in calls:
        args = factory(i)
        start = time.perf_counter()
        client.call(tool, args)
        samples.append(time.perf_counter() - start)
    return samples


async def _http_block(client: HttpClient, tool: str, factory: workload.ArgsFactory, calls: range) -> list[float]:
    samples: list[float] = []
    for i in calls:
        args = factory(i)
        start = time.perf_counter()
        await client.call(tool, args)
        samples.append(time.perf_counter() - start)
    return samples


def _row(section: str, transport: str, tool: str, ours: list[list[float]], floor: list[list[float]]) -> Metric:
    target, p50_max, p99_max, ratio_max = TARGETS.get((transport, tool), ("", None, None, None))
    return latency_rounds(section, f"{tool} ({transport})", ours, floor, target=target,
                          p50_max=p50_max, p99_max=p99_max, ratio_max=ratio_max)  # fmt: skip


def _floor_row(section: str, transport: str, floor: dict[str, list[list[float]]]) -> Metric:
    samples = [s for rounds in floor.values() for block in rounds for s in block]
    row = latency_metric(section, f"floor noop ({transport})", samples, None)
    row.extra["note"] = "every floor block of the section together; the reference of the rows above"
    return row


def run_stdio(ctx: Context) -> list[Metric]:
    rounds, warmup = ctx.config.latency_rounds, ctx.config.warmup
    per_round = max(1, ctx.config.calls_per_tool // rounds)
    factories = workload.tools(ctx.data, warmup + per_round * rounds, ctx.config.seed)
    ours: dict[str, list[list[float]]] = {tool: [] for tool in factories}
    floor: dict[str, list[list[float]]] = {tool: [] for tool in factories}
    client, floor_client = ours_stdio(ctx.data.db), floor_stdio()
    try:
        client.initialize()
        floor_client.initialize()
        for tool, factory in factories.items():
            _stdio_block(client, tool, factory, range(warmup))
        _stdio_block(floor_client, "noop", _noop, range(warmup))
        for r in range(rounds):
            calls = range(warmup + r * per_round, warmup + (r + 1) * per_round)
            for tool, factory in factories.items():
                got = round_of(r, {"ours": partial(_stdio_block, client, tool, factory, calls),
                                   "floor": partial(_stdio_block, floor_client, "noop", _noop, calls)})  # fmt: skip
                ours[tool].append(got["ours"])
                floor[tool].append(got["floor"])
    finally:
        client.close()
        floor_client.close()
    section = "latency stdio"
    return [*(_row(section, "stdio", tool, ours[tool], floor[tool]) for tool in factories),
            _floor_row(section, "stdio", floor)]  # fmt: skip


Case = tuple[HttpClient, str, workload.ArgsFactory]  # a session, the tool it calls, its arguments


async def _cases(http: httpx2.AsyncClient, server: HttpServer, location: Path | PostgresUrl, ctx: Context,
                 factories: dict[str, workload.ArgsFactory]) -> dict[str, Case]:  # fmt: skip
    client = HttpClient(http, server.url, ctx.data.token)
    await client.initialize()
    # The same reads as a client signed in through OAuth: its access token is looked up as a pk_ is.
    granted = HttpClient(http, server.url, await _oauth_access_token(location, ctx.data.user))
    await granted.initialize()
    cases: dict[str, Case] = {tool: (client, tool, factory) for tool, factory in factories.items()}
    cases[OAUTH] = (granted, "get_ticket", factories["get_ticket"])
    return cases


async def _run_http(ctx: Context) -> list[Metric]:
    rounds, warmup = ctx.config.latency_rounds, ctx.config.warmup
    per_round = max(1, ctx.config.calls_per_tool // rounds)
    # Other seeds than stdio's, so moves and reads do not simply repeat that run's.
    factories = workload.tools(ctx.data, warmup + per_round * rounds, ctx.config.seed + 100)
    with postgres.scratch_copy(ctx.data.tickets, ctx.config.seed, "latency") as pg_url:
        locations: dict[str, Path | PostgresUrl] = {"SQLite": ctx.data.db}
        if pg_url is not None:
            locations["PostgreSQL"] = pg_url
        servers = {store: ours_http(location) for store, location in locations.items()}
        floor_server = floor_http()
        try:
            async with httpx2.AsyncClient(timeout=30) as http:
                cases = {store: await _cases(http, servers[store], location, ctx, factories)
                         for store, location in locations.items()}  # fmt: skip
                floor_client = HttpClient(http, floor_server.url)
                await floor_client.initialize()
                for store_cases in cases.values():
                    for client, tool, factory in store_cases.values():
                        await _http_block(client, tool, factory, range(warmup))
                await _http_block(floor_client, "noop", _noop, range(warmup))
                labels = list(cases["SQLite"])
                ours: dict[tuple[str, str], list[list[float]]] = {(s, c): [] for s in cases for c in labels}
                floor: dict[str, list[list[float]]] = {label: [] for label in labels}
                for r in range(rounds):
                    calls = range(warmup + r * per_round, warmup + (r + 1) * per_round)
                    for label in labels:
                        contenders: dict[str, Callable[[], Awaitable[list[float]]]] = {
                            store: partial(_http_block, *cases[store][label], calls) for store in cases
                        }
                        contenders["floor"] = partial(_http_block, floor_client, "noop", _noop, calls)
                        got = await round_of_async(r, contenders)
                        floor[label].append(got.pop("floor"))
                        for store, samples in got.items():
                            ours[store, label].append(samples)
        finally:
            for server in (*servers.values(), floor_server):
                server.close()
    section = "latency http"
    rows = [_row(section, f"http, {store}", label, ours[store, label], floor[label]) for store in cases
            for label in labels]  # fmt: skip
    rows.append(_floor_row(section, "http", floor))
    if "PostgreSQL" in cases:
        for label in labels:
            rows.append(latency_rounds(
                section, f"{label} (http): PostgreSQL ÷ SQLite", ours["PostgreSQL", label], ours["SQLite", label],
                target=f"≤ {POSTGRES_PER_SQLITE}× SQLite", ratio_max=POSTGRES_PER_SQLITE,
            ))  # fmt: skip
    return rows


async def _oauth_access_token(location: Path | PostgresUrl, username: str) -> str:
    """An access token of a grant the bench user consented to, made as the authorization server makes one."""
    from tickets_mcp.core.oauth import CodeRequest, LocalOAuth
    from tickets_mcp.core.tracker import Principal
    from tickets_mcp.stores.factory import open_store

    store = await open_store(location, pool_size=1)
    try:
        user = await store.find_user(username)
        assert user is not None
        oauth = LocalOAuth(store)
        request = CodeRequest("bench", ("tickets:read", "tickets:write"), "http://127.0.0.1:1/cb", True, "x" * 43, None)
        code = await oauth.issue_code(Principal(user_id=user.id, username=user.username), "bench", request)
        stored = await oauth.code(code)
        assert stored is not None
        issued = await oauth.redeem(code, "bench", stored)
        assert issued is not None
        return issued.access_token
    finally:
        await store.close()


def run_http(ctx: Context) -> list[Metric]:
    return asyncio.run(_run_http(ctx))
