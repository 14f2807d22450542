"""The machine description and the JSON and markdown outputs."""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Load:
    """The machine's load at one moment: load averages, CPUs, and CPU time used so far, all and the bench's own."""

    average: tuple[float, float, float]
    cpus: int
    wall: float
    machine_busy: float | None  # CPU seconds all processes have used since boot (/proc/stat), if readable
    own: float  # CPU seconds of this process and its finished children (the servers it waited for)

    @classmethod
    def now(cls) -> Load:
        me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        own = me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime
        return cls(os.getloadavg(), os.cpu_count() or 1, time.perf_counter(), _busy_seconds(), own)


def _busy_seconds() -> float | None:
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def section_load(name: str, start: Load, end: Load) -> dict[str, Any]:
    """What the machine did while a section ran: load averages at both ends, and the CPUs busy on average,
    in all and outside the bench (other sessions, and PostgreSQL's server processes)."""
    seconds = end.wall - start.wall
    record: dict[str, Any] = {
        "section": name,
        "seconds": seconds,
        "cpus": end.cpus,
        "load_start": list(start.average),
        "load_end": list(end.average),
        "cpus_busy": None,
        "cpus_busy_outside_bench": None,
    }
    if start.machine_busy is not None and end.machine_busy is not None and seconds > 0:
        busy = (end.machine_busy - start.machine_busy) / seconds
        record["cpus_busy"] = busy
        record["cpus_busy_outside_bench"] = max(0.0, busy - (end.own - start.own) / seconds)
    return record


def _num(value: float | None, digits: int = 2) -> str:
    if value is None or value != value:  # None or NaN
        return "–"
    return f"{value:,.{digits}f}"


def _met(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "**no**")


def _ratio(x: Metric) -> str:
    """`median (lowest–highest)` of the rounds' ratios, then the difference the same way where there is one."""
    cell = _num(x.ratio)
    spread = x.ratio_range
    if spread is not None:
        cell += f" ({spread[0]:.2f}–{spread[1]:.2f})"
    difference, dspread = x.difference, x.difference_range
    if difference is not None and dspread is not None:
        digits = 0 if x.unit == "ms" else 1
        gap = f"{difference:+,.{digits}f} {x.unit} ({dspread[0]:+,.{digits}f} to {dspread[1]:+,.{digits}f})"
        cell = gap if cell == "–" else f"{cell}; {gap}"
    return cell


def _loads(records: list[dict[str, Any]]) -> list[str]:
    if not records:
        return []
    lines = [
        "",
        "The machine while each section ran: load averages (1, 5, 15 min) when it started and ended, and the "
        "CPUs busy on average, in all and outside the bench's own processes (other sessions, PostgreSQL).",
        "",
        "| section | s | load at start | load at end | CPUs | busy | busy outside the bench |",
        "|---|---:|---|---|---:|---:|---:|",
    ]
    for r in records:
        start, end = (" / ".join(f"{v:.2f}" for v in r[key]) for key in ("load_start", "load_end"))
        lines.append(
            f"| {r['section']} | {r['seconds']:.0f} | {start} | {end} | {r['cpus']} | "
            f"{_num(r['cpus_busy'])} | {_num(r['cpus_busy_outside_bench'])} |"
        )
    return lines


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
        "Reference: the SDK floor (a bare MCPServer with one no-op tool), measured in the same rounds as ours: "
        "each round runs ours and the floor back to back, in turn first. ratio = ours / reference, the median of "
        "the rounds' ratios with the lowest and highest round in brackets (and ours − reference where the target "
        "is a difference). ours and reference are absolute: latencies in ms are p50s of all rounds' calls, other "
        "figures medians of the rounds. The store section's reference is one ticket read by its "
        "key through the same store, interleaved call by call.",
        "",
        "| metric | unit | ours | reference | ratio | p50 | p99 | target | met? |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for x in metrics:
        lines.append(
            f"| {x.name} | {x.unit} | {_num(x.ours)} | {_num(x.reference)} | {_ratio(x)} | {_num(x.p50)} | "
            f"{_num(x.p99)} | {x.target} | {_met(x.met)} |"
        )
    lines += _loads(meta.get("sections", []))
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
