"""The tool calls measured, with deterministic arguments."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from typing import Any

from bench.corpus import Corpus
from bench.data import STATUSES, Dataset

Args = dict[str, Any]
ArgsFactory = Callable[[int], Args]


def list_tickets(_: int) -> Args:
    return {"project": "WEB", "limit": 50}


def tools(data: Dataset, count: int, seed: int) -> dict[str, ArgsFactory]:
    """The four measured tools, each a function of the call's index."""
    reads = data.slugs(count, seed)
    moves = data.slugs(count, seed + 1)

    def get_ticket(i: int) -> Args:
        return {"slug": reads[i % len(reads)]}

    # Bug-report titles (bench/corpus.py), so the look-alike check reads the data's real candidates; some are
    # refused as look-alikes of the data's, a reply like any other (rpc.LOOK_ALIKE).
    corpus = Corpus(seed + 9)
    titles = [f"{corpus.title()} #{i + 1}" for i in range(count)]

    def create_ticket(i: int) -> Args:
        return {"project": "API", "title": titles[i % count], "priority": "high", "labels": ["perf"]}

    def move_ticket(i: int) -> Args:
        return {"slug": moves[i % len(moves)], "status": STATUSES[i % 4]}

    return {
        "list_tickets": list_tickets,
        "get_ticket": get_ticket,
        "create_ticket": create_ticket,
        "move_ticket": move_ticket,
    }


Call = tuple[str, Args]
# Issue 22's mix for HTTP throughput: 60/20/10/10 get_ticket/list_tickets/move_ticket/create_ticket.
MIX = {"get_ticket": 6, "list_tickets": 2, "move_ticket": 1, "create_ticket": 1}


def weighted(data: Dataset, count: int, seed: int, weights: dict[str, int] = MIX) -> Callable[[int], Call]:
    """Call i of a mix in these proportions: every block of sum(weights) calls holds each tool its weight's
    times, in an order shuffled once (so concurrent clients do not all write at the same moment)."""
    factories = tools(data, count, seed)
    block = [tool for tool, weight in weights.items() for _ in range(weight)]
    random.Random(seed).shuffle(block)

    def call(i: int) -> Call:
        tool = block[i % len(block)]
        return tool, factories[tool](i)

    return call


def mixed(data: Dataset, seed: int) -> Iterator[tuple[str, Args]]:
    """An endless read-mostly mix: get, list, get, …, and a move every tenth call."""
    factories = tools(data, 1000, seed)
    for i in itertools.count():
        if i % 10 == 9:
            yield "move_ticket", factories["move_ticket"](i)
        elif i % 3 == 0:
            yield "list_tickets", factories["list_tickets"](i)
        else:
            yield "get_ticket", factories["get_ticket"](i)
