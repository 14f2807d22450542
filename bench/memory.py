"""(6) Memory: resident size of the stdio server idle (after warm-up) and after N calls, vs the floor."""

from __future__ import annotations

import itertools
import time

from bench import workload
from bench.context import Context
from bench.rpc import StdioClient, rss_kib
from bench.servers import floor_stdio, ours_stdio
from bench.stats import Metric

GROWTH_LIMIT_MB = 5.0
WARMUP_CALLS = 300


def _rss_after(client: StdioClient, calls: list[tuple[str, workload.Args]]) -> tuple[float, float]:
    """(idle MB after a warm-up, MB after `calls`)."""
    client.initialize()
    for tool, args in calls[:WARMUP_CALLS]:
        client.call(tool, args)
    time.sleep(0.2)
    idle = rss_kib(client.pid) / 1024
    for tool, args in calls[WARMUP_CALLS:]:
        client.call(tool, args)
    time.sleep(0.2)
    return idle, rss_kib(client.pid) / 1024


def run(ctx: Context) -> list[Metric]:
    n = ctx.config.memory_calls
    mix = list(itertools.islice(workload.mixed(ctx.data, ctx.config.seed + 3), WARMUP_CALLS + n))
    client = ours_stdio(ctx.data.db)
    try:
        idle, after = _rss_after(client, mix)
    finally:
        client.close()
    noops: list[tuple[str, workload.Args]] = [("noop", {})] * (WARMUP_CALLS + n)
    floor_client = floor_stdio()
    try:
        floor_idle, floor_after = _rss_after(floor_client, noops)
    finally:
        floor_client.close()
    growth = after - idle
    return [
        Metric(section="memory", name="RSS idle (stdio, after warm-up)", unit="MB", ours=idle, reference=floor_idle),
        Metric(section="memory", name=f"RSS after {n} calls (stdio)", unit="MB", ours=after, reference=floor_after),
        Metric(
            section="memory",
            name=f"RSS growth over {n} calls (stdio)",
            unit="MB",
            ours=growth,
            reference=floor_after - floor_idle,
            target=f"≤ {GROWTH_LIMIT_MB:.0f} MB",
            met=growth <= GROWTH_LIMIT_MB,
            samples=n,
            extra={"mix": "get_ticket, list_tickets(50) and every tenth a move_ticket"},
        ),
    ]
