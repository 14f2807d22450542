"""Attachments as compact text: their lines in get_ticket, and a file's content as a model reads it.

A file's name is shown like a title (in «»), and a text file's content between the user-text markers: what
people and agents attach is data, never instructions (INSTRUCTIONS in server.py says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from tickets_mcp.domain import Attachment
from tickets_mcp.domain.files import is_text, size_text
from tickets_mcp.mcp.markers import title, user_text

ATTACHMENT_URI: Final = "tracker://tickets/{slug}/attachments/{id}"
TEXT_SHOWN: Final = 50_000  # characters of a text file read_attachment shows; the resource holds it whole


def attachment_uri(attachment: Attachment) -> str:
    return ATTACHMENT_URI.format(slug=attachment.ticket_slug, id=attachment.id)


def attachment_line(attachment: Attachment) -> str:
    """`[3] «trace.log» text/plain 1.2 KiB alice 2026-12-07` (no size where the tracker tells none)."""
    who = attachment.uploader or "unknown"
    size = f" {size_text(attachment.size)}" if attachment.size is not None else ""
    return f"[{attachment.id}] {title(attachment.name)} {attachment.mime}{size} {who} " + attachment.created_at[:10]


def attachment_lines(attachments: Sequence[Attachment]) -> list[str]:
    """get_ticket's attachments, with where to read them; nothing for a ticket that has none."""
    if not attachments:
        return []
    where = ATTACHMENT_URI.format(slug=attachments[0].ticket_slug, id="ID")
    return [f"attachments ({len(attachments)}; read one at {where}):"] + [
        "  " + attachment_line(attachment) for attachment in attachments
    ]


def as_text(content: bytes) -> str:
    """A text file's bytes as text (they were UTF-8 when typed; a byte order mark is dropped)."""
    return content.decode("utf-8-sig", errors="replace")


def file_text(attachment: Attachment, content: bytes, limit: int | None = None) -> str:
    """A text file between the user-text markers, cut at `limit` characters with the cut said, never silent."""
    text = as_text(content)
    if limit is None or len(text) <= limit:
        return user_text(text)
    more = f"\n(the first {limit:,} of {len(text):,} characters; all of it at {attachment_uri(attachment)})"
    return user_text(text[:limit]) + more


def shown_as_text(attachment: Attachment) -> bool:
    return is_text(attachment.mime)
