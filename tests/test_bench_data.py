"""The bench's data: bug-report text within its bounds, and seeded stores that answer as the product's own would.

The store section measures at 1M tickets on data bulk-loaded around the product (SQLite inserts whose
triggers fill the full-text index, PostgreSQL COPY whose generated column does): if a load missed what the
product maintains, searches and counts would be measured on an index that does not hold the data.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from bench.corpus import DESCRIPTION_WORDS_MAX, TITLE_WORDS, Corpus
from bench.dataset import COMMON_WORD, OWNER, RARE_WORD, copy_to_postgres, migrate_file, seed_database

from tests.fixtures.stores import Location
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketDraft, TicketFilter
from tickets_mcp.domain import TicketSort
from tickets_mcp.domain.signature import signature
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.location import PostgresUrl
from tickets_mcp.stores.postgres.migrations import migrate

pytestmark = pytest.mark.anyio
TICKETS = 600


def test_the_corpus_is_the_same_for_a_seed_and_within_its_bounds() -> None:
    kinds = ("bug", "feature", "task", "improvement")
    corpus, again, other = Corpus(3), Corpus(3), Corpus(4)
    tickets = [corpus.ticket(kinds[i % 4]) for i in range(2000)]
    assert tickets == [again.ticket(kinds[i % 4]) for i in range(2000)]
    assert tickets != [other.ticket(kinds[i % 4]) for i in range(2000)]
    assert all(TITLE_WORDS[0] <= len(title.split()) <= TITLE_WORDS[1] for title, _ in tickets)
    assert all(len(description.split()) <= DESCRIPTION_WORDS_MAX for _, description in tickets)
    assert any(not description for _, description in tickets)
    traced = [description for _, description in tickets if signature(description) is not None]
    assert any(s is not None and s.frames for s in map(signature, traced))  # stack traces the product reads
    reworded = [corpus.reword(title) for title, _ in tickets[:200]]
    assert sum(new != old for new, (old, _) in zip(reworded, tickets, strict=False)) > 150


def _holding(path: Path, word: str) -> int:
    """Tickets whose title or description holds a word starting with `word` (a query word is a prefix),
    words split as both stores split them."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT title, description FROM tickets").fetchall()
    finally:
        conn.close()
    return sum(
        any(found.startswith(word) for found in re.findall(r"[^\W_]+", f"{title} {description}".lower()))
        for title, description in rows
    )


async def test_a_seeded_store_finds_counts_and_files_as_the_product_would(
    store_location: Location, tmp_path: Path
) -> None:
    source = tmp_path / "source.db"
    migrate_file(source)
    seeded = seed_database(source, TICKETS)
    location: Location = source
    if isinstance(store_location, PostgresUrl):
        migrate(store_location)
        copy_to_postgres(store_location, source)
        location = store_location
    store = await open_store(location)
    try:
        user = await store.find_user(OWNER)
        assert user is not None
        tracker = LocalTracker(store, Principal(user_id=user.id, username=user.username))
        for word in (COMMON_WORD, RARE_WORD):
            expected = _holding(source, word)
            for sort in (TicketSort.CREATED, TicketSort.RELEVANCE):
                page = await tracker.list_tickets(TicketFilter(text=word, sort=sort, count_limit=None))
                assert page.total == expected, (word, sort)
        assert _holding(source, COMMON_WORD) > TICKETS // 10
        projects = await tracker.list_projects()
        assert sum(p.tickets_count or 0 for p in projects) == TICKETS
        biggest = max(projects, key=lambda p: p.tickets_count or 0)
        filed = await tracker.create_ticket(TicketDraft(title="Webhook retries never stop", project=biggest.code))
        assert filed.ticket.slug == f"{biggest.code}-{seeded.counters[seeded.project_codes.index(biggest.code)] + 1}"
        assert filed.ticket.id == TICKETS + 1
    finally:
        await store.close()
