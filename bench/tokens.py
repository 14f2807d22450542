"""Token costs (tiktoken o200k_base): our tools/list and tool results, next to the SDK's default
rendering of the same data and to github-mcp-server's default tool list.

    python -m bench.tokens

`run(quick)` returns one dict per metric for bench/__main__.py; run as a module it prints a table.
Offline: TIKTOKEN_CACHE_DIR defaults to bench/vendor/tiktoken, which holds the o200k_base file
(tiktoken checks its sha256), and the peer's tool schemas are in bench/vendor/peers (see
bench/vendor/README.md): nothing is downloaded and nothing outside the repository is read.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

VENDOR = Path(__file__).resolve().parent / "vendor"
TIKTOKEN_CACHE = VENDOR / "tiktoken"
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(TIKTOKEN_CACHE))

import tiktoken  # noqa: E402  (reads TIKTOKEN_CACHE_DIR when the encoding is first loaded)
from mcp.types import CallToolResult  # noqa: E402

from bench.dataset import OWNER, seed_database  # noqa: E402
from bench.rows import markdown, result  # noqa: E402
from mcp import Client  # noqa: E402
from tickets_mcp.cli.servers import stdio_server  # noqa: E402
from tickets_mcp.config import Settings  # noqa: E402
from tickets_mcp.core.local import LocalTracker  # noqa: E402
from tickets_mcp.core.tracker import Principal, TicketFilter  # noqa: E402
from tickets_mcp.domain import Status  # noqa: E402
from tickets_mcp.mcp.exposure import Exposure  # noqa: E402
from tickets_mcp.stores.sqlite.migrations import migrate  # noqa: E402
from tickets_mcp.stores.sqlite.store import SqliteStore  # noqa: E402

PEER = VENDOR / "peers" / "github-mcp-server"
ENCODING = "o200k_base"
_encoder: tiktoken.Encoding | None = None


def tokens(text: str) -> int:
    global _encoder
    if _encoder is None:
        _encoder = tiktoken.get_encoding(ENCODING)
    return len(_encoder.encode(text))


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def tool_list_tokens(tools: Sequence[dict[str, Any]]) -> int:
    """What a tools/list result costs: `{"tools":[...]}` in compact JSON."""
    return tokens('{"tools":[' + ",".join(compact(tool) for tool in tools) + "]}")


def result_payload(result: CallToolResult) -> dict[str, Any]:
    """A tool result as it travels, minus `_meta` (server info the client keeps to itself)."""
    dumped = result.model_dump(by_alias=True, exclude_none=True, mode="json")
    dumped.pop("_meta", None)
    dumped.pop("resultType", None)
    return dumped


def default_rendering(data: Any, *, is_error: bool = False) -> dict[str, Any]:
    """What MCPServer sends for a pydantic return value: structuredContent plus the same as indented JSON."""
    if is_error:
        return {"content": [{"type": "text", "text": str(data)}], "isError": True}
    return {
        "content": [{"type": "text", "text": json.dumps(data, indent=2, ensure_ascii=False)}],
        "structuredContent": data,
        "isError": False,
    }


# Peer: github-mcp-server


def peer_default_tools() -> tuple[list[str], list[str]]:
    """(default toolset tools, Issues toolset tools) from toolsets.txt."""
    default: list[str] = []
    issues: list[str] = []
    for line in (PEER / "toolsets.txt").read_text().splitlines():
        heading, _, names = line.partition(":")
        if "(default)" in heading:
            default += [n for n in names.split() if n not in default]
        if heading.strip().startswith("Issues"):
            issues = names.split()
    return default, issues


def peer_tool(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PEER / "toolsnaps" / f"{name}.snap").read_text())
    return loaded


# Ours


async def measure(quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tracker.db"
        conn = sqlite3.connect(path, isolation_level=None)
        migrate(conn, str(path))
        conn.close()
        seed_database(path, 2_000, planning=False)  # the data the targets were set on: no planning fields
        server = stdio_server(Settings(db=path, username=OWNER))

        tools = [  # what tools/list shows by default: the default sets, their arguments only
            t.model_dump(by_alias=True, exclude_none=True, mode="json")
            for t in await server.tools_shown(None, server.exposure)
        ]
        ours_list = tool_list_tokens(tools)
        default, issues = peer_default_tools()
        peer_list = tool_list_tokens([peer_tool(n) for n in default])
        peer_issues = tool_list_tokens([peer_tool(n) for n in issues])
        rows.append(
            result(
                f"tools/list, default set ({len(tools)} tools)",
                ours_list,
                "tokens",
                reference=peer_list,
                target="≤ 1500",
                met=ours_list <= 1500,
            )
        )
        rows.append(result(f"github-mcp-server default tools/list ({len(default)} tools)", peer_list, "tokens"))
        rows.append(result(f"github-mcp-server Issues toolset ({len(issues)} tools)", peer_issues, "tokens"))
        rows.append(
            result(
                "tools/list per tool (ours / github default)",
                ours_list / len(tools),
                "tokens/tool",
                reference=peer_list / len(default),
            )
        )

        everything = stdio_server(Settings(db=path, username=OWNER, exposure=Exposure.from_env(tools="all")))
        every = [
            t.model_dump(by_alias=True, exclude_none=True, mode="json")
            for t in await everything.tools_shown(None, everything.exposure)
        ]
        every_list = tool_list_tokens(every)
        rows.append(result(f"tools/list, every set switched on ({len(every)} tools)", every_list, "tokens"))

        async with Client(server) as client:  # pyright: ignore[reportArgumentType]
            listed = await client.call_tool("list_tickets", {"project": "PA", "limit": 50})
            slug = "PA-1"
            got = await client.call_tool("get_ticket", {"slug": slug})
            busy = await busy_ticket(client)
            got_busy = await client.call_tool("get_ticket", {"slug": busy})
            created = await client.call_tool(
                "create_ticket",
                {"title": "Export to CSV drops the last row", "project": "PA", "type": "bug", "priority": "high"},
            )
            structured: dict[str, Any] = dict(created.structured_content or {})
            new_slug = str(structured.get("slug", "PA-1"))
            moved = await client.call_tool("move_ticket", {"slug": new_slug, "status": "in_progress"})
            failed = await client.call_tool("get_ticket", {"slug": "PA-999999"})
            invalid = await client.call_tool("move_ticket", {"slug": new_slug, "status": "shipped"})
            twin = await client.call_tool(
                "create_ticket", {"title": "Export to CSV drops the last row", "project": "PA", "type": "bug"}
            )

        # The same records as the SDK would render pydantic return values.
        store = await SqliteStore.open(path)
        try:
            user = await store.find_user(OWNER)
            assert user is not None
            tracker = LocalTracker(store, Principal(user_id=user.id, username=user.username))
            page = await tracker.list_tickets(TicketFilter(project="PA", limit=50))
            page_data = {
                "tickets": [t.model_dump(mode="json") for t in page.tickets],
                "total": page.total,
                "next_cursor": page.next_cursor,
            }
            detail = (await tracker.get_ticket(slug)).model_dump(mode="json")
            busy_detail = (await tracker.get_ticket(busy, history=20)).model_dump(mode="json")
            new_ticket = (await tracker.get_ticket(new_slug)).ticket
            created_data = new_ticket.model_dump(mode="json")
            moved_data = {**created_data, "status": Status.IN_PROGRESS.value}
        finally:
            await store.close()
        error_text = (
            "Error executing tool get_ticket: Ticket PA-999999 not found. "
            "Check the slug with list_tickets; deleted tickets keep their number."
        )

        cases: list[tuple[str, CallToolResult, dict[str, Any], int | None]] = [
            ("list_tickets, 50 rows", listed, default_rendering(page_data), 1100),
            ("get_ticket", got, default_rendering(detail), None),
            ("get_ticket with 30 changes", got_busy, default_rendering(busy_detail), 350),
            ("create_ticket reply", created, default_rendering(created_data), 40),
            ("move_ticket reply", moved, default_rendering(moved_data), 40),
            ("error: ticket not found", failed, default_rendering(error_text, is_error=True), 80),
            ("error: invalid status", invalid, default_rendering("(SDK validation error)", is_error=True), 80),
            ("error: look-alike not filed", twin, default_rendering("(no such check)", is_error=True), 80),
        ]
        for name, ours, sdk, target in cases:
            wire = tokens(compact(result_payload(ours)))
            # Neither the SDK's validation error nor a look-alike check has a counterpart to compare with.
            reference = tokens(compact(sdk)) if not name.startswith(("error: invalid", "error: look")) else None
            rows.append(
                result(
                    f"{name} (content + structuredContent)",
                    wire,
                    "tokens",
                    reference=reference,
                    target=f"≤ {target}" if target is not None else None,
                    met=wire <= target if target is not None else None,
                )
            )
            text = "".join(getattr(block, "text", "") for block in ours.content)
            rows.append(result(f"{name} (text content only)", tokens(text), "tokens"))
        planned = Path(tmp) / "planned.db"
        conn = sqlite3.connect(planned, isolation_level=None)
        migrate(conn, str(planned))
        conn.close()
        seed_database(planned, 2_000)
        async with Client(stdio_server(Settings(db=planned, username=OWNER))) as client:  # pyright: ignore[reportArgumentType]
            listed = await client.call_tool("list_tickets", {"project": "PA", "limit": 50})
        rows.append(
            result(
                "list_tickets, 50 rows, 30% with a due date, 2% blocked (content + structuredContent)",
                tokens(compact(result_payload(listed))),
                "tokens",
            )
        )
    return rows


async def busy_ticket(client: Client) -> str:
    """A ticket with 30 changes (filed, then 29 edits and moves by the same agent), as a model meets one."""
    filed = await client.call_tool(
        "create_ticket",
        {"title": "Checkout times out behind the proxy", "project": "PA", "type": "bug", "not_duplicate": True},
    )
    slug = str(dict(filed.structured_content or {})["slug"])
    statuses, priorities = ("todo", "in_progress", "in_review", "done"), ("low", "high", "urgent", "medium")
    for n in range(29):
        if n % 2:
            await client.call_tool("move_ticket", {"slug": slug, "status": statuses[n % 4]})
        else:
            await client.call_tool("update_ticket", {"slug": slug, "priority": priorities[n % 4]})
    return slug


def run(quick: bool) -> list[dict[str, Any]]:
    return asyncio.run(measure(quick))


def main() -> int:
    print(markdown(run(quick=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
