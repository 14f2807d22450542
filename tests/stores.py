"""A look at a store's tables from beside it, the same way for SQLite and PostgreSQL.

Tests that check what was written (the audit trail, that a refused call changed nothing, that a secret
is not stored) read the tables here with the plain driver, as plain tuples, so that they run unchanged
on either store. Where the tests' store lives comes from the `store_location` fixtures in conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any

import psycopg

from tickets_mcp.stores.location import PostgresUrl

Location = Path | PostgresUrl


def location_arg(location: Location) -> str:
    """The location as --db or TICKETS_DB take it (a URL keeps its password, unlike str() of it)."""
    return location.url if isinstance(location, PostgresUrl) else str(location)


@contextlib.contextmanager
def _reader(location: Location) -> Generator[Callable[[str], list[tuple[Any, ...]]]]:
    """A function running read-only queries without parameters on one plain-driver connection."""
    if isinstance(location, PostgresUrl):
        with psycopg.connect(location.url) as pg:
            yield lambda query: pg.execute(query.encode()).fetchall()
    else:
        with contextlib.closing(sqlite3.connect(location)) as lite:
            yield lambda query: lite.execute(query).fetchall()


def table_rows(location: Location, query: str) -> list[tuple[Any, ...]]:
    """Rows of a read-only query without parameters, run beside the store with the plain driver."""
    with _reader(location) as read:
        return read(query)


def events(location: Location) -> list[tuple[str, str, dict[str, Any]]]:
    """The audit trail as (action, subject, changes), oldest first."""
    found = table_rows(location, "SELECT action, subject, changes FROM events ORDER BY id")
    return [(a, s, json.loads(c) if isinstance(c, str) else c) for a, s, c in found]


def table_names(location: Location) -> list[str]:
    """The store's tables (the test schema's on PostgreSQL), sorted; none for a SQLite file not made yet."""
    if isinstance(location, Path) and not location.exists():
        return []
    with _reader(location) as read:
        return _table_names(location, read)


def _table_names(location: Location, read: Callable[[str], list[tuple[Any, ...]]]) -> list[str]:
    if isinstance(location, PostgresUrl):
        query = "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return sorted(str(name) for (name,) in read(query))


def snapshot(location: Location, tables: Sequence[str] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of `tables` (default: all of them), in a stable order, to compare before and after a call."""
    with _reader(location) as read:
        return {
            table: sorted(read(f"SELECT * FROM {table}"), key=repr)
            for table in (_table_names(location, read) if tables is None else tables)
        }
