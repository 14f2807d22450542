"""The scripts docs/clients/ shows, run as written against a real `tickets-mcp serve`.

A reader copies them with only TICKETS_URL and TICKETS_TOKEN set, so each runs here the same way: its
page's first Python block, in a fresh interpreter, with those two variables and nothing else of ours.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.http_server import ServerProcess, bearer, running_server

PAGES = Path(__file__).resolve().parents[2] / "docs" / "clients"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("client-pages") / "tracker.db") as process:
        yield process


def first_python_block(page: str) -> str:
    found = re.search(r"```python\n(.*?)```", (PAGES / page).read_text(encoding="utf-8"), re.DOTALL)
    assert found is not None, f"docs/clients/{page} shows no Python"
    return found.group(1)


def run_as_reader(page: str, server: ServerProcess, token: str) -> str:
    """The page's script as a reader runs it; fails with its stderr unless it exits 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS_")}
    env.update({"TICKETS_URL": server.url, "TICKETS_TOKEN": token})
    done = subprocess.run(
        [sys.executable, "-c", first_python_block(page)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_sdk_page_script_lists_the_tools_and_reads_the_workspace_with_a_bearer_token(
    server: ServerProcess,
) -> None:
    out = run_as_reader("python-sdk.md", server, server.create_token("--user", "alice"))
    assert "2026-07-28" in out  # the SDK's Client took the stateless protocol the server offers
    assert "get_workspace_context" in out
    assert "INBOX" in out


def test_the_scripts_page_files_a_ticket_over_rest_and_comments_on_it(server: ServerProcess) -> None:
    token = server.create_token("--user", "alice")
    slug = run_as_reader("scripts.md", server, token).strip()
    assert re.fullmatch(r"INBOX-\d+", slug), slug
    with server.client(headers=bearer(token)) as http:
        ticket = http.get(f"/api/v1/native/tickets/{slug}")
    assert ticket.status_code == 200, ticket.text
    detail = ticket.json()
    assert (detail["ticket"]["type"], detail["ticket"]["reporter"]) == ("bug", "alice")
    assert [comment["author"] for comment in detail["comments"]] == ["alice"]
