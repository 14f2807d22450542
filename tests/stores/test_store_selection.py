"""Which store a location selects, and what selecting it costs: a postgresql:// URL in --db or TICKETS_DB
opens PostgreSQL; anything else is a SQLite file, and then psycopg is never imported. URLs print masked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.helpers_processes import REPO
from tickets_mcp.cli.main import main
from tickets_mcp.config import Settings, parse_location
from tickets_mcp.errors import Invalid
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.location import PostgresUrl, mask_password


@pytest.mark.parametrize(
    "value",
    ["postgresql://u@db.example.com/tracker", "postgres://u@db/tracker", "POSTGRESQL://u@h/d", "postgresql:///local"],
)
def test_a_postgresql_url_selects_postgresql(value: str) -> None:
    assert parse_location(value) == PostgresUrl(value)


@pytest.mark.parametrize(
    "value", ["tracker.db", "/var/lib/tracker.db", "C:\\data\\tracker.db", "C:/data/tracker.db", "data:x/t.db"]
)
def test_anything_else_that_is_no_url_is_a_sqlite_file(value: str) -> None:
    assert parse_location(value) == Path(value)


@pytest.mark.parametrize("value", ["mysql://x/y", "sqlite://x", "SQLite:///var/t.db", "https://db.example.com/t"])
def test_a_url_of_a_scheme_not_served_is_refused_naming_the_ones_that_are(value: str) -> None:
    with pytest.raises(Invalid, match=r"postgresql://, postgres://.*file path"):
        parse_location(value)


def test_a_postgresql_url_that_does_not_parse_is_refused_with_its_password_masked() -> None:
    with pytest.raises(Invalid, match="does not parse") as refused:
        parse_location("postgresql://app:s3cret@[bad/tracker")
    assert "s3cret" not in str(refused.value) and "app:***@" in str(refused.value)


@pytest.mark.parametrize("value", ["postgresql://app:s3cret@[bad", "mysql://app:s3cret@x/y"])
def test_a_db_value_refused_is_one_line_and_exit_2(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", value, "info"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("tickets-mcp: ") and error.count("\n") == 1 and "s3cret" not in error


def test_a_home_relative_path_is_expanded() -> None:
    assert parse_location("~/tracker.db") == Path.home() / "tracker.db"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/tracker", "postgresql://app:***@db:5432/tracker"),
        ("postgresql://app:p%40ss@db/tracker?sslmode=require", "postgresql://app:***@db/tracker?sslmode=require"),
        ("postgresql://app@db/tracker?password=s3cret&sslmode=require",
         "postgresql://app@db/tracker?password=***&sslmode=require"),
        ("postgresql://app:s3cret@h1:5432,h2:5433/tracker", "postgresql://app:***@h1:5432,h2:5433/tracker"),
        ("postgresql://db/tracker", "postgresql://db/tracker"),
    ],
)  # fmt: skip
def test_a_password_never_shows_when_a_url_is_printed(url: str, shown: str) -> None:
    assert mask_password(url) == shown
    assert str(PostgresUrl(url)) == shown
    assert "s3cret" not in repr(PostgresUrl(url)) and "s3cret" not in repr(Settings(db=PostgresUrl(url)))


def test_tracker_db_may_hold_a_url_and_the_flag_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETS_DB", "postgresql://app@db/tracker")
    assert Settings.from_env().db == PostgresUrl("postgresql://app@db/tracker")
    assert Settings.from_env(db="/tmp/t.db").db == Path("/tmp/t.db")


def test_the_postgresql_pool_size_comes_from_the_environment_and_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().pool_size == 10
    monkeypatch.setenv("TICKETS_POOL_SIZE", "40")
    assert Settings.from_env().pool_size == 40
    for bad in ("0", "many", "5000"):
        monkeypatch.setenv("TICKETS_POOL_SIZE", bad)
        with pytest.raises(Invalid, match="TICKETS_POOL_SIZE must be 1-1000"):
            Settings.from_env()


@pytest.mark.anyio
async def test_a_postgresql_store_opens_a_pool_of_the_configured_size(postgres_url: PostgresUrl) -> None:
    store = await open_store(postgres_url, pool_size=3)
    try:
        assert store.pool_usage().max_size == 3
    finally:
        await store.close()


def test_the_stdio_server_on_sqlite_never_imports_psycopg(tmp_path: Path) -> None:
    script = f"""
import sys, anyio
from pathlib import Path
from tickets_mcp.cli.main import main
from tickets_mcp.config import Settings
from tickets_mcp.cli.servers import stdio_server
from tickets_mcp.cli.workspace import open_local_store

async def start():
    store, _ = await open_local_store(Settings(db=Path({str(tmp_path / "t.db")!r}), username="alice"))
    await store.close()

stdio_server(Settings(db=Path({str(tmp_path / "t.db")!r})))
anyio.run(start)
print(sorted(name for name in sys.modules if name.startswith(("psycopg", "tickets_mcp.stores.postgres"))))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_postgresql_url_without_the_driver_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what an install without the postgres extra looks like
    for name in [name for name in sys.modules if name.startswith("tickets_mcp.stores.postgres")]:
        monkeypatch.delitem(sys.modules, name)
    assert main(["--db", "postgresql://app:s3cret@127.0.0.1:9/tracker", "migrate"]) == 2
    error = capsys.readouterr().err
    assert 'pip install "tickets-mcp[postgres]"' in error
    assert "postgresql://app:***@127.0.0.1:9/tracker" in error and "s3cret" not in error
