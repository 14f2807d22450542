"""Planning through the MCP tools, end to end in memory: the `planning` set's tools, and the planning
arguments of the default tools, which their schemas show only once the set is switched on."""

from __future__ import annotations

from typing import Any

import pytest

from mcp import Client
from tests.fixtures.tool_calls import PLANNING_TOOLS, call, call_error, slug_of

pytestmark = pytest.mark.anyio

PLANNING_ARGUMENTS = {
    "list_tickets": {"milestone", "blocked", "blocking", "overdue", "due_before", "due_after"},
    "create_ticket": {"due", "estimate", "milestone"},
    "update_ticket": {"due", "estimate", "milestone"},
    "get_board": {"milestone"},
}


async def schemas(client: Client) -> dict[str, dict[str, Any]]:
    return {tool.name: tool.input_schema.get("properties", {}) for tool in (await client.list_tools()).tools}


async def test_the_default_list_leaves_planning_out_until_a_session_switches_it_on(client: Client) -> None:
    before = await schemas(client)
    assert not set(before) & PLANNING_TOOLS
    for tool, arguments in PLANNING_ARGUMENTS.items():
        assert not set(before[tool]) & arguments, tool
    reply = await call(client, "enable_tools", sets=["planning"])
    after = await schemas(client)
    assert reply == "Listed now: link_tickets, list_milestones, save_milestone, log_time."
    for tool, arguments in PLANNING_ARGUMENTS.items():
        assert arguments <= set(after[tool]), tool
    assert '"due"' in str(after["list_tickets"]["sort"]).replace("'", '"')


async def test_sort_by_due_lists_the_soonest_first_unless_told_otherwise(client: Client) -> None:
    later = slug_of(await call(client, "create_ticket", title="Later", due="2031-01-01"))
    sooner = slug_of(await call(client, "create_ticket", title="Sooner", due="2030-01-01"))
    undated = slug_of(await call(client, "create_ticket", title="Whenever"))
    listed = await call(client, "list_tickets", sort="due")
    assert [line.split()[0] for line in listed.splitlines()[2:]] == [sooner, later, undated]
    backwards = await call(client, "list_tickets", sort="due", order="desc")
    assert backwards.splitlines()[2].startswith(undated)


async def test_planning_arguments_work_before_the_set_is_switched_on(client: Client) -> None:
    slug = slug_of(await call(client, "create_ticket", title="Due soon", due="2030-01-31", estimate=2))
    detail = await call(client, "get_ticket", slug=slug)
    assert "due=2030-01-31 estimate=2h" in detail


async def test_an_agent_plans_a_sprint_links_blockers_and_logs_time(client: Client) -> None:
    await call(client, "save_milestone", name="Sprint 1", project="INBOX", due="+14d")
    schema = slug_of(await call(client, "create_ticket", title="Schema change", milestone="Sprint 1", due="-1d"))
    backfill = slug_of(await call(client, "create_ticket", title="Backfill", milestone="Sprint 1"))
    linked = await call(client, "link_tickets", slug=backfill, kind="blocked_by", other=schema)
    assert linked == f"{backfill} (backlog, version 1) links: blocked_by {schema}."
    await call(client, "log_time", slug=schema, hours=1.5, note="first try")

    blocked = await call(client, "list_tickets", project="INBOX", blocked=True)
    assert f"blocked:{schema}" in blocked and backfill in blocked and f"{schema} backlog" not in blocked
    overdue = await call(client, "list_tickets", project="INBOX", overdue=True)
    assert "overdue:" in overdue and schema in overdue and backfill not in overdue

    detail = await call(client, "get_ticket", slug=schema)
    assert "milestone=«Sprint 1»" in detail and "spent=1.5h" in detail
    assert f"  blocks {backfill} backlog: «Backfill»" in detail
    assert "alice 1.5h: <user-text>first try</user-text>" in detail

    board = await call(client, "get_board", project="INBOX", milestone="Sprint 1")
    assert "milestone «Sprint 1»: 2 tickets" in board and f"blocked:{schema}" in board

    milestones = await call(client, "list_milestones", project="INBOX")
    assert "«Sprint 1» open" in milestones and "2 open, 0 done of 2; 1 overdue" in milestones


async def test_closing_a_sprint_with_open_tickets_tells_the_agent_its_choices(client: Client) -> None:
    await call(client, "save_milestone", name="Sprint 1", project="INBOX")
    await call(client, "create_ticket", title="Left over", milestone="Sprint 1")
    refusal = await call_error(client, "save_milestone", name="Sprint 1", project="INBOX", closed=True)
    assert "1 open ticket" in refusal and "open_tickets" in refusal
    closed = await call(client, "save_milestone", name="Sprint 1", project="INBOX", closed=True, open_tickets="none")
    assert closed.startswith("Saved «Sprint 1» closed") and "0 open, 0 done of 0" in closed


async def test_planning_mistakes_get_errors_the_model_can_act_on(client: Client) -> None:
    slug = slug_of(await call(client, "create_ticket", title="Something"))
    unknown = await call_error(client, "update_ticket", slug=slug, milestone="Sprint 9")
    assert "no milestone 'Sprint 9'" in unknown and "save_milestone" in unknown
    bad_day = await call_error(client, "update_ticket", slug=slug, due="soonish")
    assert "is not a day" in bad_day and "YYYY-MM-DD" in bad_day
    bad_kind = await call_error(client, "link_tickets", slug=slug, kind="parent_of", other=slug)
    assert "blocked_by" in bad_kind


async def test_a_tickets_history_says_what_each_link_and_time_entry_was(client: Client) -> None:
    first = slug_of(await call(client, "create_ticket", title="First"))
    second = slug_of(await call(client, "create_ticket", title="Second"))
    await call(client, "link_tickets", slug=second, kind="blocked_by", other=first)
    await call(client, "log_time", slug=second, hours=1.5, on="2026-12-01")
    await call(client, "link_tickets", slug=second, kind="blocked_by", other=first, unlink=True)
    history = await call(client, "get_ticket", slug=second)
    assert f"linked blocked_by {first}" in history
    assert "logged 1.5h on 2026-12-01" in history
    assert f"unlinked blocked_by {first}" in history


async def test_a_milestone_line_says_its_dates_in_words(client: Client) -> None:
    both = await call(client, "save_milestone", name="Both", project="INBOX", start="2030-01-01", due="2030-01-14")
    due = await call(client, "save_milestone", name="Due", project="INBOX", due="2030-02-01")
    start = await call(client, "save_milestone", name="Start", project="INBOX", start="2030-03-01")
    assert "«Both» open 2030-01-01..2030-01-14:" in both
    assert "«Due» open due 2030-02-01:" in due
    assert "«Start» open from 2030-03-01:" in start
