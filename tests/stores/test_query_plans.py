"""Every advertised filter and sort of list_tickets is answered from an index, not a scan of all tickets.

The SQL is captured from the store's own list_tickets with a trace callback, then run through
EXPLAIN QUERY PLAN on a small seeded database, once with ANALYZE statistics of its own data (a user may
run ANALYZE) and once as the store leaves a database: never analysed, planned with the statistics of a
large tracker that migration 4 writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from bench.dataset import SEARCH_WORD, seed_database

from tickets_mcp.domain import Priority, Status, TicketSort, TicketType
from tickets_mcp.stores.port import TicketQuery
from tickets_mcp.stores.sql import events
from tickets_mcp.stores.sql.connection import Connection
from tickets_mcp.stores.sql.listing import list_tickets
from tickets_mcp.stores.sqlite.dialect import SQLITE
from tickets_mcp.stores.sqlite.migrations import PLANNER_STATISTICS, PLANNING_STATISTICS, migrate

# Tables large enough that reading all of them is a problem (aliases as the store's SQL names them).
BIG_TABLES = {
    "t": "tickets", "tickets": "tickets", "tl": "ticket_labels", "ticket_labels": "ticket_labels",
    "k": "ticket_links", "ticket_links": "ticket_links", "b": "tickets", "d": "tickets",
}  # fmt: skip
TODAY = "2026-02-01"  # the seeded due dates run from 2026-01-01 for 90 days

# The plan of a seeded tracker: three milestones a project, one ticket in four due, one in five in a
# milestone, one in ten blocking the next.
PLANNING = (
    "INSERT INTO milestones (project_id, name, created_at) "
    "SELECT p.id, 'M' || n.value, 'now' FROM projects p, json_each('[1, 2, 3]') n",
    "UPDATE tickets SET due_date = date('2026-01-01', '+' || (id % 90) || ' days') WHERE id % 4 = 0",
    "UPDATE tickets SET milestone_id = (SELECT m.id FROM milestones m WHERE m.project_id = tickets.project_id "
    "AND m.name = 'M' || (tickets.id % 3 + 1)) WHERE id % 5 = 0",
    "INSERT INTO ticket_links (from_id, kind, to_id, created_at) "
    "SELECT id, 'blocks', id + 1, 'now' FROM tickets WHERE id % 10 = 0 AND id + 1 IN (SELECT id FROM tickets)",
)


@dataclass(frozen=True)
class Seeded:
    conn: sqlite3.Connection
    project_ids: tuple[str, ...]
    parent_id: int
    milestone_id: int


def seed(path: Path, *, analyze: bool) -> Seeded:
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, str(path))
    conn.close()
    seed_database(path, 3_000)
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in PLANNING:
        conn.execute(statement)
    if analyze:
        conn.execute("ANALYZE")
    project_ids = tuple(str(row[0]) for row in conn.execute("SELECT id FROM projects ORDER BY code"))
    parent_id = int(
        conn.execute(
            "SELECT parent_id FROM tickets WHERE parent_id IS NOT NULL GROUP BY parent_id ORDER BY COUNT(*) DESC"
        ).fetchone()[0]
    )
    milestone_id = int(conn.execute("SELECT MIN(milestone_id) FROM tickets").fetchone()[0])
    return Seeded(conn, project_ids, parent_id, milestone_id)


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    seeded = seed(tmp_path_factory.mktemp("plans") / "analyzed.db", analyze=True)
    yield seeded
    seeded.conn.close()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """As the product leaves a database: never analysed, with the statistics migration 4 wrote."""
    seeded = seed(tmp_path_factory.mktemp("plans") / "fresh.db", analyze=False)
    yield seeded
    seeded.conn.close()


@dataclass(frozen=True)
class Case:
    """A list_tickets query as LocalTracker builds it: `one_project` or all projects of the organization."""

    one_project: bool = False
    statuses: tuple[Status, ...] = ()
    types: tuple[TicketType, ...] = ()
    priorities: tuple[Priority, ...] = ()
    assignee: bool = False
    unassigned: bool = False
    reporter: bool = False
    labels: tuple[str, ...] = ()
    parent: bool = False
    text: str | None = None
    updated_since: str | None = None
    milestone: bool = False
    no_milestone: bool = False
    blocked: bool | None = None
    blocking: bool | None = None
    overdue: bool = False
    due_before: str | None = None
    due_after: str | None = None
    sort: TicketSort = TicketSort.CREATED
    descending: bool = True
    page_two: bool = False

    @property
    def filtered(self) -> bool:
        return bool(
            self.one_project or self.statuses or self.types or self.priorities or self.assignee or self.unassigned
            or self.reporter or self.labels or self.parent or self.text or self.updated_since
            or self.planned
        )  # fmt: skip

    @property
    def planned(self) -> bool:
        return bool(
            self.milestone or self.no_milestone or self.blocked is not None or self.blocking is not None
            or self.overdue or self.due_before or self.due_after
        )  # fmt: skip

    def query(self, seeded: Seeded) -> TicketQuery:
        return TicketQuery(
            project_ids=seeded.project_ids[:1] if self.one_project else seeded.project_ids,
            statuses=self.statuses,
            types=self.types,
            priorities=self.priorities,
            assignee_id=1 if self.assignee else None,
            unassigned=self.unassigned,
            reporter_id=4 if self.reporter else None,
            labels=self.labels,
            parent_id=seeded.parent_id if self.parent else None,
            text=self.text,
            updated_since=self.updated_since,
            milestone_id=seeded.milestone_id if self.milestone else None,
            no_milestone=self.no_milestone,
            blocked=self.blocked,
            blocking=self.blocking,
            overdue_on=TODAY if self.overdue else None,
            due_before=self.due_before,
            due_after=self.due_after,
            sort=self.sort,
            descending=self.descending,
            limit=20,
        )


CASES: list[tuple[str, Case]] = [
    ("all projects, newest first", Case()),
    ("one project", Case(one_project=True)),
    ("one project and a status", Case(one_project=True, statuses=(Status.IN_PROGRESS,))),
    ("several statuses", Case(statuses=(Status.TODO, Status.IN_PROGRESS, Status.IN_REVIEW))),
    ("a type", Case(types=(TicketType.BUG,))),
    ("a priority", Case(priorities=(Priority.URGENT,))),
    ("an assignee", Case(assignee=True)),
    ("unassigned", Case(unassigned=True)),
    ("a reporter (REST only)", Case(reporter=True)),
    ("a label", Case(labels=("security",))),
    ("two labels", Case(labels=("security", "backend"))),
    ("a label and a status", Case(labels=("security",), statuses=(Status.TODO,))),
    ("a label sorted by update", Case(labels=("security",), sort=TicketSort.UPDATED)),
    ("cursor page two of two labels", Case(labels=("security", "backend"), page_two=True)),
    ("a parent", Case(one_project=True, parent=True)),
    ("a text query", Case(text=SEARCH_WORD)),
    ("a text query, best match first", Case(text=SEARCH_WORD, sort=TicketSort.RELEVANCE)),
    ("updated since", Case(updated_since="2025-12-25T00:00:00.000Z")),
    ("one project updated since", Case(one_project=True, updated_since="2025-12-25T00:00:00.000Z")),
    ("sorted by update", Case(sort=TicketSort.UPDATED)),
    ("sorted by priority", Case(sort=TicketSort.PRIORITY)),
    ("one project sorted by update", Case(one_project=True, sort=TicketSort.UPDATED)),
    ("one project sorted by priority", Case(one_project=True, sort=TicketSort.PRIORITY)),
    ("oldest first", Case(descending=False)),
    ("sorted by update ascending", Case(sort=TicketSort.UPDATED, descending=False)),
    ("cursor page two", Case(page_two=True)),
    ("cursor page two sorted by update", Case(sort=TicketSort.UPDATED, page_two=True)),
    ("cursor page two sorted by priority", Case(sort=TicketSort.PRIORITY, page_two=True)),
    ("a milestone", Case(milestone=True)),
    ("one project, no milestone", Case(one_project=True, no_milestone=True)),
    ("blocked", Case(blocked=True)),
    ("one project, not blocked", Case(one_project=True, blocked=False)),
    ("blocking", Case(blocking=True)),
    ("one project, not blocking", Case(one_project=True, blocking=False)),
    ("overdue", Case(overdue=True)),
    ("one project overdue", Case(one_project=True, overdue=True)),
    ("due before", Case(due_before="2026-01-05")),
    ("due after", Case(due_after="2026-03-25")),
    ("one project due between", Case(one_project=True, due_after="2026-01-10", due_before="2026-01-12")),
    ("sorted by due date", Case(sort=TicketSort.DUE, descending=False)),
    ("one project sorted by due date", Case(one_project=True, sort=TicketSort.DUE, descending=False)),
    ("cursor page two sorted by due date", Case(sort=TicketSort.DUE, descending=False, page_two=True)),
    ("a milestone sorted by due date", Case(milestone=True, sort=TicketSort.DUE, descending=False)),
]  # fmt: skip


def issued_sql(conn: sqlite3.Connection, query: TicketQuery, page_two: bool) -> list[str]:
    if page_two:
        first = list_tickets(Connection(conn.execute, SQLITE, conn), query)
        assert first.next_cursor is not None
        query = replace(query, cursor=first.next_cursor)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        list_tickets(Connection(conn.execute, SQLITE, conn), query)
    finally:
        conn.set_trace_callback(None)
    # FTS5 reads its own shadow tables (ticket_search_config, ...), and the words a query's word starts come
    # from the list of indexed words: not statements of the store's tables.
    return [
        s
        for s in statements
        if s.lstrip().upper().startswith(("SELECT", "WITH"))
        and "'ticket_search_" not in s
        and "search_words_vocab" not in s
    ]


@dataclass(frozen=True)
class PlanLine:
    parent: int
    detail: str
    id: int = 0


def plan(conn: sqlite3.Connection, sql: str) -> list[PlanLine]:
    return [PlanLine(int(row[1]), str(row[3]), int(row[0])) for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]


def page_subtree(lines: list[PlanLine]) -> list[PlanLine]:
    """The lines of the materialized `page` query, where the store picks the page's ids.

    Everything outside it joins those few rows by primary key (and sorts at most `limit` of them),
    so only this part decides whether the page is index-backed.
    """
    return subtree(lines, "MATERIALIZE page") or lines


def subtree(lines: list[PlanLine], *details: str) -> list[PlanLine]:
    """The lines under the ones reading one of `details` (a CTE's: `MATERIALIZE page`, `CO-ROUTINE counted`)."""
    roots = {line.id for line in lines if line.detail in details}
    inside: list[PlanLine] = []
    for line in lines:
        if line.parent in roots:
            inside.append(line)
            roots.add(line.id)
    return inside


def is_full_scan(detail: str) -> bool:
    """`SCAN t` of a big table without `USING ... INDEX`."""
    words = detail.split()
    return len(words) >= 2 and words[0] == "SCAN" and words[1] in BIG_TABLES and "INDEX" not in words


def count_problems(lines: list[PlanLine], case: Case) -> list[str]:
    """The total: every matching ticket is counted, so the matches must come from an index. Not a table
    scan, not a filter run as a subquery once per ticket, and, when a filter narrows tickets of all
    projects, not an index read by project alone (that reads every ticket of every project).

    The links filters (blocked, blocking) are the exception: whether a ticket has an open blocker is one
    probe of a links index for each ticket the other filters leave (a SEARCH: the scan check still holds
    inside), so they cost what the projects hold, never what lies beyond them: 38 ms to count the blocked
    tickets of 100k in 10 projects on SQLite, 5 ms in one project. So are labels past the first: a probe of
    the ticket's own entries for each entry of the first label's index, at most LABEL_COUNT_SCAN of them."""
    probes = case.blocked is not None or case.blocking is not None or len(case.labels) > 1
    every_project = case.filtered and not case.one_project and not probes
    return [
        line.detail
        for line in lines
        if is_full_scan(line.detail)
        or (line.detail.startswith("CORRELATED SCALAR SUBQUERY") and not probes)
        or (every_project and line.detail.startswith("SEARCH t ") and line.detail.endswith("(project_id=?)"))
    ]


def page_problems(lines: list[PlanLine], case: Case) -> list[str]:
    """The page: a `SCAN t` is acceptable only in rowid order for the creation sort (it reads the primary
    key in the wanted order and stops after the page); with no filter, the order must come from an
    index, not from sorting every ticket in a temp b-tree."""
    lines = page_subtree(lines)
    sorted_in_temp = [line.detail for line in lines if line.detail.startswith("USE TEMP B-TREE FOR ORDER BY")]
    ordered_by_rowid = case.sort is TicketSort.CREATED and not sorted_in_temp
    scans = [line.detail for line in lines if is_full_scan(line.detail) and not ordered_by_rowid]
    return scans + ([] if case.filtered else sorted_in_temp)


def describe(conn: sqlite3.Connection, case: Case, seeded: Seeded) -> tuple[list[str], str]:
    statements = issued_sql(conn, case.query(seeded), case.page_two)
    if case.labels:  # their ids first, from the labels (a few a project)
        assert "FROM labels" in statements[0], statements
        statements = statements[1:]
    if case.text is None and not case.labels:  # the page with its count (the CTE `counted`); apart after an empty page
        lines, *apart = [plan(conn, statement) for statement in statements]
        assert len(apart) <= 1, statements
        count_plan, page_plans = (
            apart[0] if apart else subtree(lines, "CO-ROUTINE counted", "MATERIALIZE counted"),
            [lines],
        )
        assert count_plan, lines
    else:  # the count, then the page; a relevance sort first finds its oldest ranked match and how many
        # tickets of any project sit among the ranked ones (both in the index alone)
        assert len(statements) == (4 if case.sort is TicketSort.RELEVANCE else 2), statements
        count_plan, *page_plans = [plan(conn, statement) for statement in statements]
    problems = count_problems(count_plan, case) + [p for lines in page_plans for p in page_problems(lines, case)]
    text = "\n".join(" | ".join(line.detail for line in lines) for lines in (count_plan, *page_plans))
    return problems, text


CASE_PARAMS = [pytest.param(case, id=name) for name, case in CASES]


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_list_tickets_reads_tickets_through_an_index_with_statistics(analyzed: Seeded, case: Case) -> None:
    problems, text = describe(analyzed.conn, case, analyzed)
    assert not problems, f"not index-backed: {problems}; plans (count, then page):\n{text}"


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_list_tickets_reads_tickets_through_an_index_on_a_database_never_analyzed(fresh: Seeded, case: Case) -> None:
    problems, text = describe(fresh.conn, case, fresh)
    assert not problems, f"not index-backed: {problems}; plans (count, then page):\n{text}"


def test_without_the_shipped_statistics_a_sort_over_all_projects_sorts_every_ticket(fresh: Seeded) -> None:
    """Why migration 4 exists: the same query planned without any statistics."""
    case = Case(sort=TicketSort.UPDATED)
    conn = fresh.conn
    conn.execute("BEGIN")
    try:
        conn.execute("DELETE FROM sqlite_stat1")
        conn.execute("ANALYZE sqlite_schema")  # reloads the (now empty) statistics
        problems, _ = describe(conn, case, fresh)
    finally:
        conn.execute("ROLLBACK")
        conn.execute("ANALYZE sqlite_schema")
    assert problems == ["USE TEMP B-TREE FOR ORDER BY"]
    assert describe(conn, case, fresh)[0] == []


def statistics(conn: sqlite3.Connection) -> set[tuple[str, str, str]]:
    return {(str(t), str(i), str(s)) for t, i, s in conn.execute("SELECT tbl, idx, stat FROM sqlite_stat1")}


def test_the_shipped_statistics_name_real_indexes_and_leave_measured_ones_alone(tmp_path: Path) -> None:
    new = sqlite3.connect(tmp_path / "new.db", isolation_level=None)
    migrate(new, "new.db")
    indexes = {str(row[0]) for row in new.execute("SELECT name FROM sqlite_schema WHERE type = 'index'")}
    shipped = {*PLANNER_STATISTICS, *PLANNING_STATISTICS}
    assert {index for _, index, _ in shipped} <= indexes | {"ticket_labels", "ticket_links"}  # WITHOUT ROWID: its key
    assert statistics(new) == shipped
    new.close()

    # A database a user analysed before upgrading keeps the statistics measured on its own data.
    old = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    migrate(old, "old.db", upto=3)
    old.execute("ANALYZE")  # of empty tables: measures the small ones only; then as if tickets had been there
    old.execute("INSERT INTO sqlite_stat1 VALUES ('tickets', 'tickets_project', '7 7')")
    measured = statistics(old)
    migrate(old, "old.db")
    # Migration 6 dropped the trigram index, and SQLite its statistics with it.
    assert statistics(old) == {row for row in measured if not row[0].startswith("tickets_fts")}
    old.close()


def test_the_scan_detector_flags_a_plain_table_scan_and_accepts_index_reads() -> None:
    assert is_full_scan("SCAN t")
    assert not is_full_scan("SCAN t USING COVERING INDEX tickets_project")
    assert not is_full_scan("SEARCH t USING INDEX tickets_board (project_id=? AND status=?)")
    assert not is_full_scan("SCAN l")


def test_a_rowid_order_scan_is_accepted_only_for_the_creation_sort() -> None:
    lines = [PlanLine(0, "SCAN t")]
    assert page_problems(lines, Case()) == []
    assert page_problems(lines, Case(sort=TicketSort.UPDATED)) == ["SCAN t"]


def test_a_count_that_reads_every_ticket_of_every_project_is_flagged_when_a_filter_should_narrow_it() -> None:
    lines = [PlanLine(0, "SEARCH t USING COVERING INDEX tickets_priority (project_id=?)")]
    assert count_problems(lines, Case()) == []
    assert count_problems(lines, Case(one_project=True, types=(TicketType.BUG,))) == []
    assert count_problems(lines, Case(types=(TicketType.BUG,))) == [lines[0].detail]


def test_sorting_every_ticket_in_a_temp_b_tree_is_flagged_unless_a_filter_narrows_them() -> None:
    lines = [PlanLine(0, "SEARCH t USING INDEX tickets_priority (project_id=?)"),
             PlanLine(0, "USE TEMP B-TREE FOR ORDER BY")]  # fmt: skip
    assert page_problems(lines, Case()) == ["USE TEMP B-TREE FOR ORDER BY"]
    assert page_problems(lines, Case(statuses=(Status.TODO,))) == []


@pytest.mark.parametrize("read", ["deletion", "latest_changes"])
def test_the_trail_reads_of_a_refused_write_step_through_an_index(fresh: Seeded, read: str) -> None:
    """Who deleted a ticket and what changed since a stale version: found by index, not by reading a
    project's whole trail (a tracker's largest table)."""
    conn = Connection(fresh.conn.execute, SQLITE, fresh.conn)
    statements: list[str] = []
    fresh.conn.set_trace_callback(statements.append)
    try:
        if read == "deletion":
            events.deletion(conn, fresh.project_ids[0], "WEB-1")
        else:
            events.latest_changes(conn, fresh.parent_id, 5)
    finally:
        fresh.conn.set_trace_callback(None)
    assert statements and len(statements) <= 2  # a deletion not found: the parents' deletions are read too
    for query in statements:
        plan = [row[3] for row in fresh.conn.execute("EXPLAIN QUERY PLAN " + query)]
        scans = [step for step in plan if step.startswith("SCAN e")]
        index = "events_ticket_deleted" if read == "deletion" else "events_ticket "
        assert not scans and any(index in step for step in plan), plan


@pytest.mark.parametrize("seeding", ["analyzed", "fresh"])
def test_overdue_is_counted_in_the_index_of_open_dated_tickets_alone(
    seeding: str, request: pytest.FixtureRequest
) -> None:
    seeded: Seeded = request.getfixturevalue(seeding)
    _, text = describe(seeded.conn, Case(overdue=True), seeded)
    count_plan = text.split("\n\n")[0] if "\n\n" in text else text
    assert "tickets_due_open" in count_plan, text
