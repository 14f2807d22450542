"""`serve --tier` (TICKETS_TIER) binds every front end: REST in each dialect and the board refuse what
the tier does not allow, with 403 naming the setting, as MCP hides those tools."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.http_server import bearer
from tests.fixtures.stores import Location


@dataclass(frozen=True)
class Seeded:
    location: Location
    token: str
    project_id: str
    slug: str


@pytest.fixture(scope="module")
def seeded(module_store_location: Location) -> Seeded:
    """A store with one ticket, filed through a server with every tier."""
    with serving_app(module_store_location) as server:
        token = server.create_token("--user", "alice")
        with server.client(headers=bearer(token)) as client:
            filed = client.post("/api/v1/native/tickets", json={"title": "Stays as it is", "project": "INBOX"})
            assert filed.status_code == 201, filed.text
            projects = client.get("/api/v1/native/projects").json()
    (inbox,) = [p for p in projects if p["code"] == "INBOX"]
    return Seeded(module_store_location, token, inbox["id"], filed.json()["slug"])


@pytest.fixture(scope="module")
def read_only(seeded: Seeded) -> Iterator[AppServer]:
    with serving_app(seeded.location, tier="read-only") as server:
        yield server


def rest_writes(seeded: Seeded) -> list[tuple[str, str, dict[str, Any] | None]]:
    """One request for each change every REST dialect offers: (method, path, JSON body)."""
    slug, project = seeded.slug, seeded.project_id
    native = "/api/v1/native"
    mesh = f"/api/v1/ext/orgs/local/tickets/{slug}"
    return [
        ("POST", f"{native}/projects", {"name": "Another"}),
        ("PATCH", f"{native}/projects/INBOX", {"description": "changed"}),
        ("DELETE", f"{native}/projects/INBOX", None),
        ("POST", f"{native}/tickets", {"title": "New", "project": "INBOX"}),
        ("PATCH", f"{native}/tickets/{slug}", {"title": "Changed"}),
        ("POST", f"{native}/tickets/{slug}/move", {"status": "done"}),
        ("POST", f"{native}/tickets/{slug}/comments", {"body": "hi"}),
        ("DELETE", f"{native}/tickets/{slug}", None),
        ("POST", f"/api/v1/projects/{project}/issues.json", {"issue": {"title": "New", "body": ""}}),
        ("PUT", f"/api/v1/projects/{project}/issues/1.json", {"issue": {"title": "Changed"}}),
        ("POST", "/api/v1/ext/orgs/local/tickets", {"title": "New"}),
        ("PUT", mesh, {"title": "Changed"}),
        ("PATCH", f"{mesh}/status", {"status": "done"}),
        ("DELETE", mesh, None),
        ("POST", "/api/v1/tickets", {"title": "New", "project_id": "INBOX"}),
        (
            "POST",
            "/api/v1/organizations/local/projects",
            {"data": {"type": "projects", "attributes": {"name": "another"}}},
        ),
        ("PATCH", f"/api/v1/projects/{project}", {"data": {"type": "projects", "attributes": {"description": "x"}}}),
        ("DELETE", f"/api/v1/projects/{project}", None),
    ]


def test_a_read_only_server_refuses_every_rest_write_with_403_naming_the_setting(
    seeded: Seeded, read_only: AppServer
) -> None:
    with read_only.client(headers=bearer(seeded.token)) as client:
        for method, path, body in rest_writes(seeded):
            response = client.request(method, path, json=body)
            assert response.status_code == 403, (method, path, response.text)
            assert "tier read-only" in response.text and "TICKETS_TIER" in response.text, (method, path)
        ticket = client.get(f"/api/v1/native/tickets/{seeded.slug}")
        projects = client.get("/api/v1/native/projects").json()
    assert ticket.status_code == 200
    detail = ticket.json()
    assert (detail["ticket"]["title"], detail["ticket"]["status"], detail["comments"]) == (
        "Stays as it is",
        "backlog",
        [],
    )
    assert [p["code"] for p in projects] == ["INBOX"]


def test_a_read_only_server_refuses_the_boards_writes_and_still_shows_it(seeded: Seeded, read_only: AppServer) -> None:
    origin = {"Origin": read_only.url}
    form = {**origin, "Content-Type": "application/x-www-form-urlencoded"}
    with read_only.client() as browser:  # local: no login
        assert browser.get("/board/INBOX").status_code == 200
        board = f"/board/tickets/{seeded.slug}"
        page = browser.get(board)
        moved = browser.post(f"{board}/move", json={"status": "done"}, headers=origin)
        status = browser.post(f"{board}/status", content=b"status=done", headers=form)
        comment = browser.post(f"{board}/comments", content=b"body=hi", headers=form)
    assert page.status_code == 200 and f"{board}/comments" not in page.text and f"{board}/status" not in page.text
    for refused in (moved, status, comment):
        assert refused.status_code == 403 and "tier read-only" in refused.text, refused.text


def test_a_no_delete_server_refuses_rest_deletes_and_allows_other_changes(seeded: Seeded) -> None:
    with (
        serving_app(seeded.location, tier="no-delete") as server,
        server.client(headers=bearer(seeded.token)) as client,
    ):
        deletes = [(m, p) for m, p, _ in rest_writes(seeded) if m == "DELETE"]
        for method, path in deletes:
            response = client.request(method, path)
            assert response.status_code == 403, (method, path, response.text)
            assert "tier no-delete" in response.text and "delete" in response.text
        filed = client.post("/api/v1/native/tickets", json={"title": "Allowed", "project": "INBOX"})
        assert filed.status_code == 201, filed.text
        assert client.get(f"/api/v1/native/tickets/{seeded.slug}").status_code == 200


def test_an_unknown_tier_header_over_mcp_is_a_400_naming_the_tiers_at_the_first_request(seeded: Seeded) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    headers = {**bearer(seeded.token), "X-Tracker-Tier": "godmode", "Accept": "application/json, text/event-stream"}
    with serving_app(seeded.location) as server, server.client(headers=headers) as client:
        refused = client.post("/mcp", json=initialize)
    assert refused.status_code == 400, refused.text
    message = refused.json()["message"]
    assert "'godmode'" in message and "X-Tracker-Tier" in message
    assert all(tier in message for tier in ("read-only", "no-delete", "full"))
