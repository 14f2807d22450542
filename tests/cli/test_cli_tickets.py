"""`tickets-mcp tickets list|show|board`, run as the real command on each store."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from tests.fixtures import http_server
from tests.fixtures.stdio_client import RawServer
from tests.fixtures.stores import Location
from tickets_mcp.cli.workspace import open_local_store
from tickets_mcp.config import Settings
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketDraft
from tickets_mcp.domain import Status, TicketType
from tickets_mcp.domain.wording import display_width
from tickets_mcp.stores import Actor, TicketPatch

pytestmark = pytest.mark.slow

LONG_TITLE = "A title long enough that no narrow terminal could show all of it on one line " * 2


async def seed(location: Location) -> None:
    """INBOX-1 (a bug with a sub-task, a comment and a move), INBOX-2 (its sub-task), INBOX-3 (long title);
    and project WEB with WEB-1."""
    store, user = await open_local_store(Settings(db=location, username="alice"))
    try:
        tracker = LocalTracker(store, Principal(user_id=user.id, username=user.username))
        parent = (await tracker.create_ticket(
            TicketDraft(
                "Login fails on Safari", project="INBOX", type=TicketType.BUG, description="Steps:\n1. open",
                assignee="alice", labels=("ui", "auth"), status=Status.TODO,
            )
        )).ticket  # fmt: skip
        await tracker.create_ticket(TicketDraft("Reproduce it", project="INBOX", parent=parent.slug))
        await tracker.create_ticket(TicketDraft(LONG_TITLE, project="INBOX", status=Status.TODO))
        await tracker.add_comment(parent.slug, "Seen on iOS too")
        await tracker.move_ticket(parent.slug, Status.IN_PROGRESS, version=parent.version)
        await tracker.create_project("Web site", code="WEB")
        await tracker.create_ticket(TicketDraft("Another project's ticket", project="WEB"))
    finally:
        await store.close()


def seeded(
    seeding: Callable[[Location], Awaitable[None]], location: Location, server_env: dict[str, str]
) -> dict[str, str]:
    """The environment of a 72-column terminal on a store `seeding` filled."""
    anyio.run(seeding, location)
    return {**server_env, "COLUMNS": "72"}


@pytest.fixture
def env(store_location: Location, server_env: dict[str, str]) -> dict[str, str]:
    return seeded(seed, store_location, server_env)


def tickets(env: dict[str, str], *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    """`tickets-mcp tickets ARGS`; options before the action's name (--backend ...) go before `tickets`."""
    action = next(i for i, arg in enumerate(args) if arg in ("list", "show", "board", "--help"))
    command = [sys.executable, "-m", "tickets_mcp", *args[:action], "tickets", *args[action:]]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == code, done.stderr
    return done


def test_list_prints_an_aligned_table_that_fits_the_terminal(env: dict[str, str]) -> None:
    lines = tickets(env, "list").stdout.splitlines()
    header, rows, summary = lines[0], lines[1:-1], lines[-1]
    assert header.split() == ["SLUG", "STATUS", "PRIORITY", "TYPE", "ASSIGNEE", "LABELS", "TITLE"]
    assert [row.split()[0] for row in rows] == ["WEB-1", "INBOX-3", "INBOX-2", "INBOX-1"]
    assert all(len(line) <= 72 for line in lines)
    title_at = header.index("TITLE")
    assert all(row[title_at - 2 : title_at] == "  " and row[title_at] != " " for row in rows)
    inbox_1 = next(row for row in rows if row.startswith("INBOX-1 "))
    assert inbox_1.split()[1:6] == ["in_progress", "medium", "bug", "alice", "auth,"]
    long_row = next(row for row in rows if row.startswith("INBOX-3 "))
    assert long_row.endswith("…")
    assert summary == "4 of 4 tickets"


def test_list_filters_by_project_and_status_and_prints_compact_stable_json(env: dict[str, str]) -> None:
    table = tickets(env, "list", "--project", "INBOX", "--status", "todo,in_progress").stdout
    assert [line.split()[0] for line in table.splitlines()[1:-1]] == ["INBOX-3", "INBOX-1"]
    output = tickets(env, "list", "--project", "INBOX", "--status", "todo", "--status", "in_progress", "--json").stdout
    assert output.count("\n") == 1 and ": " not in output.split('"description"')[0]
    listed: dict[str, Any] = json.loads(output)
    assert [t["slug"] for t in listed["tickets"]] == ["INBOX-3", "INBOX-1"]
    assert listed["total"] == 2 and listed["next_cursor"] is None
    assert list(listed) == sorted(listed) and list(listed["tickets"][0]) == sorted(listed["tickets"][0])
    again = tickets(env, "list", "--project", "INBOX", "--status", "in_progress,todo", "--json").stdout
    assert again == output


