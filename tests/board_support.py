"""What the board's tests share: a running `serve` with a token, and tickets filed through its REST API.

board = Board(server)                     # a real `tickets-mcp serve` (tests/http_server.py)
slug = board.file("Fix the login", status="todo")["slug"]
board.ticket(slug)["status"]               # read back through REST: what was stored
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx2

from tests.http_server import ServerProcess, bearer


class Board:
    def __init__(self, server: ServerProcess, token: str | None = None) -> None:
        self.server = server
        self.url = server.url
        self.token = token or server.create_token("--user", "alice", "--name", "board-tests")
        self.rest = httpx2.Client(base_url=server.url, headers=bearer(self.token), verify=False, timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.rest.close()

    def file(self, title: str, **fields: Any) -> dict[str, Any]:
        """File a ticket in INBOX through REST; returns the native API's ticket."""
        reply = self.rest.post("/api/v1/native/tickets", json={"title": title, "project": "INBOX", **fields})
        assert reply.status_code == 201, reply.text
        return reply.json()

    def ticket(self, slug: str) -> dict[str, Any]:
        reply = self.rest.get(f"/api/v1/native/tickets/{slug}")
        assert reply.status_code == 200, reply.text
        return reply.json()["ticket"]

    def detail(self, slug: str) -> dict[str, Any]:
        reply = self.rest.get(f"/api/v1/native/tickets/{slug}")
        assert reply.status_code == 200, reply.text
        return reply.json()

    def move(self, slug: str, status: str) -> dict[str, Any]:
        reply = self.rest.post(f"/api/v1/native/tickets/{slug}/move", json={"status": status})
        assert reply.status_code == 200, reply.text
        return reply.json()
