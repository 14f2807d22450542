"""The dict rows the tokens and search sections build (bench/sections.py turns them into Metric rows), and
their markdown table for those modules' own command lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.stats import percentile


def result(
    metric: str,
    value: float,
    unit: str,
    *,
    samples: Sequence[float] = (),
    target: str | None = None,
    met: bool | None = None,
    reference: float | None = None,
) -> dict[str, Any]:
    return {
        "metric": metric,
        "value": round(value, 3),
        "unit": unit,
        "reference": reference,
        "ratio": round(value / reference, 2) if reference else None,
        "p50": round(percentile(samples, 50), 3) if samples else None,
        "p99": round(percentile(samples, 99), 3) if samples else None,
        "target": target,
        "met": met,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 1000 else f"{value:,.0f}"
    return str(value)


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    columns = ("metric", "value", "unit", "reference", "ratio", "p50", "p99", "target", "met")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
