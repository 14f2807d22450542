"""(6) Memory: resident size of the stdio server idle (after warm-up) and after N calls, vs the floor, in rounds.

Each round starts a fresh server of ours and a fresh floor, one after the other (in turn first), and
reads both sizes of each; growth is after − idle, compared as a difference since the floor barely grows.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from functools import partial

from bench import workload
from bench.context import Context
from bench.rpc import StdioClient, rss_kib
from bench.servers import floor_stdio, ours_stdio
from bench.stats import Metric, figure_rounds, round_of

GROWTH_LIMIT_MB = 5.0
WARMUP_CALLS = 300


def _rss_after(spawn: Callable[[], StdioClient], calls: list[tuple[str, workload.Args]]) -> tuple[float, float]:
    """(idle MB after a warm-up, MB after `calls`) of a fresh server."""
    client = spawn()
    try:
        client.initialize()
        for tool, args in calls[:WARMUP_CALLS]:
            client.call(tool, args)
        time.sleep(0.2)
        idle = rss_kib(client.pid) / 1024
        for tool, args in calls[WARMUP_CALLS:]:
            client.call(tool, args)
        time.sleep(0.2)
        return idle, rss_kib(client.pid) / 1024
    finally:
        client.close()


def run(ctx: Context) -> list[Metric]:
    n = ctx.config.memory_calls
    # Each round its own calls, so its moves and reads are not the last round's again.
    mixes = [list(itertools.islice(workload.mixed(ctx.data, ctx.config.seed + 3 + r), WARMUP_CALLS + n))
             for r in range(ctx.config.memory_rounds)]  # fmt: skip
    noops: list[tuple[str, workload.Args]] = [("noop", {})] * (WARMUP_CALLS + n)
    ours: list[tuple[float, float]] = []
    floor: list[tuple[float, float]] = []
    for r, mix in enumerate(mixes):
        got = round_of(r, {"ours": partial(_rss_after, partial(ours_stdio, ctx.data.db), mix),
                           "floor": partial(_rss_after, floor_stdio, noops)})  # fmt: skip
        ours.append(got["ours"])
        floor.append(got["floor"])
    growth = [after - idle for idle, after in ours]
    floor_growth = [after - idle for idle, after in floor]
    grew = figure_rounds("memory", f"RSS growth over {n} calls (stdio)", "MB", growth, floor_growth,
                         ratios=False, differences=True, target=f"≤ {GROWTH_LIMIT_MB:.0f} MB", samples=n,
                         extra={"mix": "get_ticket, list_tickets(50) and every tenth a move_ticket"})  # fmt: skip
    grew.met = grew.ours <= GROWTH_LIMIT_MB
    return [
        figure_rounds("memory", "RSS idle (stdio, after warm-up)", "MB", [i for i, _ in ours], [i for i, _ in floor]),
        figure_rounds("memory", f"RSS after {n} calls (stdio)", "MB", [a for _, a in ours], [a for _, a in floor]),
        grew,
    ]
