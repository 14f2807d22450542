"""Migration 10: every project gets a stable integer (seeds 001 and 002), in creation order, never reused."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import LiteralString

import psycopg
import pytest

from tests.fixtures.stores import Location, migrate_upto
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.location import PostgresUrl
from tickets_mcp.stores.sqlite.migrations import migrate

pytestmark = pytest.mark.anyio

BEFORE = 9  # the schema version before projects had numbers
# Inserted in this order, created in another: numbers follow creation (created_at, then id on a tie).
PROJECTS = [
    ("p-c", "CCC", "2026-03-01T00:00:00.000Z"),
    ("p-a", "AAA", "2026-01-01T00:00:00.000Z"),
    ("p-b2", "BBB", "2026-02-01T00:00:00.000Z"),
    ("p-b1", "BBA", "2026-02-01T00:00:00.000Z"),
]
ORGANIZATION = "INSERT INTO organizations (id, name, slug, created_at) VALUES ('o1', 'One', 'one', 'now')"


def older_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(conn, str(path), upto=BEFORE)
        conn.execute(ORGANIZATION)
        for project_id, code, created in PROJECTS:
            conn.execute(
                "INSERT INTO projects (id, organization_id, name, code, created_at) VALUES (?, 'o1', ?, ?, ?)",
                (project_id, code, code, created),
            )
    finally:
        conn.close()


def older_postgres(url: PostgresUrl) -> None:
    with psycopg.connect(url.url) as conn:
        migrate_upto(conn, BEFORE)
        conn.execute(ORGANIZATION)
        for project_id, code, created in PROJECTS:
            conn.execute(
                "INSERT INTO projects (id, organization_id, name, code, created_at) VALUES (%s, 'o1', %s, %s, %s)",
                (project_id, code, code, created),
            )


async def numbers_by_id(location: Location) -> dict[str, int | None]:
    store = await open_store(location)  # migrates
    try:
        (organization,) = await store.all_organizations()
        return {p.id: p.number for p in await store.list_projects([organization.id])}
    finally:
        await store.close()


def run(location: Location, sql: LiteralString, *params: str | int) -> None:
    """One statement on the store's database, written with SQLite's `?` placeholders."""
    if isinstance(location, PostgresUrl):
        with psycopg.connect(location.url) as conn:
            conn.execute(sql.replace("?", "%s"), params)
    else:
        with sqlite3.connect(location, isolation_level=None) as conn:
            conn.execute(sql, params)


async def test_existing_projects_are_numbered_in_creation_order_and_later_ones_never_reuse_a_number(
    store_location: Location,
) -> None:
    if isinstance(store_location, PostgresUrl):
        older_postgres(store_location)
    else:
        older_sqlite(store_location)

    assert await numbers_by_id(store_location) == {"p-a": 1, "p-b1": 2, "p-b2": 3, "p-c": 4}
    insert = "INSERT INTO projects (id, organization_id, name, code, created_at) VALUES (?, 'o1', ?, ?, 'z')"
    run(store_location, insert, "p-new", "New", "NEW")
    assert (await numbers_by_id(store_location))["p-new"] == 5
    run(store_location, "DELETE FROM projects WHERE id = ?", "p-new")
    run(store_location, insert, "p-after", "After", "AFTER")
    assert (await numbers_by_id(store_location))["p-after"] == 6  # 5 went with its project, for good
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation)):
        run(store_location, "UPDATE projects SET number = ? WHERE id = ?", 1, "p-after")
