"""One transaction's connection as the shared transaction scripts see it: SQL written once, `?` placeholders.

The engine hands each script a `Connection` over its own driver's connection; `execute` is the only
door, and the engine's `Execute` translates the placeholders where its driver wants another style.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tickets_mcp.stores.sql.dialect import Dialect

Row = tuple[Any, ...]


class Cursor(Protocol):
    """What the scripts read from a statement: DB-API's cursor, which sqlite3's and psycopg's both are."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


Execute = Callable[[str, Sequence[Any]], Cursor]


class Connection:
    """A driver connection inside one transaction, with the dialect that says what differs between engines."""

    __slots__ = ("_execute", "dialect", "raw")

    def __init__(self, execute: Execute, dialect: Dialect, raw: object) -> None:
        self._execute = execute
        self.dialect = dialect
        self.raw = raw  # the driver's own connection, for the dialect's engine-only calls

    def execute(self, query: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; how many rows it changed."""
        return self._execute(query, params).rowcount

    def one(self, query: str, params: Sequence[Any] = ()) -> Row:
        """The first row of a query that always returns one (an aggregate, or a row known to exist)."""
        row: Row | None = self._execute(query, params).fetchone()
        if row is None:
            raise LookupError("expected a row")
        return row

    def optional(self, query: str, params: Sequence[Any] = ()) -> Row | None:
        return self._execute(query, params).fetchone()

    def all(self, query: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._execute(query, params).fetchall()
