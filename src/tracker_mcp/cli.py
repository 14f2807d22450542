"""The `tracker-mcp` command. With no arguments it serves MCP over stdio on the embedded store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tracker_mcp import __version__
from tracker_mcp.config import ENV_DB, ENV_LOG_LEVEL, ENV_SYNCHRONOUS, ENV_USER, Settings, default_db_path
from tracker_mcp.errors import TrackerError

BANNER = """\
tracker-mcp {version}: a ticket tracker for AI agents, speaking MCP (JSON-RPC) on stdin/stdout.
Database: {db}

This process is meant to be started by an MCP client, not typed at. Add it to yours, e.g.:
  Claude Code:    claude mcp add tracker -- tracker-mcp
  Claude Desktop: {{"mcpServers": {{"tracker": {{"command": "tracker-mcp"}}}}}}
More: tracker-mcp --help. Press Ctrl+C (or Ctrl+D) to quit.
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tracker-mcp",
        description="A ticket tracker for AI agents. With no command, serves MCP over stdio.",
        epilog=f"Environment: {ENV_DB} (database path), {ENV_SYNCHRONOUS} (full|normal), "
        f"{ENV_USER} (local username), {ENV_LOG_LEVEL} (stderr log level).",
    )
    p.add_argument("--version", action="version", version=f"tracker-mcp {__version__}")
    p.add_argument("--db", help=f"SQLite database file (default: {default_db_path()})")
    p.add_argument(
        "--sqlite-synchronous",
        choices=["full", "normal"],
        help="full (default): every acknowledged write is on disk; normal: faster, may lose the last "
        "writes on power loss",
    )
    p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], help="stderr log level")
    commands = p.add_subparsers(dest="command")
    commands.add_parser("stdio", help="serve MCP over stdio (the default)")
    commands.add_parser("migrate", help="create or upgrade the database schema, then exit")
    commands.add_parser("info", help="print the database path and schema version")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env(db=args.db, synchronous=args.sqlite_synchronous, log_level=args.log_level)
        if args.command in (None, "stdio"):
            return serve_stdio(settings)
        if args.command == "migrate":
            return migrate(settings)
        return info(settings)
    except TrackerError as exc:
        print(f"tracker-mcp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def serve_stdio(settings: Settings) -> int:
    if sys.stdin.isatty():
        print(BANNER.format(version=__version__, db=settings.db), file=sys.stderr, flush=True)
    from tracker_mcp.server import build_server

    build_server(settings).run()
    return 0


def migrate(settings: Settings) -> int:
    import anyio

    from tracker_mcp.store.sqlite import SqliteStore

    async def run() -> None:
        store = await SqliteStore.open(settings.db, synchronous=settings.synchronous)
        await store.close()

    anyio.run(run)
    print(f"Database ready: {settings.db}", file=sys.stderr)
    return 0


def info(settings: Settings) -> int:
    import sqlite3

    from tracker_mcp.store.sqlite.migrations import LATEST, applied_version

    version = 0
    if settings.db.exists():
        conn = sqlite3.connect(f"{settings.db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            version = applied_version(conn)
        finally:
            conn.close()
    print(f"tracker-mcp {__version__}")
    print(f"database: {settings.db} ({'exists' if settings.db.exists() else 'not created yet'})")
    print(f"schema version: {version} (this build: {LATEST})")
    return 0
