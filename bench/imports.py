"""(1b) `-X importtime` of a real stdio session, and which heavy modules a stdio server on SQLite loads."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.context import Context
from bench.rpc import StdioClient
from bench.servers import compile_bytecode, floor_stdio, ours_stdio
from bench.stats import Metric

HEAVY = (
    "fastapi", "uvicorn", "starlette", "sse_starlette", "httpx2", "httpx", "psycopg", "sqlalchemy", "jsonschema",
    "prometheus_client",
)  # fmt: skip
LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


@dataclass(frozen=True)
class Imported:
    module: str
    self_us: int
    cumulative_us: int
    depth: int


def parse(text: str) -> list[Imported]:
    found: list[Imported] = []
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            found.append(Imported(m.group(4), int(m.group(1)), int(m.group(2)), (len(m.group(3)) - 1) // 2))
    return found


def _session(spawn: Callable[[Path], StdioClient], log: Path, ctx: Context, call: tuple[str, dict[str, str]]) -> str:
    client = spawn(log)
    try:
        client.initialize()
        client.request("tools/list")
        client.call(*call)
    finally:
        client.close()
    return log.read_text(errors="replace")


def run(ctx: Context) -> list[Metric]:
    slug = ctx.data.slugs(1, ctx.config.seed)[0]
    compile_bytecode()
    ours = parse(_session(
        lambda log: ours_stdio(ctx.data.db, python_flags=("-X", "importtime"), stderr_path=log),
        ctx.workdir / "importtime-ours.txt", ctx, ("get_ticket", {"slug": slug}),
    ))  # fmt: skip
    floor = parse(_session(
        lambda log: floor_stdio(python_flags=("-X", "importtime"), stderr_path=log),
        ctx.workdir / "importtime-floor.txt", ctx, ("noop", {}),
    ))  # fmt: skip
    ours_total = sum(i.self_us for i in ours) / 1000
    floor_total = sum(i.self_us for i in floor) / 1000
    own = [i for i in ours if i.module == "tickets_mcp" or i.module.startswith("tickets_mcp.")]
    own_total = sum(i.self_us for i in own) / 1000
    top = sorted(own, key=lambda i: i.self_us, reverse=True)[:10]
    loaded = {i.module.split(".")[0] for i in ours}
    floor_loaded = {i.module.split(".")[0] for i in floor}
    heavy = {name: name in loaded for name in HEAVY}
    floor_heavy = {name: name in floor_loaded for name in HEAVY}
    beyond_floor_heavy = [name for name in HEAVY if heavy[name] and not floor_heavy[name]]
    extra_modules = sorted(loaded - floor_loaded)
    # The heaviest imports beyond the floor, by their own cumulative time at top level.
    beyond = sorted(
        (i for i in ours if i.depth == 0 and i.module.split(".")[0] not in floor_loaded),
        key=lambda i: i.cumulative_us, reverse=True,
    )[:10]  # fmt: skip
    return [
        Metric(
            section="imports",
            name="import time, all modules (self sum, -X importtime)",
            unit="ms",
            ours=ours_total,
            reference=floor_total,
            samples=len(ours),
            extra={"modules": len(ours), "floor_modules": len(floor)},
        ),
        Metric(
            section="imports",
            name="import time, tickets_mcp modules (self sum)",
            unit="ms",
            ours=own_total,
            samples=len(own),
            extra={
                "top10": [
                    {"module": i.module, "self_ms": i.self_us / 1000, "cumulative_ms": i.cumulative_us / 1000}
                    for i in top
                ]
            },
        ),
        Metric(
            section="imports",
            name="heavy modules loaded in stdio mode on SQLite",
            unit="count",
            ours=float(sum(heavy.values())),
            reference=float(sum(floor_heavy.values())),
            target="none beyond the floor's",
            met=not beyond_floor_heavy,
            extra={
                "heavy": heavy,
                "floor_heavy": floor_heavy,
                "heavy_beyond_floor": beyond_floor_heavy,
                "top_level_beyond_floor": extra_modules,
                "heaviest_beyond_floor": [
                    {"module": i.module, "cumulative_ms": i.cumulative_us / 1000} for i in beyond
                ],
            },
        ),
    ]
