"""Words for people, shared by the board page and the terminal commands: column names, times, history.

The MCP side writes for a model (server/render.py: compact, marked-up text); this writes for a person
reading a page or a terminal. Neither escapes: the board escapes as it builds HTML (http/board/html.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from tracker_mcp.domain import Change, Label, Status

STATUS_NAMES = {
    Status.BACKLOG: "Backlog",
    Status.TODO: "To do",
    Status.IN_PROGRESS: "In progress",
    Status.IN_REVIEW: "In review",
    Status.DONE: "Done",
    Status.CANCELED: "Canceled",
}
FIELD_ORDER = ("title", "type", "status", "priority", "assignee", "parent", "description", "labels")
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


def label_names(labels: Sequence[Label]) -> str:
    return ", ".join(label.name for label in labels)


def one_line(text: str, limit: int = 80) -> str:
    """Text on one line, cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: max(limit - 1, 0)] + "…"


def actor(change: Change) -> str:
    """Who made a change, and through what: `alice via token laptop (claude-code)`."""
    who = change.actor or "someone"
    if change.token:
        who += f" via token {change.token}"
    if change.client:
        who += f" ({change.client})"
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
    """What a history entry did: `status To do → In progress, assignee none → bob`."""
    if change.action in ACTIONS:
        return ACTIONS[change.action]
    if change.action not in ("ticket.updated", "ticket.moved"):
        return change.action
    order = {name: i for i, name in enumerate(FIELD_ORDER)}
    parts: list[str] = []
    for field, value in sorted(change.changes.items(), key=lambda item: order.get(item[0], len(order))):
        if isinstance(value, list) and len(cast(list[Any], value)) == 2:
            old, new = cast(list[Any], value)
            parts.append(f"{field} {_value(field, old)} → {_value(field, new)}")
        else:
            parts.append(f"{field} {value}")
    return ", ".join(parts) or "changed nothing"
