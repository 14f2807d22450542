"""The dialects' status and priority words, mapped to the canonical model and back.

Each dialect has fewer statuses than the canonical six, so mapping out is many-to-one and mapping in
picks one canonical value per word. Mapping in keeps the ticket's current status when that already
reads as the requested word: closing an ABF issue that is `canceled` leaves it canceled, not done.
The tables are written out in docs/rest.md and tested both ways in tests/http/test_rest_vocabulary.py.
Pure mapping, so the REST dialects (http/rest/) and the remote adapters (remote/) share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from tickets_mcp.domain import Priority, Status

W = TypeVar("W", bound=StrEnum)
C = TypeVar("C", Status, Priority)


class BugToMeStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class BugToMePriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AgentsMeshStatus(StrEnum):
    """The five board statuses of seed 001."""

    BACKLOG = "backlog"
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    DONE = "done"


class AbfStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Vocabulary(Generic[W, C]):
    """One dialect's words for one canonical vocabulary: `outward` maps every canonical value to a word,
    `inward` maps every word to the canonical value it stands for when nothing else is known."""

    def __init__(self, outward: Mapping[C, W], inward: Mapping[W, C]) -> None:
        self._outward = dict(outward)
        self._inward = dict(inward)

    def word(self, value: C) -> W:
        return self._outward[value]

    def canonical(self, word: W, current: C | None = None) -> C:
        if current is not None and self._outward[current] == word:
            return current
        return self._inward[word]

    def meaning(self, word: W) -> tuple[C, ...]:
        """Every canonical value that reads as `word`, for filters."""
        return tuple(value for value, mapped in self._outward.items() if mapped == word)


# Resolved sits before closed as in Redmine's default workflow: fixed, waiting to be verified, still open.
BUGTOME_STATUS: Vocabulary[BugToMeStatus, Status] = Vocabulary(
    outward={
        Status.BACKLOG: BugToMeStatus.OPEN,
        Status.TODO: BugToMeStatus.OPEN,
        Status.IN_PROGRESS: BugToMeStatus.IN_PROGRESS,
        Status.IN_REVIEW: BugToMeStatus.RESOLVED,
        Status.DONE: BugToMeStatus.CLOSED,
        Status.CANCELED: BugToMeStatus.CLOSED,
    },
    inward={
        BugToMeStatus.OPEN: Status.BACKLOG,
        BugToMeStatus.IN_PROGRESS: Status.IN_PROGRESS,
        BugToMeStatus.RESOLVED: Status.IN_REVIEW,
        BugToMeStatus.CLOSED: Status.DONE,
    },
)

BUGTOME_PRIORITY: Vocabulary[BugToMePriority, Priority] = Vocabulary(
    outward={
        Priority.LOW: BugToMePriority.LOW,
        Priority.MEDIUM: BugToMePriority.MEDIUM,
        Priority.HIGH: BugToMePriority.HIGH,
        Priority.URGENT: BugToMePriority.CRITICAL,
    },
    inward={
        BugToMePriority.LOW: Priority.LOW,
        BugToMePriority.MEDIUM: Priority.MEDIUM,
        BugToMePriority.HIGH: Priority.HIGH,
        BugToMePriority.CRITICAL: Priority.URGENT,
    },
)

# Seed 001 has no canceled column; a canceled ticket is finished work, shown as done.
AGENTSMESH_STATUS: Vocabulary[AgentsMeshStatus, Status] = Vocabulary(
    outward={
        Status.BACKLOG: AgentsMeshStatus.BACKLOG,
        Status.TODO: AgentsMeshStatus.TODO,
        Status.IN_PROGRESS: AgentsMeshStatus.IN_PROGRESS,
        Status.IN_REVIEW: AgentsMeshStatus.IN_REVIEW,
        Status.DONE: AgentsMeshStatus.DONE,
        Status.CANCELED: AgentsMeshStatus.DONE,
    },
    inward={
        AgentsMeshStatus.BACKLOG: Status.BACKLOG,
        AgentsMeshStatus.TODO: Status.TODO,
        AgentsMeshStatus.IN_PROGRESS: Status.IN_PROGRESS,
        AgentsMeshStatus.IN_REVIEW: Status.IN_REVIEW,
        AgentsMeshStatus.DONE: Status.DONE,
    },
)

ABF_STATUS: Vocabulary[AbfStatus, Status] = Vocabulary(
    outward={
        Status.BACKLOG: AbfStatus.OPEN,
        Status.TODO: AbfStatus.OPEN,
        Status.IN_PROGRESS: AbfStatus.OPEN,
        Status.IN_REVIEW: AbfStatus.OPEN,
        Status.DONE: AbfStatus.CLOSED,
        Status.CANCELED: AbfStatus.CLOSED,
    },
    inward={AbfStatus.OPEN: Status.BACKLOG, AbfStatus.CLOSED: Status.DONE},
)
