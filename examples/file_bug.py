"""File a bug from a failing command: an agent workflow in one script.

Runs a command; if it fails, starts `tickets-mcp` over stdio with the MCP SDK client and files a
bug with the command, exit code and the tail of its output, then shows the board. When the same
failure is already filed and open, the tracker answers with that ticket instead of filing a twin,
and the example adds a comment to it: a failure seen again, not a new bug.

    python examples/file_bug.py                      # a built-in failing demo command
    python examples/file_bug.py -- pytest -x tests/  # your own command
    python examples/file_bug.py --project WEB -- npm test

The database is the same one desktop clients use (TICKETS_DB or the per-user data folder).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult, Implementation, TextContent

DEMO_COMMAND = [sys.executable, "-c", "import json; json.loads('{\"retries\": 3,}')"]
OUTPUT_TAIL_LINES = 40
# create_ticket's answer when an open ticket already describes the failure.
LOOK_ALIKE = re.compile(r"Not filed: it looks like ([A-Za-z][A-Za-z0-9]*-\d+) ")


def result_text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def bug_report(command: Sequence[str], returncode: int, output: str) -> tuple[str, str]:
    """A title naming the command and its last error line, and a Given/When/Then description."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else f"exit code {returncode}"
    shown = shlex.join(command)
    program = " ".join([Path(command[0]).name, *command[1:]]) if command else ""
    short = program if len(program) <= 60 else program[:57] + "..."
    title = f"`{short}` fails: {last}"[:200]
    tail = "\n".join(lines[-OUTPUT_TAIL_LINES:])
    description = (
        f"**Given** the working directory `{os.getcwd()}`\n"
        f"**When** running `{shown}`\n"
        f"**Then** it exits with code {returncode}.\n\n"
        f"Last {min(len(lines), OUTPUT_TAIL_LINES)} lines of output:\n\n```\n{tail}\n```\n"
    )
    return title, description


async def file_bug(command: Sequence[str], project: str | None) -> int:
    completed = await anyio.run_process(command, check=False, stderr=subprocess.STDOUT)
    if completed.returncode == 0:
        print(f"{shlex.join(command)} succeeded; nothing to file.")
        return 0
    output = completed.stdout.decode(errors="replace")
    title, description = bug_report(command, completed.returncode, output)
    server = StdioServerParameters(command=sys.executable, args=["-m", "tickets_mcp"], env=dict(os.environ))
    async with Client(server, client_info=Implementation(name="file-bug-example", version="1.0")) as client:
        arguments: dict[str, object] = {
            "title": title,
            "description": description,
            "type": "bug",
            "priority": "high",
            "labels": ["automated"],
        }
        if project:
            arguments["project"] = project
        created = await client.call_tool("create_ticket", arguments)
        print(result_text(created))
        if created.is_error:
            twin = LOOK_ALIKE.match(result_text(created))
            if twin is None:
                return 1
            seen = f"Seen again: `{shlex.join(command)}` exited with code {completed.returncode}."
            print(result_text(await client.call_tool("add_comment", {"slug": twin[1], "body": seen})))
        board = await client.call_tool("get_board", {"project": project} if project else {})
        print(result_text(board))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a command and file a bug in tickets-mcp if it fails.")
    parser.add_argument("--project", help="project code or name (default: the only project)")
    parser.add_argument("command", nargs="*", help="the command to run, after --")
    args = parser.parse_args(argv)
    command: list[str] = args.command or DEMO_COMMAND
    return anyio.run(file_bug, command, args.project)


if __name__ == "__main__":
    raise SystemExit(main())
