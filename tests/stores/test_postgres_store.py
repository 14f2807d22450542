"""PostgreSQL beyond the shared contract: migrations (racing processes, newer schemas), connection
failures that name no password, and every entry point (migrate, info, admin commands, stdio, serve)
selected by a postgresql:// URL in --db or TICKETS_DB.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

import httpx2
import psycopg
import pytest

from tests.fixtures.helpers_processes import REPO, McpProcess
from tests.fixtures.http_server import READY_LINE, bearer
from tickets_mcp.errors import BackendUnavailable
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.location import PostgresUrl
from tickets_mcp.stores.postgres.migrations import LATEST, MIGRATION_LOCK, MIGRATIONS

pytestmark = pytest.mark.anyio

PASSWORD = "hunter2-not-shown"


def with_password(url: PostgresUrl) -> PostgresUrl:
    """The same URL with a password (ignored by a server that trusts the connection, never to be printed)."""
    return PostgresUrl(url.url.replace("postgres@", f"postgres:{PASSWORD}@", 1))


def recorded_versions(url: PostgresUrl) -> list[int]:
    with psycopg.connect(url.url) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def schema_snapshot(url: PostgresUrl) -> list[tuple[Any, ...]]:
    """Every table and index of the URL's schema with the migration record: what a refusal must leave alone."""
    with psycopg.connect(url.url) as conn:
        objects = conn.execute(
            "SELECT relname, relkind FROM pg_class WHERE relnamespace = current_schema()::regnamespace ORDER BY 1"
        ).fetchall()
        return objects + conn.execute("SELECT * FROM schema_migrations ORDER BY version").fetchall()


def tickets_mcp(url: PostgresUrl, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`python -m tickets_mcp --db URL ARGS...` as user alice."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS_")} | {"TICKETS_USER": "alice"}
    return subprocess.run(
        [sys.executable, "-m", "tickets_mcp", "--db", url.url, *args],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=60, check=check,
    )  # fmt: skip


# Migrations


async def test_a_new_database_gets_the_extension_and_every_migration_once(
    fresh_postgres_database: PostgresUrl,
) -> None:
    for _ in range(2):
        store = await open_store(fresh_postgres_database)
        await store.close()
    assert recorded_versions(fresh_postgres_database) == [m.version for m in MIGRATIONS]
    with psycopg.connect(fresh_postgres_database.url) as conn:
        assert conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").fetchone() is not None


def test_two_processes_migrating_a_new_database_at_once_both_succeed_and_apply_it_once(
    fresh_postgres_database: PostgresUrl,
) -> None:
    url = fresh_postgres_database
    # Hold the migration lock so that both processes are queued on it before either may migrate.
    with psycopg.connect(url.url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS_")}
        command = [sys.executable, "-m", "tickets_mcp", "--db", url.url, "migrate"]
        procs = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO) for _ in range(2)]
        try:
            wait_for_lock_waiters(holder, 2)
            holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
            results = [(proc.wait(60), proc.stderr.read() if proc.stderr else "") for proc in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                if proc.stderr is not None:
                    proc.stderr.close()
    assert [code for code, _ in results] == [0, 0], results
    assert recorded_versions(url) == [m.version for m in MIGRATIONS]


def wait_for_lock_waiters(conn: psycopg.Connection[Any], count: int, timeout: float = 30.0) -> None:
    """Until `count` sessions wait for the migration lock (polling pg_locks, not timing the work)."""
    deadline = time.monotonic() + timeout
    query = "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    while (waiting := conn.execute(query).fetchone()) is None or waiting[0] < count:
        assert time.monotonic() < deadline, f"only {waiting} processes reached the migration lock"
        time.sleep(0.02)


async def test_a_database_from_a_newer_version_is_refused_and_left_untouched(postgres_url: PostgresUrl) -> None:
    store = await open_store(postgres_url)
    await store.close()
    with psycopg.connect(postgres_url.url) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (%s, 'from the future', 'later')", (LATEST + 1,))
    before = schema_snapshot(postgres_url)
    with pytest.raises(BackendUnavailable) as refused:
        await open_store(with_password(postgres_url))
    message = str(refused.value)
    assert f"schema version {LATEST + 1}" in message and "Upgrade tickets-mcp" in message
    assert PASSWORD not in message and "postgres:***@" in message
    assert schema_snapshot(postgres_url) == before


def test_the_cli_reports_a_newer_database_clearly_without_the_password(postgres_url: PostgresUrl) -> None:
    tickets_mcp(postgres_url, "migrate")
    with psycopg.connect(postgres_url.url) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'future', 'later')")
    result = tickets_mcp(with_password(postgres_url), "migrate", check=False)
    assert result.returncode == 2
    assert "schema version 99" in result.stderr and "Traceback" not in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


