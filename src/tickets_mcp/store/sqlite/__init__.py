"""The embedded SQLite store (the standard library's sqlite3)."""

from tickets_mcp.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
