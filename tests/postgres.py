"""PostgreSQL for tests: a database of the run's own, a fresh schema per test, all dropped afterwards.

The tests run when TICKETS_TEST_POSTGRES_URL names a server (a URL whose user may create databases),
e.g. postgresql://postgres@127.0.0.1:5432/test, and are skipped with that reason otherwise.
Registered as a pytest plugin in conftest.py.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from tickets_mcp.stores.location import PostgresUrl

ENV_URL = "TICKETS_TEST_POSTGRES_URL"
SKIP_REASON = f"PostgreSQL tests need {ENV_URL}, e.g. postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    url = os.environ.get(ENV_URL)
    if not url:
        pytest.skip(SKIP_REASON)
    return url


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def with_search_path(url: str, schema: str) -> str:
    """The URL with libpq `options` that make `schema` (then public, where extensions live) the search_path."""
    parts = urlsplit(url)
    option = "options=" + quote(f"-csearch_path={schema},public")
    return urlunsplit(parts._replace(query=f"{parts.query}&{option}" if parts.query else option))


def create_database(url: str) -> str:
    """A new, empty database on the server of `url`; returns its URL."""
    name = f"tracker_test_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(url, name)


def drop_database(url: str) -> None:
    """Drop the database `url` names, connected to the server's own database (the test URL's)."""
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """This run's database, with pg_trgm installed in public so that every test schema finds it."""
    url = create_database(server_url())
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_trgm SCHEMA public")
        yield url
    finally:
        drop_database(url)


@contextmanager
def fresh_schema(database: str) -> Generator[PostgresUrl]:
    """A new schema in `database`, as a URL whose search_path selects it; dropped on leaving."""
    schema = f"test_{secrets.token_hex(6)}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield PostgresUrl(with_search_path(database, schema))
    finally:
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def postgres_url(postgres_database: str) -> Iterator[PostgresUrl]:
    """A fresh schema in this run's database for one test, as a URL whose search_path selects it."""
    with fresh_schema(postgres_database) as url:
        yield url


@pytest.fixture(scope="module")
def module_postgres_url(postgres_database: str) -> Iterator[PostgresUrl]:
    """A fresh schema shared by one module's tests, e.g. for a server the module starts once."""
    with fresh_schema(postgres_database) as url:
        yield url


@pytest.fixture
def fresh_postgres_database() -> Iterator[PostgresUrl]:
    """A new, empty database (no extension installed yet), dropped after the test."""
    url = create_database(server_url())
    try:
        yield PostgresUrl(url)
    finally:
        drop_database(url)
