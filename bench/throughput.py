"""(3) HTTP throughput: K concurrent MCP sessions calling for a fixed time, against the floor's no-op, in rounds.

Contenders: the floor's no-op; get_ticket alone on SQLite; issue 22's mixed workload (60/20/10/10
get/list/move/create) on SQLite and, when TICKETS_BENCH_POSTGRES_URL names a server, on PostgreSQL.
Each server stays up with 100 sessions opened at the start; each round drives every contender at each
concurrency for the same time, in an order that rotates, so a round's ratio compares neighbours.
The load generator runs in this process, on the same 2 cores as the servers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx2

from bench import postgres, workload
from bench.context import Context
from bench.rpc import HttpClient, HttpServer, RpcError
from bench.servers import floor_http, ours_http
from bench.stats import Metric, figure_rounds, ms, percentile, round_of_async
from tickets_mcp.stores.location import PostgresUrl

TARGET_AT = 20
TARGET_CALLS_PER_S = 250.0
# issue 22: the mixed workload at every concurrency, as a share of the floor's calls/s
MIXED_TARGETS = {"SQLite": 0.8, "PostgreSQL": 0.6}
FLOOR = "floor"
WARM_UP = 10**9  # the warm-up's call numbers: its creates' titles differ from those of the rounds


@dataclass
class Run:
    """One contender at one concurrency in one round."""

    rate: float
    latencies: list[float]
    errors: int
    calls: dict[str, int] = field(default_factory=dict[str, int])
    error_samples: list[str] = field(default_factory=list[str])


@dataclass
class Server:
    process: HttpServer
    sessions: list[HttpClient]


async def drive(sessions: list[HttpClient], seconds: float, next_call: Callable[[int], workload.Call],
                 first: int) -> Run:  # fmt: skip
    """`len(sessions)` sessions calling as fast as each gets its replies. The counted window of `seconds`
    opens once every session has had a reply, so the start (all sessions' first calls at once) stays out
    of the rate; the calls that end within the window count."""
    clients = len(sessions)
    run = Run(0.0, [], 0)
    started: set[int] = set()
    window: list[float] = []  # [opens, closes], once every session has had a reply

    def open_when_all_replied(k: int) -> None:
        started.add(k)
        if not window and len(started) == clients:
            now = time.perf_counter()
            window.extend((now, now + seconds))

    async def worker(k: int, session: HttpClient) -> None:
        i = first + k
        while not window or time.perf_counter() < window[1]:
            start = time.perf_counter()
            tool, args = next_call(i)
            i += clients
            try:
                await session.call(tool, args)
            except (RpcError, httpx2.HTTPError) as exc:
                run.errors += 1
                if len(run.error_samples) < 3:
                    run.error_samples.append(f"{tool}: {exc}"[:300])
                open_when_all_replied(k)
                continue
            end = time.perf_counter()
            open_when_all_replied(k)
            if window and window[0] <= end <= window[1]:  # a rate counts what ends in the window
                run.latencies.append(end - start)
                run.calls[tool] = run.calls.get(tool, 0) + 1

    await asyncio.gather(*(worker(k, s) for k, s in enumerate(sessions)))
    run.rate = len(run.latencies) / seconds
    return run


async def _open(http: httpx2.AsyncClient, process: HttpServer, token: str | None, count: int) -> Server:
    sessions = [HttpClient(http, process.url, token) for _ in range(count)]
    await asyncio.gather(*(s.initialize() for s in sessions))
    return Server(process, sessions)


def _noop(_: int) -> workload.Call:
    return "noop", {}


async def _run(ctx: Context) -> list[Metric]:
    levels, seconds, rounds = ctx.config.concurrency, ctx.config.throughput_seconds, ctx.config.throughput_rounds
    most = max(levels)
    reads = workload.tools(ctx.data, 5000, ctx.config.seed + 7)["get_ticket"]
    mix = workload.weighted(ctx.data, 5000, ctx.config.seed + 11)

    def get_ticket(i: int) -> workload.Call:
        return "get_ticket", reads(i)

    with postgres.scratch_copy(ctx.data.tickets, ctx.config.seed, "throughput") as pg_url:
        locations: dict[str, Path | PostgresUrl] = {"SQLite": ctx.data.db}
        if pg_url is not None:
            locations["PostgreSQL"] = pg_url
        processes = {FLOOR: floor_http(), **{store: ours_http(where) for store, where in locations.items()}}
        limits = httpx2.Limits(max_connections=most * len(processes), max_keepalive_connections=most * len(processes))
        try:
            async with httpx2.AsyncClient(timeout=60, limits=limits) as http:
                servers = {name: await _open(http, p, None if name == FLOOR else ctx.data.token, most)
                           for name, p in processes.items()}  # fmt: skip
                workloads: dict[str, tuple[str, Callable[[int], workload.Call]]] = {FLOOR: (FLOOR, _noop)}
                workloads["get_ticket, SQLite"] = ("SQLite", get_ticket)
                for store in locations:
                    workloads[f"mixed, {store}"] = (store, mix)
                for server, next_call in workloads.values():  # warm-up
                    await drive(servers[server].sessions[:2], min(1.0, seconds), next_call, WARM_UP)
                results: dict[tuple[str, int], list[Run]] = {(w, c): [] for w in workloads for c in levels}
                for r in range(rounds):
                    for clients in levels:
                        first = (1 + r * len(levels) + levels.index(clients)) * 1_000_000  # unlike earlier sections
                        contenders: dict[str, Callable[[], Awaitable[Run]]] = {
                            name: partial(drive, servers[server].sessions[:clients], seconds, next_call, first)
                            for name, (server, next_call) in workloads.items()
                        }
                        for name, run in (await round_of_async(r, contenders)).items():
                            results[name, clients].append(run)
        finally:
            for process in processes.values():
                process.close()
    rows: list[Metric] = []
    for name in workloads:
        if name != FLOOR:
            rows += [
                _row(name, clients, results[name, clients], results[FLOOR, clients], seconds) for clients in levels
            ]
    return rows


def _row(name: str, clients: int, ours: list[Run], floor: list[Run], seconds: float) -> Metric:
    latencies = ms([s for run in ours for s in run.latencies]) or [float("nan")]
    calls: dict[str, int] = {}
    for run in ours:
        for tool, n in run.calls.items():
            calls[tool] = calls.get(tool, 0) + n
    workload_name, store = name.split(", ")
    title = "mixed 60/20/10/10" if workload_name == "mixed" else workload_name
    metric = figure_rounds(
        "throughput", f"{title} over HTTP, {clients} clients ({store})", "calls/s",
        [run.rate for run in ours], [run.rate for run in floor],
        p50=percentile(latencies, 50), p99=percentile(latencies, 99), samples=len(latencies),
        extra={"errors": sum(run.errors for run in ours), "floor_errors": sum(run.errors for run in floor),
               "seconds": seconds, "calls": calls,
               "error_samples": [e for run in ours for e in run.error_samples][:3]},
    )  # fmt: skip
    if workload_name == "mixed":
        share = MIXED_TARGETS[store]
        metric.target = f"≥ {share}× floor"
        metric.met = (metric.ratio or 0.0) >= share
    elif clients == TARGET_AT:
        metric.target = f"≥ {TARGET_CALLS_PER_S:.0f} calls/s"
        metric.met = metric.ours >= TARGET_CALLS_PER_S
    return metric


def run(ctx: Context) -> list[Metric]:
    return asyncio.run(_run(ctx))
