"""PostgreSQL's answers to the Dialect: lower() for names, row locks for writers, tsvector search.

Writers run at READ COMMITTED and lock the rows their checks depend on (a ticket write locks its
project's row first), so concurrent writers queue instead of failing and each sees the other's commit.
The text search is `stores.search`'s through the GIN index of `tickets.search`, ranked by ts_rank
(title words weigh A, description B, comments D).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from psycopg import Connection as PsycopgConnection
from psycopg import errors
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from tickets_mcp.domain.rules import label_color
from tickets_mcp.stores.cursors import relevance_start
from tickets_mcp.stores.port import NewTicket, TicketQuery
from tickets_mcp.stores.search import (
    DUPLICATE_CANDIDATES,
    RANKED_MAX,
    SearchTerms,
    Text,
    title_tsquery,
    trace_tsquery,
    tsquery,
)
from tickets_mcp.stores.sql.connection import Connection, Row
from tickets_mcp.stores.sql.dialect import Fragment, OutOfTime
from tickets_mcp.stores.sql.records import BLOCKERS_OF, CLOSED_SQL, LABEL_SEP, LABELS_SEP, ticket_select

T = TypeVar("T")


_LABELS = f"""(SELECT string_agg(l.name || '{LABEL_SEP}' || l.color, '{LABELS_SEP}' ORDER BY lower(l.name))
              FROM ticket_labels tl JOIN labels l ON l.id = tl.label_id WHERE tl.ticket_id = t.id)"""
_BLOCKED_BY = f"""(SELECT string_agg(bp.code || '-' || b.number, '{LABELS_SEP}' ORDER BY bp.code, b.number)
              FROM {BLOCKERS_OF})"""


class PostgresDialect:
    ticket_select = ticket_select(_LABELS, _BLOCKED_BY)
    next_ticket_id = "DEFAULT"  # the identity column's sequence

    def ticket_select_with(self, extra: str) -> str:
        return ticket_select(_LABELS, _BLOCKED_BY, extra)

    def json_rows(self, items: str) -> str:
        return f"COALESCE(json_agg(json_build_array({items})), '[]')"

    def locking(self, clause: str) -> str:
        return " " + clause

    def serialize(self, conn: Connection, key: int | str) -> None:
        if isinstance(key, int):
            conn.execute("SELECT pg_advisory_xact_lock(?)", (key,))
        else:
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (key,))

    def same_name(self, column: str) -> str:
        return f'lower({column}) = lower(? COLLATE "C")'

    def by_name(self, column: str) -> str:
        return f"lower({column})"

    def any_of(self, column: str, values: Sequence[Any]) -> Fragment:
        return f"{column} = ANY(?)", [list(values)]

    def limited(self, rows: int, offset: int = 0) -> Fragment:
        # Written into the text, not bound: PostgreSQL keeps a prepared statement's generic plan only when
        # its estimate is as good as a fresh plan's, and with the limit a parameter it estimates a tenth of
        # the table is read, so it planned a list anew at every call (5 ms of a list's 8.8 at 100k tickets).
        # Each limit a caller uses is a statement of its own; there are few (page sizes, a count's cap).
        return f"LIMIT {int(rows)}" + (f" OFFSET {int(offset)}" if offset else ""), []

    def among(self, column: str, ids: str) -> str:
        # Read once into an array and probed by the column's key: as a semi-join, PostgreSQL hashed every ticket
        # of the caller's projects against the links for a capped count (15.7 -> 10.6 ms at 100k tickets,
        # 300 -> 192 at 1M).
        return f"{column} = ANY(ARRAY({ids}))"

    def any_name(self, column: str, names: Sequence[str]) -> Fragment:
        return f'lower({column}) = ANY(SELECT lower(name COLLATE "C") FROM unnest(?::text[]) AS name)', [list(names)]

    def json(self, value: dict[str, Any]) -> Any:
        return Jsonb(value)

    def attach_labels(self, conn: Connection, ticket_id: int, project_id: str, labels: Sequence[str]) -> list[str]:
        # Two statements whatever the number of labels: each is a round trip to the server.
        created = {
            row[0]
            for row in conn.all(
                """INSERT INTO labels (project_id, name, color)
                   SELECT ?, name, color FROM unnest(?::text[], ?::text[]) AS new(name, color)
                   ON CONFLICT DO NOTHING RETURNING name""",
                (project_id, list(labels), [label_color(name) for name in labels]),
            )
        }
        conn.execute(
            """INSERT INTO ticket_labels (ticket_id, label_id)
               SELECT ?, id FROM labels
               WHERE project_id = ?
                 AND lower(name) IN (SELECT lower(wanted COLLATE "C") FROM unnest(?::text[]) AS wanted)
               ON CONFLICT DO NOTHING""",
            (ticket_id, project_id, list(labels)),
        )
        return [name for name in labels if name in created]

    def later_than(self, column: str, op: str, value: Any, ticket_id: int) -> Fragment:
        return f"({column}, t.id) {op} (?, ?)", [value, ticket_id]

    # Text search

    def complete(self, conn: Connection, terms: SearchTerms) -> SearchTerms:
        return terms  # a GIN index reads a prefix's entries as it reads a word's

    def text_match(self, terms: SearchTerms, project_ids: Sequence[str]) -> Fragment:
        return "t.search @@ to_tsquery('simple', ?)", [tsquery(terms)]

    def text_source(self, terms: SearchTerms, project_ids: Sequence[str]) -> tuple[str, Fragment]:
        return "tickets t", self.text_match(terms, project_ids)

    def text_contains(self, pattern: str) -> Fragment:
        return "(t.title ILIKE ? OR t.description ILIKE ?)", [pattern, pattern]

    def best_matches(
        self, conn: Connection, query: TicketQuery, terms: SearchTerms, filters: Fragment, deadline: float | None
    ) -> tuple[list[Row], int]:
        """As on SQLite: the newest RANKED_MAX matches best first (ts_rank), then older ones, newest first."""
        start, words = relevance_start(query), tsquery(terms)
        projects, project_params = self.any_of("project_id", query.project_ids)
        found = self.within(
            conn,
            deadline,
            lambda: conn.optional(
                f"""SELECT id FROM tickets WHERE {projects} AND search @@ to_tsquery('simple', ?)
                    ORDER BY id DESC OFFSET ? LIMIT 1""",
                (*project_params, words, RANKED_MAX - 1),
            ),
        )
        oldest_ranked = int(found[0]) if found else 0
        return self.within(conn, deadline, lambda: _best_matches(conn, query, words, filters, oldest_ranked)), start

    def look_alikes(
        self,
        conn: Connection,
        new: NewTicket,
        titles: Sequence[tuple[str, ...]],
        traces: Sequence[tuple[str, ...]],
    ) -> list[Text]:
        found: dict[int, Text] = {}
        if titles:
            # The partial index of open titles (migration 23), whose words start with their project's; its
            # predicate repeated word for word. MATERIALIZED: read newest first through the primary key
            # instead, a title's words are worked out anew for each ticket passed (1.3 s for 53k of them).
            rows = conn.all(
                f"""WITH alike AS MATERIALIZED (
                        SELECT id FROM tickets
                        WHERE ticket_title_words(project_id, title) @@ to_tsquery('simple', ?)
                          AND status NOT IN {CLOSED_SQL})
                    SELECT t.id, t.number, t.title, t.description FROM tickets t
                    WHERE t.id IN (SELECT id FROM alike ORDER BY id DESC LIMIT {DUPLICATE_CANDIDATES})""",
                (title_tsquery(titles, new.project_id),),
            )
            found.update((row[0], Text(*row)) for row in rows)
        if traces:
            rows = conn.all(
                f"""SELECT t.id, t.number, t.title, t.description FROM tickets t
                    WHERE t.search @@ to_tsquery('simple', ?) AND t.project_id = ? AND t.status NOT IN {CLOSED_SQL}
                    ORDER BY t.id DESC LIMIT {DUPLICATE_CANDIDATES}""",
                (trace_tsquery(traces), new.project_id),
            )
            found.update((row[0], Text(*row)) for row in rows)
        return [found[key] for key in sorted(found, reverse=True)]

    def within(self, conn: Connection, deadline: float | None, run: Callable[[], T]) -> T:
        """`run()` with what is left of the budget as its statement_timeout, in a savepoint, so that a
        cancelled statement leaves the read transaction usable for what was found."""
        if deadline is None:
            return run()
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms < 1:
            raise OutOfTime
        raw = cast(PsycopgConnection[TupleRow], conn.raw)
        try:
            with raw.transaction():
                conn.execute("SELECT set_config('statement_timeout', ?, true)", (f"{left_ms}ms",))
                return run()
        except errors.QueryCanceled as exc:
            raise OutOfTime from exc

    def blob(self, conn: Connection, digest: str) -> bytes:
        """In binary: a bytea in text is its hex, twice the bytes to send and to parse (a 10 MiB file reads
        in about 35 ms so, 165 ms as text)."""
        raw = cast(PsycopgConnection[TupleRow], conn.raw)
        row = raw.cursor(binary=True).execute("SELECT content FROM blobs WHERE digest = %s", (digest,)).fetchone()
        assert row is not None  # attachments name their blob (a foreign key)
        return bytes(row[0])


POSTGRES = PostgresDialect()


def _best_matches(conn: Connection, query: TicketQuery, words: str, filters: Fragment, oldest_ranked: int) -> list[Row]:
    """The page from the ranked matches (id from `oldest_ranked` on) alone, then, when it runs past them, from
    the older ones: one statement ranking and sorting every match read them all (1.1 s for a word in 500k)."""
    where, params = filters
    select, start, wanted = POSTGRES.ticket_select, relevance_start(query), query.limit + 1
    text = "t.search @@ to_tsquery('simple', ?)"
    rows = conn.all(
        f"""WITH page AS (
                SELECT t.id, ts_rank(t.search, to_tsquery('simple', ?)) AS k FROM tickets t
                WHERE {where} AND {text} AND t.id >= ? ORDER BY k DESC, t.id DESC LIMIT ? OFFSET ?)
            {select} JOIN page ON page.id = t.id ORDER BY page.k DESC, t.id DESC""",
        [words, *params, words, oldest_ranked, wanted, start],
    )
    if len(rows) == wanted or not oldest_ranked:
        return rows
    if rows:
        ranked = start + len(rows)
    else:  # the page starts past them: how many there are
        counted = f"SELECT COUNT(*) FROM tickets t WHERE {where} AND {text} AND t.id >= ?"
        ranked = int(conn.one(counted, [*params, words, oldest_ranked])[0])
    older = conn.all(
        f"""WITH page AS (
                SELECT t.id FROM tickets t WHERE {where} AND {text} AND t.id < ?
                ORDER BY t.id DESC LIMIT ? OFFSET ?)
            {select} JOIN page ON page.id = t.id ORDER BY t.id DESC""",
        [*params, words, oldest_ranked, wanted - len(rows), max(0, start - ranked)],
    )
    return rows + older
