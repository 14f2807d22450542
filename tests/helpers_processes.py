"""Real-process helpers shared by the concurrency and crash-safety tests and scripts/crash_soak.py.

- `prepare_database`, `create_tickets` and the `create-worker` command (`python -m tests.helpers_processes`):
  concurrent creators, each in its own OS process with its own store (a SQLite file or a PostgreSQL URL).
- the `update-worker` command: concurrent updaters of one ticket, each sending the version it read.
- `McpProcess` and `run_crash_round`: the real `tickets-mcp` server driven over stdio by a raw JSON-RPC
  client, killed with SIGKILL while creates are in flight.
- `inspect_database`: what is on disk afterwards, read with plain sqlite3.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import anyio
import anyio.to_thread

from tickets_mcp.config import PostgresUrl, parse_location
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketChanges, TicketDraft
from tickets_mcp.errors import Conflict
from tickets_mcp.stores import Store
from tickets_mcp.stores.factory import open_store

REPO = Path(__file__).resolve().parent.parent
USERNAME = "alice"
ORGANIZATION = "Local"
PROJECT = "Inbox"
CODE = "INBOX"
PROTOCOL_VERSION = "2025-11-25"
KILLED = 1 if sys.platform == "win32" else -signal.SIGKILL  # exit code of a process we killed
READY = "ready"
GO = "go"

# Database setup and creators


async def prepare_database(location: Path | PostgresUrl) -> None:
    """Create the database with user alice and the default workspace (organization Local, project INBOX)."""
    store = await open_store(location)
    try:
        user = await store.ensure_user(USERNAME, USERNAME)
        await store.ensure_local_workspace(user, ORGANIZATION, PROJECT, CODE)
    finally:
        await store.close()


@dataclass
class CreatorReport:
    """What one creator was told: the slug of each acknowledged create, in order, and every error."""

    name: str
    slugs: list[str] = field(default_factory=list[str])
    errors: list[str] = field(default_factory=list[str])

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "slugs": self.slugs, "errors": self.errors})

    @classmethod
    def from_json(cls, text: str) -> CreatorReport:
        data = cast(dict[str, Any], json.loads(text))
        return cls(name=str(data["name"]), slugs=list(data["slugs"]), errors=list(data["errors"]))


async def tracker_for(store: Store, username: str = USERNAME) -> LocalTracker:
    user = await store.find_user(username)
    if user is None:
        raise LookupError(f"User {username!r} does not exist; run prepare_database first.")
    return LocalTracker(store, Principal(user_id=user.id, username=user.username))


async def create_tickets(tracker: LocalTracker, name: str, count: int) -> CreatorReport:
    """Create `count` tickets one after the other, recording every slug and every error (never raising)."""
    report = CreatorReport(name=name)
    for i in range(count):
        try:
            ticket = await tracker.create_ticket(TicketDraft(title=f"{name} #{i}"))
        except Exception as exc:
            report.errors.append(f"{type(exc).__name__}: {exc}")
        else:
            report.slugs.append(ticket.slug)
    return report


def location_argument(db: Path | PostgresUrl) -> str:
    """How a worker's command line names the database: the path, or the URL itself (unmasked)."""
    return db.url if isinstance(db, PostgresUrl) else str(db)


def worker_command(db: Path | PostgresUrl, name: str, count: int) -> list[str]:
    """The command line of one creator process (run it with cwd=REPO)."""
    return [sys.executable, "-m", "tests.helpers_processes", "create-worker", location_argument(db), name, str(count)]


def update_worker_command(db: Path | PostgresUrl, name: str, slug: str, rounds: int) -> list[str]:
    """The command line of one updater process (run it with cwd=REPO)."""
    module = [sys.executable, "-m", "tests.helpers_processes"]
    return [*module, "update-worker", location_argument(db), name, slug, str(rounds)]


