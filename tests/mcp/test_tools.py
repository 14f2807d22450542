"""The whole tool surface, end to end through the MCP SDK client, in memory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mcp.types import TextContent

from mcp import Client
from tests.fixtures.stores import Location, events, table_rows
from tests.fixtures.tool_calls import TOOLS, call, call_error, connect, slug_of, text_of
from tests.fixtures.tool_calls import board_column as column
from tickets_mcp.mcp.server import TrackerServer

pytestmark = pytest.mark.anyio


async def test_tools_list_has_the_contract_names_and_annotations(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for name, tool in tools.items():
        assert tool.annotations is not None
        assert tool.description
        assert tool.annotations.open_world_hint is None, name  # its default (true): a remote tracker is one
        if name.startswith(("get_", "list_")) or name == "enable_tools":
            assert tool.annotations.read_only_hint is True, name
        else:  # hints at their spec defaults (readOnlyHint and idempotentHint false) are left out
            assert not tool.annotations.read_only_hint, name
            assert tool.annotations.destructive_hint is name.startswith("delete_"), name
            assert bool(tool.annotations.idempotent_hint) is not name.startswith(("create_", "add_")), name
        assert "title" not in tool.input_schema.get("properties", {}).get("project", {})


async def test_first_start_creates_a_workspace_where_create_ticket_works_with_only_a_title(client: Client) -> None:
    context = await call(client, "get_workspace_context")
    assert "project INBOX 'Inbox'" in context
    assert "statuses: backlog,todo,in_progress,in_review,done,canceled" in context
    assert "alice(owner)" in context
    reply = await client.call_tool("create_ticket", {"title": "First ticket"})
    assert text_of(reply) == "Created INBOX-1 (backlog, version 1)."
    assert reply.structured_content == {"slug": "INBOX-1"}


async def test_create_ticket_stores_every_field_and_get_ticket_shows_them(client: Client) -> None:
    parent = slug_of(await call(client, "create_ticket", title="Epic", type="feature"))
    slug = slug_of(
        await call(
            client,
            "create_ticket",
            title="  Login   fails\non Safari ",
            type="bug",
            description="Steps:\n1. open\n2. log in",
            priority="urgent",
            status="todo",
            assignee="me",
            labels=["ui", "auth", "UI"],
            parent=parent,
        )
    )
    detail = await call(client, "get_ticket", slug=slug)
    assert detail.splitlines()[0] == f"{slug}: «Login fails on Safari»"
    assert "status=todo priority=urgent type=bug assignee=alice reporter=alice labels=auth,ui" in detail
    assert f"parent={parent}" in detail
    assert "description: <user-text>Steps:\n1. open\n2. log in</user-text>" in detail
    parent_detail = await call(client, "get_ticket", slug=parent)
    assert (
        f"sub-tasks (1):\n  {slug} todo urgent bug @alice [auth,ui] ^{parent}: «Login fails on Safari»" in parent_detail
    )


async def test_ticket_numbers_are_never_reused_after_a_delete(client: Client) -> None:
    await call(client, "create_ticket", title="one")
    second = slug_of(await call(client, "create_ticket", title="two"))
    await call(client, "delete_ticket", slug=second, confirm=True)
    assert slug_of(await call(client, "create_ticket", title="three")) == "INBOX-3"


async def test_list_tickets_pages_through_everything_with_the_cursor(client: Client) -> None:
    created = [slug_of(await call(client, "create_ticket", title=f"t{i}")) for i in range(7)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        arguments: dict[str, object] = {"limit": 3, "order": "asc"}
        if cursor:
            arguments["cursor"] = cursor
        page = await call(client, "list_tickets", **arguments)
        pages += 1
        assert page.startswith(("3 of 7 tickets", "1 of 7 tickets"))
        seen += [line.split(" ", 1)[0] for line in page.splitlines()[2:]]
        match = re.search(r"cursor=(\S+)", page)
        if not match:
            assert "that is all" in page
            break
        cursor = match.group(1)
    assert seen == created
    assert pages == 3


async def test_list_tickets_filters_combine(client: Client) -> None:
    await call(client, "create_ticket", title="bug high", type="bug", priority="high", labels=["api"])
    await call(client, "create_ticket", title="bug low", type="bug", priority="low", assignee="me")
    await call(client, "create_ticket", title="feature", type="feature", priority="high", status="todo")
    await call(client, "create_ticket", title="needle in description", description="find the NEEDLE here")

    async def slugs(**filters: object) -> list[str]:
        page = await call(client, "list_tickets", **filters)
        return sorted(line.split(" ", 1)[0] for line in page.splitlines()[2:] if "-" in line.split(" ", 1)[0])

    assert await slugs(type="bug") == ["INBOX-1", "INBOX-2"]
    assert await slugs(type="bug", priority="high") == ["INBOX-1"]
    assert await slugs(status=["todo", "in_progress"]) == ["INBOX-3"]
    assert await slugs(status="backlog,todo", priority="high") == ["INBOX-1", "INBOX-3"]
    assert await slugs(assignee="me") == ["INBOX-2"]
    assert await slugs(assignee="alice") == ["INBOX-2"]
    assert await slugs(assignee="none", type="bug") == ["INBOX-1"]
    assert await slugs(labels=["api"]) == ["INBOX-1"]
    assert await slugs(query="needle") == ["INBOX-4"]
    assert await slugs(query="bug") == ["INBOX-1", "INBOX-2"]
    assert await slugs(updated_since="2000-01-01") == ["INBOX-1", "INBOX-2", "INBOX-3", "INBOX-4"]
    assert await slugs(updated_since="2999-01-01T00:00:00Z") == []
    assert "No tickets match" in await call(client, "list_tickets", type="improvement")


async def test_list_tickets_sorts_by_priority(client: Client) -> None:
    for priority in ("low", "urgent", "medium", "high"):
        await call(client, "create_ticket", title=priority, priority=priority)
    page = await call(client, "list_tickets", sort="priority", order="desc")
    assert [line.split(": ")[-1] for line in page.splitlines()[2:]] == ["«urgent»", "«high»", "«medium»", "«low»"]


async def test_a_cursor_from_another_query_is_refused(client: Client) -> None:
    for i in range(3):
        await call(client, "create_ticket", title=f"t{i}")
    page = await call(client, "list_tickets", limit=1)
    match = re.search(r"cursor=(\S+)", page)
    assert match
    error = await call_error(client, "list_tickets", limit=1, cursor=match.group(1), type="bug")
    assert "different query" in error
    assert "cursor is not valid" in await call_error(client, "list_tickets", cursor="%%%")


async def test_update_ticket_changes_only_the_given_fields_and_bumps_the_version(client: Client) -> None:
    slug = slug_of(await call(client, "create_ticket", title="Old", labels=["a"], priority="low"))
    reply = await client.call_tool("update_ticket", {"slug": slug, "title": "New", "labels": ["b", "c"]})
    assert reply.structured_content == {"version": 2}
    detail = await call(client, "get_ticket", slug=slug)
    assert detail.startswith(f"{slug}: «New»\n")
    assert "priority=low" in detail and "labels=b,c" in detail
    same = await client.call_tool("update_ticket", {"slug": slug, "title": "New"})
    assert same.structured_content == {"version": 2}
    await call(client, "update_ticket", slug=slug, labels=[], assignee="me")
    detail = await call(client, "get_ticket", slug=slug)
    assert "labels=" not in detail and "assignee=alice" in detail
    await call(client, "update_ticket", slug=slug, assignee="none")
    assert "assignee=none" in await call(client, "get_ticket", slug=slug)


async def test_a_stale_version_is_refused_with_what_changed_since(client: Client) -> None:
    slug = slug_of(await call(client, "create_ticket", title="Race"))
    await call(client, "update_ticket", slug=slug, title="First writer", version=1)
    error = await call_error(client, "update_ticket", slug=slug, title="Second writer", version=1)
    assert error == (  # no re-read needed
        f"{slug} changed since version 1 (now 2): alice client=mcp: title «Race»→«First writer». "
        "Re-read it, or send version=2 to apply yours over theirs."
    )
    error = await call_error(client, "move_ticket", slug=slug, status="done", version=1)
    assert "(now 2)" in error
    error = await call_error(client, "move_ticket", slug=slug, status="done", version=3)  # none it can name
    assert f"is at version 2; it has never been at version 3. Now: {slug} backlog medium task: «First writer»" in error
    assert "First writer" in await call(client, "get_ticket", slug=slug)


async def test_move_ticket_places_cards_before_and_after_others(client: Client) -> None:
    a, b, c, d = [slug_of(await call(client, "create_ticket", title=t, status="todo")) for t in "abcd"]
    board = await call(client, "get_board")
    assert column(board, "todo") == [a, b, c, d]
    await call(client, "move_ticket", slug=d, status="todo", before=a)
    await call(client, "move_ticket", slug=b, status="todo", after=c)
    assert column(await call(client, "get_board"), "todo") == [d, a, c, b]
    await call(client, "move_ticket", slug=a, status="in_progress")
    board = await call(client, "get_board")
    assert column(board, "todo") == [d, c, b]
    assert column(board, "in_progress") == [a]
    error = await call_error(client, "move_ticket", slug=c, status="done", before=a)
    assert "not in the done column" in error


async def test_many_moves_to_the_same_spot_keep_the_order_consistent(client: Client) -> None:
    first = slug_of(await call(client, "create_ticket", title="anchor", status="todo"))
    last = slug_of(await call(client, "create_ticket", title="tail", status="todo"))
    inserted: list[str] = []
    for i in range(14):  # more halvings than the 1024 gap allows, so the column gets respaced
        slug = slug_of(await call(client, "create_ticket", title=f"n{i}", status="backlog"))
        await call(client, "move_ticket", slug=slug, status="todo", after=first)
        inserted.insert(0, slug)
    assert column(await call(client, "get_board", per_column=50), "todo") == [first, *inserted, last]


async def test_moving_to_done_closes_and_moving_back_reopens(client: Client) -> None:
    slug = slug_of(await call(client, "create_ticket", title="Close me"))
    await call(client, "move_ticket", slug=slug, status="done")
    assert re.search(r"closed=\S+ by alice", await call(client, "get_ticket", slug=slug))
    assert "open=0 total=1" in await call(client, "list_projects")
    await call(client, "move_ticket", slug=slug, status="todo")
    assert "closed=" not in await call(client, "get_ticket", slug=slug)


async def test_get_board_caps_columns_and_says_how_many_there_are(client: Client) -> None:
    for i in range(5):
        await call(client, "create_ticket", title=f"t{i}")
    board = await call(client, "get_board", per_column=2)
    assert "## backlog (5, showing 2)" in board
    assert board.splitlines()[2] == "Cut columns: list_tickets project=INBOX status=backlog for the rest."
    assert len(column(board, "backlog")) == 2
    assert [line for line in board.splitlines() if line.startswith("## ")][-1] == "## canceled (0)"


async def test_comments_appear_on_the_ticket_in_order(client: Client) -> None:
    slug = slug_of(await call(client, "create_ticket", title="Discuss"))
    reply = await client.call_tool("add_comment", {"slug": slug, "body": "first"})
    assert reply.structured_content == {"comment_id": 1}
    await call(client, "add_comment", slug=slug, body="second\nline")
    detail = await call(client, "get_ticket", slug=slug)
    assert detail.index("] alice") < detail.index("second\nline")
    assert "comments (2):" in detail
    assert "empty" in await call_error(client, "add_comment", slug=slug, body="   ")


async def test_delete_ticket_without_confirmation_refuses_and_says_what_would_be_lost(client: Client) -> None:
    parent = slug_of(await call(client, "create_ticket", title="Parent"))
    child = slug_of(await call(client, "create_ticket", title="Child", parent=parent))
    await call(client, "add_comment", slug=child, body="note")
    refused = await call(client, "delete_ticket", slug=parent)
    assert refused.startswith("Not deleted.")
    assert f"1 sub-task ({child})" in refused and "1 comment" in refused and "confirm=true" in refused
    assert "Parent" in await call(client, "get_ticket", slug=parent)
    deleted = await client.call_tool("delete_ticket", {"slug": parent, "confirm": True})
    assert deleted.structured_content == {"deleted": [parent, child]}
    assert f"{child} was deleted with its parent {parent} (by alice" in await call_error(
        client, "get_ticket", slug=child
    )


async def test_projects_can_be_created_renamed_and_deleted_only_when_empty(client: Client) -> None:
    created = await client.call_tool("create_project", {"name": "Web App", "description": "The site"})
    assert text_of(created) == "Created project WA 'Web App'."
    assert "WA 'Web App' open=0 total=0" in await call(client, "list_projects")
    await call(client, "create_project", name="Wide Area", code="wan")
    assert "WAN 'Wide Area'" in await call(client, "list_projects")
    assert "already exists" in await call_error(client, "create_project", name="web app")
    assert "has a project with the code" in await call_error(client, "create_project", name="Other", code="WA")
    assert "not valid" in await call_error(client, "create_project", name="bad/name!")
    await call(client, "update_project", project="WA", name="Website")
    assert "WA 'Website'" in await call(client, "list_projects")
    slug = slug_of(await call(client, "create_ticket", project="Website", title="In WA"))
    assert slug == "WA-1"
    refused = await call_error(client, "delete_project", project="WA", confirm=True)
    assert (
        refused == "Project WA still holds 1 ticket and was not deleted. Delete its tickets first, or keep the project."
    )
    assert "holds 1 ticket." in await call(client, "delete_project", project="WA")
    assert "WA 'Website'" in await call(client, "list_projects")
    await call(client, "delete_ticket", slug=slug, confirm=True)
    assert "Not deleted" in await call(client, "delete_project", project="WA")
    assert "Deleted project WA" in await call(client, "delete_project", project="WA", confirm=True)
    assert "'Website'" not in await call(client, "list_projects")


async def test_with_several_projects_create_ticket_asks_which_one_even_with_a_default_project(
    client: Client,
) -> None:
    await call(client, "create_project", name="Backend")
    error = await call_error(client, "create_ticket", title="Where?")
    assert "Several projects" in error and "BACK" in error and "INBOX" in error
    assert "Updated project BACK" in await call(client, "update_project", project="BACK", default=True)
    assert "Several projects" in await call_error(client, "create_ticket", title="Where?")
    assert "default" in await call_error(client, "update_project", project="BACK", default=False)


async def test_wrong_names_get_the_closest_valid_values(client: Client) -> None:
    await call(client, "create_project", name="Website", code="WEB")
    assert "Did you mean: WEB" in await call_error(client, "create_ticket", project="WBE", title="x")
    assert "Did you mean: alice" in await call_error(
        client, "create_ticket", project="WEB", title="x", assignee="alcie"
    )
    assert "Did you mean: local" in await call_error(client, "list_projects", organization="locl")
    error = await call_error(client, "create_ticket", title="x", project="WEB", status="doing")
    assert "'backlog', 'todo', 'in_progress'" in error
    assert "is not a ticket slug" in await call_error(client, "get_ticket", slug="42")


async def test_names_are_forgiving_about_case_and_spaces(client: Client) -> None:
    slug = slug_of(await call(client, "create_ticket", title="x", status="In Progress", priority="HIGH", type="Bug"))
    detail = await call(client, "get_ticket", slug=slug.lower())
    assert "status=in_progress priority=high type=bug" in detail
    await call(client, "move_ticket", slug=slug, status="in-review")
    assert "status=in_review" in await call(client, "get_ticket", slug=slug)


async def test_sub_task_cycles_and_cross_project_parents_are_refused(client: Client) -> None:
    parent = slug_of(await call(client, "create_ticket", title="Parent"))
    child = slug_of(await call(client, "create_ticket", title="Child", parent=parent))
    assert "sub-task" in await call_error(client, "update_ticket", slug=parent, parent=child)
    assert "sub-task" in await call_error(client, "update_ticket", slug=parent, parent=parent)
    await call(client, "create_project", name="Other", code="OTH")
    error = await call_error(client, "create_ticket", project="OTH", title="x", parent=parent)
    assert "another project" in error
    await call(client, "update_ticket", slug=child, parent="none")
    assert "parent=" not in await call(client, "get_ticket", slug=child)


async def test_list_organizations_names_the_local_organization(client: Client) -> None:
    assert (await call(client, "list_organizations")).startswith("local 'Local' id=")


async def test_every_mutation_leaves_an_audit_event(server: TrackerServer, store_location: Location) -> None:
    async with connect(server) as client:
        slug = slug_of(await call(client, "create_ticket", title="Audit me"))
        await call(client, "update_ticket", slug=slug, priority="high")
        await call(client, "move_ticket", slug=slug, status="todo")
        await call(client, "add_comment", slug=slug, body="c")
        await call(client, "create_project", name="Temp")
        await call(client, "update_project", project="Temp", description="d")
        await call(client, "delete_project", project="Temp", confirm=True)
        await call(client, "delete_ticket", slug=slug, confirm=True)
    rows = [event for event in events(store_location) if event[0] != "organization.created"]
    actions = [row[0] for row in rows]
    assert actions == [
        "project.created",
        "ticket.created",
        "ticket.updated",
        "ticket.moved",
        "comment.added",
        "project.created",
        "project.updated",
        "project.deleted",
        "ticket.deleted",
    ]
    assert rows[2][2] == {"priority": ["medium", "high"]}
    assert rows[3][2] == {"status": ["backlog", "todo"]}
    if isinstance(store_location, Path):  # SQLite keeps the changes as compact JSON text (PostgreSQL as jsonb)
        stored = table_rows(store_location, "SELECT changes FROM events WHERE action = 'ticket.updated'")
        assert stored == [('{"priority":["medium","high"]}',)]


async def test_results_are_compact_text_never_pretty_json(client: Client) -> None:
    await call(client, "create_ticket", title="x", labels=["a"])
    for tool, arguments in [
        ("get_workspace_context", {}),
        ("list_tickets", {}),
        ("get_ticket", {"slug": "INBOX-1"}),
        ("get_board", {}),
        ("create_ticket", {"title": "y"}),
    ]:
        result = await client.call_tool(tool, arguments)
        assert len(result.content) == 1 and isinstance(result.content[0], TextContent)
        assert not result.content[0].text.lstrip().startswith(("{", "[")), tool
        text = result.content[0].text
        for nested in ("\n    labels", "\n  project", "\n  members"):  # the workspace's lines under their organization
            text = text.replace(nested, "")
        assert "\n  " not in text


async def test_a_project_is_found_by_code_before_another_projects_name(client: Client) -> None:
    await call(client, "create_project", name="Alpha", code="BETA")
    await call(client, "create_project", name="Beta", code="ALPHA")
    assert slug_of(await call(client, "create_ticket", project="ALPHA", title="x")) == "ALPHA-1"
    assert slug_of(await call(client, "create_ticket", project="beta", title="x")) == "BETA-1"
    assert slug_of(await call(client, "create_ticket", project="Alpha ", title="y")) == "ALPHA-2"
    error = await call_error(client, "create_ticket", project="Alpah", title="x")
    assert "Did you mean: " in error
    assert "ALPHA (Beta)" in error or "BETA (Alpha)" in error


async def test_an_unknown_argument_suggests_the_near_name(client: Client) -> None:
    error = await call_error(client, "create_ticket", titel="x")
    assert error.startswith("Unknown argument for create_ticket: 'titel' (did you mean 'title'?). Valid: ")
    assert await call_error(client, "list_organizations", x=1) == (
        "Unknown argument for list_organizations: 'x'. list_organizations takes no arguments."
    )


async def test_the_in_memory_clients_cover_both_protocol_eras(client: Client, request: pytest.FixtureRequest) -> None:
    mode = request.node.callspec.params["client"]  # pyright: ignore[reportUnknownMemberType]
    expected = "2026-07-28" if mode == "auto" else "2025-11-25"
    assert client.protocol_version == expected


async def test_moving_a_ticket_within_its_column_without_an_anchor_puts_it_last(client: Client) -> None:
    a, b, c = [slug_of(await call(client, "create_ticket", title=t)) for t in "abc"]
    reply = await client.call_tool("move_ticket", {"slug": a, "status": "backlog"})
    assert reply.structured_content == {"version": 2}
    assert column(await call(client, "get_board"), "backlog") == [b, c, a]
    again = await client.call_tool("move_ticket", {"slug": a, "status": "backlog"})
    assert again.structured_content == {"version": 2}


async def test_an_ancient_updated_since_finds_every_ticket(client: Client) -> None:
    await call(client, "create_ticket", title="x")
    assert (await call(client, "list_tickets", updated_since="0999-01-01")).startswith("1 of 1 tickets")


async def test_a_project_list_cursor_survives_a_new_project(client: Client) -> None:
    for i in range(3):
        await call(client, "create_ticket", title=f"t{i}")
    page = await call(client, "list_tickets", limit=2)
    match = re.search(r"cursor=(\S+)", page)
    assert match
    await call(client, "create_project", name="Newcomer")
    rest = await call(client, "list_tickets", limit=2, cursor=match.group(1))
    assert rest.startswith("1 of 3 tickets")


async def test_identifier_limits_are_enforced_though_not_printed_in_the_schema(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert tools["get_ticket"].input_schema["properties"]["slug"] == {
        "type": "string",
        "description": "Ticket slug, e.g. WEB-42",
    }
    assert "default" not in tools["list_tickets"].input_schema["properties"]["project"]
    assert "Invalid arguments for get_ticket: slug" in await call_error(client, "get_ticket", slug="W" * 101)


async def test_a_long_history_is_cut_to_the_latest_changes_and_says_how_to_see_more(client: Client) -> None:
    slug = slug_of(await call(client, "create_ticket", title="Busy"))
    for i in range(24):
        await call(client, "add_comment", slug=slug, body=f"note {i}")
    detail = await call(client, "get_ticket", slug=slug)
    assert "\nhistory (latest 5 of 25; more with history=25):\n" in detail
    assert detail.rstrip().endswith("commented") and "created" not in detail.split("history (")[1]
    everything = await call(client, "get_ticket", slug=slug, history=25)
    assert "\nhistory (25):\n" in everything and "created" in everything.split("history (")[1]
    none = await call(client, "get_ticket", slug=slug, history=0)
    assert "history: 25 changes; see them with history=25" in none
    assert "Invalid arguments for get_ticket: history" in await call_error(client, "get_ticket", slug=slug, history=501)


async def test_get_ticket_shows_who_changed_what_and_when_through_which_client(client: Client) -> None:
    slug = slug_of(await call(client, "create_ticket", title="Tracked", priority="low"))
    await call(client, "update_ticket", slug=slug, title="Tracked closely", priority="high", labels=["a", "b"])
    await call(client, "move_ticket", slug=slug, status="in_progress")
    await call(client, "add_comment", slug=slug, body="on it")
    detail = await call(client, "get_ticket", slug=slug)
    by, *history = detail.split("\nhistory (4):\n", 1)[1].splitlines()
    assert by == "by alice client=mcp:"  # once for the run of changes it made
    whats = [re.fullmatch(r" (?:\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d (.*)", line) for line in history]
    assert whats[0] and history[0].startswith(" 20")  # the date on the first line only
    assert [m[1] if m else line for m, line in zip(whats, history, strict=True)] == [
        "created",
        "title «Tracked»→«Tracked closely», priority low→high, labels []→[a,b]",
        "status backlog→in_progress",
        "commented",
    ]
