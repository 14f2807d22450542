"""How Redmine's words become the canonical model's, and back (docs/redmine.md has the table).

Redmine lets each site name its own statuses, trackers and priorities, so they are matched by name,
case-insensitively, against a few common spellings per canonical value, the first spelling preferred:
a default Redmine's New/In Progress/Resolved/Closed/Rejected, Bug/Feature/Support and
Low/Normal/High/Urgent/Immediate all map, as do sites that renamed them to Backlog, To Do, Task…

Reading never fails: a status of another name reads as done when Redmine marks it closed, else as
in_progress (Feedback, say); a tracker of another name as a task; a priority of another name as
medium. Writing only uses a value that reads back as itself: a site with no status named like
`todo` refuses `todo`, naming the columns it has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TypeVar

from tickets_mcp.domain import Priority, Status, TicketType
from tickets_mcp.errors import Unsupported
from tickets_mcp.wire.redmine import IssueStatus, Named

BACKEND = "redmine"
C = TypeVar("C", bound=StrEnum)

STATUS_NAMES: Mapping[Status, tuple[str, ...]] = {
    Status.BACKLOG: ("backlog", "new"),
    Status.TODO: ("to do", "todo", "ready", "open"),
    Status.IN_PROGRESS: ("in progress", "doing", "assigned"),
    Status.IN_REVIEW: ("in review", "review", "resolved", "testing"),
    Status.DONE: ("done", "closed", "fixed"),
    Status.CANCELED: ("canceled", "cancelled", "rejected", "won't fix", "wontfix", "invalid", "duplicate"),
}
TRACKER_NAMES: Mapping[TicketType, tuple[str, ...]] = {
    TicketType.BUG: ("bug", "defect"),
    TicketType.FEATURE: ("feature", "story", "user story"),
    TicketType.TASK: ("task", "support"),
    TicketType.IMPROVEMENT: ("improvement", "enhancement"),
}
PRIORITY_NAMES: Mapping[Priority, tuple[str, ...]] = {
    Priority.LOW: ("low", "lowest"),
    Priority.MEDIUM: ("normal", "medium"),
    Priority.HIGH: ("high",),
    Priority.URGENT: ("urgent", "immediate", "critical", "highest"),
}


def _canonical(name: str, names: Mapping[C, tuple[str, ...]]) -> C | None:
    wanted = " ".join(name.casefold().split())
    return next((value for value, spellings in names.items() if wanted in spellings), None)


def status_of(status: IssueStatus) -> Status:
    found = _canonical(status.name, STATUS_NAMES)
    if found is not None:
        return found
    return Status.DONE if status.is_closed else Status.IN_PROGRESS


def type_of(tracker: Named) -> TicketType:
    return _canonical(tracker.name, TRACKER_NAMES) or TicketType.TASK


def priority_of(priority: Named) -> Priority:
    return _canonical(priority.name, PRIORITY_NAMES) or Priority.MEDIUM


def pick_named(value: C, choices: Sequence[Named], names: Mapping[C, tuple[str, ...]], noun: str, where: str) -> int:
    """The id of the choice Redmine calls like `value`, the most usual spelling first; Unsupported when none."""
    by_name = {" ".join(choice.name.casefold().split()): choice.id for choice in choices}
    for spelling in names[value]:
        if spelling in by_name:
            return by_name[spelling]
    kept = [v.value for v in names if any(_canonical(choice.name, names) == v for choice in choices)]
    raise Unsupported(
        f"The {BACKEND} backend has no {noun} for {value.value} {where}: Redmine has "
        f"{', '.join(choice.name for choice in choices) or 'none'}.",
        hint=f"Use one of: {', '.join(kept)}." if kept else "Ask a Redmine administrator to add one.",
    )
