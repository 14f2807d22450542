"""Percentiles, rounds of interleaved measurements, and the one record every section produces.

A figure against the floor is measured in rounds: each round measures every contender back to back
(the order rotating from round to round), and the figure is the median over rounds of ours ÷ floor,
with the lowest and highest round beside it. A slow minute on the shared machine then weighs on both
sides of a round's ratio alike, instead of on whichever block happened to run in it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

K = TypeVar("K")
T = TypeVar("T")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: Sequence[float]) -> list[float]:
    return [s * 1000 for s in seconds]


def rotated(keys: Sequence[K], round_index: int) -> list[K]:
    """The order of round `round_index`: each contender goes first in turn (with two: A B, B A, A B, …)."""
    shift = round_index % len(keys) if keys else 0
    return [*keys[shift:], *keys[:shift]]


def round_of(index: int, contenders: Mapping[str, Callable[[], T]]) -> dict[str, T]:
    """Round `index`: every contender once, back to back, in that round's order."""
    return {name: contenders[name]() for name in rotated(list(contenders), index)}


async def round_of_async(index: int, contenders: Mapping[str, Callable[[], Awaitable[T]]]) -> dict[str, T]:
    """`round_of` for coroutines (the HTTP sections)."""
    return {name: await contenders[name]() for name in rotated(list(contenders), index)}


def interleaved(rounds: int, contenders: Mapping[str, Callable[[], T]]) -> dict[str, list[T]]:
    """`rounds` rounds of the contenders: each one's results, round by round."""
    results: dict[str, list[T]] = {name: [] for name in contenders}
    for r in range(rounds):
        for name, value in round_of(r, contenders).items():
            results[name].append(value)
    return results


@dataclass
class Metric:
    """One row of the results table.

    `ratio` is ours / reference: the median of the per-round ratios when the figure was measured in
    rounds (`ratios`), else ours / reference as measured. `differences` holds per-round ours − reference
    where the target is a difference (cold start: floor + 60 ms) or a ratio means nothing (memory growth).
    """

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
    ratios: list[float] = field(default_factory=list[float])
    differences: list[float] = field(default_factory=list[float])

    @property
    def ratio(self) -> float | None:
        if self.ratios:
            return statistics.median(self.ratios)
        if self.reference is None or self.reference == 0:
            return None
        return self.ours / self.reference

    @property
    def ratio_range(self) -> tuple[float, float] | None:
        return (min(self.ratios), max(self.ratios)) if self.ratios else None

    @property
    def difference(self) -> float | None:
        return statistics.median(self.differences) if self.differences else None

    @property
    def difference_range(self) -> tuple[float, float] | None:
        return (min(self.differences), max(self.differences)) if self.differences else None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = self.ratio
        data["ratio_range"] = self.ratio_range
        data["difference"] = self.difference
        data["difference_range"] = self.difference_range
        data["rounds"] = max(len(self.ratios), len(self.differences))
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


def latency_rounds(section: str, name: str, ours: Sequence[Sequence[float]], floor: Sequence[Sequence[float]], *,
                   target: str = "", p50_max: float | None = None, p99_max: float | None = None,
                   ratio_max: float | None = None) -> Metric:  # fmt: skip
    """A latency row from rounds of samples in seconds (ours[r] measured next to floor[r]).

    Each round's ratio is its p50 over the floor's p50 in that round; ours, reference, p50 and p99 are
    of all rounds' samples together, in ms.
    """
    if len(ours) != len(floor) or not ours:
        raise ValueError(f"{name}: {len(ours)} rounds of ours against {len(floor)} of the floor")
    o = ms([s for samples in ours for s in samples])
    f = ms([s for samples in floor for s in samples])
    p50, p99 = percentile(o, 50), percentile(o, 99)
    ratios = [percentile(a, 50) / percentile(b, 50) for a, b in zip(ours, floor, strict=True)]
    checks: list[bool] = []
    if p50_max is not None:
        checks.append(p50 <= p50_max)
    if p99_max is not None:
        checks.append(p99 <= p99_max)
    if ratio_max is not None:
        checks.append(statistics.median(ratios) <= ratio_max)
    return Metric(
        section=section, name=name, unit="ms", ours=p50, reference=percentile(f, 50), p50=p50, p99=p99,
        target=target, met=all(checks) if checks else None, samples=len(o), ratios=ratios,
        extra={"mean": sum(o) / len(o), "max": max(o), "floor_p99": percentile(f, 99),
               "round_p50": [percentile(ms(s), 50) for s in ours],
               "floor_round_p50": [percentile(ms(s), 50) for s in floor]},
    )  # fmt: skip


def figure_rounds(section: str, name: str, unit: str, ours: Sequence[float], floor: Sequence[float], *,
                  ratios: bool = True, differences: bool = False, **fields: Any) -> Metric:  # fmt: skip
    """A row of one figure per round (cold start ms, calls/s, MB): ours and reference are the medians."""
    if len(ours) != len(floor) or not ours:
        raise ValueError(f"{name}: {len(ours)} rounds of ours against {len(floor)} of the floor")
    pairs = list(zip(ours, floor, strict=True))
    metric = Metric(
        section=section, name=name, unit=unit, ours=statistics.median(ours), reference=statistics.median(floor),
        ratios=[a / b for a, b in pairs if b] if ratios else [],
        differences=[a - b for a, b in pairs] if differences else [], **fields,
    )  # fmt: skip
    metric.extra.setdefault("rounds", [list(p) for p in pairs])
    return metric
