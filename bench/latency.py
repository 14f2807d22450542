"""(2) Tool-call latency over stdio and streamable HTTP, each tool against the floor's no-op tool."""

from __future__ import annotations

import asyncio
import time

import httpx2

from bench import workload
from bench.context import Context
from bench.rpc import HttpClient, StdioClient
from bench.servers import floor_http, floor_stdio, ours_http, ours_stdio
from bench.stats import Metric, latency_metric

TARGETS: dict[tuple[str, str], tuple[str, float | None, float | None]] = {
    ("stdio", "list_tickets"): ("p50 ≤ 2 ms, p99 ≤ 5 ms", 2.0, 5.0),
    ("http", "list_tickets"): ("p50 ≤ 4 ms", 4.0, None),
}


def _stdio_samples(client: StdioClient, tool: str, factory: workload.ArgsFactory, n: int, warmup: int) -> list[float]:
    for i in range(warmup):
        client.call(tool, factory(i))
    samples: list[float] = []
    for i in range(warmup, warmup + n):
        args = factory(i)
        start = time.perf_counter()
        client.call(tool, args)
        samples.append(time.perf_counter() - start)
    return samples


async def _http_samples(client: HttpClient, tool: str, factory: workload.ArgsFactory, n: int,
                        warmup: int) -> list[float]:  # fmt: skip
    for i in range(warmup):
        await client.call(tool, factory(i))
    samples: list[float] = []
    for i in range(warmup, warmup + n):
        args = factory(i)
        start = time.perf_counter()
        await client.call(tool, args)
        samples.append(time.perf_counter() - start)
    return samples


def _noop(_: int) -> workload.Args:
    return {}


def _rows(transport: str, ours: dict[str, list[float]], floor: list[float]) -> list[Metric]:
    rows: list[Metric] = []
    for tool, samples in ours.items():
        target, p50_max, p99_max = TARGETS.get((transport, tool), ("", None, None))
        rows.append(latency_metric(f"latency {transport}", f"{tool} ({transport})", samples, floor,
                                   target=target, p50_max=p50_max, p99_max=p99_max))  # fmt: skip
    rows.append(latency_metric(f"latency {transport}", f"floor noop ({transport})", floor, floor))
    return rows


def run_stdio(ctx: Context) -> list[Metric]:
    n, warmup = ctx.config.calls_per_tool, ctx.config.warmup
    factories = workload.tools(ctx.data, n + warmup, ctx.config.seed)
    ours: dict[str, list[float]] = {}
    client = ours_stdio(ctx.data.db)
    try:
        client.initialize()
        for tool, factory in factories.items():
            ours[tool] = _stdio_samples(client, tool, factory, n, warmup)
    finally:
        client.close()
    floor_client = floor_stdio()
    try:
        floor_client.initialize()
        floor = _stdio_samples(floor_client, "noop", _noop, n, warmup)
    finally:
        floor_client.close()
    return _rows("stdio", ours, floor)


async def _run_http(ctx: Context) -> list[Metric]:
    n, warmup = ctx.config.calls_per_tool, ctx.config.warmup
    # Other seeds than stdio's, so moves and reads do not simply repeat that run's.
    factories = workload.tools(ctx.data, n + warmup, ctx.config.seed + 100)
    ours: dict[str, list[float]] = {}
    server = ours_http(ctx.data.db)
    try:
        async with httpx2.AsyncClient(timeout=30) as http:
            client = HttpClient(http, server.url, ctx.data.token)
            await client.initialize()
            for tool, factory in factories.items():
                ours[tool] = await _http_samples(client, tool, factory, n, warmup)
            # The same reads as a client signed in through OAuth: its access token is looked up as a pk_ is.
            granted = HttpClient(http, server.url, await _oauth_access_token(ctx))
            await granted.initialize()
            ours["get_ticket, OAuth access token"] = await _http_samples(
                granted, "get_ticket", factories["get_ticket"], n, warmup
            )
    finally:
        server.close()
    floor_server = floor_http()
    try:
        async with httpx2.AsyncClient(timeout=30) as http:
            client = HttpClient(http, floor_server.url)
            await client.initialize()
            floor = await _http_samples(client, "noop", _noop, n, warmup)
    finally:
        floor_server.close()
    return _rows("http", ours, floor)


async def _oauth_access_token(ctx: Context) -> str:
    """An access token of a grant the bench user consented to, made as the authorization server makes one."""
    from tickets_mcp.core.oauth import CodeRequest, LocalOAuth
    from tickets_mcp.core.tracker import Principal
    from tickets_mcp.stores.factory import open_store

    store = await open_store(ctx.data.db)
    try:
        user = await store.find_user(ctx.data.user)
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
