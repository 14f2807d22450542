"""The benchmark suite runs and reports; its figures are read by people, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from bench.postgres import Reference, copy_rows, load_order
from bench.stats import figure_rounds, interleaved

from tests.fixtures.helpers_processes import REPO
from tickets_mcp.core.local_backend import LocalBackend
from tickets_mcp.core.tokens import issue_token
from tickets_mcp.core.tracker import Principal, TicketDraft, TicketFilter
from tickets_mcp.domain import TokenKind
from tickets_mcp.stores import Actor
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.location import PostgresUrl


@pytest.mark.slow
def test_the_benchmark_command_writes_json_and_a_markdown_table(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "tokens", "--only", "imports", "--out", str(tmp_path)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=300,
    )
    results = json.loads((tmp_path / "latest.json").read_text())
    names = json.dumps(results)
    assert "tools/list, default set (10 tools)" in names
    assert "import time" in names
    table = (tmp_path / "latest.md").read_text()
    assert "| metric | unit | ours | reference | ratio |" in table


def test_each_contender_goes_first_in_turn_from_round_to_round() -> None:
    order: list[str] = []

    def contender(name: str, value: float) -> Callable[[], float]:
        def measure() -> float:
            order.append(name)
            return value

        return measure

    results = interleaved(4, {"ours": contender("ours", 1.0), "floor": contender("floor", 2.0)})
    assert order == ["ours", "floor", "floor", "ours", "ours", "floor", "floor", "ours"]
    assert results == {"ours": [1.0] * 4, "floor": [2.0] * 4}


def test_a_figure_is_the_median_of_its_rounds_ratios_with_the_lowest_and_highest_beside_it() -> None:
    metric = figure_rounds("s", "cold start", "ms", [300.0, 330.0, 500.0], [250.0, 300.0, 250.0], differences=True)
    assert metric.ratio == pytest.approx(1.2)  # 1.2, 1.1, 2.0: the slow third round does not move it
    assert metric.ratio_range == pytest.approx((1.1, 2.0))
    assert metric.difference == 50.0
    assert metric.difference_range == (30.0, 250.0)
    assert metric.as_json()["rounds"] == 3


def test_a_cycle_of_foreign_keys_is_loaded_by_filling_a_nullable_column_last() -> None:
    references = {
        "organizations": [Reference("default_project_id", "projects", nullable=True)],
        "projects": [Reference("organization_id", "organizations", nullable=False)],
        "tickets": [Reference("project_id", "projects", nullable=False), Reference("parent_id", "tickets", True)],
    }
    order, later = load_order(["tickets", "projects", "organizations"], references)
    assert order == ["organizations", "projects", "tickets"]
    assert later == {"organizations": ["default_project_id"]}


@pytest.mark.anyio
async def test_the_data_set_copied_to_postgresql_answers_the_same_token_with_the_same_tickets(
    tmp_path: Path, fresh_postgres_database: PostgresUrl
) -> None:
    source = tmp_path / "tracker.db"
    store = await open_store(source)
    try:
        alice = await store.ensure_user("alice", "Alice")
        await store.ensure_local_workspace(alice, "Local", "Inbox", "INBOX")
        secret = (await issue_token(store, kind=TokenKind.PERSONAL, name="b", user=alice, actor=Actor(alice.id))).secret
        backend = LocalBackend(store, Principal(user_id=alice.id, username="alice"))
        tracker = backend.tracker(await backend.authenticate(secret) or Principal(user_id=0, username=""))
        parent = (await tracker.create_ticket(TicketDraft(title="Export fails for archived customers"))).ticket
        await tracker.create_ticket(TicketDraft(title="Retry the export job", parent=parent.slug))
        await tracker.add_comment(parent.slug, "Seen again with the walrus invoice")
    finally:
        await store.close()
    await (await open_store(fresh_postgres_database)).close()  # the schema, as `tickets-mcp migrate` makes it
    copy_rows(source, fresh_postgres_database)

    store = await open_store(fresh_postgres_database)
    try:
        backend = LocalBackend(store, Principal(user_id=0, username=""))
        caller = await backend.authenticate(secret)
        assert caller is not None and caller.username == "alice"
        tracker = backend.tracker(caller)
        page = await tracker.list_tickets(TicketFilter())
        assert sorted(t.slug for t in page.tickets) == ["INBOX-1", "INBOX-2"]
        assert (await tracker.get_ticket("INBOX-2")).ticket.parent == "INBOX-1"
        found = await tracker.list_tickets(TicketFilter(text="walrus"))  # the comments' words, by their trigger
        assert [t.slug for t in found.tickets] == ["INBOX-1"]
        filed = await tracker.create_ticket(TicketDraft(title="Nightly backup is late"))  # sequences moved on
        assert filed.ticket.slug == "INBOX-3"
    finally:
        await store.close()
