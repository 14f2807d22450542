"""Crash soak: kill -9 the real tickets-mcp server while it creates tickets, many times, and check the file.

Each round starts `python -m tickets_mcp` on one database, keeps create_ticket calls in flight over raw
JSON-RPC on stdio and sends SIGKILL at a random moment after the first acknowledgment. After each kill
the database must pass `PRAGMA integrity_check`, hold every acknowledged ticket under its slug, and
number its tickets 1..N without gaps. The loop is tests/fixtures/helpers_processes.py's, as in
tests/processes/test_crash_safety.py, just longer.

    .venv/bin/python scripts/crash_soak.py --rounds 200 --seed 7

Exits 0 when every round was clean, 1 at the first loss or corruption (keeping the database), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.fixtures.helpers_processes import CrashLoop, RoundOptions, inspect_database  # noqa: E402


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--rounds", type=int, default=200, help="kill rounds (default 200)")
    p.add_argument("--seed", type=int, default=None, help="RNG seed for the kill delays (default: random, printed)")
    p.add_argument("--db", type=Path, default=None, help="database file (default: a new one in a temp folder)")
    p.add_argument("--min-delay", type=float, default=0.05, help="earliest kill, seconds after the first ack")
    p.add_argument("--max-delay", type=float, default=0.6, help="latest kill, seconds after the first ack")
    p.add_argument("--window", type=int, default=4, help="create requests kept in flight")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.window < 1 or not 0 <= args.min_delay <= args.max_delay:
        p.error("need --rounds >= 1, --window >= 1 and 0 <= --min-delay <= --max-delay")
    return args


def soak(db: Path, rounds: int, seed: int, options: RoundOptions) -> bool:
    """Run the rounds, printing progress and a summary; True when nothing was lost or damaged."""
    acknowledged: dict[str, str] = {}
    sent = 0
    problems: list[str] = []
    integrity = "not checked"
    found = 0
    started = time.monotonic()
    with CrashLoop(db, seed, options) as loop:
        while loop.rounds < rounds and not problems:
            result = loop.run_round()
            acknowledged.update(result.acknowledged)
            sent += result.sent
            state = inspect_database(db)
            integrity = state.integrity
            found = len(set(acknowledged) & set(state.titles))
            problems = result.problems() + state.problems(acknowledged, sent)
            if loop.rounds % 10 == 0 or problems:
                print(
                    f"round {loop.rounds}: {len(acknowledged)} acknowledged, {state.count} on disk, "
                    f"{time.monotonic() - started:.0f} s",
                    flush=True,
                )
        done = loop.rounds
    print(f"rounds: {done} of {rounds} (seed {seed}, {time.monotonic() - started:.1f} s)")
    print(f"acknowledged creates: {len(acknowledged)} (sent {sent})")
    print(f"found: {found} of {len(acknowledged)} acknowledged")
    print(f"integrity: {integrity}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return not problems


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    seed: int = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    options = RoundOptions(window=args.window, min_delay=args.min_delay, max_delay=args.max_delay)
    if args.db is not None:
        print(f"database: {args.db}")
        return 0 if soak(args.db, args.rounds, seed, options) else 1
    folder = Path(tempfile.mkdtemp(prefix="tracker-crash-soak-"))
    db = folder / "tracker.db"
    print(f"database: {db}")
    if soak(db, args.rounds, seed, options):
        shutil.rmtree(folder)
        return 0
    print(f"kept for inspection: {db}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
