"""End to end over the native backend: the SDK client → `tickets-mcp --backend native` over stdio → a
real `tickets-mcp serve` on SQLite, across the whole tool surface. Every tool works: nothing is missing but
attachments. Planning (links, milestones, dates, estimates, time) goes through the adapter to a `serve` app
in this process, on each store, call by call."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from mcp import Client, StdioServerParameters
from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.http_server import ServerProcess, running_server
from tests.fixtures.stores import Location
from tests.fixtures.tool_calls import TOOLS, call, call_error, slug_of
from tickets_mcp.cli.main import main
from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import Capability, EstimateUnit, LinkKind, Project, Status, TicketSort
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied
from tickets_mcp.remotes import native, open_remote
from tickets_mcp.remotes.native import NativeTracker

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
PROJECT_CODES = iter(f"PL{n}" for n in range(1, 100))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("native") / "team.db") as process:
        yield process


@asynccontextmanager
async def native_client(server: ServerProcess, token: str) -> AsyncGenerator[Client]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS_")}
    env.update({"TICKETS_BACKEND": "native", "TICKETS_URL": server.url, "TICKETS_TOKEN": token})
    params = StdioServerParameters(command=sys.executable, args=["-m", "tickets_mcp"], env=env)
    async with Client(params, read_timeout_seconds=30) as client:
        yield client


async def test_every_tool_works_through_the_native_backend(server: ServerProcess) -> None:
    token = server.create_token("--user", "alice")
    async with native_client(server, token) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
        context = await call(client, "get_workspace_context")
        backend = next(line for line in context.splitlines() if line.startswith("backend: native"))
        assert backend == f"backend: native; it cannot {Capability.ATTACHMENTS}"
        assert "local" in await call(client, "list_organizations")
        assert "Created project" in await call(client, "create_project", name="Remote work", code="RW")
        assert "Updated project RW 'Remote things'" in await call(
            client, "update_project", project="RW", name="Remote things"
        )
        slug = slug_of(await call(client, "create_ticket", project="RW", title="Filed from afar", priority="high"))
        assert slug == "RW-1"
        other = slug_of(await call(client, "create_ticket", project="RW", title="Second one"))
        await call(client, "update_ticket", slug=slug, description="More detail", labels=["remote"])
        await call(client, "move_ticket", slug=other, status="todo")
        await call(client, "move_ticket", slug=slug, status="todo", before=other)
        board = await call(client, "get_board", project="RW")
        assert board.index(slug) < board.index(other)
        await call(client, "add_comment", slug=slug, body="A comment over two hops")
        detail = await call(client, "get_ticket", slug=slug)
        assert "More detail" in detail and "A comment over two hops" in detail and "remote" in detail
        listing = await call(client, "list_tickets", project="RW", status=["todo"])
        assert slug in listing and other in listing
        assert "Deleted" in await call(client, "delete_ticket", slug=other, confirm=True)
        assert "not found" in await call_error(client, "get_ticket", slug=other)
        holding = await call_error(client, "delete_project", project="RW", confirm=True)
        assert "still holds 1 ticket" in holding
    # What the agent did is in the team's database, as the server stored it.
    assert isinstance(server.db, Path)
    with contextlib.closing(sqlite3.connect(server.db)) as conn:
        stored = conn.execute("SELECT title, description FROM tickets WHERE title = 'Filed from afar'").fetchall()
    assert stored == [("Filed from afar", "More detail")]


async def test_a_bad_token_fails_at_start_and_a_revoked_one_at_the_next_call(server: ServerProcess) -> None:
    with pytest.raises(PermissionDenied, match="native rejected the token"):
        await open_remote(RemoteSettings("native", server.url, "pk_not-a-real-token"))
    token = server.create_token("--user", "alice")
    tracker = await open_remote(RemoteSettings("native", server.url, token))
    try:
        assert [o.slug for o in await tracker.list_organizations()] == ["local"]
        server.revoke_token(token)
        with pytest.raises(PermissionDenied, match="rejected the token") as refused:
            await tracker.list_organizations()
        assert token not in str(refused.value)
    finally:
        await tracker.aclose()


def test_the_backend_flags_are_checked_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("TICKETS_BACKEND", "TICKETS_URL", "TICKETS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--backend", "native"]) == 2
    assert "needs its address" in capsys.readouterr().err
    assert main(["--backend", "native", "--url", "https://tracker.example.com"]) == 2
    assert "Set TICKETS_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("TICKETS_TOKEN", "x")
    assert main(["--backend", "native", "--url", "ftp://tracker.example.com"]) == 2
    assert "not an http:// or https:// URL" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--backend", "nope"])


def test_a_token_comes_from_the_environment_or_a_file_never_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("TICKETS_BACKEND", "TICKETS_URL", "TICKETS_TOKEN", "TICKETS_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    flags = ["--backend", "native", "--url", "ftp://tracker.example.com"]
    assert main([*flags, "--token", "pk_s3cret"]) == 2
    said = capsys.readouterr().err
    assert "readable by every user of this machine (ps)" in said and "pk_s3cret" not in said
    assert said.count("\n") == 1
    held = tmp_path / "token"
    held.write_text("pk_from_file\n")
    by_flag = RemoteSettings.from_env("native", "https://t.example", str(held))
    monkeypatch.setenv("TICKETS_TOKEN_FILE", str(held))
    by_variable = RemoteSettings.from_env("native", "https://t.example")
    assert by_flag and by_variable and by_flag.token == by_variable.token == "pk_from_file"
    monkeypatch.setenv("TICKETS_TOKEN", "pk_from_env")  # the variable wins over the variable naming a file
    assert (found := RemoteSettings.from_env("native", "https://t.example")) and found.token == "pk_from_env"
    for content, says in ((b"", "is empty"), (b"x" * 20_000, "over 16 KB")):
        held.write_bytes(content)
        with pytest.raises(Invalid, match=says):
            RemoteSettings.from_env("native", "https://t.example", str(held))
    with pytest.raises(Invalid, match=r"Cannot read the token file .*missing: No such file"):
        RemoteSettings.from_env("native", "https://t.example", str(tmp_path / "missing"))


# Planning, call by call, against a `serve` app in this process (on SQLite and PostgreSQL).


@pytest.fixture(scope="module")
def app(module_store_location: Location) -> Iterator[AppServer]:
    with serving_app(module_store_location) as served:
        yield served


@pytest.fixture
async def tracker(app: AppServer) -> AsyncIterator[NativeTracker]:
    token = app.create_token("--user", "alice")
    opened = await native.open_adapter(RemoteSettings("native", app.url, token), transport=app.async_transport())
    try:
        yield opened
    finally:
        await opened.aclose()


async def planned(tracker: NativeTracker, *titles: str) -> tuple[Project, list[str]]:
    """A new project of its own, and the slugs of tickets filed in it with these titles."""
    code = next(PROJECT_CODES)
    project = await tracker.create_project(f"Planning {code}", code=code)
    slugs = [(await tracker.create_ticket(TicketDraft(title=t, project=code))).ticket.slug for t in titles]
    return project, slugs


async def test_links_and_unlinks_go_through_and_a_cycle_of_blocks_comes_back_invalid(tracker: NativeTracker) -> None:
    _, (first, second, twin) = await planned(tracker, "Schema", "Migration", "Migration again")
    linked = await tracker.link_tickets(second, LinkKind.BLOCKED_BY, first)
    assert [(link.kind, link.slug) for link in linked.links] == [(LinkKind.BLOCKED_BY, first)]
    assert (await tracker.get_ticket(second)).ticket.blocked_by == (first,)
    with pytest.raises(Invalid, match="cycle of blocks") as refused:
        await tracker.link_tickets(first, LinkKind.BLOCKED_BY, second)
    assert "link the two as relates_to" in refused.value.message  # the server's hint, within its message
    assert (await tracker.link_tickets(second, LinkKind.BLOCKED_BY, first, unlink=True)).links == ()
    with pytest.raises(NotFound):
        await tracker.link_tickets(second, LinkKind.BLOCKED_BY, first, unlink=True)
    closed = await tracker.link_tickets(twin, LinkKind.DUPLICATES, second, close_as_duplicate=True)
    assert closed.ticket.status is Status.CANCELED and closed.links[0].slug == second
    with pytest.raises(Invalid, match="as a duplicate"):
        await tracker.link_tickets(first, LinkKind.RELATES_TO, second, close_as_duplicate=True)


async def test_milestones_are_saved_listed_and_closed_by_the_open_tickets_rule(tracker: NativeTracker) -> None:
    project, _ = await planned(tracker)
    code = project.code
    sprint = await tracker.save_milestone(code, "Sprint 1", start_date="2030-01-01", due_date="2030-01-31")
    assert (sprint.name, sprint.start_date, sprint.due_date, sprint.closed) == (
        "Sprint 1",
        "2030-01-01",
        "2030-01-31",
        False,
    )
    await tracker.save_milestone(code, "Q3/Q4")  # a name with a slash is one segment of the path
    await tracker.create_ticket(TicketDraft(title="Planned", project=code, milestone="Sprint 1"))
    listed = {m.name: m for m in await tracker.list_milestones(code)}
    assert set(listed) == {"Sprint 1", "Q3/Q4"} and listed["Sprint 1"].open_tickets == 1
    with pytest.raises(Invalid, match="holds 1 open ticket") as refused:
        await tracker.save_milestone(code, "Sprint 1", closed=True)
    assert "open_tickets: keep" in refused.value.message
    closing = await tracker.save_milestone(code, "Sprint 1", closed=True, open_tickets="Q3/Q4")
    assert closing.closed and closing.open_tickets == 0
    assert [m.name for m in await tracker.list_milestones(code)] == ["Q3/Q4"]
    everything = {m.name: m for m in await tracker.list_milestones(code, closed=True)}
    assert everything["Sprint 1"].closed and everything["Q3/Q4"].open_tickets == 1
    renamed = await tracker.save_milestone(code, "Q3/Q4", rename="H2")
    assert renamed.name == "H2"
    with pytest.raises(Invalid, match="Several projects exist") as unnamed:
        await tracker.list_milestones()
    assert unnamed.value.choices and code in unnamed.value.choices


async def test_due_dates_estimates_and_milestones_are_set_on_create_and_changed_on_update(
    tracker: NativeTracker,
) -> None:
    project, _ = await planned(tracker)
    await tracker.save_milestone(project.code, "v1")
    draft = TicketDraft(title="Sized", project=project.code, due_date="2030-02-01", estimate=3, milestone="v1")
    filed = (await tracker.create_ticket(draft)).ticket
    assert (filed.due_date, filed.estimate, filed.milestone) == ("2030-02-01", 3, "v1")
    changed = await tracker.update_ticket(filed.slug, TicketChanges(due_date="2030-03-01", estimate="2.5"))
    assert (changed.due_date, changed.estimate, changed.milestone) == ("2030-03-01", 2.5, "v1")
    cleared = await tracker.update_ticket(
        filed.slug, TicketChanges(due_date="none", estimate="none", milestone="none"), version=changed.version
    )
    assert (cleared.due_date, cleared.estimate, cleared.milestone) == (None, None, None)
    with pytest.raises(Invalid, match="not an estimate"):
        await tracker.update_ticket(filed.slug, TicketChanges(estimate="lots"))
    with pytest.raises(Invalid, match="estimate"):
        await tracker.create_ticket(TicketDraft(title="Negative", project=project.code, estimate=-1))
    with pytest.raises(NotFound):
        await tracker.update_ticket(filed.slug, TicketChanges(milestone="v9"))
    points = await tracker.set_estimate_unit(project.code, EstimateUnit.POINTS)
    assert points.estimate_unit is EstimateUnit.POINTS
    assert (await tracker.get_ticket(filed.slug)).estimate_unit is EstimateUnit.POINTS


async def test_each_planning_filter_and_the_sort_by_due_date_reach_the_server(tracker: NativeTracker) -> None:
    project, _ = await planned(tracker)
    code = project.code
    await tracker.save_milestone(code, "v1")

    async def file(title: str, **planning: Any) -> str:
        draft = TicketDraft(title=title, project=code, **planning)
        return (await tracker.create_ticket(draft)).ticket.slug

    late = await file("Late", due_date="2020-01-01")
    soon = await file("Soon", due_date="2030-01-10", milestone="v1")
    later = await file("Later", due_date="2030-06-01")
    loose = await file("Undated")
    await tracker.link_tickets(soon, LinkKind.BLOCKED_BY, loose)

    async def found(**query: Any) -> list[str]:
        page = await tracker.list_tickets(TicketFilter(project=code, **query))
        return sorted(t.slug for t in page.tickets)

    assert await found(milestone="v1") == [soon]
    assert await found(milestone="none") == sorted([late, later, loose])
    assert await found(blocked=True) == [soon]
    assert await found(blocked=False) == sorted([late, later, loose])
    assert await found(blocking=True) == [loose]
    assert await found(overdue=True) == [late]
    assert await found(due_before="2030-01-31") == sorted([late, soon])
    assert await found(due_after="2030-01-31") == [later]
    by_due = await tracker.list_tickets(TicketFilter(project=code, sort=TicketSort.DUE, descending=False))
    assert [t.slug for t in by_due.tickets][:3] == [late, soon, later]


async def test_time_logged_comes_back_as_the_entry_and_adds_to_the_ticket(tracker: NativeTracker) -> None:
    _, (slug,) = await planned(tracker, "Worked on")
    entry = await tracker.log_time(slug, 1.5, spent_on="2026-12-01", note="Pairing")
    assert (entry.ticket_slug, entry.hours, entry.spent_on, entry.note, entry.user) == (
        slug, 1.5, "2026-12-01", "Pairing", "alice",
    )  # fmt: skip
    await tracker.log_time(slug, 0.5)
    detail = await tracker.get_ticket(slug)
    assert detail.ticket.spent == 2.0 and [e.hours for e in detail.time_entries] == [1.5, 0.5]
    with pytest.raises(Invalid, match="hours"):
        await tracker.log_time(slug, 0)


async def test_the_board_shows_one_milestones_tickets(tracker: NativeTracker) -> None:
    project, (outside,) = await planned(tracker, "Outside")
    await tracker.save_milestone(project.code, "Sprint 2")
    inside = (await tracker.create_ticket(TicketDraft(title="In", project=project.code, milestone="Sprint 2"))).ticket
    board = await tracker.get_board(project.code, milestone="Sprint 2")
    shown = [t.slug for column in board.columns for t in column.tickets]
    assert board.milestone == "Sprint 2" and shown == [inside.slug]
    whole = await tracker.get_board(project.code)
    assert {t.slug for column in whole.columns for t in column.tickets} == {inside.slug, outside}
