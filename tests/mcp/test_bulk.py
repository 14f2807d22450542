"""create_tickets: many tickets in one call, all or none on the local stores, each on its own in front of a
remote API; progress reported to a client that asks for it. Driven through the real server over stdio."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.stores import Location, table_rows
from tests.fixtures.tool_calls import EVERY_TOOL, TOOLS, board_column, call, call_error, spawned

pytestmark = pytest.mark.anyio


def item(title: str, **fields: Any) -> dict[str, Any]:
    return {"title": title, **fields}


class Told:
    """A progress callback that keeps what it was told."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.seen.append((progress, total, message))


async def test_bulk_filing_is_a_tool_set_of_its_own_off_by_default(server_env: dict[str, str]) -> None:
    async with spawned(server_env) as client:
        default = {tool.name for tool in (await client.list_tools()).tools}
    async with spawned(server_env, "--tools", "all") as client:
        every = {tool.name for tool in (await client.list_tools()).tools}
    assert default == TOOLS and every == EVERY_TOOL - {"enable_tools"}


async def test_tickets_filed_at_once_come_back_in_order_with_progress(
    server_env: dict[str, str], store_location: Location
) -> None:
    progress = Told()
    tickets = [item(f"Crash {n} in checkout", type="bug", priority="high", labels=["bulk"]) for n in range(1, 26)]
    tickets[3] = item("A sub-task elsewhere", project="INBOX", assignee="me")
    async with spawned(server_env, "--tools", "all") as client:
        result = await client.call_tool("create_tickets", {"tickets": tickets}, progress_callback=progress)
    assert not result.is_error
    slugs = [f"INBOX-{n}" for n in range(1, 26)]
    filed = (
        f"Filed 25 tickets in one transaction: items 1-25 → {', '.join(slugs)}. New label: bulk (the project had none)."
    )
    assert result.content[0].text == filed  # type: ignore[union-attr]
    assert result.structured_content == {"slugs": slugs}
    assert progress.seen == [(0, 25, "checked 25; filing them in one transaction"), (25, 25, "filed 25")]
    query = "SELECT number, title, type, assignee_id IS NOT NULL FROM tickets ORDER BY number"
    rows = table_rows(store_location, query)
    assert rows[3] == (4, "A sub-task elsewhere", "task", True)
    assert [r[1] for r in rows] == [t["title"] for t in tickets]


async def test_one_bad_ticket_files_none_and_says_which(server_env: dict[str, str], store_location: Location) -> None:
    tickets = [item("Fine"), item("Also fine"), item("Bad assignee", assignee="nobody")]
    async with spawned(server_env, "--tools", "all") as client:
        refusal = await call_error(client, "create_tickets", tickets=tickets)
        too_many = await call_error(client, "create_tickets", tickets=[item(str(n)) for n in range(101)])
    assert refusal.startswith("Item 3 of 3: No member named 'nobody'")
    assert refusal.endswith("Nothing was filed; send them all again.")
    assert "tickets: List should have at most 100 items" in too_many
    assert table_rows(store_location, "SELECT COUNT(*) FROM tickets") == [(0,)]


async def test_tickets_moved_at_once_all_move_or_none_does(
    server_env: dict[str, str], store_location: Location
) -> None:
    progress = Told()
    async with spawned(server_env, "--tools", "all") as client:
        await client.call_tool("create_tickets", {"tickets": [item(f"Card {n}") for n in range(1, 5)]})
        moves = [{"slug": "INBOX-1", "status": "todo"}, {"slug": "INBOX-2", "status": "todo", "before": "INBOX-1"}]
        result = await client.call_tool("move_tickets", {"moves": moves}, progress_callback=progress)
        stale = [{"slug": "INBOX-3", "status": "done"}, {"slug": "INBOX-4", "status": "done", "version": 7}]
        refusal = await call_error(client, "move_tickets", moves=stale)
        board = await call(client, "get_board", project="INBOX")
    assert result.content[0].text == "Moved 2 tickets in one transaction: INBOX-1, INBOX-2."  # type: ignore[union-attr]
    assert progress.seen == [(0, 2, "checked 2; moving them in one transaction"), (2, 2, "moved 2")]
    assert board_column(board, "todo") == ["INBOX-2", "INBOX-1"]  # placed before INBOX-1, as asked
    assert "INBOX-4 is at version 1; it has never been at version 7" in refusal and refusal.endswith(
        "Nothing was moved; send them all again."
    )
    rows = table_rows(store_location, "SELECT number, status FROM tickets WHERE number > 2 ORDER BY number")
    assert rows == [(3, "backlog"), (4, "backlog")]  # the first move was undone with the second


async def test_two_items_alike_in_one_call_are_named_by_item_never_by_a_slug_rolled_back(
    server_env: dict[str, str], store_location: Location
) -> None:
    twins = [item("First distinct item here"), item("Bulk twin alpha beta gamma"), item("Bulk twin alpha beta gamma")]
    async with spawned(server_env, "--tools", "all") as client:
        refusal = await call_error(client, "create_tickets", tickets=twins)
        elsewhere = await call(client, "create_ticket", title="Bulk twin alpha beta gamma")
        again = await call_error(client, "create_tickets", tickets=[item("Something new"), twins[1]])
    assert refusal == (
        "Item 3 of 3 looks like item 2 of the same call (100% alike). Drop one, or send item 3 with "
        "not_duplicate=true. Nothing was filed; send them all again."
    )
    assert elsewhere == "Created INBOX-1 (backlog, version 1)."  # the refused call took no number it names
    assert again.startswith("Item 2 of 2: Not filed: it looks like INBOX-1 ")
    assert table_rows(store_location, "SELECT COUNT(*) FROM tickets") == [(1,)]
