"""kill -9 of the real tickets-mcp server while it writes: what it acknowledged is on disk, the file is intact.

Each round starts `python -m tickets_mcp` on the same database, keeps create_ticket calls in flight over
raw JSON-RPC on stdio, and sends SIGKILL at a random moment 0.05-0.6 s after the first acknowledgment.
After every kill the file is read with plain sqlite3. scripts/crash_soak.py runs the same loop for longer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.helpers_processes import CrashLoop, inspect_database

ROUNDS = 20
SEED = 20251125


@pytest.mark.slow
def test_acknowledged_creates_survive_kill_9_of_the_server_at_random_moments_with_gap_free_numbers(
    db_path: Path,
) -> None:
    acknowledged: dict[str, str] = {}  # slug -> title, over all rounds so far
    sent = 0
    with CrashLoop(db_path, SEED) as loop:
        for _ in range(ROUNDS):
            result = loop.run_round()
            # No errors, at least one acknowledged create, and the server died of our SIGKILL.
            assert result.problems() == [], f"seed {SEED}"
            acknowledged.update(result.acknowledged)
            sent += result.sent

            # Intact file; every acknowledged slug holds its title; numbers 1..N; counter and audit trail agree.
            state = inspect_database(db_path)
            assert state.problems(acknowledged, sent) == [], f"after round {result.index} (seed {SEED})"
    assert loop.rounds == ROUNDS
