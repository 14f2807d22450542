"""End to end over the native backend: the SDK client → `tickets-mcp --backend native` over stdio → a
real `tickets-mcp serve` on SQLite, across the whole tool surface. Every tool works: nothing is missing but
planning (links, milestones, dates, estimates, time), which the native REST API does not carry yet."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from mcp import Client, StdioServerParameters
from tests.fixtures.http_server import ServerProcess, running_server
from tests.fixtures.tool_calls import TOOLS, call, call_error, slug_of
from tickets_mcp.cli.main import main
from tickets_mcp.config import RemoteSettings
from tickets_mcp.domain import Capability
from tickets_mcp.errors import Invalid, PermissionDenied
from tickets_mcp.remotes import open_remote

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
PLANNING = {
    Capability.LINKS, Capability.MILESTONES, Capability.DUE_DATES, Capability.ESTIMATES, Capability.TIME_TRACKING,
}  # fmt: skip


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
        assert backend == "backend: native; it cannot " + ", ".join(sorted(PLANNING | {Capability.ATTACHMENTS}))
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
