"""(3) HTTP throughput: K concurrent MCP sessions calling get_ticket for a fixed time, vs the floor's no-op."""

from __future__ import annotations

import asyncio
import time

import httpx2

from bench.context import Context
from bench.rpc import HttpClient, HttpServer, RpcError
from bench.servers import floor_http, ours_http
from bench.stats import Metric, ms, percentile

TARGET_AT = 20
TARGET_CALLS_PER_S = 250.0


async def _drive(url: str, token: str | None, clients: int, seconds: float, tool: str,
                 slugs: list[str]) -> tuple[float, list[float], int]:  # fmt: skip
    """calls/s, per-call latencies (s) and the error count of `clients` sessions hammering one tool."""
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(timeout=60, limits=limits) as http:
        sessions = [HttpClient(http, url, token) for _ in range(clients)]
        await asyncio.gather(*(s.initialize() for s in sessions))
        latencies: list[float] = []
        errors = 0
        stop = time.perf_counter() + seconds

        async def worker(k: int, session: HttpClient) -> None:
            nonlocal errors
            i = k
            while time.perf_counter() < stop:
                args = {"slug": slugs[i % len(slugs)]} if tool == "get_ticket" else {}
                i += clients
                start = time.perf_counter()
                try:
                    await session.call(tool, args)
                except (RpcError, httpx2.HTTPError):
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(worker(k, s) for k, s in enumerate(sessions)))
        elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, latencies, errors


async def _measure(server: HttpServer, token: str | None, tool: str, levels: tuple[int, ...], seconds: float,
                   slugs: list[str]) -> dict[int, tuple[float, list[float], int]]:  # fmt: skip
    results: dict[int, tuple[float, list[float], int]] = {}
    await _drive(server.url, token, 2, min(1.0, seconds), tool, slugs)  # warm-up
    for clients in levels:
        results[clients] = await _drive(server.url, token, clients, seconds, tool, slugs)
    return results


async def _run(ctx: Context) -> list[Metric]:
    levels, seconds = ctx.config.concurrency, ctx.config.throughput_seconds
    slugs = ctx.data.slugs(5000, ctx.config.seed + 7)
    server = ours_http(ctx.data.db)
    try:
        ours = await _measure(server, ctx.data.token, "get_ticket", levels, seconds, slugs)
    finally:
        server.close()
    floor_server = floor_http()
    try:
        floor = await _measure(floor_server, None, "noop", levels, seconds, slugs)
    finally:
        floor_server.close()
    rows: list[Metric] = []
    for clients in levels:
        rate, latencies, errors = ours[clients]
        floor_rate, _, floor_errors = floor[clients]
        lat = ms(latencies) or [float("nan")]
        target = f"≥ {TARGET_CALLS_PER_S:.0f} calls/s" if clients == TARGET_AT else ""
        rows.append(Metric(
            section="throughput", name=f"get_ticket over HTTP, {clients} clients", unit="calls/s",
            ours=rate, reference=floor_rate, p50=percentile(lat, 50), p99=percentile(lat, 99),
            target=target, met=(rate >= TARGET_CALLS_PER_S) if clients == TARGET_AT else None,
            samples=len(latencies), extra={"errors": errors, "floor_errors": floor_errors, "seconds": seconds},
        ))  # fmt: skip
    return rows


def run(ctx: Context) -> list[Metric]:
    return asyncio.run(_run(ctx))
