"""Backups of a live tracker and restores into an empty one, for both stores.

SQLite: `VACUUM INTO` writes a compacted copy from one read transaction, so writers carry on and the
copy is one consistent moment; a copy of the live file could catch a page mid-write, and would miss
what is still in the WAL. Restoring copies the backup page by page into a new file with SQLite's
backup API, after an integrity check.

PostgreSQL: `pg_dump` of the schema the URL uses, in its custom format, restored with `pg_restore`
(both from the PostgreSQL client tools, which must match the server's major version or be newer).
The password travels in the environment (PGPASSWORD), never on a command line others can read.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tickets_mcp.errors import BackendUnavailable, Conflict, Invalid, NotFound
from tickets_mcp.stores.location import PostgresUrl
from tickets_mcp.stores.sqlite.db import check_location, connect_read_only
from tickets_mcp.stores.sqlite.migrations import read_version

# Tables whose rows a backup summary counts: what a user would check after restoring.
COUNTED = ("organizations", "users", "projects", "tickets", "comments", "events", "tokens")


@dataclass(frozen=True, slots=True)
class Summary:
    """A backup file and the rows of the tracker it was taken from (backup) or restored into (restore)."""

    path: Path
    size: int
    rows: dict[str, int]

    def describe(self, verb: str) -> str:
        counts = ", ".join(f"{n:,} {table}" for table, n in self.rows.items())
        return f"{verb} {self.path} ({self.size / 1_000_000:.1f} MB): {counts}."


def backup(location: Path | PostgresUrl, dest: Path) -> Summary:
    """Write a backup of the tracker at `location` to `dest`, which must not exist yet."""
    if dest.exists():
        raise Conflict(f"{dest} already exists; a backup never overwrites a file.", hint="Pick a new file name.")
    if isinstance(location, PostgresUrl):
        _make_folder(dest.parent)
        rows = _postgres_counts(location)
        _run_tool("pg_dump", ["--format=custom", f"--schema={_schema(location)}", f"--file={dest}"], location)
        return Summary(dest, dest.stat().st_size, rows)
    # The source is checked before anything is written: a folder, a file that is not a tracker or an
    # empty database leaves no backup file (nor its folder) behind.
    if read_version(location) == 0:
        raise NotFound(f"There is no tracker at {location}.", hint="Check --db or TICKETS_DB.")
    _make_folder(dest.parent)
    conn = connect_read_only(location)
    try:
        conn.execute("VACUUM INTO ?", (str(dest),))
    except sqlite3.Error as exc:
        if dest.exists():  # it did not before: what is there is a partial copy
            dest.unlink()
        raise BackendUnavailable(
            f"Cannot write the backup to {dest}: {exc}.", hint="Pick a place this user may write to."
        ) from None
    finally:
        conn.close()
    return Summary(dest, dest.stat().st_size, _sqlite_counts(dest))


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackendUnavailable(
            f"Cannot create the folder {folder}: {exc.strerror or exc}.", hint="Pick a place this user may write to."
        ) from None


def restore(source: Path, location: Path | PostgresUrl) -> Summary:
    """Restore the backup `source` into `location`, which must hold no tracker yet."""
    if not source.is_file():
        raise NotFound(f"There is no backup at {source}.")
    if isinstance(location, PostgresUrl):
        _restore_postgres(source, location)
        return Summary(source, source.stat().st_size, _postgres_counts(location))
    check_location(location)
    if location.exists() and location.stat().st_size > 0:
        raise Conflict(
            f"{location} already holds a database; a restore never overwrites one.",
            hint="Restore to a new path (--db), or move the current file away first, with the server stopped.",
        )
    backup_conn = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        if backup_conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise Invalid("backup", f"{source} fails SQLite's integrity check; it was not restored.")
        location.parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(location)
        try:
            backup_conn.backup(target)
            target.execute("PRAGMA journal_mode = WAL")
        finally:
            target.close()
    except sqlite3.DatabaseError as exc:
        location.unlink(missing_ok=True)
        raise Invalid("backup", f"{source} is not a tickets-mcp SQLite backup ({exc}).") from None
    finally:
        backup_conn.close()
    return Summary(source, source.stat().st_size, _sqlite_counts(location))


def _sqlite_counts(path: Path) -> dict[str, int]:
    conn = connect_read_only(path)
    try:
        return {table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]) for table in COUNTED}
    except sqlite3.DatabaseError as exc:
        raise Invalid("backup", f"{path} does not hold a tickets-mcp database ({exc}).") from None
    finally:
        conn.close()


# PostgreSQL


def _libpq_url(location: PostgresUrl) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that carries the password instead."""
    parts = urlsplit(location.url)
    env = dict(os.environ)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        if password:
            env["PGPASSWORD"] = password
        netloc = f"{user}@{hosts}"
    query = parse_qsl(parts.query)
    if any(key == "password" for key, _ in query):
        env["PGPASSWORD"] = next(value for key, value in query if key == "password")
        query = [(key, value) for key, value in query if key != "password"]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query))), env


