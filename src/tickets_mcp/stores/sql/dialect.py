"""What differs between the engines, as the shared transaction scripts ask for it: SQL text, not logic.

Each engine's dialect (stores/sqlite/dialect.py, stores/postgres/dialect.py) answers these with its
own fragments: how a name compares case-insensitively, how a list is bound, which rows a writer
locks (SQLite's single writer locks nothing), how a new ticket's id is drawn, how labels are
inserted, and the text search (FTS5 or tsvector) with its time budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from tickets_mcp.stores.port import NewTicket, TicketQuery
from tickets_mcp.stores.search import SearchTerms, Text
from tickets_mcp.stores.sql.connection import Connection, Row

T = TypeVar("T")
Fragment = tuple[str, list[Any]]  # a piece of SQL and its parameters, in order


class OutOfTime(Exception):
    """A search's time budget ran out; the engine's own way of stopping it is behind `Dialect.within`."""


class Dialect(Protocol):
    # The SELECT every ticket read shares, in the layout `records.row_to_ticket` reads; then WHERE / JOIN.
    ticket_select: str
    # The value of a new ticket's id in its INSERT.
    next_ticket_id: str

    def ticket_select_with(self, extra: str) -> str:
        """`ticket_select` with `extra` columns (", expression, ...") after the ones `row_to_ticket` reads."""
        ...

    def json_rows(self, items: str) -> str:
        """The aggregate making a query's rows one JSON array of arrays, each row's `items` ("c0, c1") in
        order; `[]` for no row. The driver returns it as text (SQLite) or decoded (PostgreSQL)."""
        ...

    def locking(self, clause: str) -> str:
        """`clause` (` FOR UPDATE`...) where the engine locks rows a writer reads; nothing on a single writer."""
        ...

    def serialize(self, conn: Connection, key: int | str) -> None:
        """Make the writers that pass the same `key` take turns until this transaction ends."""
        ...

    def same_name(self, column: str) -> str:
        """`column` equals one parameter, ignoring ASCII case (names: users, projects, labels)."""
        ...

    def by_name(self, column: str) -> str:
        """An ORDER BY term sorting `column` ignoring ASCII case."""
        ...

    def any_of(self, column: str, values: Sequence[Any]) -> Fragment:
        """`column` is one of `values`."""
        ...

    def limited(self, rows: int, offset: int = 0) -> Fragment:
        """`LIMIT rows`, with `OFFSET offset` unless 0."""
        ...

    def among(self, column: str, ids: str) -> str:
        """`column` is one of the values the query `ids` selects (a few thousand at most: the ids it reads)."""
        ...

    def any_name(self, column: str, names: Sequence[str]) -> Fragment:
        """`column` is one of `names`, ignoring ASCII case."""
        ...

    def json(self, value: dict[str, Any]) -> Any:
        """A JSON document as the engine's driver binds it."""
        ...

    def attach_labels(self, conn: Connection, ticket_id: int, project_id: str, labels: Sequence[str]) -> list[str]:
        """Give the ticket (which has none) these labels, creating the project's labels it lacks: those, in order."""
        ...

    def later_than(self, column: str, op: str, value: Any, ticket_id: int) -> Fragment:
        """Rows past (`op` `<` or `>`) the one whose sort value is `value` and id `ticket_id`, in that order."""
        ...

    # Text search

    def complete(self, conn: Connection, terms: SearchTerms) -> SearchTerms:
        """`terms` with what the engine needs looked up before its queries (SQLite: the words each phrase's
        last word starts); unchanged where it needs nothing."""
        ...

    def text_match(self, terms: SearchTerms, project_ids: Sequence[str]) -> Fragment:
        """Tickets `t` whose words hold `terms`, through the engine's full-text index."""
        ...

    def text_source(self, terms: SearchTerms, project_ids: Sequence[str]) -> tuple[str, Fragment]:
        """What a count of the tickets `t` holding `terms` reads FROM, and its condition: the cheapest way in
        for a count that stops at its cap."""
        ...

    def text_contains(self, pattern: str) -> Fragment:
        """Tickets `t` whose title or description matches a LIKE `pattern` (escape `\\`), ignoring case."""
        ...

    def best_matches(
        self, conn: Connection, query: TicketQuery, terms: SearchTerms, filters: Fragment, deadline: float | None
    ) -> tuple[list[Row], int]:
        """A relevance-sorted page (one row past `query.limit` if there are more) and the offset it starts at.
        `filters`: the query's other filters on `t`, without its text."""
        ...

    def look_alikes(
        self,
        conn: Connection,
        new: NewTicket,
        titles: Sequence[tuple[str, ...]],
        traces: Sequence[tuple[str, ...]],
    ) -> list[Text]:
        """The project's latest open tickets whose titles hold one of `titles` whole (see search.candidate_groups)
        or whose descriptions hold one of `traces` whole (search.trace_groups)."""
        ...

    def within(self, conn: Connection, deadline: float | None, run: Callable[[], T]) -> T:
        """`run()`, stopped with OutOfTime at `deadline` (time.monotonic()) without spoiling the transaction."""
        ...

    # Attachments

    def blob(self, conn: Connection, digest: str) -> bytes:
        """The bytes of the blob `digest` (which exists), read the cheapest way the driver has."""
        ...
