"""What a caller may learn from refusals (issue 15, items 6 and 7), on the `serve` app in process.

A project token may only file tickets in its project: a look-alike refusal tells it that an open ticket
looks the same and which, but not its title, description or assignee; an unknown assignee is not
answered with the members' usernames, and naming another project is refused alike whether it exists or
not, without listing the organization's projects. A full member still gets the look-alike's line and the
closest names. Over REST and MCP, on both stores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest

from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.http_server import bearer
from tests.fixtures.stores import Location

NATIVE = "/api/v1/native"
TITLE = "Payroll export crashes on leap day"
SECRETS = ("Payroll", "salary", "bobby", "carol", "SECRET", "Secret Plans")  # what a project token may not read


class Tokens:
    def __init__(self, owner: str, project: str) -> None:
        self.owner = owner  # alice, owner of local: may read everything there
        self.project = project  # a proj_ token of INBOX: may only file there


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[AppServer]:
    with serving_app(module_store_location, tools="all") as app:
        yield app


@pytest.fixture(scope="module")
def tokens(server: AppServer) -> Tokens:
    for user in ("bobby", "carol"):
        server.cli("user", "add", user)
        server.cli("member", "set", "local", user, "member")
    owner = server.create_token("--user", "alice")
    with server.client(headers=bearer(owner)) as http:
        made = http.post(f"{NATIVE}/projects", json={"name": "Secret Plans", "code": "SECRET"})
        assert made.status_code == 201, made.text
        filed = http.post(
            f"{NATIVE}/tickets",
            json={"title": TITLE, "description": "The salary file of the CFO is cut.", "assignee": "bobby",
                  "project": "INBOX"},
        )  # fmt: skip
        assert filed.status_code == 201, filed.text
    return Tokens(owner, server.create_token("--user", "alice", "--kind", "project", "--project", "INBOX"))


def rest(server: AppServer, token: str, body: dict[str, Any]) -> tuple[int, str]:
    with server.client() as http:
        response = http.post(f"{NATIVE}/tickets", json=body, headers=bearer(token))
    return response.status_code, str(response.json()["message"]) if response.status_code >= 400 else response.text


def tool(server: AppServer, token: str, name: str, arguments: dict[str, Any]) -> tuple[bool, str]:
    """One stateless MCP tools/call; (is_error, the result's text)."""
    headers = bearer(token) | {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": name,
    }
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "disclosure-test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": name, "arguments": arguments, "_meta": meta}}  # fmt: skip
    with server.client() as http:
        response = http.post(server.mcp_url, json=body, headers=headers)
    assert response.status_code == 200, response.text
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:") and '"result"' in line)
    result = cast(dict[str, Any], json.loads(text))["result"]
    return bool(result.get("isError")), " ".join(str(part.get("text", "")) for part in result["content"])