def _restore_postgres(source: Path, location: PostgresUrl) -> None:
    existing = _prepare_postgres_target(location)
    # The dump creates its schema; where the target has one of that name already (public, always),
    # that entry of the dump's table of contents is left out, and the rest restores into it.
    contents = _run_tool("pg_restore", ["--list", str(source)], location)
    kept = [line for line in contents.splitlines() if not _creates_schema_in(line, existing)]
    listing = source.with_name(source.name + ".restore-list")
    listing.write_text("\n".join(kept) + "\n")
    try:
        args = ["--no-owner", "--exit-on-error", "--single-transaction", f"--use-list={listing}", str(source)]
        _run_tool("pg_restore", args, location)
    finally:
        listing.unlink(missing_ok=True)


def _creates_schema_in(line: str, schemas: set[str]) -> bool:
    fields = line.split()  # "<id>; <oid> <oid> SCHEMA - <name> <owner>"
    return len(fields) >= 6 and fields[3] == "SCHEMA" and fields[5] in schemas


def _run_tool(tool: str, args: list[str], location: PostgresUrl) -> str:
    executable = shutil.which(tool)
    if executable is None:
        raise BackendUnavailable(
            f"{tool} is not on PATH; it comes with the PostgreSQL client tools.",
            hint="Install them (e.g. apt install postgresql-client) in the server's major version or newer.",
        )
    url, env = _libpq_url(location)
    done = subprocess.run([executable, f"--dbname={url}", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise BackendUnavailable(f"{tool} failed on {location}: {reason}")
    return done.stdout


def _schema(location: PostgresUrl) -> str:
    import psycopg

    with psycopg.connect(location.url) as conn:
        row = conn.execute("SELECT current_schema()").fetchone()
    if row is None or row[0] is None:
        raise NotFound(f"{location} has no schema to back up.", hint="Check the URL's search_path.")
    return str(row[0])


def _postgres_counts(location: PostgresUrl) -> dict[str, int]:
    import psycopg
    from psycopg import sql

    with psycopg.connect(location.url) as conn:
        counts: dict[str, int] = {}
        for table in COUNTED:
            row = conn.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(table))).fetchone()
            counts[table] = int(row[0]) if row else 0
        return counts


def _prepare_postgres_target(location: PostgresUrl) -> set[str]:
    """Refuse a target that holds a tracker; install pg_trgm there (the dump leaves extensions out).

    Returns the schemas the target has already."""
    import psycopg

    with psycopg.connect(location.url, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
        if row is not None and row[0] is not None:
            raise Conflict(
                f"{location} already holds a tracker; a restore never overwrites one.",
                hint="Restore into an empty database or schema.",
            )
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        return {str(name) for (name,) in conn.execute("SELECT nspname FROM pg_namespace")}
