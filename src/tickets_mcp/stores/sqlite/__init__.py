"""The embedded SQLite store (the standard library's sqlite3)."""

from tickets_mcp.stores.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
