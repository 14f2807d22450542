"""The bench's data set on PostgreSQL: the seeded SQLite file's rows, copied into a scratch database.

When TICKETS_BENCH_POSTGRES_URL names a server, the seeded SQLite file is copied once into a template
database `tickets_bench_data_<tickets>_<key>` (the key changes with the file and the schema): the schema
comes from the product (`tickets-mcp --db URL migrate`), then every table both stores share is copied
with COPY, in the order its foreign keys need, and the sequences are moved past the copied ids. Each run
gets its own database made from that template (`tickets_bench_run_<pid>_<purpose>`), dropped afterwards,
so writes of one run never reach the next, as with the SQLite working copy. The same rows mean the same
bench user and the same token work on both stores.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.data import REPO, cli_env, seeded
from bench.search import ENV_POSTGRES
from tickets_mcp.stores.location import PostgresUrl

if TYPE_CHECKING:
    import psycopg

TEMPLATE_PREFIX = "tickets_bench_data_"
NEXTVAL = re.compile(r"nextval\('([^']+)'")


def server() -> str | None:
    """The PostgreSQL server the bench may make databases on, or None (SQLite only)."""
    return os.environ.get(ENV_POSTGRES) or None


def _on(server_url: str, database: str) -> PostgresUrl:
    return PostgresUrl(f"{server_url.rsplit('/', 1)[0]}/{database}")


@contextmanager
def scratch_copy(tickets: int, seed: int, purpose: str) -> Generator[PostgresUrl | None]:
    """A fresh PostgreSQL database holding the bench data set of (tickets, seed), or None without a server."""
    url = server()
    if url is None:
        yield None
        return
    import psycopg
    from psycopg import sql

    template = _template(url, tickets, seed)
    name = f"tickets_bench_run_{os.getpid()}_{purpose}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    try:
        yield _on(url, name)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _template(url: str, tickets: int, seed: int) -> str:
    """The template database of the seeded file, built when the file or the schema changed."""
    import psycopg
    from psycopg import sql

    from tickets_mcp.stores.postgres.migrations import LATEST

    source, _token = seeded(tickets, seed)
    stat = source.stat()
    key = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}:{LATEST}".encode()).hexdigest()[:12]
    name = f"{TEMPLATE_PREFIX}{tickets}_{key}"
    with psycopg.connect(url, autocommit=True) as admin:
        names = [str(row[0]) for row in admin.execute("SELECT datname FROM pg_database")]
        if name in names:
            return name
        print(f"copying the {tickets:,}-ticket data set to PostgreSQL…", file=sys.stderr, end=" ", flush=True)
        for old in names:  # older builds of this size, and a build cut short
            if old.startswith(f"{TEMPLATE_PREFIX}{tickets}_"):
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(old)))
        building = f"{name}_building"
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
        target = _on(url, building)
        subprocess.run([sys.executable, "-m", "tickets_mcp", "--db", target.url, "migrate"],
                       env=cli_env(), cwd=REPO, check=True, capture_output=True)  # fmt: skip
        copy_rows(source, target)
        admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(name)))
        print("done", file=sys.stderr, flush=True)
    return name


@dataclass(frozen=True)
class Reference:
    column: str
    table: str
    nullable: bool


def load_order(tables: list[str], references: dict[str, list[Reference]]) -> tuple[list[str], dict[str, list[str]]]:
    """Tables in an order their foreign keys accept, and the columns to fill in afterwards (per table).

    A reference to the table itself needs no order (PostgreSQL checks it at the end of the COPY); a
    cycle (an organization's default project, a project's organization) is broken at a nullable column,
    which is copied as NULL and set once the other table is in.
    """
    order: list[str] = []
    later: dict[str, list[str]] = {}
    remaining = set(tables)

    def pending(table: str) -> list[Reference]:
        return [r for r in references.get(table, []) if r.table in remaining and r.table != table]

    while remaining:
        ready = sorted(t for t in remaining if not pending(t))
        if not ready:
            breakable = sorted(t for t in remaining if all(r.nullable for r in pending(t)))
            if not breakable:
                raise RuntimeError(f"no order of {sorted(remaining)} satisfies their NOT NULL foreign keys")
            later[breakable[0]] = [r.column for r in pending(breakable[0])]
            ready = breakable[:1]
        order.extend(ready)
        remaining.difference_update(ready)
    return order, later


@dataclass
class Catalog:
    """What the copy needs to know of the PostgreSQL schema."""

    columns: dict[str, list[str]]  # per table, the columns a row may be written to (generated ones left out)
    sequences: list[tuple[str, str, str]]  # (table, column, sequence; "" for an identity column's own)
    references: dict[str, list[Reference]]
    keys: dict[str, list[str]]  # primary key columns


def _catalog(pg: psycopg.Connection[tuple[Any, ...]]) -> Catalog:
    catalog = Catalog({}, [], {}, {})
    for table, column, generated, identity, default in pg.execute(
        "SELECT table_name, column_name, is_generated, is_identity, column_default "
        "FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY ordinal_position"
    ):
        if generated == "ALWAYS":
            continue
        catalog.columns.setdefault(str(table), []).append(str(column))
        found = NEXTVAL.search(str(default or ""))
        if identity == "YES" or found:
            catalog.sequences.append((str(table), str(column), found.group(1) if found else ""))
    for table, column, referenced, not_null in pg.execute(
        """SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, a.attnotnull
           FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
           WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace"""
    ):
        catalog.references.setdefault(str(table), []).append(Reference(str(column), str(referenced), not not_null))
    for table, column in pg.execute(
        """SELECT tc.table_name, k.column_name FROM information_schema.table_constraints tc
           JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)
           WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()
           ORDER BY k.ordinal_position"""
    ):
        catalog.keys.setdefault(str(table), []).append(str(column))
    return catalog


def _copy_table(lite: sqlite3.Connection, pg: psycopg.Connection[tuple[Any, ...]], table: str, columns: list[str],
                nulled: list[str], key: list[str]) -> list[tuple[Any, ...]]:  # fmt: skip
    """COPY one table's rows, `nulled` columns as NULL; returns their values then the key, for the UPDATE."""
    from psycopg import sql

    present = {str(row[1]) for row in lite.execute(f'PRAGMA table_info("{table}")')}
    names = [c for c in columns if c in present]
    held = [names.index(c) for c in nulled if c in names]
    keyed = [names.index(k) for k in key]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    selected = ", ".join(f'"{c}"' for c in names)
    later: list[tuple[Any, ...]] = []
    with pg.cursor().copy(statement) as copy:
        for row in lite.execute(f'SELECT {selected} FROM "{table}"'):
            if held:
                later.append(tuple(row[i] for i in (*held, *keyed)))
                row = tuple(None if i in held else value for i, value in enumerate(row))
            copy.write_row(row)
    return later


