"""Command lines of the servers under test: ours (tickets-mcp) and the SDK floor."""

from __future__ import annotations

import compileall
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.data import REPO, cli_env
from bench.rpc import HttpServer, StdioClient
from tickets_mcp.stores.location import PostgresUrl


def ours_stdio_argv(db: Path, python_flags: Sequence[str] = ()) -> list[str]:
    return [sys.executable, *python_flags, "-m", "tickets_mcp", "--db", str(db)]


def floor_stdio_argv(python_flags: Sequence[str] = ()) -> list[str]:
    return [sys.executable, *python_flags, "-m", "bench.floor"]


def compile_bytecode() -> None:
    """Write our modules' .pyc files, as `pip install` does. Without them (an editable install in an
    environment with PYTHONDONTWRITEBYTECODE set, as on CI machines) every start compiled each changed
    module from source, about 20 ms that no installed copy pays, while the SDK's came compiled."""
    compileall.compile_dir(REPO / "src" / "tickets_mcp", quiet=1)


def ours_stdio(db: Path, *, python_flags: Sequence[str] = (), stderr_path: Path | None = None) -> StdioClient:
    return StdioClient(ours_stdio_argv(db, python_flags), env=cli_env(), cwd=REPO, stderr_path=stderr_path)


def floor_stdio(*, python_flags: Sequence[str] = (), stderr_path: Path | None = None) -> StdioClient:
    return StdioClient(floor_stdio_argv(python_flags), env=cli_env(), cwd=REPO, stderr_path=stderr_path)


def ours_http(location: Path | PostgresUrl) -> HttpServer:
    """`tickets-mcp serve` on a SQLite file or a PostgreSQL URL (with the default pool of connections)."""
    db = location.url if isinstance(location, PostgresUrl) else str(location)
    argv = [sys.executable, "-m", "tickets_mcp", "--db", db, "serve", "--port", "0"]
    # The throughput section keeps 121 sessions open across its levels: more than one token's default quota.
    return HttpServer(argv, env=cli_env() | {"TICKETS_MCP_SESSIONS_PER_TOKEN": "1000"}, cwd=REPO)


def floor_http() -> HttpServer:
    return HttpServer([sys.executable, "-m", "bench.floor", "http"], env=cli_env(), cwd=REPO)