def test_list_pages_with_the_cursor_it_prints(env: dict[str, str]) -> None:
    first = tickets(env, "list", "--limit", "3").stdout.splitlines()
    assert first[-1].startswith("3 of 4 tickets; next page: --cursor ")
    cursor = first[-1].rsplit(" ", 1)[1]
    rest = tickets(env, "list", "--limit", "3", "--cursor", cursor).stdout.splitlines()
    assert [row.split()[0] for row in rest[1:-1]] == ["INBOX-1"]


def test_show_prints_description_sub_tasks_comments_and_history(env: dict[str, str]) -> None:
    text = tickets(env, "show", "INBOX-1").stdout
    assert text.startswith("INBOX-1  Login fails on Safari\n")
    for line in ("status    In progress", "labels    auth, ui", "  Steps:", "  1. open", "Sub-tasks (1):",
                 "Comments (1):", "    Seen on iOS too", "History (3):"):  # fmt: skip
        assert line in text.splitlines() or any(row.startswith(line) for row in text.splitlines()), line
    assert "INBOX-2  backlog  Reproduce it" in text
    assert "alice: status To do → In progress" in text
    detail = json.loads(tickets(env, "show", "INBOX-1", "--json").stdout)
    assert detail["ticket"]["slug"] == "INBOX-1" and detail["ticket"]["status"] == "in_progress"
    assert [c["body"] for c in detail["comments"]] == ["Seen on iOS too"]
    assert [s["slug"] for s in detail["subtasks"]] == ["INBOX-2"]


def test_board_prints_the_columns_in_workflow_order(env: dict[str, str]) -> None:
    text = tickets(env, "board", "INBOX").stdout
    headings = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert headings == [
        "INBOX  Inbox: 3 tickets", "Backlog (1)", "To do (1)", "In progress (1)", "In review (0)", "Done (0)",
        "Canceled (0)",
    ]  # fmt: skip
    in_progress = text.split("In progress (1)")[1].split("In review")[0]
    assert "INBOX-1" in in_progress and "Login fails on Safari" in in_progress
    board = json.loads(tickets(env, "board", "INBOX", "--json").stdout)
    assert [column["status"] for column in board["columns"]] == [s.value for s in Status]
    assert board["project"]["code"] == "INBOX"


def test_a_wrong_slug_project_or_status_fails_with_a_message_and_code_2(env: dict[str, str]) -> None:
    assert "Ticket INBOX-99 not found" in tickets(env, "show", "INBOX-99", code=2).stderr
    assert "not found" in tickets(env, "board", "NOPE", code=2).stderr
    assert "'doing' is not a status" in tickets(env, "list", "--status", "doing", code=2).stderr
    assert "say which one" in tickets(env, "board", code=2).stderr
    assert "usage: tickets-mcp tickets" in tickets(env, "--help").stdout


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_the_commands_read_a_teams_tracker_over_its_native_api_as_the_tokens_owner(
    store_location: Location, env: dict[str, str]
) -> None:
    with http_server.running_server(store_location) as server:
        token = server.create_token("--user", "alice", "--name", "terminal")
        remote = {**http_server.server_env(), "COLUMNS": "72", "TICKETS_TOKEN": token}
        listed = tickets(remote, "--backend", "native", "--url", server.url, "list", "--project", "INBOX", "--json")
        board = tickets(remote, "--backend", "native", "--url", server.url, "board", "INBOX").stdout
    assert [t["slug"] for t in json.loads(listed.stdout)["tickets"]] == ["INBOX-3", "INBOX-2", "INBOX-1"]
    assert "In progress (1)" in board and token not in listed.stdout + listed.stderr + board


# What people and agents wrote, printed to a terminal

ESCAPES = "\x1b[31m", "\x1b]52;c;cm0gLXJmIH4=\x07", "\u202e", "\x9b2J", "\r"
HOSTILE_TITLE = "Red \x1b[31malert\x1b[0m, clipboard \x1b]52;c;cm0gLXJmIH4=\x07 and \u202etxt.exe"
HOSTILE_COMMENT = "line one\x1b[2J\nline \u202etwo\x9b2J\r"
HOSTILE_CLIENT = "agent\x1b]0;owned\x07\u202e"
CJK_TITLE = "ログインできない問題を修正する必要があります。" * 3


