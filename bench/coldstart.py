"""(1) Cold start: spawn → first tools/list reply over stdio, ours against the SDK floor, round by round."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from bench.context import Context
from bench.rpc import StdioClient
from bench.servers import compile_bytecode, floor_stdio, ours_stdio
from bench.stats import Metric, figure_rounds, interleaved, percentile

TARGET_MS = 60.0  # issue 22: ≤ floor + 60 ms


def cold_start_ms(spawn: Callable[[], StdioClient]) -> float:
    start = time.perf_counter()
    client = spawn()
    try:
        client.initialize()
        client.request("tools/list")
        return (time.perf_counter() - start) * 1000
    finally:
        client.close()


def run(ctx: Context) -> list[Metric]:
    compile_bytecode()
    ours_server = partial(ours_stdio, ctx.data.db)
    cold_start_ms(ours_server)  # warm the page cache
    cold_start_ms(floor_stdio)
    rounds = interleaved(ctx.config.cold_starts, {"ours": partial(cold_start_ms, ours_server),
                                                  "floor": partial(cold_start_ms, floor_stdio)})  # fmt: skip
    ours, floor = rounds["ours"], rounds["floor"]
    metric = figure_rounds("cold start", "cold start: spawn → tools/list (stdio)", "ms", ours, floor,
                           differences=True, p50=percentile(ours, 50), p99=percentile(ours, 99),
                           target=f"≤ floor + {TARGET_MS:.0f} ms", samples=len(ours))  # fmt: skip
    assert metric.difference is not None
    metric.met = metric.difference <= TARGET_MS
    metric.extra["floor_p99"] = percentile(floor, 99)
    return [metric]