def copy_rows(source: Path, target: PostgresUrl) -> None:
    """Copy every row of the SQLite file `source` into the migrated PostgreSQL database `target`."""
    import psycopg
    from psycopg import sql

    lite = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        with psycopg.connect(target.url) as pg:
            catalog = _catalog(pg)
            in_sqlite = {str(row[0]) for row in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            shared = [t for t in catalog.columns if t in in_sqlite and t != "schema_migrations"]
            order, later = load_order(shared, catalog.references)
            # Rows a migration wrote (the webhook outbox's single row) come from the source as well.
            pg.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.SQL(", ").join(map(sql.Identifier, shared))))
            held: dict[str, list[tuple[Any, ...]]] = {}
            for table in order:
                key = catalog.keys.get(table, [])
                held[table] = _copy_table(lite, pg, table, catalog.columns[table], later.get(table, []), key)
            for table, rows in held.items():  # once every table is in, the cycles' columns can be set
                if rows:
                    assign = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in later[table])
                    match = sql.SQL(" AND ").join(
                        sql.SQL("{} = %s").format(sql.Identifier(k)) for k in catalog.keys[table]
                    )
                    with pg.cursor() as cursor:
                        cursor.executemany(
                            sql.SQL("UPDATE {} SET {} WHERE {}").format(sql.Identifier(table), assign, match), rows
                        )
            for table, column, sequence in catalog.sequences:
                if table in shared:
                    owned = sql.SQL("pg_get_serial_sequence({}, {})").format(sql.Literal(table), sql.Literal(column))
                    pg.execute(
                        sql.SQL("SELECT setval({0}, COALESCE(MAX({1}), 1), MAX({1}) IS NOT NULL) FROM {2}").format(
                            sql.Literal(sequence) if sequence else owned, sql.Identifier(column), sql.Identifier(table)
                        )
                    )
            pg.commit()
            pg.autocommit = True
            # As autovacuum would after such a load: the copy's triggers left ticket_counts' few rows with a
            # dead version for each ticket copied (984 pages for 60 rows at 100k), read by every count.
            pg.execute("VACUUM ANALYZE")
    finally:
        lite.close()
