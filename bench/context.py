"""What every section gets: the data set and the sizes chosen by --quick."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from bench.data import Dataset, working_copy


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
    smoke: bool = False  # --quick

    @classmethod
    def quick(cls) -> Config:
        return cls(tickets=2_000, seed=42, cold_starts=2, calls_per_tool=30, warmup=5,
                   throughput_seconds=0.5, concurrency=(1, 20, 100), memory_calls=500, smoke=True)  # fmt: skip

    @classmethod
    def full(cls) -> Config:
        return cls(tickets=100_000, seed=42, cold_starts=15, calls_per_tool=500, warmup=50,
                   throughput_seconds=8.0, concurrency=(1, 20, 100), memory_calls=10_000)  # fmt: skip


@dataclass(frozen=True)
class Context:
    config: Config
    workdir: Path

    @cached_property
    def data(self) -> Dataset:
        """The MCP sections' data (bench/data.py), seeded on first use: a section with data of its own
        (store, search, statements, tokens) does not wait for it."""
        print(f"seeding {self.config.tickets:,} tickets…", file=sys.stderr, flush=True)
        return working_copy(self.config.tickets, self.config.seed, self.workdir / "data")
