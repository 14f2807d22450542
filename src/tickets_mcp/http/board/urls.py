"""Where the board's pages are: one place that spells their paths and query strings."""

from __future__ import annotations

from urllib.parse import quote, urlencode

BOARD_PATH = "/board"
STATIC = f"{BOARD_PATH}/static"


def board_url(code: str, milestone: str | None = None) -> str:
    """A project's board (`code` as the viewer names it: WEB or acme:WEB), showing one milestone's tickets or all."""
    return f"{BOARD_PATH}/{quote(code, safe=':')}{_only(milestone)}"


def columns_url(code: str, milestone: str | None = None) -> str:
    """What the board's live region polls: its columns, for the same milestone."""
    return f"{BOARD_PATH}/{quote(code, safe=':')}/columns{_only(milestone)}"


def ticket_url(slug: str) -> str:
    return f"{BOARD_PATH}/tickets/{quote(slug, safe=':')}"


def attachment_url(slug: str, attachment_id: int) -> str:
    """A ticket's file, downloaded through the board (its session, not a token)."""
    return f"{ticket_url(slug)}/attachments/{attachment_id}"


def _only(milestone: str | None) -> str:
    return f"?{urlencode({'milestone': milestone})}" if milestone else ""
