"""REST at the edges of HTTP: who is asked first, what a 405 allows, how errors before a route are shaped, and
hints in the words of the caller's API rather than MCP's."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest

from tests.fixtures.http_server import Served, bearer, running_server
from tests.fixtures.rest_world import Rest, challenge_of_401, json_of
from tests.fixtures.stores import Location
from tickets_mcp.http.settings import DEFAULT_MAX_BODY

pytestmark = pytest.mark.anyio

JSON = {"Content-Type": "application/json"}
JSON_API = "application/vnd.api+json"


@pytest.fixture(scope="module")
def rest_server(module_store_location: Location) -> Iterator[Served]:
    """A real `tickets-mcp serve`: what is refused before the app reads a body is seen on a socket."""
    with running_server(module_store_location) as server:
        yield server


def writes(rest: Rest) -> list[tuple[str, str]]:
    """A route of each dialect that takes a JSON body."""
    return [
        ("POST", f"/api/v1/ext/orgs/{rest.org}/tickets"),
        ("POST", "/api/v1/tickets"),
        ("POST", f"/api/v1/projects/{rest.project}/issues.json"),
        ("POST", f"/api/v2/organizations/{rest.org}/projects"),
        ("PATCH", "/api/v1/projects/x"),
        ("POST", "/api/v1/native/tickets"),
    ]


async def test_a_body_that_is_not_json_is_answered_401_before_400_when_the_token_is_missing_or_unknown(
    rest: Rest,
) -> None:
    for method, path in writes(rest):
        for body in (b"{bad", b'{"title": "a\\u0000"}'):  # not JSON; JSON no database stores
            for headers in ({}, {"X-API-Key": "amk_nope"}, bearer("pk_" + "x" * 43)):
                response = await rest.client.request(method, path, content=body, headers=JSON | headers)
                assert "error_description=" in challenge_of_401(response), (method, path, headers)
        answered = await rest.client.request(method, path, content=b"{bad", headers=JSON | bearer(rest.tokens.alice))
        assert json_of(answered, 400)["message"] == (
            "400 Bad Request: The body is not valid JSON: Expecting property name enclosed in double quotes at "
            "line 1 column 2. Send one JSON document, with Content-Type: application/json."
        )


async def test_a_405_lists_in_allow_every_method_its_path_takes(rest: Rest) -> None:
    headers = bearer(rest.tokens.alice)
    for path, allowed in (
        ("/api/v2/projects/x", {"GET", "PATCH", "DELETE"}),
        (f"/api/v1/ext/orgs/{rest.org}/tickets", {"GET", "POST"}),
        (f"/api/v1/ext/orgs/{rest.org}/tickets/{rest.project}-1", {"GET", "PUT", "DELETE"}),
    ):
        response = await rest.client.request("PUT" if "PUT" not in allowed else "POST", path, headers=headers)
        assert json_of(response, 405)["message"] == "405 Method Not Allowed"
        assert set(response.headers["Allow"].split(", ")) == allowed


def refused_unread(rest: Rest, path: str) -> httpx2.Response:
    """A POST declaring a body past the limit, answered before it is sent: over a socket of its own, as a
    client still writing a body the server refused to read may see the connection reset instead."""
    host, port = urlsplit(rest.server.url).netloc.rsplit(":", 1)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {rest.tokens.alice}\r\nContent-Length: {DEFAULT_MAX_BODY + 1}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.encode())
        answer = b"".join(iter(lambda: sock.recv(65536), b""))  # the server closes after refusing
    status_line, _, rest_of = answer.partition(b"\r\n")
    headers, _, body = rest_of.partition(b"\r\n\r\n")
    fields = [(name, value) for name, _, value in (line.decode().partition(": ") for line in headers.split(b"\r\n"))]
    return httpx2.Response(int(status_line.split()[1]), headers=fields, content=body)


async def test_seed_004_paths_answer_405_413_and_an_unread_bodys_401_with_json_api_errors(rest: Rest) -> None:
    projects = f"/api/v2/organizations/{rest.org}/projects"
    for response, status in (
        (await rest.client.put("/api/v2/projects/x", headers=bearer(rest.tokens.alice)), 405),
        (refused_unread(rest, projects), 413),
        (await rest.client.post(projects, content=b"{bad", headers=JSON), 401),
    ):
        body = json_of(response, status)
        assert response.headers["Content-Type"] == JSON_API
        assert body["errors"] == [
            {"status": str(status), "title": body["errors"][0]["title"], "detail": body["message"]}
        ]
    assert set(json_of(refused_unread(rest, "/api/v1/tickets"), 413)) == {"message"}


async def test_not_found_hints_name_the_dialects_requests_and_the_numbers_it_names_projects_by(rest: Rest) -> None:
    headers = bearer(rest.tokens.alice)
    numbers = {
        p["code"]: p["number"] for p in json_of(await rest.client.get("/api/v1/native/projects", headers=headers), 200)
    }
    mesh = f"/api/v1/ext/orgs/{rest.org}/tickets"
    missing = json_of(await rest.client.get(f"{mesh}/{rest.project}-99", headers=headers), 404)["message"]
    assert missing == (
        f"Ticket {rest.project}-99 not found. Find the slug with GET {mesh}; deleted tickets keep their number."
    )
    inbox, later = f"{numbers[rest.project]} ({rest.project}, Inbox)", f"{numbers[rest.later]} ({rest.later}, Later)"
    for response in (
        await rest.client.get(mesh, params={"repository_id": 99999}, headers=headers),
        await rest.client.post(mesh, json={"title": "x", "repository_id": 99999}, headers=headers),
        await rest.client.get("/api/v1/projects/99999/issues.json", headers=headers),
    ):
        text = json_of(response, 404)["message"]
        assert inbox in text and later in text and "list_" not in text, text
    unknown = json_of(await rest.client.get("/api/v2/projects/999", headers=headers), 404)["message"]
    assert unknown.startswith("Project '999' not found. A project is named by its id (a UUID); list an organization")


async def test_seed_004_list_links_keep_q_and_every_filter(rest: Rest) -> None:
    projects = f"/api/v2/organizations/{rest.org}/projects"
    created = {"data": {"type": "projects", "attributes": {"name": "Inbound"}}}
    json_of(await rest.client.post(projects, json=created, headers=bearer(rest.tokens.alice)), 201)
    query = "q=in&page[size]=1&filter[permissions][create-workspace]&filter[permissions][update]=true"
    page = json_of(
        await rest.client.get(f"{projects}?{query}", headers=bearer(rest.tokens.alice)),
        200,
    )
    assert page["meta"]["pagination"]["total-count"] == 2  # Inbox and Inbound
    for name, number in (("self", 1), ("first", 1), ("next", 2), ("last", 2)):
        link: str = page["links"][name]
        assert dict(parse_qsl(urlsplit(link).query, keep_blank_values=True)) == {
            "page[number]": str(number),
            "page[size]": "1",
            "q": "in",
            "filter[permissions][create-workspace]": "",
            "filter[permissions][update]": "true",
        }, name
        followed = await rest.client.get(link, headers=bearer(rest.tokens.alice))
        assert json_of(followed, 200)["meta"]["pagination"]["total-count"] == 2
