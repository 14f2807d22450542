"""SQLite's answers to the Dialect: NOCASE columns, one writer (so no row locks), FTS5 search.

Ticket ids: SQLite would give a new row max(rowid) + 1, which reuses the id of a deleted newest
ticket; the id comes instead from migration 12's high-water mark in `ticket_ids`.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from tickets_mcp.domain import CLOSED_STATUSES
from tickets_mcp.domain.rules import label_color
from tickets_mcp.stores.cursors import relevance_start
from tickets_mcp.stores.port import NewTicket, TicketQuery
from tickets_mcp.stores.search import (
    BM25_WEIGHTS,
    COMPLETIONS_MAX,
    DUPLICATE_CANDIDATES,
    DUPLICATE_MATCHES,
    PROJECT_SHIFT,
    RANKED_MAX,
    SearchTerms,
    Text,
    completable,
    fts5_match,
    fts5_title_match,
    fts5_trace_match,
    fts5_words,
    project_rowids,
)
from tickets_mcp.stores.sql.connection import Connection, Row
from tickets_mcp.stores.sql.dialect import Fragment, OutOfTime
from tickets_mcp.stores.sql.records import BLOCKERS_OF, LABEL_SEP, LABELS_SEP, ticket_select

T = TypeVar("T")
_LAST_CHARACTER = "\U0010ffff"  # after every word that starts with the same letters
_PROGRESS_STEPS = 1000  # virtual-machine steps between two looks at the clock: some microseconds
# Tickets of any project that bm25 may score for the caller's newest RANKED_MAX matches (see _ranked_match).
_RANKED_WINDOW_MAX = 4 * RANKED_MAX


_LABELS = f"""(SELECT group_concat(name || '{LABEL_SEP}' || color, '{LABELS_SEP}')
              FROM (SELECT l.name AS name, l.color AS color FROM ticket_labels tl
                    JOIN labels l ON l.id = tl.label_id WHERE tl.ticket_id = t.id ORDER BY l.name))"""
_BLOCKED_BY = f"""(SELECT group_concat(slug, '{LABELS_SEP}')
              FROM (SELECT bp.code || '-' || b.number AS slug FROM {BLOCKERS_OF} ORDER BY bp.code, b.number))"""


class SqliteDialect:
    ticket_select = ticket_select(_LABELS, _BLOCKED_BY)
    next_ticket_id = "(SELECT MAX(last, (SELECT COALESCE(MAX(id), 0) FROM tickets)) + 1 FROM ticket_ids)"

    def ticket_select_with(self, extra: str) -> str:
        return ticket_select(_LABELS, _BLOCKED_BY, extra)

    def json_rows(self, items: str) -> str:
        return f"json_group_array(json_array({items}))"

    def locking(self, clause: str) -> str:
        return ""  # BEGIN IMMEDIATE: the one writer holds the whole file

    def serialize(self, conn: Connection, key: int | str) -> None:
        return  # writers are serialised already, so a concurrent twin sees what this one commits

    def same_name(self, column: str) -> str:
        return f"{column} = ?"  # names are NOCASE columns

    def by_name(self, column: str) -> str:
        return column

    def any_of(self, column: str, values: Sequence[Any]) -> Fragment:
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    def limited(self, rows: int, offset: int = 0) -> Fragment:
        # Bound: SQLite's plans for a list were chosen with its limit unknown; told it is 21, it read a
        # status's tickets from their index and sorted them all (3.5 ms) rather than walk ids newest first
        # (0.4 ms).
        return ("LIMIT ? OFFSET ?", [rows, offset]) if offset else ("LIMIT ?", [rows])

    def among(self, column: str, ids: str) -> str:
        return f"{column} IN ({ids})"  # SQLite reads the list once and probes the column's key for each

    def any_name(self, column: str, names: Sequence[str]) -> Fragment:
        return f"{column} IN (SELECT value FROM json_each(?))", [json.dumps(list(names))]

    def json(self, value: dict[str, Any]) -> Any:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    def attach_labels(self, conn: Connection, ticket_id: int, project_id: str, labels: Sequence[str]) -> list[str]:
        # Statements are cheap in-process: one a label reads simplest.
        created: list[str] = []
        for name in labels:
            if conn.execute(
                "INSERT INTO labels (project_id, name, color) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (project_id, name, label_color(name)),
            ):
                created.append(name)
            conn.execute(
                """INSERT OR IGNORE INTO ticket_labels (ticket_id, label_id)
                   SELECT ?, id FROM labels WHERE project_id = ? AND name = ?""",
                (ticket_id, project_id, name),
            )
        return created

    def later_than(self, column: str, op: str, value: Any, ticket_id: int) -> Fragment:
        return f"({column} {op} ? OR ({column} = ? AND t.id {op} ?))", [value, value, ticket_id]

    # Text search: the FTS5 table `ticket_search`, rowid = ticket id, the project a word of its own column.

    def complete(self, conn: Connection, terms: SearchTerms) -> SearchTerms:
        """The words each phrase's last word starts, from the list of every word ever indexed (`search_words`,
        migration 23), so that FTS5 reads them newest first instead of merging all their matches first."""
        completions: list[tuple[str, ...] | None] = []
        for phrase in terms.phrases:
            word = phrase[-1]
            found = None
            if completable(word):
                rows = conn.all(
                    "SELECT term FROM search_words_vocab WHERE term >= ? AND term < ? LIMIT ?",
                    (word, word + _LAST_CHARACTER, COMPLETIONS_MAX + 1),
                )
                found = tuple(str(row[0]) for row in rows) if 0 < len(rows) <= COMPLETIONS_MAX else None
            completions.append(found)
        return dataclasses.replace(terms, completions=tuple(completions))

    def text_match(self, terms: SearchTerms, project_ids: Sequence[str]) -> Fragment:
        # The caller's projects are part of the MATCH: the index reads their matches only.
        return "t.id IN (SELECT rowid FROM ticket_search WHERE ticket_search MATCH ?)", [fts5_match(terms, project_ids)]

    def text_source(self, terms: SearchTerms, project_ids: Sequence[str]) -> tuple[str, Fragment]:
        # Matches first, read as the index gives them, so that a capped count stops at its cap: `t.id IN` the
        # MATCH collects every match before the first row (345 ms for a word in a third of 1M tickets).
        return "ticket_search CROSS JOIN tickets t ON t.id = ticket_search.rowid", (
            "ticket_search MATCH ?",
            [fts5_match(terms, project_ids)],
        )

    def text_contains(self, pattern: str) -> Fragment:
        return "(t.title LIKE ? ESCAPE '\\' OR t.description LIKE ? ESCAPE '\\')", [pattern, pattern]

    def best_matches(
        self, conn: Connection, query: TicketQuery, terms: SearchTerms, filters: Fragment, deadline: float | None
    ) -> tuple[list[Row], int]:
        """The newest RANKED_MAX matches best first (bm25, title words weighing most), then older ones, newest
        first. Ranking reads each ranked match's word positions; this keeps a common word's page as cheap
        as its newest matches, in one order for every page, so paging neither skips nor repeats a ticket."""
        return self.within(conn, deadline, lambda: _best_matches(conn, query, terms, filters))

    def look_alikes(
        self,
        conn: Connection,
        new: NewTicket,
        titles: Sequence[tuple[str, ...]],
        traces: Sequence[tuple[str, ...]],
    ) -> list[Text]:
        closed = [s.value for s in CLOSED_STATUSES]
        found: dict[int, Text] = {}
        if titles:
            # The project's open titles, newest first: the walk stops at the latest look-alikes, and titles
            # that many tickets share ("Nightly build failed #N") cost no more than the ones it keeps.
            number = conn.one("SELECT number FROM projects WHERE id = ?", (new.project_id,))[0]
            rows = conn.all(
                f"""SELECT t.id, t.number, t.title, t.description FROM (
                        SELECT rowid AS key FROM open_titles WHERE open_titles MATCH ? AND rowid BETWEEN ? AND ?
                        ORDER BY rowid DESC LIMIT {DUPLICATE_CANDIDATES}
                    ) latest JOIN tickets t ON t.id = latest.key & {(1 << PROJECT_SHIFT) - 1}
                    WHERE t.project_id = ? AND t.status NOT IN ({", ".join("?" * len(closed))})""",
                (fts5_title_match(titles), *project_rowids(int(number)), new.project_id, *closed),
            )
            found.update((row[0], Text(*row)) for row in rows)
        if traces:
            # A trace's words in descriptions: the project's newest matches, closed ones too, then the open.
            # The project is inside the MATCH, so another organization's traces take none of these places.
            rows = conn.all(
                f"""SELECT t.id, t.number, t.title, t.description FROM (
                        SELECT rowid AS id FROM ticket_search WHERE ticket_search MATCH ?
                        ORDER BY rowid DESC LIMIT {DUPLICATE_MATCHES}
                    ) latest JOIN tickets t ON t.id = latest.id
                    WHERE t.project_id = ? AND t.status NOT IN ({", ".join("?" * len(closed))})
                    ORDER BY t.id DESC LIMIT {DUPLICATE_CANDIDATES}""",
                (fts5_trace_match(traces, new.project_id), new.project_id, *closed),
            )
            found.update((row[0], Text(*row)) for row in rows)
        return [found[key] for key in sorted(found, reverse=True)]

    def within(self, conn: Connection, deadline: float | None, run: Callable[[], T]) -> T:
        """Interrupt the connection's statements at `deadline` (SQLITE_INTERRUPT). SQLite asks between
        virtual-machine steps, so one index read runs to its end: search.PREFIX_MIN bounds those."""
        if deadline is None:
            return run()
        raw = cast(sqlite3.Connection, conn.raw)
        raw.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
        try:
            return run()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_INTERRUPT:
                raise
            raise OutOfTime from exc
        finally:
            raw.set_progress_handler(None, 0)

    def blob(self, conn: Connection, digest: str) -> bytes:
        return bytes(conn.one("SELECT content FROM blobs WHERE digest = ?", (digest,))[0])


def _best_matches(conn: Connection, query: TicketQuery, terms: SearchTerms, filters: Fragment) -> tuple[list[Row], int]:
    where, params = filters
    match = fts5_match(terms, query.project_ids)
    start, wanted = relevance_start(query), query.limit + 1
    found = conn.optional(
        "SELECT rowid FROM ticket_search WHERE ticket_search MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
        (match, RANKED_MAX - 1),
    )
    oldest_ranked = int(found[0]) if found else 0
    ranked_match = _ranked_match(conn, terms, match, oldest_ranked)
    ranked_matches = f"""matches AS MATERIALIZED (
        SELECT rowid AS id, bm25(ticket_search, {BM25_WEIGHTS}) AS k FROM ticket_search
        WHERE ticket_search MATCH ? AND rowid >= ?)"""
    select = conn.dialect.ticket_select
    rows = conn.all(
        f"""WITH {ranked_matches},
            page AS (
                SELECT t.id, matches.k FROM matches JOIN tickets t ON t.id = matches.id
                WHERE {where} ORDER BY matches.k, t.id DESC LIMIT ? OFFSET ?)
            {select} JOIN page ON page.id = t.id ORDER BY page.k, t.id DESC""",
        (ranked_match, oldest_ranked, *params, wanted, start),
    )
    if len(rows) == wanted or not oldest_ranked:
        return rows, start
    # The page runs past the ranked matches: the older ones follow.
    if rows:
        ranked = start + len(rows)
    else:  # the page starts past them: how many there are
        counted = f"WITH {ranked_matches} SELECT COUNT(*) FROM matches JOIN tickets t ON t.id = matches.id"
        ranked = int(conn.one(f"{counted} WHERE {where}", (ranked_match, oldest_ranked, *params))[0])
    older = conn.all(
        f"""WITH page AS (
                SELECT t.id FROM tickets t
                WHERE {where} AND t.id IN (
                    SELECT rowid FROM ticket_search WHERE ticket_search MATCH ? AND rowid < ?)
                ORDER BY t.id DESC LIMIT ? OFFSET ?)
            {select} JOIN page ON page.id = t.id ORDER BY t.id DESC""",
        (*params, match, oldest_ranked, wanted - len(rows), max(0, start - ranked)),
    )
    return rows + older, start


def _ranked_match(conn: Connection, terms: SearchTerms, match: str, oldest_ranked: int) -> str:
    """What bm25 ranks from `oldest_ranked` on: the words alone when few other tickets hold them there, else
    `match`, the words in the caller's projects. bm25 counts every phrase's matches in the whole index
    before it scores the first: the project words, phrases too, are every ticket of those projects (81 -> 26 ms
    for a word in 300k tickets). Their column weighs 0, so the scores are the same; the page's filters keep
    the caller's projects. Read only when the words are read newest first (no prefix merged)."""
    merged = any(c is None and completable(p[-1]) for p, c in zip(terms.phrases, terms.completed(), strict=True))
    if merged:
        return match
    words = fts5_words(terms)
    window = conn.one(
        "SELECT COUNT(*) FROM (SELECT 1 FROM ticket_search WHERE ticket_search MATCH ? AND rowid >= ? LIMIT ?)",
        (words, oldest_ranked, _RANKED_WINDOW_MAX + 1),
    )
    return words if int(window[0]) <= _RANKED_WINDOW_MAX else match


SQLITE = SqliteDialect()
