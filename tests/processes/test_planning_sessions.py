"""An agent's planning session end to end: over stdio against a real `python -m tickets_mcp` process, and over
streamable HTTP against the serve app, each through the MCP SDK client, on both stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mcp import Client
from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.stores import Location
from tests.fixtures.tool_calls import PLANNING_TOOLS, call, slug_of, spawned

pytestmark = pytest.mark.anyio


async def plan_a_sprint(client: Client, project: str) -> None:
    """Switch planning on, plan a sprint with a blocker, log time, close the sprint moving what is left over."""
    listed = await call(client, "enable_tools", sets=["planning"])
    assert all(name in listed for name in PLANNING_TOOLS)
    await call(client, "save_milestone", name="Sprint 1", project=project, start="today", due="+14d")
    await call(client, "save_milestone", name="Sprint 2", project=project)
    base = slug_of(await call(client, "create_ticket", title="Add the column", project=project, milestone="Sprint 1"))
    top = slug_of(
        await call(client, "create_ticket", title="Fill the column", project=project, milestone="Sprint 1", due="+3d")
    )
    await call(client, "link_tickets", slug=base, kind="blocks", other=top)
    assert f"blocked:{base}" in await call(client, "list_tickets", project=project, blocked=True)
    await call(client, "log_time", slug=base, hours=2)
    await call(client, "move_ticket", slug=base, status="done")
    assert "No tickets match" in await call(client, "list_tickets", project=project, blocked=True)
    closed = await call(
        client, "save_milestone", name="Sprint 1", project=project, closed=True, open_tickets="Sprint 2"
    )
    assert "«Sprint 1» closed" in closed and "0 open, 1 done of 1" in closed
    detail = await call(client, "get_ticket", slug=top)
    assert "milestone=«Sprint 2»" in detail and "due=" in detail and f"blocked_by {base} done" in detail


async def test_a_planning_session_over_stdio(server_env: dict[str, str]) -> None:
    async with spawned(server_env) as client:
        await plan_a_sprint(client, "INBOX")


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[AppServer]:
    with serving_app(module_store_location) as app:
        yield app


async def test_a_planning_session_over_http(server: AppServer) -> None:
    async with server.mcp_client(server.create_token("--user", "alice")) as client:
        await call(client, "create_project", name="Planning Over Http", code="POH")
        await plan_a_sprint(client, "POH")


async def test_a_ticket_moved_to_another_project_over_stdio_is_found_by_its_old_slug(
    server_env: dict[str, str],
) -> None:
    async with spawned(server_env) as client:
        await call(client, "create_project", name="Web", code="WEB")
        slug = slug_of(await call(client, "create_ticket", title="Wrong project", project="INBOX"))
        await call(client, "log_time", slug=slug, hours=1)
        moved = await call(client, "update_ticket", slug=slug, project="WEB")
        assert moved.startswith(f"Moved {slug} to WEB-1")
        detail = await call(client, "get_ticket", slug=slug)
    assert detail.startswith("WEB-1: ") and f"moved from {slug}" in detail and "spent=1h" in detail
