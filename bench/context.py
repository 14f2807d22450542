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
    latency_rounds: int = 10  # calls_per_tool split into this many rounds, each next to a block of the floor's
    throughput_rounds: int = 4  # each of throughput_seconds per contender
    memory_rounds: int = 3
    smoke: bool = False  # --quick

    @classmethod
    def quick(cls) -> Config:
        return cls(tickets=2_000, seed=42, cold_starts=2, calls_per_tool=30, warmup=5,
                   throughput_seconds=0.3, concurrency=(1, 20, 100), memory_calls=500,
                   latency_rounds=3, throughput_rounds=2, memory_rounds=2, smoke=True)  # fmt: skip

    @classmethod
    def full(cls) -> Config:
        return cls(tickets=100_000, seed=42, cold_starts=20, calls_per_tool=500, warmup=50,
                   throughput_seconds=3.0, concurrency=(1, 20, 100), memory_calls=10_000,
                   latency_rounds=10, throughput_rounds=4, memory_rounds=3)  # fmt: skip


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
