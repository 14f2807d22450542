"""The capacity model's inputs and its check (docs/deployment.md, "Capacity"): 1, 2 and 3 `serve` replicas on
one PostgreSQL database, driven with issue 22's mixed workload (60/20/10/10 get/list/move/create) by 20
sessions spread over the replicas, each level for a few seconds. For each level: calls/s, and the CPU time
per call of the replicas, of PostgreSQL's processes and of this load generator (from /proc), which is what
the model divides a core by. Needs TICKETS_BENCH_POSTGRES_URL; on one machine every replica, PostgreSQL and
the generator share its cores, so more replicas add no capacity here: the point is whether calls/s matches
what the CPU per call predicts.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import httpx2

from bench import postgres, workload
from bench.context import Context
from bench.rpc import HttpClient
from bench.servers import ours_http
from bench.stats import Metric
from bench.throughput import drive
from tickets_mcp.stores.location import PostgresUrl

SECTION = "capacity"
CLIENTS = 20
REPLICAS = (1, 2, 3)
TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """User and system CPU seconds of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * TICK_S


def _postgres_cpu_s() -> float:
    """CPU seconds of every process named postgres on this machine (the server and its backends)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += _cpu_s(int(entry.name))
            except OSError:
                continue
    return total


async def _level(ctx: Context, url: PostgresUrl, replicas: int, seconds: float) -> list[Metric]:
    mix = workload.weighted(ctx.data, 5000, ctx.config.seed + 13)
    processes = [ours_http(url) for _ in range(replicas)]
    try:
        limits = httpx2.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx2.AsyncClient(timeout=60, limits=limits) as http:
            sessions = [HttpClient(http, processes[k % replicas].url, ctx.data.token) for k in range(CLIENTS)]
            await asyncio.gather(*(s.initialize() for s in sessions))
            await drive(sessions, min(1.0, seconds), mix, 10**9)  # warm-up
            servers, database, generator = sum(_cpu_s(p.pid) for p in processes), _postgres_cpu_s(), time.process_time()
            run = await drive(sessions, seconds, mix, replicas * 1_000_000)
            servers = sum(_cpu_s(p.pid) for p in processes) - servers
            database, generator = _postgres_cpu_s() - database, time.process_time() - generator
    finally:
        for process in processes:
            process.close()
    # The CPU was counted over the drive, a little longer than its window: per call, over every call made.
    calls = max(1, len(run.latencies) + run.errors)
    label = f"{replicas} replica{'s' if replicas > 1 else ''}, {CLIENTS} clients"
    per_call = {"replicas": servers, "PostgreSQL": database, "load generator": generator}
    rows = [
        Metric(section=SECTION, name=f"mixed 60/20/10/10, {label}: calls/s", unit="calls/s", ours=run.rate,
               samples=len(run.latencies), extra={"errors": run.errors, "cores": os.cpu_count()})
    ]  # fmt: skip
    rows += [
        Metric(section=SECTION, name=f"{label}: CPU per call, {who}", unit="ms", ours=spent * 1000 / calls,
               samples=calls)
        for who, spent in per_call.items()
    ]  # fmt: skip
    return rows


async def _run(ctx: Context) -> list[Metric]:
    seconds = max(4.0, ctx.config.throughput_seconds * 2)
    with postgres.scratch_copy(ctx.data.tickets, ctx.config.seed, "capacity") as url:
        if url is None:
            print("capacity: set TICKETS_BENCH_POSTGRES_URL to measure replicas on PostgreSQL", file=sys.stderr)
            return []
        rows: list[Metric] = []
        for replicas in REPLICAS:
            rows += await _level(ctx, url, replicas, seconds)
        return rows


def run(ctx: Context) -> list[Metric]:
    return asyncio.run(_run(ctx))
