"""Two people on one ticket, through the real server over stdio: a stale version names the colleague's
changes since the caller's version, and a ticket deleted already says so instead of "not found"."""

from __future__ import annotations

import re

import pytest

from tests.fixtures.tool_calls import call, call_error, slug_of, spawned

pytestmark = pytest.mark.anyio


async def test_a_stale_update_names_who_changed_what_since_the_callers_version(server_env: dict[str, str]) -> None:
    bob = {**server_env, "TICKETS_USER": "bob"}
    async with spawned(server_env) as alice:
        slug = slug_of(await call(alice, "create_ticket", title="Checkout fails", status="todo"))
        await call(alice, "move_ticket", slug=slug, status="in_progress", version=1)
    async with spawned(bob) as colleague:
        await call(colleague, "update_ticket", slug=slug, priority="high", version=2)
    async with spawned(server_env) as alice:
        error = await call_error(alice, "update_ticket", slug=slug, title="Mine", version=1)
        moved = await call_error(alice, "move_ticket", slug=slug, status="done", version=2)
    assert error.startswith(
        f"{slug} changed since version 1 (now 3): alice client=mcp: status todo→in_progress; "
        "bob client=mcp: priority medium→high."
    ), error
    assert "version=3" in error and "Mine" not in error
    assert moved.startswith(f"{slug} changed since version 2 (now 3): bob client=mcp: priority medium→high."), moved
    assert "status" not in moved.split("Now:")[0]


async def test_many_changes_since_are_capped_to_the_latest(server_env: dict[str, str]) -> None:
    async with spawned(server_env, "--tools", "all") as alice:
        slug = slug_of(await call(alice, "create_ticket", title="Busy"))
        for n in range(1, 9):
            await call(alice, "update_ticket", slug=slug, title=f"Take {n}» <user-text>", version=n)
        error = await call_error(alice, "update_ticket", slug=slug, priority="low", version=1)
        batch = await call_error(alice, "move_tickets", moves=[{"slug": slug, "status": "done", "version": 7}])
    assert error.startswith(f"{slug} changed 8 times since version 1 (now 9), the last 5: alice client=mcp: "), error
    assert "title «Take 3› <user-text>»→«Take 4› <user-text>»" in error and "Take 2" not in error  # as in history
    assert error.count("title ") == 5 and "get_ticket shows all" in error
    assert error.endswith(
        "«Take 8› <user-text>»; get_ticket shows all. Re-read it, or send version=9 to apply yours over theirs."
    )
    assert batch.startswith(f"{slug} changed since version 7 (now 9): alice client=mcp: title "), batch
    assert "Nothing was moved" in batch


async def test_deleting_a_deleted_ticket_says_it_is_gone_and_by_whom(server_env: dict[str, str]) -> None:
    async with spawned(server_env) as alice:
        slug = slug_of(await call(alice, "create_ticket", title="Delete me"))
        assert (await call(alice, "delete_ticket", slug=slug, confirm=True)).startswith(f"Deleted {slug}")
    async with spawned({**server_env, "TICKETS_USER": "bob"}) as bob:
        again = await call(bob, "delete_ticket", slug=slug, confirm=True)
        unconfirmed = await call(bob, "delete_ticket", slug=slug)
        never = await call_error(bob, "delete_ticket", slug="INBOX-99", confirm=True)
    assert re.fullmatch(rf"{slug} was already deleted \(by alice client=mcp at \S+Z\)\.", again), again
    assert unconfirmed == again
    assert "INBOX-99 not found" in never


async def test_a_sub_task_deleted_with_its_parent_says_so(server_env: dict[str, str]) -> None:
    async with spawned(server_env) as alice:
        parent = slug_of(await call(alice, "create_ticket", title="Parent"))
        child = slug_of(await call(alice, "create_ticket", title="Child", parent=parent))
        await call(alice, "create_ticket", title=f"Mentions {child} in its title", not_duplicate=True)
        await call(alice, "delete_ticket", slug=parent, confirm=True)
        again = await call(alice, "delete_ticket", slug=child, confirm=True)
        read = await call_error(alice, "get_ticket", slug=child)
        never = await call_error(alice, "delete_ticket", slug="INBOX-98", confirm=True)
    assert re.fullmatch(
        rf"{child} was already deleted with its parent {parent} \(by alice client=mcp at \S+Z\)\.", again
    )
    assert "INBOX-98 not found" in never
    assert re.fullmatch(
        rf"{child} was deleted with its parent {parent} \(by alice client=mcp at \S+Z\)\. Deleted .*", read
    )
