"""The closed vocabularies of the canonical model."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Literal


class Status(StrEnum):
    """Board columns, in workflow order."""

    BACKLOG = "backlog"
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    DONE = "done"
    CANCELED = "canceled"


CLOSED_STATUSES = frozenset({Status.DONE, Status.CANCELED})
OPEN_STATUSES = tuple(status for status in Status if status not in CLOSED_STATUSES)
# Names a status filter takes for a group: the workspace context counts `open=`, and models ask for it.
STATUS_GROUPS: dict[str, tuple[Status, ...]] = {
    "open": OPEN_STATUSES,
    "closed": tuple(status for status in Status if status in CLOSED_STATUSES),
}


# A filter's words: the statuses and the groups (a schema lists them, so clients and models can see them).
StatusFilterName = Literal["backlog", "todo", "in_progress", "in_review", "done", "canceled", "open", "closed"]


def statuses_named(names: Iterable[str]) -> list[Status]:
    """The statuses a filter names, `open` and `closed` standing for their groups: each once, in the order
    named. Raises ValueError for a name that is neither a status nor a group."""
    found: dict[Status, None] = {}
    for name in names:
        found.update(dict.fromkeys(STATUS_GROUPS.get(name) or (Status(name),)))
    return list(found)


class Priority(StrEnum):
    """Ticket priorities, lowest first; `rank` is what the store sorts on."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return _PRIORITY_RANK[self]

    @classmethod
    def from_rank(cls, rank: int) -> Priority:
        return _PRIORITY_BY_RANK[rank]


_PRIORITY_RANK = {priority: rank for rank, priority in enumerate(Priority, start=1)}
_PRIORITY_BY_RANK = {rank: priority for priority, rank in _PRIORITY_RANK.items()}


class TicketType(StrEnum):
    BUG = "bug"
    FEATURE = "feature"
    TASK = "task"
    IMPROVEMENT = "improvement"


class Role(StrEnum):
    """Organization roles, most powerful first."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    REPORTER = "reporter"

    def may_act_as(self, other: Role) -> bool:
        """Whether this role has at least the powers of `other`."""
        order = list(Role)
        return order.index(self) <= order.index(other)


class Scope(StrEnum):
    """What an organization key (amk_) may do; write implies read (seed 001)."""

    TICKETS_READ = "tickets:read"
    TICKETS_WRITE = "tickets:write"
    PROJECTS_READ = "projects:read"
    PROJECTS_WRITE = "projects:write"
    # Our own: a hook sends every ticket event of its organization where it points, so no other scope implies it.
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"

    @staticmethod
    def expand(scopes: frozenset[Scope]) -> frozenset[Scope]:
        """The scopes with the reads their writes imply."""
        implied = {
            Scope.TICKETS_WRITE: Scope.TICKETS_READ,
            Scope.PROJECTS_WRITE: Scope.PROJECTS_READ,
            Scope.WEBHOOKS_WRITE: Scope.WEBHOOKS_READ,
        }
        return scopes | {implied[s] for s in scopes if s in implied}


class TokenKind(StrEnum):
    """The kinds of token; the value is the token's visible prefix."""

    PERSONAL = "pk"  # acts as its user
    PROJECT = "proj"  # may only file tickets in one project (seed 000)
    ORGANIZATION = "amk"  # an organization key limited by scopes (seed 001)
    # An OAuth grant: acts as the user who consented, limited by the scopes granted; its secrets are the
    # short-lived access tokens (oat_) and rotating refresh tokens (ort_) it hands its client (http/oauth).
    GRANT = "oat"


class TicketSort(StrEnum):
    """Orders `list_tickets` offers; each is backed by an index."""

    CREATED = "created"
    UPDATED = "updated"
    PRIORITY = "priority"
    RELEVANCE = "relevance"  # best match of the text query first; without one, newest first
    DUE = "due"  # the soonest due date first (ascending), tickets without one last


class LinkKind(StrEnum):
    """How one ticket relates to another, read from the first: A `blocks` B is B `blocked_by` A.

    A store keeps each link once, in its stored direction (`blocks`, `duplicates`, `relates_to`); the
    other two kinds are how the link reads from the other ticket.
    """

    BLOCKS = "blocks"
    BLOCKED_BY = "blocked_by"
    DUPLICATES = "duplicates"
    DUPLICATED_BY = "duplicated_by"
    RELATES_TO = "relates_to"

    @property
    def inverse(self) -> LinkKind:
        return _LINK_INVERSE[self]

    @property
    def stored(self) -> LinkKind:
        """The direction a store keeps: `blocks`, `duplicates` or `relates_to`."""
        return self if self in _STORED_KINDS else self.inverse

    @property
    def reversed(self) -> bool:
        """Whether a store keeps this link from the other ticket to this one (blocked_by, duplicated_by)."""
        return self not in _STORED_KINDS


_LINK_INVERSE = {
    LinkKind.BLOCKS: LinkKind.BLOCKED_BY,
    LinkKind.BLOCKED_BY: LinkKind.BLOCKS,
    LinkKind.DUPLICATES: LinkKind.DUPLICATED_BY,
    LinkKind.DUPLICATED_BY: LinkKind.DUPLICATES,
    LinkKind.RELATES_TO: LinkKind.RELATES_TO,
}
_STORED_KINDS = frozenset({LinkKind.BLOCKS, LinkKind.DUPLICATES, LinkKind.RELATES_TO})


class EstimateUnit(StrEnum):
    """What a project's estimates count: one unit per project."""

    HOURS = "hours"
    POINTS = "points"


class Capability(StrEnum):
    """What a backend can do beyond reading tickets; a remote API may lack some. Values read as "can …"."""

    MANAGE_PROJECTS = "create, rename and delete projects"
    EDIT_TICKETS = "change tickets"
    MOVE_TICKETS = "move tickets between columns"
    ORDER_COLUMNS = "order tickets within a column"
    DELETE_TICKETS = "delete tickets"
    COMMENT = "comment on tickets"
    BOARD = "show a board"
    SUBTASKS = "keep sub-tasks"
    LINKS = "link tickets (blocks, duplicates, relates to)"
    MILESTONES = "keep milestones"
    DUE_DATES = "keep due dates"
    ESTIMATES = "keep estimates"
    TIME_TRACKING = "log time spent"
    ATTACHMENTS = "attach files to tickets"
