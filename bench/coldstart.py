"""(1) Cold start: spawn → first tools/list reply over stdio, ours against the SDK floor."""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.context import Context
from bench.rpc import StdioClient
from bench.servers import compile_bytecode, floor_stdio, ours_stdio
from bench.stats import Metric, latency_metric


def _one(spawn: Callable[[], StdioClient]) -> float:
    start = time.perf_counter()
    client = spawn()
    try:
        client.initialize()
        client.request("tools/list")
        return time.perf_counter() - start
    finally:
        client.close()


def run(ctx: Context) -> list[Metric]:
    ours: list[float] = []
    floor: list[float] = []
    compile_bytecode()
    _one(lambda: ours_stdio(ctx.data.db))  # warm the page cache
    _one(floor_stdio)
    for _ in range(ctx.config.cold_starts):  # interleaved, so drift hits both alike
        ours.append(_one(lambda: ours_stdio(ctx.data.db)))
        floor.append(_one(floor_stdio))
    metric = latency_metric("cold start", "cold start: spawn → tools/list (stdio)", ours, floor)
    assert metric.reference is not None
    metric.target = "≤ floor + 100 ms"
    metric.met = metric.ours <= metric.reference + 100
    metric.extra["floor_p99"] = sorted(floor)[-1] * 1000
    return [metric]
