"""The machine description and the JSON and markdown outputs."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stats import Metric


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "python": platform.python_version(), "platform": platform.platform()}


def _num(value: float | None, digits: int = 2) -> str:
    if value is None or value != value:  # None or NaN
        return "–"
    return f"{value:,.{digits}f}"


def _met(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "**no**")


def markdown(meta: dict[str, Any], metrics: list[Metric]) -> str:
    m = meta["machine"]
    lines = [
        "# tickets-mcp benchmark",
        "",
        f"{meta['started']} · mode `{meta['mode']}` · {meta['tickets']:,} tickets (seed {meta['seed']}) · "
        f"{m['cpu']}, {m['cores']} cores · Python {m['python']} · {meta['seconds']:.0f} s"
        + (
            f" · load average {meta['load']['before'][0]:.1f} before, {meta['load']['after'][0]:.1f} after"
            if "load" in meta
            else ""
        ),
        "",
        "Reference: the SDK floor (a bare MCPServer with one no-op tool) in the same run; ratio = ours / reference. "
        "Latencies in ms; ours and reference are p50s. The store section's reference is one ticket read by its "
        "key through the same store, interleaved call by call: its ratio is the median of the rounds' ratios "
        "(their range).",
        "",
        "| metric | unit | ours | reference | ratio | p50 | p99 | target | met? |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for x in metrics:
        ratio = _num(x.ratio) + (f" ({_num(x.ratio_range[0])}–{_num(x.ratio_range[1])})" if x.ratio_range else "")
        lines.append(
            f"| {x.name} | {x.unit} | {_num(x.ours)} | {_num(x.reference)} | {ratio} | {_num(x.p50)} | "
            f"{_num(x.p99)} | {x.target} | {_met(x.met)} |"
        )
    for x in metrics:
        if "top10" in x.extra:
            lines += ["", "Slowest tickets_mcp imports (self time, ms):", ""]
            lines += [
                f"- `{t['module']}` {t['self_ms']:.2f} (cumulative {t['cumulative_ms']:.2f})" for t in x.extra["top10"]
            ]
        if "heavy" in x.extra:
            loaded = [name for name, on in x.extra["heavy"].items() if on]
            floor_loaded = [name for name, on in x.extra.get("floor_heavy", {}).items() if on]
            lines += [
                "",
                f"Heavy modules loaded in stdio mode: {', '.join(loaded) or 'none'} "
                f"(the floor loads {', '.join(floor_loaded) or 'none'}; checked: {', '.join(x.extra['heavy'])}).",
            ]
            lines += ["", "Heaviest top-level imports the floor does not make (cumulative ms):", ""]
            lines += [f"- `{t['module']}` {t['cumulative_ms']:.1f}" for t in x.extra["heaviest_beyond_floor"]]
    errors = [x for x in metrics if x.extra.get("errors")]
    for x in errors:
        lines += ["", f"{x.name}: {x.extra['errors']} failed calls."]
    return "\n".join(lines) + "\n"


def write(out: Path, meta: dict[str, Any], metrics: list[Metric]) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    data = {**meta, "metrics": [x.as_json() for x in metrics]}
    json_path, md_path = out / "latest.json", out / "latest.md"
    for path, text in (
        (json_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n"),
        (md_path, markdown(meta, metrics)),
    ):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return json_path, md_path


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
