"""Cross-language peer: the TypeScript SDK floor (`bench/ts_peer`) against the Python SDK floor.

Both are a bare server named "floor" with one no-op tool, driven by the same raw stdio client. The
peer's npm packages (pinned in package-lock.json) are installed on first use with `npm ci`; without
node or npm, or when the install fails, the section says why on stderr and reports nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from functools import partial

from bench.coldstart import cold_start_ms
from bench.context import Context
from bench.data import BENCH_DIR
from bench.rpc import RpcError, StdioClient
from bench.servers import floor_stdio
from bench.stats import Metric, figure_rounds, interleaved, latency_rounds, percentile

PEER = BENCH_DIR / "ts_peer"
MODULES = PEER / "node_modules"
SDK_PACKAGE = MODULES / "@modelcontextprotocol" / "sdk" / "package.json"
NODE = shutil.which("node") or "node"  # resolved once, outside the timed spawns


def _install() -> str | None:
    """Install the peer's packages if they are missing; the reason it cannot run, or None."""
    if shutil.which("node") is None:
        return "node is not on PATH"
    if MODULES.is_dir():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not on PATH (needed once, to install bench/ts_peer)"
    argv = [npm, "ci", "--no-audit", "--no-fund"]
    try:
        done = subprocess.run(argv, cwd=PEER, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        error = str(exc)
    else:
        if done.returncode == 0:
            return None
        errors = [line[9:].strip() for line in done.stderr.splitlines() if line.startswith("npm error")]
        useful = [line for line in errors if not line.startswith(("code ", "A complete log"))]
        error = (useful or errors or [f"exit {done.returncode}"])[0]
    shutil.rmtree(MODULES, ignore_errors=True)  # a half-done install must not pass for a good one next time
    return f"`npm ci` in bench/ts_peer failed: {error}"


def _ts_floor() -> StdioClient:
    return StdioClient([NODE, str(PEER / "server.mjs")], cwd=PEER)


def _noop_block(client: StdioClient, calls: int) -> list[float]:
    samples: list[float] = []
    for _ in range(calls):
        start = time.perf_counter()
        client.call("noop", {})
        samples.append(time.perf_counter() - start)
    return samples


def _noop_rounds(ctx: Context) -> tuple[list[list[float]], list[list[float]]]:
    """Both floors up together; each round a block of no-ops on each, in turn first."""
    rounds, warmup = ctx.config.latency_rounds, ctx.config.warmup
    per_round = max(1, ctx.config.calls_per_tool // rounds)
    ts, py = _ts_floor(), floor_stdio()
    try:
        ts.initialize()
        py.initialize()
        _noop_block(ts, warmup)
        _noop_block(py, warmup)
        blocks = interleaved(
            rounds, {"ts": partial(_noop_block, ts, per_round), "py": partial(_noop_block, py, per_round)}
        )
        return blocks["ts"], blocks["py"]
    finally:
        ts.close()
        py.close()


def _versions() -> dict[str, str]:
    node = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    sdk = str(json.loads(SDK_PACKAGE.read_text()).get("version", "?")) if SDK_PACKAGE.is_file() else "?"
    return {"node": node, "sdk": sdk}


def run(ctx: Context) -> list[Metric]:
    reason = _install()
    if reason is None:
        try:
            cold_start_ms(_ts_floor)  # warm the page cache, and check that the peer answers at all
        except (OSError, RpcError) as exc:
            reason = f"the TypeScript peer did not answer: {exc}"
    if reason is not None:
        print(f"peers: skipped, {reason}", file=sys.stderr, flush=True)
        return []
    cold_start_ms(floor_stdio)
    starts = interleaved(ctx.config.cold_starts, {"ts": partial(cold_start_ms, _ts_floor),
                                                  "py": partial(cold_start_ms, floor_stdio)})  # fmt: skip
    cold = figure_rounds("peers", "TypeScript SDK floor: cold start (stdio)", "ms", starts["ts"], starts["py"],
                         differences=True, p50=percentile(starts["ts"], 50), p99=percentile(starts["ts"], 99),
                         samples=len(starts["ts"]), extra={"floor_p99": percentile(starts["py"], 99)})  # fmt: skip
    call = latency_rounds("peers", "TypeScript SDK floor: noop (stdio)", *_noop_rounds(ctx))
    versions = _versions()
    for metric in (cold, call):
        metric.extra.update(versions)
    return [cold, call]
