"""The board for people: server-rendered pages of projects, Kanban boards and tickets under /board.

Loaded only by `serve` (create_app), never by the stdio server. Pages are built by pages.py with the
escaping builder in html.py; access.py decides who is looking; routes.py wires them to the Tracker.
"""

from __future__ import annotations

from fastapi import FastAPI, Response
from fastapi.responses import RedirectResponse

from tickets_mcp.http.board.access import BoardAccess
from tickets_mcp.http.board.routes import board_router
from tickets_mcp.http.settings import ServeSettings

__all__ = ["install"]


def install(app: FastAPI, settings: ServeSettings) -> None:
    """Serve the board under /board, with / leading to it."""
    app.include_router(board_router(BoardAccess(settings)))

    @app.get("/", include_in_schema=False)
    async def home() -> Response:  # pyright: ignore[reportUnusedFunction]
        return RedirectResponse("/board/", status_code=307)
