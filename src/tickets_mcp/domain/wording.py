"""Words for people, shared by the board page and the terminal commands: column names, times, history.

The MCP side writes for a model (server/render.py: compact, marked-up text); this writes for a person
reading a page or a terminal. Neither escapes: the board escapes as it builds HTML (http/board/html.py),
and the terminal commands drop control characters (render.displayable) from all they print.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from tickets_mcp.domain import Change, EstimateUnit, Label, LinkKind, Status
from tickets_mcp.domain.text import clean_name, displayable, summary

STATUS_NAMES = {
    Status.BACKLOG: "Backlog",
    Status.TODO: "To do",
    Status.IN_PROGRESS: "In progress",
    Status.IN_REVIEW: "In review",
    Status.DONE: "Done",
    Status.CANCELED: "Canceled",
}
LINK_NAMES = {
    LinkKind.BLOCKS: "Blocks",
    LinkKind.BLOCKED_BY: "Blocked by",
    LinkKind.DUPLICATES: "Duplicates",
    LinkKind.DUPLICATED_BY: "Duplicated by",
    LinkKind.RELATES_TO: "Relates to",
}
UNIT_NAMES = {EstimateUnit.HOURS: ("hour", "hours"), EstimateUnit.POINTS: ("point", "points")}
ACTIONS = {"ticket.created": "created the ticket", "comment.added": "commented", "ticket.deleted": "deleted it"}


def status_name(status: str) -> str:
    """`in_progress` → `In progress`; a word that is no status stays as it is."""
    try:
        return STATUS_NAMES[Status(status)]
    except ValueError:
        return status


def when(timestamp: str) -> str:
    """A stored ISO 8601 timestamp as `2026-11-22 21:03 UTC`."""
    try:
        return datetime.fromisoformat(timestamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return timestamp


def amount(value: float, unit: EstimateUnit = EstimateUnit.HOURS) -> str:
    """An estimate or time spent in words: `1 hour`, `2.5 hours`, `5 points`."""
    one, many = UNIT_NAMES[unit]
    return f"{value:g} {one if value == 1 else many}"


def label_names(labels: Sequence[Label]) -> str:
    return ", ".join(label.name for label in labels)


def one_line(text: str, limit: int | None = 80) -> str:
    """Text on one line, without control or invisible characters, cut to `limit` columns of a terminal
    (a wide CJK character or emoji takes two) with an ellipsis; None: never cut."""
    flat = " ".join(displayable(text).split())
    if limit is None or display_width(flat) <= limit:
        return flat
    room, used, kept = max(limit - 1, 0), 0, list[str]()
    for char in flat:
        used += char_width(char)
        if used > room:
            break
        kept.append(char)
    return "".join(kept) + "…"


def char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal."""
    return len(text) if text.isascii() else sum(map(char_width, text))


def actor(change: Change) -> str:
    """Who made a change, and through what: `alice via token laptop (claude-code)`."""
    who = clean_name(change.actor) if change.actor else "someone"
    if change.token:
        who += f" via token {clean_name(change.token)}"
    if change.client:
        who += f" ({clean_name(change.client)})"
    return who


def _value(field: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "none"
    if field == "status":
        return status_name(str(value))
    if isinstance(value, list):
        return ", ".join(str(item) for item in cast(list[Any], value))
    return one_line(str(value), 60)


def change_summary(change: Change) -> str:
    """What a history entry did: `status To do → In progress, assignee none → bob`, `linked: blocked by WEB-1`."""
    return _planning_summary(change) or summary(change, actions=ACTIONS, value=_value, arrow=" → ")


def _planning_summary(change: Change) -> str | None:
    """A link or time entry in words; None for any other change (or one whose record is not as expected)."""
    changes = change.changes
    if change.action in ("link.added", "link.removed"):
        try:
            kind = LINK_NAMES[LinkKind(str(changes.get("kind")))].lower()
        except ValueError:
            return None
        verb = "linked" if change.action == "link.added" else "unlinked"
        return f"{verb}: {kind} {one_line(str(changes.get('ticket')), 60)}"
    hours = changes.get("hours")
    if change.action == "time.logged" and isinstance(hours, int | float):
        return f"logged {amount(hours)}" + (f" on {changes['spent_on']}" if changes.get("spent_on") else "")
    return None
