"""The default-project migration: an existing organization's default becomes its oldest project."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from tests.fixtures.stores import Location, migrate_upto
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.location import PostgresUrl
from tickets_mcp.stores.postgres import migrations as postgres_migrations
from tickets_mcp.stores.sqlite import migrations as sqlite_migrations

pytestmark = pytest.mark.anyio

BEFORE = sqlite_migrations.DEFAULT_PROJECT.version - 1
ORGANIZATIONS = (
    "INSERT INTO organizations (id, name, slug, created_at) "
    "VALUES ('o1', 'One', 'one', 'now'), ('o2', 'Two', 'two', 'now')"
)
# Created (and so numbered) in this order; o2 has no project.
PROJECTS = [
    ("p-first", "FIRST", "2026-01-01T00:00:00.000Z"),
    ("p-mid", "MID", "2026-02-01T00:00:00.000Z"),
    ("p-late", "LATE", "2026-03-01T00:00:00.000Z"),
]
INSERT = "INSERT INTO projects (id, organization_id, name, code, created_at) VALUES (?, 'o1', ?, ?, ?)"


def older_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        sqlite_migrations.migrate(conn, str(path), upto=BEFORE)
        conn.execute(ORGANIZATIONS)
        for project_id, code, created in PROJECTS:
            conn.execute(INSERT, (project_id, code, code, created))
    finally:
        conn.close()


def older_postgres(url: PostgresUrl) -> None:
    assert postgres_migrations.DEFAULT_PROJECT.version == BEFORE + 1
    with psycopg.connect(url.url) as conn:
        migrate_upto(conn, BEFORE)
        conn.execute(ORGANIZATIONS)
        for project_id, code, created in PROJECTS:
            conn.execute(INSERT.replace("?", "%s"), (project_id, code, code, created))


async def test_existing_organizations_get_their_oldest_project_as_default(store_location: Location) -> None:
    if isinstance(store_location, PostgresUrl):
        older_postgres(store_location)
    else:
        older_sqlite(store_location)
    store = await open_store(store_location)  # migrates
    try:
        reach = await store.reach(0, "o1")
        assert reach.defaults == {"o1": "p-first"}
        assert (await store.reach(0, "o2")).defaults == {}  # no project, no default (until its first one)
    finally:
        await store.close()
