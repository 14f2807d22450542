"""Percentiles and the one record every section produces."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: Sequence[float]) -> list[float]:
    return [s * 1000 for s in seconds]


@dataclass
class Metric:
    """One row of the results table. `ratio` is ours / reference, both measured in the same run (or, measured
    interleaved round by round, the median of the rounds' ratios)."""

    section: str
    name: str
    unit: str
    ours: float
    reference: float | None = None
    p50: float | None = None
    p99: float | None = None
    target: str = ""
    met: bool | None = None
    samples: int = 0
    extra: dict[str, Any] = field(default_factory=dict[str, Any])
    # Measured round by round against the reference: the median of the rounds' ratios, and their range.
    round_ratio: float | None = None
    ratio_range: tuple[float, float] | None = None

    @property
    def ratio(self) -> float | None:
        if self.round_ratio is not None:
            return self.round_ratio
        if self.reference is None or self.reference == 0:
            return None
        return self.ours / self.reference

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = self.ratio
        return data


def latency_metric(section: str, name: str, ours: Sequence[float], floor: Sequence[float] | None, *,
                   target: str = "", p50_max: float | None = None, p99_max: float | None = None) -> Metric:  # fmt: skip
    """A latency row from samples in seconds: ours and reference are p50s in ms."""
    o = ms(ours)
    p50, p99 = percentile(o, 50), percentile(o, 99)
    met: bool | None = None
    if p50_max is not None or p99_max is not None:
        met = (p50_max is None or p50 <= p50_max) and (p99_max is None or p99 <= p99_max)
    return Metric(
        section=section, name=name, unit="ms", ours=p50,
        reference=percentile(ms(floor), 50) if floor else None,
        p50=p50, p99=p99, target=target, met=met, samples=len(o),
        extra={"mean": sum(o) / len(o), "max": max(o)},
    )  # fmt: skip
