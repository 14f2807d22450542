"""What every section gets: the data set and the sizes chosen by --quick."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.data import Dataset


@dataclass(frozen=True)
class Config:
    tickets: int
    seed: int
    cold_starts: int
    calls_per_tool: int
    warmup: int
    throughput_seconds: float
    concurrency: tuple[int, ...]
    memory_calls: int

    @classmethod
    def quick(cls) -> Config:
        return cls(tickets=2_000, seed=42, cold_starts=2, calls_per_tool=30, warmup=5,
                   throughput_seconds=0.5, concurrency=(1, 20, 100), memory_calls=500)  # fmt: skip

    @classmethod
    def full(cls) -> Config:
        return cls(tickets=100_000, seed=42, cold_starts=15, calls_per_tool=500, warmup=50,
                   throughput_seconds=8.0, concurrency=(1, 20, 100), memory_calls=10_000)  # fmt: skip


@dataclass(frozen=True)
class Context:
    config: Config
    data: Dataset
    workdir: Path
