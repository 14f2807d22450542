"""Calling the MCP tools from tests through the SDK client, and reading what they answer.

    async with connect(server) as client:                      # in memory (conftest.py's `client` fixture)
        slug = slug_of(await call(client, "create_ticket", title="Printer on fire", project="INBOX"))
        refusal = await call_error(client, "delete_ticket", slug=slug)   # must fail; its text

    async with spawned(env, "--tier", "read-only") as client:  # over stdio, a real `python -m tickets_mcp`
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager

from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult, TextContent

from tickets_mcp.mcp.server import TrackerServer

READ_TOOLS = frozenset({"get_workspace_context", "list_organizations", "list_projects", "list_tickets", "get_ticket",
                        "get_board"})  # fmt: skip
DELETE_TOOLS = frozenset({"delete_project", "delete_ticket"})
TOOLS = READ_TOOLS | DELETE_TOOLS | {
    "create_project", "update_project", "create_ticket", "update_ticket", "move_ticket", "add_comment",
}  # fmt: skip


@asynccontextmanager
async def connect(server: TrackerServer, **kwargs: object) -> AsyncGenerator[Client]:
    async with Client(server, **kwargs) as client:  # pyright: ignore[reportArgumentType]
        yield client


@asynccontextmanager
async def spawned(env: Mapping[str, str], *flags: str) -> AsyncGenerator[Client]:
    """The SDK client over stdio, driving a real `python -m tickets_mcp FLAGS...` started with `env`."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "tickets_mcp", *flags], env=dict(env))
    async with Client(params, read_timeout_seconds=30) as client:
        yield client


def text_of(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def call(client: Client, tool: str, **arguments: object) -> str:
    """Call a tool that must succeed; returns its text."""
    result = await client.call_tool(tool, dict(arguments))
    assert not result.is_error, text_of(result)
    return text_of(result)


async def call_error(client: Client, tool: str, **arguments: object) -> str:
    """Call a tool that must fail with a tool error; returns the error text."""
    result = await client.call_tool(tool, dict(arguments))
    assert result.is_error, f"{tool} should have failed: {text_of(result)}"
    return text_of(result)


def slug_of(reply: str) -> str:
    """The first ticket slug in a reply."""
    match = re.search(r"\b([A-Z][A-Z0-9]+-\d+)\b", reply)
    assert match, reply
    return match.group(1)


def board_column(board: str, status: str) -> list[str]:
    """The slugs listed under one column of a get_board reply, in order."""
    lines = board.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"## {status} ("))
    slugs: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        slugs.append(line.split(" ", 1)[0])
    return slugs
