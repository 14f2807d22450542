"""`python -m bench [--quick] [--only SECTION ...] [--out DIR]`: run the benchmark, write latest.json and latest.md."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import capacity, coldstart, imports, latency, memory, peers, report, sections, statements, throughput
from bench.context import Config, Context
from bench.data import BENCH_DIR
from bench.stats import Metric

SECTIONS: dict[str, Callable[[Context], list[Metric]]] = {
    "coldstart": coldstart.run,
    "imports": imports.run,
    "latency-stdio": latency.run_stdio,
    "latency-http": latency.run_http,
    "throughput": throughput.run,
    "memory": memory.run,
    "store": sections.run_store,
    "tokens": sections.run_tokens,
    "search": sections.run_search,
    "statements": statements.run,
    "peers": peers.run,
    "capacity": capacity.run,
}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small data and few calls: a smoke run of seconds")
    p.add_argument("--only", action="append", choices=sorted(SECTIONS), metavar="SECTION",
                   help=f"run only this section (repeatable): {', '.join(SECTIONS)}")  # fmt: skip
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results", help="results folder (default bench/results)")
    p.add_argument("--tickets", type=int, help="override the number of seeded tickets")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    config = Config.quick() if args.quick else Config.full()
    if args.tickets:
        config = Config(**{**config.__dict__, "tickets": args.tickets})
    started, began, load = report.now(), time.perf_counter(), os.getloadavg()
    metrics: list[Metric] = []
    loads: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp:
        workdir = Path(tmp)
        ctx = Context(config=config, workdir=workdir)  # the MCP sections' data is seeded on first use
        for name in args.only or list(SECTIONS):
            print(f"{name}…", file=sys.stderr, end=" ", flush=True)
            before = report.Load.now()
            metrics.extend(SECTIONS[name](ctx))
            loads.append(report.section_load(name, before, report.Load.now()))
            print(f"{loads[-1]['seconds']:.1f} s", file=sys.stderr, flush=True)
    meta = {
        "started": started,
        "mode": "quick" if args.quick else "full",
        "tickets": config.tickets,
        "seed": config.seed,
        "seconds": time.perf_counter() - began,
        "load": {"before": load, "after": os.getloadavg()},
        "machine": report.machine(),
        "config": config.__dict__,
        "sections": loads,
    }
    json_path, md_path = report.write(args.out, meta, metrics)
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