async def seed_hostile(location: Location) -> None:
    """INBOX-1 titled, described and commented with terminal escapes by a client named with them; INBOX-2
    in CJK with many labels. LocalTracker refuses control characters, but a remote tracker's text (the
    commands read GitLab and others too) and older rows were never checked: they go into the store directly."""
    store, user = await open_local_store(Settings(db=location, username="alice"))
    try:
        tracker = LocalTracker(store, Principal(user_id=user.id, username=user.username))
        hostile = (await tracker.create_ticket(TicketDraft("Soon hostile", project="INBOX"))).ticket
        actor = Actor(user_id=user.id, token_id=None, client=HOSTILE_CLIENT)
        patch = TicketPatch(values={"title": HOSTILE_TITLE, "description": HOSTILE_COMMENT})
        await store.update_ticket(hostile.id, patch, expected_version=None, actor=actor)
        await store.add_comment(hostile.id, HOSTILE_COMMENT, actor)
        labels = tuple(f"label-number-{n}" for n in range(6))
        await tracker.create_ticket(TicketDraft(CJK_TITLE, project="INBOX", assignee="alice", labels=labels))
    finally:
        await store.close()


@pytest.fixture
def hostile_env(store_location: Location, server_env: dict[str, str]) -> dict[str, str]:
    return seeded(seed_hostile, store_location, server_env)


def test_escapes_in_titles_comments_and_client_names_never_reach_the_terminal(hostile_env: dict[str, str]) -> None:
    outputs = [
        tickets(hostile_env, "list").stdout,
        tickets(hostile_env, "show", "INBOX-1").stdout,
        tickets(hostile_env, "board", "INBOX").stdout,
    ]
    for output in outputs:
        assert not [escape for escape in ESCAPES if escape in output], output
        assert "Red [31mal" in output  # what remains is inert text
    shown = outputs[1]
    assert "Red [31malert[0m, clipboard ]52;c;cm0gLXJmIH4= and txt.exe" in shown
    assert "line one[2J\n" in shown and "line two2J" in shown  # line breaks in bodies stay
    assert "(agent]0;owned)" in shown
    exact = json.loads(tickets(hostile_env, "show", "INBOX-1", "--json").stdout)
    assert exact["ticket"]["title"] == HOSTILE_TITLE and exact["comments"][0]["body"] == HOSTILE_COMMENT


def test_wide_characters_fit_the_terminal_and_long_cells_are_capped(hostile_env: dict[str, str]) -> None:
    for args in (("list",), ("board", "INBOX")):
        lines = tickets(hostile_env, *args).stdout.splitlines()
        assert all(display_width(line) <= 72 for line in lines), [(display_width(line), line) for line in lines]
    title_line = tickets(hostile_env, "show", "INBOX-2").stdout.splitlines()[0]
    assert display_width(title_line) == 72 and title_line.endswith("…")  # 2 columns a character, cut to fit
    lines = tickets(hostile_env, "list").stdout.splitlines()
    header, cjk = lines[0], next(line for line in lines if line.startswith("INBOX-2 "))
    assert cjk.endswith("…") and "ログイン" in cjk
    labels_at, title_at = header.index("LABELS"), header.index("TITLE")
    assert title_at - labels_at - 2 <= 24 and "label-number-5" not in cjk


def test_piped_output_is_not_cut_to_a_terminal_width(hostile_env: dict[str, str]) -> None:
    piped = {name: value for name, value in hostile_env.items() if name != "COLUMNS"}
    listed = tickets(piped, "list").stdout
    assert CJK_TITLE in listed
    assert f"INBOX-2  {CJK_TITLE}" in tickets(piped, "show", "INBOX-2").stdout


# The stdio server, run as `tickets-mcp` would run it, naming every module it loaded when it exits.
STDIO_LISTING_MODULES = (
    "import atexit, sys; atexit.register(lambda: print(*sorted(sys.modules), file=sys.stderr)); "
    "from tickets_mcp.cli.main import main; sys.exit(main([]))"
)


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_the_stdio_server_loads_nothing_of_the_board_or_the_terminal_commands(server_env: dict[str, str]) -> None:
    with RawServer(server_env, command=(sys.executable, "-c", STDIO_LISTING_MODULES)) as stdio:
        stdio.initialize()
        board = stdio.call_tool("get_board", {"project": "INBOX"})
        stdio.close()
    loaded = set(stdio.stderr.split())
    assert not board.get("isError") and "tickets_mcp.mcp.tools" in loaded  # the listing is real
    added_for_people = ("tickets_mcp.http.board", "tickets_mcp.domain.wording", "tickets_mcp.cli.tickets")
    assert [name for name in loaded if name.startswith(added_for_people)] == []


def test_open_and_closed_name_their_group_of_statuses(env: dict[str, str]) -> None:
    opened = json.loads(tickets(env, "list", "--project", "INBOX", "--status", "open", "--json").stdout)
    assert [t["slug"] for t in opened["tickets"]] == ["INBOX-3", "INBOX-2", "INBOX-1"]
    closed = json.loads(tickets(env, "list", "--project", "INBOX", "--status", "closed", "--json").stdout)
    assert closed["tickets"] == [] and closed["total"] == 0
    refusal = tickets(env, "list", "--status", "opened", code=2).stderr
    assert "'opened' is not a status" in refusal and "open, closed" in refusal
