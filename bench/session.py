"""An agent's working session over stdio, scripted: each call is decided from the replies before it, the
way a model reads them, and every call and token is counted per task.

    python -m bench.session [--python PATH]      # PATH: another checkout's interpreter, to compare

The tasks are those of issue 18: file a bug from a stack trace and twice more reworded, set up a project
with 12 tickets and sub-tasks, triage urgent bugs across projects, find what changed in the last hour,
pick the project a repository belongs to and its label, a stale update, and a delete sent twice. The
script only uses what the server tells it (instructions, tools/list, replies); where a reply leaves it
to guess, it guesses as a model would and the task is marked so. Tokens (o200k) are those of each call's
arguments plus its reply (content and structuredContent), as they reach the model; tools/list is counted
once per session.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp.types import CallToolResult

from bench.tokens import compact, result_payload, tokens
from mcp import Client, StdioServerParameters

TRACE = """Traceback (most recent call last):
  File "/srv/app/export/views.py", line 88, in download
    rows = build_rows(report)
  File "/srv/app/export/csv.py", line 142, in build_rows
    total = totals[report.currency]
KeyError: 'EUR'"""
REPORTS = [
    ("CSV export crashes for EUR reports", f"Exporting a report in euros fails.\n\n{TRACE}"),
    ("Export to CSV fails with KeyError on euro reports", f"Users get a 500 when exporting.\n{TRACE}"),
    ("Downloading a report as CSV gives a server error", f"Seen in production today:\n{TRACE}\nAffects EU customers."),
]


@dataclass
class Task:
    name: str
    calls: int = 0
    tokens: int = 0
    guessed: list[str] = field(default_factory=list[str])  # where the replies left the agent to guess


@dataclass
class Agent:
    client: Client
    tools: set[str]
    instructions: str
    task: Task

    async def call(self, tool: str, **arguments: Any) -> tuple[str, CallToolResult]:
        result = await self.client.call_tool(tool, arguments)
        self.task.calls += 1
        self.task.tokens += tokens(compact({"name": tool, "arguments": arguments}))
        self.task.tokens += tokens(compact(result_payload(result)))
        text = "".join(getattr(block, "text", "") for block in result.content)
        return text, result

    async def refresh_tools(self) -> None:
        self.tools = {tool.name for tool in (await self.client.list_tools()).tools}


def structured(result: CallToolResult) -> dict[str, Any]:
    return dict(result.structured_content or {})


async def file_a_bug_three_times(agent: Agent) -> None:
    filed: list[str] = []
    for title, description in REPORTS:
        text, result = await agent.call("create_ticket", title=title, description=description, type="bug")
        if result.is_error or text.startswith("Not filed"):
            continue  # the reply named the first one: the agent comments there instead of filing
        slug = str(structured(result).get("slug"))
        filed.append(slug)
    if len(filed) > 1:
        agent.task.guessed.append(f"{len(filed)} tickets filed for one bug")


async def set_up_a_project(agent: Agent) -> None:
    """A project with 4 features of 2 sub-tasks each (12 tickets); the features carry the team's `flaky` label."""
    if "create_project" not in agent.tools and "enable_tools" in agent.tools:
        await agent.call("enable_tools", sets=["projects", "bulk"])
        await agent.refresh_tools()
    await agent.call("create_project", name="Billing", code="BIL", description="Invoices and payments service")
    features = [f"Feature {name}" for name in ("invoices", "refunds", "taxes", "reports")]
    if "create_tickets" in agent.tools:
        _, result = await agent.call(
            "create_tickets",
            project="BIL",
            tickets=[{"title": t, "type": "feature", "labels": ["flaky"]} for t in features],
        )
        parents = [str(slug) for slug in structured(result).get("slugs", [])]
        subtasks = [{"title": f"{t}: part {n}", "parent": p} for t, p in zip(features, parents, strict=True)
                    for n in (1, 2)]  # fmt: skip
        await agent.call("create_tickets", project="BIL", tickets=subtasks)
        return
    for title in features:
        _, result = await agent.call("create_ticket", project="BIL", title=title, type="feature", labels=["flaky"])
        parent = str(structured(result).get("slug"))
        for n in (1, 2):
            await agent.call("create_ticket", project="BIL", title=f"{title}: part {n}", parent=parent)


async def triage_urgent_bugs(agent: Agent) -> None:
    _text, result = await agent.call("list_tickets", status=["open"], priority=["urgent"], type=["bug"])
    if result.is_error:  # spell the open statuses out, as the error or the context lists them
        agent.task.guessed.append("status=open refused: the open statuses spelled out")
        await agent.call(
            "list_tickets", status=["backlog", "todo", "in_progress", "in_review"], priority=["urgent"], type=["bug"]
        )


async def changed_in_the_last_hour(agent: Agent) -> None:
    context, _ = await agent.call("get_workspace_context")
    now = re.search(r"now: (\S+)", context)
    _, result = await agent.call("list_tickets", updated_since="1h", sort="updated")
    if result.is_error:
        agent.task.guessed.append("no server time: the agent's own clock")
        since = "2026-12-07T00:00:00Z" if now is None else now[1]
        await agent.call("list_tickets", updated_since=since, sort="updated")