def revealed(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_a_project_token_hears_of_a_look_alike_but_not_what_it_says(server: AppServer, tokens: Tokens) -> None:
    for name, arguments in (
        ("create_ticket", {"title": TITLE}),
        ("create_tickets", {"tickets": [{"title": "Another one entirely"}, {"title": TITLE}]}),
    ):
        failed, text = tool(server, tokens.project, name, arguments)
        assert failed and "Not filed" in text and "INBOX-1" in text, text
        assert revealed(text) == [], text
        assert "comment on" not in text  # it may not comment, so it is not told to
        assert "not_duplicate" in text

    failed, text = tool(server, tokens.owner, "create_ticket", {"title": TITLE, "project": "INBOX"})
    assert failed and TITLE in text and "bobby" in text and "comment on INBOX-1" in text, text


def test_a_project_token_is_not_told_the_members_for_an_unknown_assignee(server: AppServer, tokens: Tokens) -> None:
    status, message = rest(server, tokens.project, {"title": "Assign me", "assignee": "bobbi"})
    assert status == 400 and "bobbi" in message and revealed(message) == [], message
    failed, text = tool(server, tokens.project, "create_ticket", {"title": "Assign me", "assignee": "carl"})
    assert failed and "carl" in text and revealed(text) == [], text

    status, message = rest(server, tokens.owner, {"title": "Assign me", "assignee": "bobbi", "project": "INBOX"})
    assert status == 400 and "bobby" in message, message


def test_a_project_token_is_not_told_the_projects_for_an_unknown_one(server: AppServer, tokens: Tokens) -> None:
    answers = [rest(server, tokens.project, {"title": "Elsewhere", "project": p}) for p in ("SECRTE", "SECRET")]
    assert answers[0][0] == 403 and revealed(answers[0][1]) == [], answers[0][1]
    assert answers[1] == answers[0]  # an existing project and a missing one get the same answer
    failed, text = tool(server, tokens.project, "create_ticket", {"title": "Elsewhere", "project": "Secret Plan"})
    assert failed and revealed(text) == [], text

    status, message = rest(server, tokens.owner, {"title": "Elsewhere", "project": "SECRTE"})
    assert status == 404 and "SECRET" in message, message


def test_project_codes_belong_to_their_organization(store_location: Location) -> None:
    """Organization beta cannot learn that local has a project ACME: it makes its own ACME, and each
    caller's ACME-1 is its own organization's; one who sees both is asked which, and may say so."""
    with serving_app(store_location) as server:
        server.cli("user", "add", "dave")
        server.cli("org", "add", "Beta", "--owner", "dave")
        alice, dave = server.create_token("--user", "alice"), server.create_token("--user", "dave")
        with server.client() as http:
            for token, org, title in ((alice, "local", "Local's rocket"), (dave, "beta", "Beta's anvil")):
                made = http.post(f"{NATIVE}/projects", json={"name": "Acme", "code": "ACME", "organization": org},
                                 headers=bearer(token))  # fmt: skip
                assert made.status_code == 201, made.text
                filed = http.post(f"{NATIVE}/tickets", json={"title": title, "project": "ACME"}, headers=bearer(token))
                assert filed.status_code == 201 and filed.json()["slug"] == "ACME-1", filed.text
            # A derived code does not step around another organization's either (it used to give WA2).
            for token, org in ((alice, "local"), (dave, "beta")):
                derived = http.post(f"{NATIVE}/projects", json={"name": "Web App", "organization": org},
                                    headers=bearer(token))  # fmt: skip
                assert derived.status_code == 201 and derived.json()["code"] == "WA", derived.text
            for token, title in ((alice, "Local's rocket"), (dave, "Beta's anvil")):
                read = http.get(f"{NATIVE}/tickets/ACME-1", headers=bearer(token))
                assert read.status_code == 200 and read.json()["ticket"]["title"] == title, read.text
            # The same code twice in one organization is still refused.
            again = http.post(f"{NATIVE}/projects", json={"name": "Acme Two", "code": "ACME", "organization": "beta"},
                              headers=bearer(dave))  # fmt: skip
            assert again.status_code == 409 and "ACME" in again.json()["message"], again.text

            server.cli("member", "set", "beta", "alice", "member")
            both = http.get(f"{NATIVE}/tickets/ACME-1", headers=bearer(alice))
            assert both.status_code == 400, both.text
            assert "beta:ACME-1" in both.json()["message"] and "local:ACME-1" in both.json()["message"]
            chosen = http.get(f"{NATIVE}/tickets/beta:ACME-1", headers=bearer(alice))
            assert chosen.status_code == 200 and chosen.json()["ticket"]["title"] == "Beta's anvil", chosen.text
        failed, text = tool(server, alice, "get_ticket", {"slug": "local:ACME-1"})
        assert not failed and "Local's rocket" in text, text


def test_agentsmesh_names_only_the_organizations_members_for_an_unknown_assignee(store_location: Location) -> None:
    """Seed 001's assignee_id hint lists the members of the organization in the path, not of every
    organization the caller is in (whose ids it then refuses); a project token is told what to send."""
    with serving_app(store_location) as server:
        server.cli("user", "add", "erin")
        server.cli("org", "add", "Gamma", "--owner", "erin")
        server.cli("member", "set", "gamma", "alice", "member")
        alice = server.create_token("--user", "alice")
        project = server.create_token("--user", "alice", "--kind", "project", "--project", "INBOX")
        with server.client() as http:

            def file(org: str, token: str, assignee_id: int) -> tuple[int, str]:
                response = http.post(f"/api/v1/ext/orgs/{org}/tickets", headers=bearer(token),
                                     json={"title": "Who takes it", "assignee_id": assignee_id})  # fmt: skip
                return response.status_code, str(response.json()["message"])

            status, gamma = file("gamma", alice, 999_999)
            assert status == 400 and "(erin)" in gamma, gamma
            erin = int(gamma.split(" (erin)")[0].rsplit(" ", 1)[-1])
            status, local = file("local", alice, erin)
            assert status == 400 and "erin" not in local and "(alice)" in local, local
            status, hint = file("local", project, erin)
            assert status == 400 and "Known users" not in hint and "member of the organization" in hint, hint


def test_a_project_token_cannot_tell_which_ticket_numbers_exist(server: AppServer, tokens: Tokens) -> None:
    """A parent it may not read is refused before it is looked up: INBOX-1 (filed) and INBOX-999999 (never
    filed) get the same answer, over REST and MCP."""
    answers = [rest(server, tokens.project, {"title": "A sub-task", "parent": p}) for p in ("INBOX-1", "INBOX-999999")]
    assert answers[0][0] == 403 and answers[1] == answers[0], answers
    replies = [
        tool(server, tokens.project, "create_ticket", {"title": "A sub-task", "parent": p})
        for p in ("INBOX-1", "INBOX-999999")
    ]
    assert replies[0][0] and replies[1] == replies[0], replies


def test_a_project_token_filing_anyway_is_not_told_which_open_tickets_are_similar(
    server: AppServer, tokens: Tokens
) -> None:
    arguments = {"title": TITLE + " again", "not_duplicate": True}
    failed, text = tool(server, tokens.project, "create_ticket", arguments)
    assert not failed and "Similar" not in text, text
    blind = text.split()[1]
    failed, text = tool(server, tokens.owner, "create_ticket", arguments | {"project": "INBOX"})
    assert not failed and text.endswith(f"Similar open: {blind}, INBOX-1."), text  # the same words, then most