async def _await_go(store: Store) -> LocalTracker:
    """The worker's tracker, once it has said READY and been told GO on stdin."""
    tracker = await tracker_for(store)
    print(READY, flush=True)
    line = await anyio.to_thread.run_sync(sys.stdin.readline)
    if line.strip() != GO:
        raise SystemExit(f"expected {GO!r} on stdin, got {line!r}")
    return tracker


async def _create_worker(db: str, name: str, count: int) -> None:
    """Open the store, say READY, wait for GO on stdin, create, print the report as one JSON line."""
    store = await open_store(parse_location(db))
    try:
        report = await create_tickets(await _await_go(store), name, count)
    finally:
        await store.close()
    print(report.to_json(), flush=True)


@dataclass
class UpdaterReport:
    """What one updater was told: the version each saved write was based on, how many were refused as
    stale, and any other failure."""

    name: str
    based_on: list[int] = field(default_factory=list[int])
    conflicts: int = 0
    errors: list[str] = field(default_factory=list[str])

    def to_json(self) -> str:
        fields = {"name": self.name, "based_on": self.based_on, "conflicts": self.conflicts, "errors": self.errors}
        return json.dumps(fields)

    @classmethod
    def from_json(cls, text: str) -> UpdaterReport:
        data = cast(dict[str, Any], json.loads(text))
        return cls(name=str(data["name"]), based_on=list(data["based_on"]), conflicts=int(data["conflicts"]),
                   errors=list(data["errors"]))  # fmt: skip


async def update_ticket_repeatedly(tracker: LocalTracker, name: str, slug: str, rounds: int) -> UpdaterReport:
    """Read the ticket and write a new title with the version read, `rounds` times (never raising).

    A saved write must come back exactly one version above the one it was based on; anything else means
    another write slipped in between and one of the two was silently lost.
    """
    report = UpdaterReport(name=name)
    for i in range(rounds):
        try:
            version = (await tracker.get_ticket(slug)).ticket.version
            saved = await tracker.update_ticket(slug, TicketChanges(title=f"{name} #{i}"), version=version)
        except Conflict:
            report.conflicts += 1
        except Exception as exc:
            report.errors.append(f"{type(exc).__name__}: {exc}")
        else:
            report.based_on.append(version)
            if saved.version != version + 1:
                report.errors.append(f"a write based on version {version} came back as version {saved.version}")
    return report


async def _update_worker(db: str, name: str, slug: str, rounds: int) -> None:
    """Open the store, say READY, wait for GO on stdin, update, print the report as one JSON line."""
    store = await open_store(parse_location(db))
    try:
        report = await update_ticket_repeatedly(await _await_go(store), name, slug, rounds)
    finally:
        await store.close()
    print(report.to_json(), flush=True)


@contextlib.contextmanager
def worker_processes(commands: Sequence[list[str]]) -> Generator[list[subprocess.Popen[str]]]:
    """One process per worker command (run in REPO), killed if the caller leaves them running."""
    with contextlib.ExitStack() as stack:
        procs: list[subprocess.Popen[str]] = []
        for command in commands:
            proc = subprocess.Popen(
                command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            stack.enter_context(proc)
            stack.callback(_kill_if_running, proc)
            procs.append(proc)
        yield procs


def _kill_if_running(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


async def run_at_once(procs: Sequence[subprocess.Popen[str]], limit_s: float) -> list[str]:
    """Wait until every worker has opened its store and said READY, then tell all GO, so they contend
    from the start; returns each worker's last line (its JSON report). Each may take `limit_s` to finish."""
    for proc in procs:
        assert proc.stdout is not None
        line = await anyio.to_thread.run_sync(proc.stdout.readline)
        assert line.strip() == READY, f"worker did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(GO + "\n")
        proc.stdin.flush()
    reports: list[str] = []
    for proc in procs:
        out, err = await anyio.to_thread.run_sync(proc.communicate, None, limit_s)
        assert proc.returncode == 0, f"worker exited with {proc.returncode}: {err}"
        reports.append(out.strip().splitlines()[-1])
    return reports


# The real server over stdio


def server_env(db: Path | PostgresUrl) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"TICKETS_DB": location_argument(db), "TICKETS_USER": USERNAME, "PYTHONUNBUFFERED": "1"})
    return env


