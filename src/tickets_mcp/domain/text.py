"""Text as people and models are shown it: without what a reader cannot see, history in one order.

The stored text stays byte for byte as written; these only shape what is shown (server/render.py for
a model, people.py for a page or a terminal).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, cast

from tickets_mcp.domain import Change

# Invisible: soft hyphen, combining grapheme joiner, Arabic letter mark, Hangul fillers, Khmer and
# Mongolian invisible vowels and selectors, zero-width and directional marks, bidirectional embeddings,
# overrides and isolates, word joiner and invisible operators, variation selectors, byte order mark,
# interlinear annotations, invisible musical formatting, tag characters and their variation selectors.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
# The order fields are named in a history line, whatever order the store kept them in (JSONB sorts keys).
FIELD_ORDER = {name: i for i, name in enumerate(("slug", "title", "type", "status", "priority", "assignee", "parent",
                                                 "description", "labels"))}  # fmt: skip
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but tab and line feed, DEL, C1


def displayable(text: str) -> str:
    """`text` without what a reader cannot see nor a terminal must obey (ESC, OSC, carriage return...);
    tabs and line breaks stay."""
    return CONTROLS.sub("", visible(text))


def visible(text: str) -> str:
    """`text` without the characters a reader cannot see."""
    return INVISIBLE.sub("", text)


NAME_MAX = 64


def clean_name(text: str, limit: int = NAME_MAX) -> str:
    """A name of who or what acted (an MCP client, a token, a person) as it is stored and shown: one line
    of visible characters, without control, bidirectional or invisible ones, any run of whitespace (line
    and paragraph separators too) one space, at most `limit` characters, the last an ellipsis when cut.
    A name is data: no newline in it may start a history line of its own."""
    flat = " ".join(word for part in visible(text).split() if (word := CONTROLS.sub("", part)))
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def summary(change: Change, *, actions: Mapping[str, str], value: Callable[[str, Any], str], arrow: str) -> str:
    """What a history entry did, fields in FIELD_ORDER: `status todo→done`. The model's lines and the
    people's pages word it their own way (`actions`, `value`, `arrow`)."""
    if change.action in actions:
        return actions[change.action]
    if change.action not in ("ticket.updated", "ticket.moved", "ticket.moved_project"):
        return change.action
    parts: list[str] = []
    for field, changed in sorted(change.changes.items(), key=lambda item: FIELD_ORDER.get(item[0], len(FIELD_ORDER))):
        if not isinstance(changed, list) or len(cast(list[Any], changed)) != 2:
            parts.append(f"{field} {changed}")
            continue
        old, new = cast(list[Any], changed)
        parts.append(f"{field} {value(field, old)}{arrow}{value(field, new)}")
    return ", ".join(parts) or "changed nothing"
