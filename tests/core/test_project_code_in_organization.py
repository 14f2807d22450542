"""A project code two of the caller's organizations use is named `org:CODE` everywhere (issue 15, item 7).

alice belongs to acme, beta and engineering-platform-team, each with a project WEB and a ticket WEB-1.
Naming WEB alone is answered with the form that works (`acme:WEB`), and that form works in every tool,
resource, completion, board path and CLI option that names a project or ticket; lists and the board write
the slugs and codes that would be ambiguous in that form, so each can be pasted back. On a real
`tickets-mcp serve`, both stores.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, cast

import anyio
import httpx2
import pytest

from mcp import Client, StdioServerParameters
from tests.fixtures.http_server import ServerProcess, bearer, running_server, server_env
from tests.fixtures.stores import Location, location_arg
from tests.fixtures.tool_calls import call, call_error

pytestmark = pytest.mark.slow

NATIVE = "/api/v1/native"
ORGANIZATIONS = {"acme": "Website", "beta": "Web Beta", "engineering-platform-team": "Web Platform"}
LONG = "engineering-platform-team"


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[ServerProcess]:
    with running_server(module_store_location, env={"TICKETS_TOOLS": "all"}) as process:
        yield process


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    for slug in ORGANIZATIONS:
        server.cli("org", "add", slug.replace("-", " ").title(), "--owner", "alice")
    secret = server.create_token("--user", "alice")
    with httpx2.Client(base_url=server.url, headers=bearer(secret), timeout=30.0, verify=False) as http:
        for org, name in ORGANIZATIONS.items():
            made = http.post(f"{NATIVE}/projects", json={"name": name, "code": "WEB", "organization": org})
            assert made.status_code == 201, made.text
            filed = http.post(
                f"{NATIVE}/tickets", json={"title": f"First of {org}", "project": "WEB", "organization": org}
            )
            assert filed.status_code == 201 and filed.json()["slug"] == "WEB-1", filed.text
    return secret


def rpc(server: ServerProcess, token: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """One stateless MCP request over HTTP; its JSON-RPC answer."""
    headers = bearer(token) | {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": method,
    }
    if method == "tools/call":
        headers["Mcp-Name"] = params["name"]
    elif method == "resources/read":
        headers["Mcp-Name"] = params["uri"]
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "codes-test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params | {"_meta": meta}}
    with httpx2.Client(timeout=30.0, verify=False) as http:
        response = http.post(server.mcp_url, json=body, headers=headers)
    assert response.status_code == 200, response.text
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:") and '"id"' in line)
    return cast(dict[str, Any], json.loads(text))


def tool(server: ServerProcess, token: str, name: str, **arguments: Any) -> tuple[bool, str]:
    """(is_error, the result's text) of one tools/call."""
    result = rpc(server, token, "tools/call", {"name": name, "arguments": arguments})["result"]
    return bool(result.get("isError")), " ".join(str(part.get("text", "")) for part in result["content"])


def test_a_code_in_several_organizations_is_asked_for_as_org_code_and_that_form_works(
    server: ServerProcess, token: str
) -> None:
    for name, arguments in (
        ("create_ticket", {"title": "Where?", "project": "WEB"}),
        ("get_board", {"project": "WEB"}),
        ("list_tickets", {"project": "web"}),
    ):
        failed, text = tool(server, token, name, **arguments)
        assert failed and "acme:WEB" in text and "beta:WEB" in text and f"{LONG}:WEB" in text, text
        assert "organization=" not in text, text

    failed, text = tool(server, token, "create_ticket", title="Second of beta", project="beta:WEB")
    assert not failed and "WEB-2" in text, text
    failed, text = tool(server, token, "get_board", project="beta:web")
    assert not failed and "Second of beta" in text and "First of acme" not in text, text
    failed, text = tool(server, token, "list_tickets", project="acme:WEB")
    assert not failed and "First of acme" in text and "Second of beta" not in text, text
    failed, text = tool(server, token, "get_board", project="WEB", organization="acme")
    assert not failed and "First of acme" in text, text
    failed, text = tool(server, token, "create_ticket", title="Where?", project="nowhere:WEB")
    assert failed and "nowhere" in text, text

    read = rpc(server, token, "resources/read", {"uri": "tracker://projects/acme:WEB/board"})
    assert "First of acme" in read["result"]["contents"][0]["text"], read


def test_every_slug_argument_takes_an_organization_as_long_as_a_slug_may_be(server: ServerProcess, token: str) -> None:
    parent = f"{LONG}:WEB-1"
    failed, text = tool(server, token, "create_ticket", title="Child", project=f"{LONG}:WEB", parent=parent)
    assert not failed and "WEB-2" in text, text
    failed, text = tool(server, token, "list_tickets", parent=parent)
    assert not failed and "Child" in text, text
    failed, text = tool(server, token, "move_ticket", slug=f"{LONG}:WEB-2", status="backlog", before=parent)
    assert not failed, text
    failed, text = tool(server, token, "update_ticket", slug=f"{LONG}:WEB-2", parent=parent)
    assert not failed, text
    failed, text = tool(server, token, "move_tickets", moves=[{"slug": f"{LONG}:WEB-2", "status": "backlog",
                                                               "after": parent}])  # fmt: skip
    assert not failed, text


@pytest.mark.anyio
async def test_the_stdio_server_takes_org_code_and_long_slugs_too(server: ServerProcess, token: str) -> None:
    env = server_env({"TICKETS_DB": location_arg(server.db)})
    with anyio.fail_after(60):
        async with Client(StdioServerParameters(command=sys.executable, args=["-m", "tickets_mcp"], env=env)) as client:
            assert f"{LONG}:WEB (Web Platform)" in await call_error(
                client, "create_ticket", title="Where", project="WEB"
            )
            filed = await call(
                client,
                "create_ticket",
                title="Keyboard shortcuts ignored in modal",
                project=f"{LONG}:web",
                parent=f"{LONG}:WEB-1",
            )
            assert "WEB-" in filed, filed
            listed = await call(client, "list_tickets", parent=f"{LONG}:WEB-1")
    assert f"{LONG}:WEB-" in listed and "Keyboard shortcuts ignored in modal" in listed, listed


def test_lists_and_completion_name_an_ambiguous_code_with_its_organization(server: ServerProcess, token: str) -> None:
    failed, text = tool(server, token, "list_tickets", query="First")
    assert not failed, text
    for org in ORGANIZATIONS:
        assert re.search(rf"(?m)^\S*\b{org}:WEB-1\b", text), text
    assert not re.search(r"(?m)^\s*WEB-1\b", text), text

    completed = rpc(server, token, "completion/complete", {
        "ref": {"type": "ref/resource", "uri": "tracker://projects/{project}/board"},
        "argument": {"name": "project", "value": ""},
    })["result"]["completion"]["values"]  # fmt: skip
    assert completed == ["INBOX", "acme:WEB", "beta:WEB", f"{LONG}:WEB"], completed


def test_the_board_links_each_project_and_card_so_it_opens(server: ServerProcess, token: str) -> None:
    with httpx2.Client(base_url=server.url, verify=False, timeout=10, headers={"Origin": server.url}) as browser:
        listing = browser.get("/board/")
        assert listing.status_code == 200, listing.text
        links = re.findall(r'href="(/board/[^"/]+)"', listing.text)
        assert {"/board/INBOX", "/board/acme:WEB", "/board/beta:WEB", f"/board/{LONG}:WEB"} <= set(links), links
        for link in links:
            assert browser.get(link).status_code == 200, link
        board = browser.get("/board/acme:WEB")
        assert board.status_code == 200 and "First of acme" in board.text, board.text
        assert browser.get("/board/acme:WEB/columns").status_code == 200
        card = re.search(r'href="(/board/tickets/[^"]+)"', board.text)
        assert card is not None and card.group(1) == "/board/tickets/acme:WEB-1", board.text
        opened = browser.get(card.group(1))
        assert opened.status_code == 200 and "First of acme" in opened.text, opened.text
        assert 'action="/board/tickets/acme:WEB-1/comments"' in opened.text, opened.text
        assert 'href="/board/acme:WEB"' in opened.text, opened.text
        assert browser.get("/board/nowhere:WEB").status_code == 404


def test_the_cli_picks_a_project_by_organization_or_org_code(server: ServerProcess, token: str) -> None:
    for title, args in (
        ("Printer jams on duplex", ("--project", "WEB", "--organization", "acme")),
        ("Logo blurry on retina", ("--project", "acme:WEB")),
    ):
        secret = server.create_token("--user", "alice", "--kind", "project", *args)
        failed, text = tool(server, secret, "create_ticket", title=title)
        assert not failed and "WEB-" in text, text
        failed, text = tool(server, token, "list_tickets", project="acme:WEB", query=title)
        assert title in text, text
    with pytest.raises(AssertionError, match=r"failed \(2\)(.|\n)*acme:WEB"):
        server.create_token("--user", "alice", "--kind", "project", "--project", "WEB")

    env = server_env({"TICKETS_TOKEN": token, "COLUMNS": "100"})
    for project in ("acme:WEB", "beta:WEB"):
        listed = subprocess.run(
            [sys.executable, "-m", "tickets_mcp", "--backend", "native", "--url", server.url, "tickets", "list",
             "--project", project, "--json"],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        titles = [t["title"] for t in json.loads(listed.stdout)["tickets"]]
        assert f"First of {project.split(':')[0]}" in titles, titles