class McpProcess:
    """A `tickets-mcp` server process with a raw newline-delimited JSON-RPC client on its stdin/stdout.

    A reader thread turns stdout into complete messages on a queue; a line cut short by a kill is dropped,
    since the client never received that response.
    """

    def __init__(self, db: Path | PostgresUrl) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._stderr_tail = ""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tickets_mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=server_env(db),
            cwd=REPO,
        )
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="mcp-stdout-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stdout = cast(IO[bytes], self.proc.stdout)
        try:
            for line in stdout:
                if not line.endswith(b"\n"):
                    break  # cut short by the kill: never a complete response
                message = json.loads(line)
                if isinstance(message, dict):
                    self._messages.put(cast(dict[str, Any], message))
        finally:
            self._messages.put(None)

    def send(self, message: Mapping[str, Any]) -> None:
        stdin = cast(IO[bytes], self.proc.stdin)
        stdin.write(json.dumps(message).encode() + b"\n")
        stdin.flush()

    def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next message; None once stdout has closed. Raises TimeoutError after `timeout` seconds."""
        try:
            return self._messages.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            raise TimeoutError(f"no message from tickets-mcp within {timeout:.1f} s") from None

    def initialize(self, timeout: float = 30.0) -> dict[str, Any]:
        """The legacy handshake: initialize, await its result, then notifications/initialized."""
        self.send(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "crash-test", "version": "1.0"},
                },
            }
        )
        reply = self.receive(timeout)
        if reply is None or reply.get("id") != 0 or "result" not in reply:
            raise RuntimeError(f"initialize failed: {reply!r}; stderr: {self.stderr_text()}")
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return cast(dict[str, Any], reply["result"])

    def kill(self) -> int:
        """SIGKILL (TerminateProcess on Windows), then reap the process and the reader; returns the exit code."""
        self.proc.kill()
        code = self.proc.wait()
        self._reader.join()
        return code

    def drain(self) -> Iterator[dict[str, Any]]:
        """Messages already read and not yet received (call after kill: stdout has closed)."""
        while True:
            try:
                message = self._messages.get_nowait()
            except queue.Empty:
                return
            if message is not None:
                yield message

    def stderr_text(self) -> str:
        """The last 2000 characters the server wrote to stderr (kept after close)."""
        if not self._stderr.closed:
            self._stderr.seek(0)
            self._stderr_tail = self._stderr.read().decode(errors="replace")[-2000:]
        return self._stderr_tail

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(BrokenPipeError):
                    stream.close()
        self.stderr_text()
        self._stderr.close()


def create_request(request_id: int, title: str) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "create_ticket", "arguments": {"title": title}},
    }


@dataclass
class RoundResult:
    """One kill round: what the client was told and how the server ended."""

    index: int
    kill_delay: float
    sent: int = 0
    acknowledged: dict[str, str] = field(default_factory=dict[str, str])  # slug -> title we sent
    errors: list[str] = field(default_factory=list[str])
    returncode: int | None = None
    stderr: str = ""

    def problems(self) -> list[str]:
        """Errors, a round without any acknowledged create, or a server that did not die of our SIGKILL."""
        found: list[str] = [f"round {self.index}: {error}" for error in self.errors]
        if not self.acknowledged:
            found.append(f"round {self.index}: no create was acknowledged before the kill")
        if self.returncode != KILLED:
            found.append(f"round {self.index}: server ended with {self.returncode}, not by SIGKILL")
        if found and self.stderr:
            found.append(f"round {self.index} server stderr: {self.stderr}")
        return found


@dataclass(frozen=True)
class RoundOptions:
    """How a crash round drives and kills the server."""

    window: int = 4  # creates kept in flight
    min_delay: float = 0.05  # kill this long after the first acknowledgment, at the earliest
    max_delay: float = 0.6  # and at the latest
    timeout: float = 30.0  # longest wait for any one response


def run_crash_round(
    server: McpProcess, index: int, rng: random.Random, options: RoundOptions = RoundOptions()
) -> RoundResult:
    """Drive a fresh `server`: keep creates in flight, SIGKILL it a random delay after the first ack.

    Every complete response read from stdout counts as acknowledged, including those that arrived
    between the kill decision and the kill itself. The server is closed on return.
    """
    result = RoundResult(index=index, kill_delay=rng.uniform(options.min_delay, options.max_delay))
    timeout = options.timeout
    titles: dict[int, str] = {}
    try:
        server.initialize(timeout)

        def send_next() -> None:
            result.sent += 1
            titles[result.sent] = f"crash round {index} request {result.sent}"
            server.send(create_request(result.sent, titles[result.sent]))

        def record(message: Mapping[str, Any]) -> None:
            request_id = message.get("id")
            title = titles.pop(request_id, None) if isinstance(request_id, int) else None  # one answer per request
            outcome = message.get("result")
            if title is None or not isinstance(outcome, dict):
                result.errors.append(f"unexpected message: {json.dumps(message)[:300]}")
                return
            outcome = cast(dict[str, Any], outcome)
            structured = outcome.get("structuredContent")
            if outcome.get("isError") or not isinstance(structured, dict):
                result.errors.append(f"create {request_id} failed: {json.dumps(outcome)[:300]}")
                return
            slug = str(cast(dict[str, Any], structured)["slug"])
            if slug in result.acknowledged:
                result.errors.append(f"{slug} acknowledged for two creates: {result.acknowledged[slug]!r}, {title!r}")
            result.acknowledged[slug] = title

        for _ in range(options.window):
            send_next()
        kill_at: float | None = None
        while kill_at is None or time.monotonic() < kill_at:
            wait = timeout if kill_at is None else kill_at - time.monotonic()
            try:
                message = server.receive(wait)
            except TimeoutError:
                if kill_at is None:
                    raise
                break  # the kill moment came while waiting
            if message is None:
                result.errors.append("the server closed stdout before the kill")
                break
            record(message)
            if kill_at is None and result.acknowledged:
                kill_at = time.monotonic() + result.kill_delay
            send_next()
        result.returncode = server.kill()
        for message in server.drain():
            record(message)
    except (TimeoutError, RuntimeError, BrokenPipeError) as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        server.close()
        result.stderr = server.stderr_text()
    return result


class CrashLoop:
    """Kill rounds on one database. Servers for the next rounds are spawned while the current one runs.

    A spawned tickets-mcp only imports its modules until it receives `initialize` (its lifespan, which
    opens the database, starts with the session), so a spare process does not touch the file before
    its own round; spawning it early only hides the interpreter's start-up time.
    """

    def __init__(self, db: Path, seed: int, options: RoundOptions = RoundOptions(), *, spares: int = 2) -> None:
        self.db = db
        self.rng = random.Random(seed)
        self.rounds = 0
        self.options = options
        self._spares = deque(McpProcess(db) for _ in range(spares))

    def run_round(self) -> RoundResult:
        self._spares.append(McpProcess(self.db))
        server = self._spares.popleft()
        self.rounds += 1
        return run_crash_round(server, self.rounds, self.rng, self.options)

    def close(self) -> None:
        while self._spares:
            self._spares.popleft().close()

    def __enter__(self) -> CrashLoop:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# What is on disk


@dataclass(frozen=True)
class DatabaseState:
    integrity: str
    foreign_key_violations: int
    numbers: list[int]  # ticket numbers of the project, ascending
    titles: dict[str, str]  # slug -> title
    ticket_ids: list[int]
    counter: int  # projects.ticket_counter
    created_events: list[tuple[str, int]]  # (subject, ticket_id) of each ticket.created event

    @property
    def count(self) -> int:
        return len(self.numbers)

    def expected_created_events(self) -> list[tuple[str, int]]:
        """One (slug, ticket id) per ticket, sorted: the audit trail every create must leave."""
        return sorted((f"{CODE}-{n}", i) for n, i in zip(self.numbers, self.ticket_ids, strict=True))

    def problems(self, acknowledged: Mapping[str, str], sent: int) -> list[str]:
        """Everything that contradicts: intact file, acknowledged creates present, numbers 1..N, N <= sent."""
        found: list[str] = []
        if self.integrity != "ok":
            found.append(f"integrity_check: {self.integrity}")
        if self.foreign_key_violations:
            found.append(f"{self.foreign_key_violations} foreign key violations")
        missing = sorted(set(acknowledged) - set(self.titles), key=_number)
        if missing:
            found.append(f"{len(missing)} acknowledged tickets lost: {missing[:20]}")
        wrong = sorted(s for s, title in acknowledged.items() if s in self.titles and self.titles[s] != title)
        if wrong:
            found.append(f"{len(wrong)} acknowledged slugs hold another ticket's title: {wrong[:20]}")
        if self.numbers != list(range(1, self.count + 1)):
            found.append(f"ticket numbers are not 1..{self.count}: {describe_numbers(self.numbers)}")
        if self.counter != self.count:
            found.append(f"ticket_counter is {self.counter} for {self.count} tickets")
        if self.count > sent:
            found.append(f"{self.count} tickets on disk but only {sent} creates were sent")
        if sorted(self.created_events) != self.expected_created_events():
            found.append(f"{len(self.created_events)} ticket.created events do not match the {self.count} tickets")
        return found


def inspect_database(db: Path) -> DatabaseState:
    """Read the project's tickets, counter and audit events with plain sqlite3 (recovering the WAL if need be)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        integrity = "; ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check").fetchall())
        fk_violations = len(conn.execute("PRAGMA foreign_key_check").fetchall())
        rows = conn.execute(
            "SELECT t.number, t.title, t.id FROM tickets t JOIN projects p ON p.id = t.project_id "
            "WHERE p.code = ? ORDER BY t.number",
            (CODE,),
        ).fetchall()
        counter = conn.execute("SELECT ticket_counter FROM projects WHERE code = ?", (CODE,)).fetchone()
        events = conn.execute(
            "SELECT subject, ticket_id FROM events WHERE action = 'ticket.created' ORDER BY id"
        ).fetchall()
    return DatabaseState(
        integrity=integrity,
        foreign_key_violations=fk_violations,
        numbers=[int(r[0]) for r in rows],
        titles={f"{CODE}-{r[0]}": str(r[1]) for r in rows},
        ticket_ids=[int(r[2]) for r in rows],
        counter=int(counter[0]) if counter else -1,
        created_events=[(str(s), int(t)) for s, t in events],
    )


