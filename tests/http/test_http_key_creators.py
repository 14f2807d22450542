"""A key acts for its creator: on the `serve` app, an organization key and a project token stop
working (401, saying why) once their creator is no longer an owner or admin of the organization, over REST
and MCP alike, `token list` shows them inactive with the reason, and they work again if the creator is
made an owner or admin again. A personal token is unaffected: its user's role limits it already."""

from __future__ import annotations

import itertools

import httpx2

from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.http_server import bearer
from tests.fixtures.stores import Location

NATIVE = "/api/v1/native"
PROJECTS = itertools.count(1)


def use(server: AppServer, project_token: str, key: str) -> tuple[httpx2.Response, httpx2.Response]:
    """The project token files a ticket in INBOX; the organization key makes a project in local."""
    with server.client() as client:
        filed = client.post(f"{NATIVE}/tickets", json={"title": "from a key", "project": "INBOX"},
                            headers=bearer(project_token))  # fmt: skip
        made = client.post(f"{NATIVE}/projects", json={"name": f"Made {next(PROJECTS)}", "organization": "local"},
                           headers=bearer(key))  # fmt: skip
    return filed, made


def test_keys_stop_working_when_their_creator_is_no_longer_owner_or_admin(store_location: Location) -> None:
    with serving_app(store_location) as server:
        server.cli("user", "add", "bob")
        server.cli("member", "set", "local", "bob", "admin")
        project_token = server.create_token("--user", "bob", "--kind", "project", "--project", "INBOX")
        key = server.create_token("--user", "bob", "--kind", "organization", "--organization", "local",
                                  "--scopes", "tickets:write,projects:write")  # fmt: skip
        personal = server.create_token("--user", "bob")
        assert [r.status_code for r in use(server, project_token, key)] == [201, 201]

        for change in (("member", "set", "local", "bob", "member"), ("member", "remove", "local", "bob")):
            server.cli(*change)
            for refused in (*use(server, project_token, key), mcp_call(server, key), mcp_call(server, project_token)):
                assert refused.status_code == 401, refused.text
                # REST keeps seed 003's exact body and says why in the challenge; /mcp says it in the body too.
                message = str(refused.json()["message"]) + refused.headers["WWW-Authenticate"]
                assert "no longer works" in message and "no longer an owner or admin" in message
                assert key not in refused.text and project_token not in refused.text
            listed = [line for line in server.cli("token", "list").splitlines() if "user=bob" in line]
            assert sum("inactive: its creator is no longer an owner or admin" in line for line in listed) == 2
            assert not any("inactive" in line for line in listed if "\tpersonal\t" in line)
        assert mcp_call(server, personal).status_code != 401  # bob's own token: his (now no) role limits it

        server.cli("member", "set", "local", "bob", "owner")
        assert [r.status_code for r in use(server, project_token, key)] == [201, 201]
        assert "inactive" not in server.cli("token", "list")


def mcp_call(server: AppServer, token: str) -> httpx2.Response:
    headers = bearer(token) | {"Accept": "application/json, text/event-stream"}
    with server.client() as client:
        return client.post(server.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=headers)