# Connection failures


async def test_an_unreachable_server_is_reported_with_the_password_masked() -> None:
    url = PostgresUrl(f"postgresql://someone:{PASSWORD}@127.0.0.1:9/nothing?password={PASSWORD}")
    with pytest.raises(BackendUnavailable) as refused:
        await open_store(url)
    message = str(refused.value)
    assert "Cannot use the PostgreSQL database at postgresql://someone:***@127.0.0.1:9/nothing" in message
    assert PASSWORD not in message and PASSWORD not in repr(url)


# Entry points


def test_migrate_info_and_admin_commands_work_on_a_postgresql_url(postgres_url: PostgresUrl) -> None:
    url = with_password(postgres_url)
    assert "Database ready" in tickets_mcp(url, "migrate").stderr
    info = tickets_mcp(url, "info").stdout
    assert f"schema version: {LATEST} (this build: {LATEST})" in info
    assert PASSWORD not in info and "postgres:***@" in info
    tickets_mcp(url, "user", "add", "bob")
    tickets_mcp(url, "member", "set", "local", "bob", "member")
    assert "bob\tmember" in tickets_mcp(url, "member", "list", "local").stdout
    secret = tickets_mcp(url, "token", "create", "--user", "bob", "--name", "laptop").stdout.strip()
    listing = tickets_mcp(url, "token", "list").stdout
    assert secret.startswith("pk_") and secret not in listing and "laptop" in listing


def test_the_stdio_server_files_tickets_in_postgresql_named_by_tracker_db(postgres_url: PostgresUrl) -> None:
    server = McpProcess(postgres_url)
    try:
        server.initialize()
        server.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                     "params": {"name": "create_ticket", "arguments": {"title": "Filed over stdio"}}})  # fmt: skip
        reply = server.receive(30)
    finally:
        server.close()
    assert reply is not None and reply["result"]["structuredContent"]["slug"] == "INBOX-1", json.dumps(reply)
    with psycopg.connect(postgres_url.url) as conn:
        assert conn.execute("SELECT title FROM tickets").fetchall() == [("Filed over stdio",)]


@contextmanager
def serving(url: PostgresUrl) -> Generator[str]:
    """`tickets-mcp --db URL serve --port 0` until the block ends; yields its base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS_")} | {"TICKETS_USER": "alice"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tickets_mcp", "--db", url.url, "serve", "--port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        found = READY_LINE.search(banner)
        assert found is not None, banner + proc.stderr.read()
        assert PASSWORD not in banner and "postgres:***@" in banner
        yield found.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down
        if proc.stderr is not None:
            proc.stderr.close()


def test_serve_answers_rest_calls_from_postgresql(postgres_url: PostgresUrl) -> None:
    secret = tickets_mcp(postgres_url, "token", "create", "--user", "alice").stdout.strip()
    with serving(with_password(postgres_url)) as base, httpx2.Client(base_url=base, timeout=10) as client:
        created = client.post("/api/v1/tickets", headers=bearer(secret), json={"title": "Filed over REST"})
        assert created.status_code == 201, created.text
        listed = client.get("/api/v1/mcp/organizations", headers=bearer(secret))
        assert listed.status_code == 200 and re.search(r"local", listed.text), listed.text