async def which_project_and_label(agent: Agent) -> None:
    """The repository is the billing service: find its project, and the label the team uses for flaky tests."""
    context, _ = await agent.call("get_workspace_context")
    line = next((line for line in context.splitlines() if "invoices" in line.lower()), None)
    if line is None:
        agent.task.guessed.append("project descriptions not shown: project picked by its name")
    labels = re.search(r"labels: (\S+)", context)
    label = "flaky"
    if labels is None or "flaky" not in labels[1]:
        agent.task.guessed.append("labels in use not shown: label invented")
        label = "flakey"
    await agent.call("create_ticket", project="BIL", title="Invoice test times out on CI", labels=[label])


async def why_a_search_matched(agent: Agent) -> None:
    """A word only in a comment: which ticket is it, and where does it say so?"""
    await agent.call("add_comment", slug="BIL-3", body="The customer saw the walrus glitch on every invoice.")
    agent.task.calls, agent.task.tokens = 0, 0  # the setup is not the search
    text, _ = await agent.call("list_tickets", query="walrus")
    if "↳" not in text:  # the row does not say where the word is: read each match to find out
        agent.task.guessed.append("no snippet: each match read")
        for slug in re.findall(r"^([A-Z]+-\d+) ", text, re.MULTILINE):
            await agent.call("get_ticket", slug=slug)


async def a_stale_update(agent: Agent, colleague: Agent) -> None:
    text, _ = await agent.call("get_ticket", slug="BIL-1")
    version = int(re.search(r"version=(\d+)", text)[1])  # type: ignore[index]
    await colleague.call("update_ticket", slug="BIL-1", priority="urgent")
    colleague.task.calls, colleague.task.tokens = 0, 0  # the colleague's work is not this agent's
    text, result = await agent.call("update_ticket", slug="BIL-1", status="todo", version=version)
    if result.is_error:
        if "priority" not in text:  # it says only that it changed: read it again to see what
            agent.task.guessed.append("stale version: what changed not said")
            text, _ = await agent.call("get_ticket", slug="BIL-1")
        now = int(re.search(r"version[= ](\d+)", text.split("now", 1)[-1])[1])  # type: ignore[index]
        await agent.call("update_ticket", slug="BIL-1", status="todo", version=now)


async def delete_twice(agent: Agent) -> None:
    await agent.call("delete_ticket", slug="BIL-12", confirm=True)
    _text, result = await agent.call("delete_ticket", slug="BIL-12", confirm=True)  # a retry after a timeout
    if result.is_error:
        agent.task.guessed.append("second delete: not found, was it ever there?")
        await agent.call("list_tickets", project="BIL", query="part")


TASKS: list[tuple[str, Callable[..., Awaitable[None]]]] = [
    ("file a bug from a stack trace, then twice reworded", file_a_bug_three_times),
    ("set up a project with 12 tickets and sub-tasks", set_up_a_project),
    ("triage urgent bugs across projects", triage_urgent_bugs),
    ("what changed in the last hour", changed_in_the_last_hour),
    ("the repository's project, and its label for flaky tests", which_project_and_label),
    ("why a search matched (a word only in a comment)", why_a_search_matched),
    ("a stale update after a colleague's change", a_stale_update),
    ("a delete sent twice", delete_twice),
]


async def session(python: str) -> tuple[int, list[Task]]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"TICKETS_DB": str(Path(tmp) / "tracker.db"), "TICKETS_USER": "alice", "PATH": "/usr/bin:/bin"}
        params = StdioServerParameters(command=python, args=["-m", "tickets_mcp"], env=env)
        colleague_params = StdioServerParameters(command=python, args=["-m", "tickets_mcp"], env=env)
        async with Client(params) as client, Client(colleague_params) as other:
            listed = (await client.list_tools()).tools
            list_tokens = tokens(
                '{"tools":['
                + ",".join(compact(t.model_dump(by_alias=True, exclude_none=True, mode="json")) for t in listed)
                + "]}"
            )
            instructions = client.instructions or ""
            tasks: list[Task] = []
            for name, run in TASKS:
                task = Task(name)
                agent = Agent(client, {t.name for t in listed}, instructions, task)
                if run is a_stale_update:
                    await run(agent, Agent(other, set(), "", Task("colleague")))
                else:
                    await run(agent)
                tasks.append(task)
    return list_tokens, tasks


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter whose tickets_mcp to drive")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    list_tokens, tasks = asyncio.run(session(args.python))
    if args.json:
        print(json.dumps({"tools_list": list_tokens, "tasks": [t.__dict__ for t in tasks]}))
        return 0
    print(f"tools/list: {list_tokens} tokens")
    for task in tasks:
        print(f"{task.name}: {task.calls} calls, {task.tokens} tokens; guessed: {'; '.join(task.guessed) or '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