def _number(slug: str) -> int:
    return int(slug.rsplit("-", 1)[1])


def describe_numbers(numbers: Sequence[int]) -> str:
    """How a list of ticket numbers departs from 1..N: which numbers repeat, which are missing."""
    duplicates = sorted(n for n, times in Counter(numbers).items() if times > 1)
    gaps = sorted(set(range(1, max(numbers, default=0) + 1)) - set(numbers))
    return f"{len(duplicates)} duplicated {duplicates[:20]}, {len(gaps)} missing {gaps[:20]}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.helpers_processes")
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("create-worker", help="one creator process (see worker_command)")
    worker.add_argument("db", help="a SQLite path or a PostgreSQL URL")
    worker.add_argument("name")
    worker.add_argument("count", type=int)
    updater = commands.add_parser("update-worker", help="one updater process (see update_worker_command)")
    updater.add_argument("db", help="a SQLite path or a PostgreSQL URL")
    updater.add_argument("name")
    updater.add_argument("slug")
    updater.add_argument("rounds", type=int)
    args = parser.parse_args(argv)
    if args.command == "create-worker":
        anyio.run(_create_worker, args.db, args.name, args.count)
    else:
        anyio.run(_update_worker, args.db, args.name, args.slug, args.rounds)


if __name__ == "__main__":
    main()
