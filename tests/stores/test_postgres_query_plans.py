"""On PostgreSQL, the planning filters and the due-date sort of list_tickets can be answered from their indexes.

As test_query_plans.py does for SQLite: the SQL is the store's own (list_tickets over a recording
connection), planned by EXPLAIN on a seeded, analysed schema of 20k tickets in 10 projects. At that size
reading a table whole and hashing it is often cheaper, and PostgreSQL rightly takes it; with sequential
scans priced out (enable_seqscan off) the plan shows whether an index answers the filter at all, which is
what a tracker of millions needs. Each case names the index its filter must be searched by (an Index
Cond, not a walk of the whole index), and no big table may be read whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg
import pytest

from tickets_mcp.domain import Status, TicketSort
from tickets_mcp.stores.location import PostgresUrl
from tickets_mcp.stores.port import TicketQuery
from tickets_mcp.stores.postgres.dialect import POSTGRES
from tickets_mcp.stores.postgres.migrations import migrate
from tickets_mcp.stores.sql.connection import Connection, Cursor
from tickets_mcp.stores.sql.listing import list_tickets

BIG_TABLES = frozenset({"tickets", "ticket_links"})
TODAY = "2026-02-01"  # the seeded due dates run from 2026-01-01 for 90 days

# Ten projects of 2,000 tickets, three milestones each; one ticket in four due, one in five in a milestone,
# one in ten blocking the next.
SEED = (
    "INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'Org', 'org', 'now')",
    "INSERT INTO projects (id, organization_id, name, code, created_at) "
    "SELECT 'p' || i, 'o', 'P' || i, 'P' || i, 'now' FROM generate_series(1, 10) i",
    "INSERT INTO milestones (project_id, name, created_at) "
    "SELECT 'p' || i, 'M' || n, 'now' FROM generate_series(1, 10) i, generate_series(1, 3) n",
    """INSERT INTO tickets (project_id, number, type, title, status, priority, position, created_at, updated_at,
                           due_date, milestone_id)
       SELECT 'p' || (g % 10 + 1), g, 'task', 'Ticket ' || g,
              (ARRAY['backlog', 'todo', 'in_progress', 'in_review', 'done', 'canceled'])[g % 6 + 1],
              g % 4 + 1, g, 'now', 'now',
              CASE WHEN g % 4 = 0 THEN to_char(DATE '2026-01-01' + g % 90, 'YYYY-MM-DD') END,
              CASE WHEN g % 5 = 0 THEN (SELECT m.id FROM milestones m
                                        WHERE m.project_id = 'p' || (g % 10 + 1) AND m.name = 'M' || (g % 3 + 1)) END
       FROM generate_series(1, 20000) g""",
    "INSERT INTO ticket_links (from_id, kind, to_id, created_at) "
    "SELECT id, 'blocks', id + 1, 'now' FROM tickets WHERE id % 10 = 0 AND id < (SELECT MAX(id) FROM tickets)",
    "ANALYZE",
)


@dataclass(frozen=True)
class Seeded:
    conn: psycopg.Connection[Any]
    project_ids: tuple[str, ...]
    milestone_id: int


@pytest.fixture(scope="module")
def seeded(module_postgres_url: PostgresUrl) -> Iterator[Seeded]:
    migrate(module_postgres_url)
    with psycopg.connect(module_postgres_url.url, autocommit=True) as conn:
        for statement in SEED:
            conn.execute(statement.encode())
        conn.execute(b"SET enable_seqscan = off")
        project_ids = tuple(str(row[0]) for row in conn.execute(b"SELECT id FROM projects ORDER BY id"))
        milestone = conn.execute(b"SELECT MIN(milestone_id) FROM tickets").fetchone()
        assert milestone is not None
        yield Seeded(conn, project_ids, int(milestone[0]))


def issued(seeded: Seeded, query: TicketQuery) -> list[tuple[str, Sequence[Any]]]:
    """The statements list_tickets runs for `query` (in psycopg's placeholder style), with their parameters."""
    statements: list[tuple[str, Sequence[Any]]] = []

    def execute(sql: str, params: Sequence[Any]) -> Cursor:
        formatted = sql.replace("%", "%%").replace("?", "%s")
        statements.append((formatted, params))
        return seeded.conn.execute(formatted.encode(), params)

    list_tickets(Connection(execute, POSTGRES, seeded.conn), query)
    return statements


def plan_nodes(seeded: Seeded, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    row = seeded.conn.execute(b"EXPLAIN (FORMAT JSON) " + sql.encode(), params).fetchone()
    assert row is not None
    document: Any = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    nodes: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = [document[0]["Plan"]]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(node.get("Plans", []))
    return nodes


@dataclass(frozen=True)
class Case:
    changes: dict[str, Any]
    index: str  # one the filter or sort must be read through
    one_project: bool = False
    page_two: bool = False

    @property
    def ordered(self) -> bool:
        """The due-date sort over all projects may walk its index in order with no condition (on page one)."""
        return self.changes.get("sort") is TicketSort.DUE and not self.page_two


CASES = [
    pytest.param(Case({"milestone_id": "seeded"}, "tickets_milestone"), id="a milestone"),
    pytest.param(Case({"no_milestone": True}, "tickets_", one_project=True), id="one project, no milestone"),
    pytest.param(Case({"blocked": True}, "ticket_links_to"), id="blocked"),
    pytest.param(Case({"blocked": False}, "ticket_links_to", one_project=True), id="one project, not blocked"),
    pytest.param(Case({"blocking": True}, "ticket_links_"), id="blocking"),  # the blocks links, by either key
    pytest.param(Case({"overdue_on": TODAY}, "tickets_due_open"), id="overdue"),
    pytest.param(Case({"due_before": "2026-01-03"}, "tickets_due"), id="due before"),
    pytest.param(Case({"due_after": "2026-03-29"}, "tickets_due"), id="due after"),
    pytest.param(Case({"sort": TicketSort.DUE}, "tickets_due"), id="sorted by due date"),
    pytest.param(Case({"sort": TicketSort.DUE}, "tickets_due", one_project=True), id="one project sorted by due"),
    pytest.param(Case({"sort": TicketSort.DUE}, "tickets_due", page_two=True), id="page two sorted by due date"),
]


def sorted_below_a_limit(node: dict[str, Any], limited: bool = False) -> list[str]:
    """The sorts that run under a LIMIT: each reads every row of its input to hand back the first few."""
    found = [str(node.get("Sort Key"))] if limited and node["Node Type"] in ("Sort", "Incremental Sort") else []
    for child in node.get("Plans", []):
        found += sorted_below_a_limit(child, limited or node["Node Type"] == "Limit")
    return found


@pytest.mark.parametrize(
    ("sort", "one_project", "page_two"),
    [
        (TicketSort.UPDATED, False, False),
        (TicketSort.UPDATED, True, False),
        (TicketSort.UPDATED, False, True),
        (TicketSort.PRIORITY, False, False),
        (TicketSort.PRIORITY, True, False),
        (TicketSort.PRIORITY, False, True),
        (TicketSort.DUE, False, False),
        (TicketSort.DUE, True, True),
    ],
)
def test_a_page_sorted_by_a_column_is_read_in_its_index_order_ties_broken_by_id(
    seeded: Seeded, sort: TicketSort, one_project: bool, page_two: bool
) -> None:
    """Every ticket shares a priority with a quarter of the others, and many share an update time: an index on
    the column alone leaves each tie to be sorted whole by id (a 250k-ticket tie took 540 ms at 1M tickets),
    so the sort indexes end with the id, as SQLite's end with the rowid."""
    projects = seeded.project_ids[:1] if one_project else seeded.project_ids
    query = TicketQuery(project_ids=projects, sort=sort, descending=sort is not TicketSort.DUE, limit=20)
    if page_two:
        first = list_tickets(Connection(lambda sql, params: seeded.conn.execute(
            sql.replace("%", "%%").replace("?", "%s").encode(), params), POSTGRES, seeded.conn), query)  # fmt: skip
        query = replace(query, cursor=first.next_cursor)
    sql, params = issued(seeded, query)[-1]
    row = seeded.conn.execute(b"EXPLAIN (FORMAT JSON) " + sql.encode(), params).fetchone()
    assert row is not None
    document: Any = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    assert sorted_below_a_limit(document[0]["Plan"]) == []


@pytest.mark.parametrize("case", CASES)
def test_each_planning_filter_and_the_due_sort_read_tickets_through_their_index(seeded: Seeded, case: Case) -> None:
    changes = {k: seeded.milestone_id if v == "seeded" else v for k, v in case.changes.items()}
    projects = seeded.project_ids[:1] if case.one_project else seeded.project_ids
    query = replace(TicketQuery(project_ids=projects, descending=False, limit=20), **changes)
    if case.page_two:
        first = list_tickets(Connection(lambda sql, params: seeded.conn.execute(
            sql.replace("%", "%%").replace("?", "%s").encode(), params), POSTGRES, seeded.conn), query)  # fmt: skip
        assert first.next_cursor is not None
        query = replace(query, cursor=first.next_cursor)
    statements = issued(seeded, query)
    assert len(statements) in (1, 2)  # the page with its count; the count apart only after an empty page
    nodes = [node for sql, params in statements for node in plan_nodes(seeded, sql, params)]
    scans = [n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan" and n["Relation Name"] in BIG_TABLES]
    searched = {str(n["Index Name"]) for n in nodes if "Index Name" in n and "Index Cond" in n}
    walked = {str(n["Index Name"]) for n in nodes if "Index Name" in n} - searched
    assert not scans, f"read whole: {scans}; indexes searched: {sorted(searched)}"
    assert any(name.startswith(case.index) for name in searched | (walked if case.ordered else set[str]())), (
        f"searched: {sorted(searched)}, walked in order: {sorted(walked)}"
    )


def test_a_page_is_planned_once_then_its_plan_is_kept(module_postgres_url: PostgresUrl, seeded: Seeded) -> None:
    """PostgreSQL keeps a prepared statement's generic plan only when that plan's estimate is as good as a
    fresh one's. With the page's LIMIT a parameter it never was, and every list was planned anew: 3-7 ms at
    100k tickets, more than running it. Over one connection, as a pooled one serves request after request,
    psycopg prepares a statement at its sixth run and PostgreSQL weighs the generic plan after five more."""
    projects = seeded.project_ids
    queries = [
        TicketQuery(project_ids=projects, limit=20, count_limit=1000),
        TicketQuery(project_ids=projects[:1], limit=20, count_limit=1000),
        TicketQuery(project_ids=projects, statuses=(Status.TODO,), limit=20, count_limit=1000),
        TicketQuery(project_ids=projects, sort=TicketSort.UPDATED, limit=50),
    ]
    with psycopg.connect(module_postgres_url.url, autocommit=True) as raw:

        def execute(sql: str, params: Sequence[Any]) -> Cursor:
            return raw.execute(sql.replace("%", "%%").replace("?", "%s").encode(), params)

        for query in queries:
            for _ in range(15):
                assert list_tickets(Connection(execute, POSTGRES, raw), query).tickets
        kept = raw.execute(b"SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements").fetchall()
    assert len(kept) == 3  # the first two queries share a statement
    assert [(sql[:80], custom) for sql, generic, custom in kept if not generic] == []
