"""The store, token and search sections, adapted to the suite's Context and Metric rows."""

from __future__ import annotations

from typing import Any

from bench import search, store, tokens
from bench.context import Context
from bench.stats import Metric


def _metrics(section: str, rows: list[dict[str, Any]]) -> list[Metric]:
    return [
        Metric(
            section=section,
            name=str(row["metric"]),
            unit=str(row["unit"]),
            ours=float(row["value"]),
            reference=row.get("reference"),
            p50=row.get("p50"),
            p99=row.get("p99"),
            target=str(row.get("target") or ""),
            met=row.get("met"),
        )
        for row in rows
    ]


def _quick(ctx: Context) -> bool:
    return ctx.config.smoke


def run_store(ctx: Context) -> list[Metric]:
    return store.run(ctx.config.smoke, ctx.config.tickets)


def run_tokens(ctx: Context) -> list[Metric]:
    return _metrics("tokens", tokens.run(_quick(ctx)))


def run_search(ctx: Context) -> list[Metric]:
    return _metrics("search", search.run(_quick(ctx)))
