"""Deterministic benchmark data: N tickets across several projects in a fresh SQLite file, cached by (N, seed).

The schema, the local user, the default workspace and an HTTP token come from the product's own CLI
(`tickets-mcp token create` migrates and creates the workspace); the tickets are then bulk-inserted
with one `executemany` transaction, which is orders of magnitude faster than going through the tools.
Titles and descriptions are bug-report text from `bench/corpus.py`, of the ticket's type.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.corpus import Corpus

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
CACHE = BENCH_DIR / ".cache"
USER = "bench"
PROJECTS: tuple[tuple[str, str], ...] = (
    ("WEB", "Web frontend"),
    ("API", "Public API"),
    ("OPS", "Operations"),
    ("MOB", "Mobile apps"),
    ("DOC", "Documentation"),
)
LABELS = ("bug-bash", "regression", "perf", "security", "ux", "tech-debt")
TYPES = ("bug", "feature", "task", "improvement")
STATUSES = ("backlog", "todo", "in_progress", "in_review", "done", "canceled")
STATUS_WEIGHTS = (30, 15, 10, 5, 35, 5)
POSITION_STEP = 1024
DATA_VERSION = 2  # bump when the seeded data changes, so stale cached files are not reused


@dataclass(frozen=True)
class Dataset:
    db: Path
    token: str
    user: str
    tickets: int
    projects: tuple[str, ...]
    counters: dict[str, int]

    def slugs(self, count: int, seed: int) -> list[str]:
        """`count` existing slugs, chosen deterministically."""
        rng = random.Random(seed)
        codes = [code for code in self.projects if self.counters[code] > 0]
        return [f"{c}-{rng.randint(1, self.counters[c])}" for c in (rng.choice(codes) for _ in range(count))]


def cli_env(user: str = USER) -> dict[str, str]:
    env = dict(os.environ)
    env["TICKETS_USER"] = user
    env.pop("TICKETS_DB", None)
    return env


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _bulk_insert(db: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    corpus = Corpus(seed)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        org_id, user_id = conn.execute(
            "SELECT m.organization_id, u.id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.username = ?",
            (USER,),
        ).fetchone()
        projects: list[str] = []
        for i, (code, name) in enumerate(PROJECTS):
            project_id = f"00000000-0000-4000-8000-{i + 1:012d}"
            projects.append(project_id)
            conn.execute(
                "INSERT INTO projects (id, organization_id, name, code, description, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (project_id, org_id, name, code, f"{name} (benchmark data)", _stamp(base)),
            )
        label_rows = [(p, name, f"#{zlib.crc32(name.encode()) & 0xFFFFFF:06x}") for p in projects for name in LABELS]
        conn.executemany("INSERT INTO labels (project_id, name, color) VALUES (?, ?, ?)", label_rows)
        label_ids = {
            (str(p), str(name)): int(i) for i, p, name in conn.execute("SELECT id, project_id, name FROM labels")
        }
        numbers = dict.fromkeys(projects, 0)
        positions: dict[tuple[str, str], int] = {}
        rows: list[tuple[object, ...]] = []
        ticket_labels: list[tuple[int, int]] = []
        next_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM tickets").fetchone()[0]) + 1
        for i in range(n):
            # Skewed towards the first projects, as real trackers are.
            project = projects[min(int(rng.expovariate(0.6)), len(projects) - 1)]
            numbers[project] += 1
            status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
            position = positions.get((project, status), 0) + POSITION_STEP
            positions[project, status] = position
            created = base + timedelta(seconds=60 * i)
            updated = created + timedelta(seconds=rng.randint(0, 86_400 * 30))
            closed = status in ("done", "canceled")
            kind = rng.choice(TYPES)
            title, description = corpus.ticket(kind)
            rows.append((
                next_id + i, project, numbers[project], kind, title, description, status,
                rng.randint(1, 4), user_id if rng.random() < 0.4 else None, user_id, position,
                _stamp(created), _stamp(updated), _stamp(updated) if closed else None, user_id if closed else None,
            ))  # fmt: skip
            for name in rng.sample(LABELS, k=rng.choice((0, 0, 1, 2))):
                ticket_labels.append((next_id + i, label_ids[project, name]))
        conn.executemany(
            """INSERT INTO tickets (id, project_id, number, type, title, description, status, priority,
                   assignee_id, reporter_id, position, created_at, updated_at, closed_at, closed_by_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )
        conn.executemany("INSERT INTO ticket_labels (ticket_id, label_id) VALUES (?, ?)", ticket_labels)
        conn.executemany("UPDATE projects SET ticket_counter = ? WHERE id = ?", [(c, p) for p, c in numbers.items()])
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _read_counters(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return {str(code): int(n) for code, n in conn.execute("SELECT code, ticket_counter FROM projects")}
    finally:
        conn.close()


def seeded(n: int, seed: int = 42) -> tuple[Path, str]:
    """The cached seeded database for (n, seed) and its token, built on first use."""
    CACHE.mkdir(parents=True, exist_ok=True)
    db = CACHE / f"tickets-{n}-{seed}-v{DATA_VERSION}.db"
    token_file = db.with_suffix(".token")
    if db.exists() and token_file.exists():
        return db, token_file.read_text().strip()
    tmp = db.with_suffix(".building")
    for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
        leftover.unlink(missing_ok=True)
    created = subprocess.run(
        [sys.executable, "-m", "tickets_mcp", "--db", str(tmp), "token", "create", "--user", USER, "--name", "bench"],
        capture_output=True, text=True, env=cli_env(), cwd=REPO, check=True,
    )  # fmt: skip
    token = created.stdout.strip().splitlines()[-1]
    _bulk_insert(tmp, n, seed)
    tmp.replace(db)
    token_file.write_text(token + "\n")
    return db, token


def working_copy(n: int, seed: int, workdir: Path) -> Dataset:
    """A fresh copy of the seeded database in `workdir`, so each run starts from the same data."""
    source, token = seeded(n, seed)
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "tracker.db"
    for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(source, db)
    counters = _read_counters(db)
    codes = tuple(code for code, _ in PROJECTS)
    return Dataset(db=db, token=token, user=USER, tickets=n, projects=codes, counters=counters)
