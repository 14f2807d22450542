"""The boundary around what people and agents wrote: text shown to a model as data, never as instructions.

A title is shown as «title», a description or a comment between <user-text> and </user-text> (INSTRUCTIONS
in server.py tells the model so). Look-alikes of the markers inside the text are defused, so no text can
close its own boundary; characters a reader cannot see are dropped from what is shown (domain/text.py).
"""

from __future__ import annotations

import re

from tickets_mcp.domain.text import visible

OPEN, CLOSE = "<user-text>", "</user-text>"

MARKER_LOOKALIKE = re.compile(r"<(/?\s*user-text)", re.IGNORECASE)
PLAIN_NAME = re.compile(r"[\w.@/+-]+")


def title(text: str) -> str:
    """A title between guillemets, on one line (a remote tracker's may hold line breaks); guillemets
    inside it become single ones, so it cannot end early."""
    if not (text.isascii() and text.isprintable()):  # plain ASCII on one line (most titles) needs nothing
        text = " ".join(visible(text).split()).replace("«", "‹").replace("»", "›")
    return "«" + text + "»"


def user_text(text: str) -> str:
    """A description or a comment between the user-text markers, with look-alikes of them defused."""
    return OPEN + MARKER_LOOKALIKE.sub(r"‹\1", visible(text)) + CLOSE


def label_name(name: str) -> str:
    """A label as written (one line, no commas), with look-alikes of the user-text markers defused."""
    return MARKER_LOOKALIKE.sub(r"‹\1", name) if "<" in name else name
