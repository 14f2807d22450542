"""How Linear's objects become the tracker's records, and the tracker's fields and filters become Linear's.

Pure functions, no I/O: remotes/linear.py sends the requests and validates the answers into wire/linear.py's
documents, which these map. docs/linear.md has the table:

- Statuses are workflow states by their `type`: triage and backlog → backlog, unstarted → todo,
  started → in_progress (in_review when the state's name says review), completed → done, canceled and
  duplicate → canceled. Writing a status picks the team's state of that type with the lowest position
  (never a triage state, never a review state for in_progress); a team without one refuses it.
- Priorities are Linear's numbers: 1 urgent, 2 high, 3 medium, 4 low; 0 (no priority) reads as medium,
  the tracker's default, and a medium filter also selects it.
- Types are Linear's default workspace labels Bug, Feature and Improvement (a task carries none of them;
  where an issue carries two, the first of bug, feature, improvement wins). They are not among a
  ticket's labels, and a label of those names cannot be set as a plain label.
- People are named by displayName (unique in a Linear workspace), also found by their full name.
- Ids: Linear's are UUIDs; the tracker's integer ids are the UUID's first 48 bits. A ticket's slug is the
  issue's identifier (ENG-123), its number the issue's number, its version `updatedAt` in milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from tickets_mcp.core.tracker import ANYONE, ME, UNASSIGNED
from tickets_mcp.domain import CLOSED_STATUSES, Comment, Label, Priority, Role, Status, Ticket, TicketType, User
from tickets_mcp.domain.rules import label_color
from tickets_mcp.errors import Invalid, Unsupported
from tickets_mcp.wire.linear import LinearComment, LinearIssue, LinearLabel, LinearMember, LinearState, LinearUser
from tickets_mcp.wire.values import stored, utc

BACKEND = "linear"
SLUG = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[1-9][0-9]{0,8}")
REVIEW = re.compile(r"review", re.IGNORECASE)

# Linear's state types (WorkflowState.type) for each column; in_progress and in_review share "started".
STATE_TYPES: dict[Status, tuple[str, ...]] = {
    Status.BACKLOG: ("backlog", "triage"),
    Status.TODO: ("unstarted",),
    Status.IN_PROGRESS: ("started",),
    Status.IN_REVIEW: ("started",),
    Status.DONE: ("completed",),
    Status.CANCELED: ("canceled", "duplicate"),
}
PRIORITIES = {Priority.URGENT: 1, Priority.HIGH: 2, Priority.MEDIUM: 3, Priority.LOW: 4}
NO_PRIORITY = 0
READ_PRIORITY = {number: priority for priority, number in PRIORITIES.items()} | {NO_PRIORITY: Priority.MEDIUM}
TYPE_LABELS = {TicketType.BUG: "Bug", TicketType.FEATURE: "Feature", TicketType.IMPROVEMENT: "Improvement"}


# Ids, times, people.


def number_of(uuid: str) -> int:
    """An integer id for a Linear UUID: its first 48 bits (0 for an id that is no UUID)."""
    digits = uuid.replace("-", "")[:12]
    return int(digits, 16) if re.fullmatch(r"[0-9a-fA-F]{12}", digits) else 0


def millis(moment: datetime) -> int:
    delta = utc(moment) - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def to_user(user: LinearUser) -> User:
    return User(id=number_of(user.id), username=user.displayName or user.name, name=user.name)


def username_of(user: LinearUser | None) -> str | None:
    return (user.displayName or user.name) if user is not None else None


def role_of(member: LinearMember) -> Role:
    if member.owner:
        return Role.OWNER
    if member.admin:
        return Role.ADMIN
    return Role.REPORTER if member.guest else Role.MEMBER


def people_filter(who: str, me: str) -> dict[str, Any]:
    """A NullableUserFilter for an assignee or creator as the tracker names them."""
    name = who.strip()
    if name.casefold() == UNASSIGNED:
        return {"null": True}
    if name == ANYONE:
        return {"null": False}
    return named(me if name.casefold() == ME else name)


def named(name: str) -> dict[str, Any]:
    """A UserFilter for a person by displayName or full name, in any case."""
    return {"or": [{"displayName": {"eqIgnoreCase": name}}, {"name": {"eqIgnoreCase": name}}]}


# Statuses.


def status_of(state: LinearState) -> Status:
    for status, types in STATE_TYPES.items():
        if state.type in types and (state.type != "started" or (status is Status.IN_REVIEW) == in_review(state)):
            return status
    return Status.BACKLOG  # a state type Linear may add later reads as not started


def in_review(state: LinearState) -> bool:
    return bool(REVIEW.search(state.name))


def state_for(status: Status, states: Sequence[LinearState], team: str) -> LinearState:
    """The team's state a ticket moved to `status` goes to: of that type, lowest position, never triage."""
    fitting = [s for s in states if s.type != "triage" and status_of(s) is status]
    if not fitting:
        raise Unsupported(
            f"The {BACKEND} backend cannot put a ticket of team {team} in {status.value}: "
            f"the team has no workflow state of that kind.",
            hint="Add the state to the team's workflow in Linear, or pick another status.",
        )
    return min(fitting, key=lambda s: (s.position, s.name))


def state_ids(statuses: Iterable[Status], states: Iterable[LinearState]) -> list[str]:
    wanted = set(statuses)
    return [state.id for state in states if status_of(state) in wanted]


# Priorities and types.


def priority_filter(priorities: Iterable[Priority]) -> list[int]:
    numbers = {PRIORITIES[p] for p in priorities}
    if PRIORITIES[Priority.MEDIUM] in numbers:
        numbers.add(NO_PRIORITY)
    return sorted(numbers)


def type_of(labels: Iterable[str]) -> TicketType:
    names = {name.casefold() for name in labels}
    return next((kind for kind, name in TYPE_LABELS.items() if name.casefold() in names), TicketType.TASK)


def is_type_label(name: str) -> bool:
    return name.casefold() in {label.casefold() for label in TYPE_LABELS.values()}


def plain_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """The caller's labels, refused where one would set the type behind the type field's back."""
    for label in labels:
        if is_type_label(label):
            raise Invalid(
                "labels",
                f"Label {label!r} sets the ticket's type in {BACKEND}.",
                hint=f"Pass type={type_of([label]).value} instead of the label.",
            )
    return tuple(labels)


def type_filter(kinds: Iterable[TicketType]) -> dict[str, Any]:
    """An IssueFilter for types read as type_of reads them: a type's label and none before it in order."""

    def lacks(name: str) -> dict[str, Any]:
        return {"labels": {"every": {"name": {"neqIgnoreCase": name}}}}

    order = list(TYPE_LABELS)
    terms: list[dict[str, Any]] = []
    for kind in dict.fromkeys(kinds):
        earlier = order[: order.index(kind)] if kind in TYPE_LABELS else order
        parts = [lacks(TYPE_LABELS[k]) for k in earlier]
        if kind in TYPE_LABELS:
            parts.append({"labels": {"some": {"name": {"eqIgnoreCase": TYPE_LABELS[kind]}}}})
        terms.append({"and": parts})
    return terms[0] if len(terms) == 1 else {"or": terms}


def label_filter(labels: Iterable[str]) -> list[dict[str, Any]]:
    """IssueFilters an issue meets when it carries every label (by name, case-insensitively)."""
    return [{"labels": {"some": {"name": {"eqIgnoreCase": label}}}} for label in labels]


def text_filter(text: str) -> dict[str, Any]:
    return {"or": [{"title": {"containsIgnoreCase": text}}, {"description": {"containsIgnoreCase": text}}]}


# Records.


def color_of(label: LinearLabel) -> str:
    color = label.color.lstrip("#").lower()
    return color if re.fullmatch(r"[0-9a-f]{6}", color) else label_color(label.name)


def to_ticket(issue: LinearIssue) -> Ticket:
    status = status_of(issue.state)
    names = [label.name for label in issue.labels.nodes]
    closed = issue.completedAt if status is Status.DONE else issue.canceledAt if status in CLOSED_STATUSES else None
    return Ticket(
        id=number_of(issue.id),
        project_id=issue.team.id,
        number=int(issue.number),
        slug=issue.identifier,
        type=type_of(names),
        title=issue.title,
        description=issue.description or "",
        status=status,
        priority=READ_PRIORITY.get(int(issue.priority), Priority.MEDIUM),
        assignee=username_of(issue.assignee),
        reporter=username_of(issue.creator),
        labels=tuple(
            Label(name=label.name, color=color_of(label))
            for label in sorted(issue.labels.nodes, key=lambda label: label.name.casefold())
            if not is_type_label(label.name)
        ),
        parent=issue.parent.identifier if issue.parent is not None else None,
        position=0,
        version=millis(issue.updatedAt),
        created_at=stored(issue.createdAt),
        updated_at=stored(issue.updatedAt),
        closed_at=stored(closed) if closed is not None else None,
        closed_by=None,  # Linear does not say who closed an issue
        due_date=issue.dueDate,
        estimate=issue.estimate,
        milestone=(issue.cycle.name or f"Cycle {int(issue.cycle.number)}") if issue.cycle is not None else None,
        blocked_by=blockers(issue),
    )


def blockers(issue: LinearIssue) -> tuple[str, ...]:
    """The open issues among the first inverse relations of type blocks: who holds this one up, by slug."""
    found = {
        r.issue.identifier
        for r in issue.inverseRelations.nodes
        if r.type == "blocks" and r.issue.completedAt is None and r.issue.canceledAt is None and not r.issue.trashed
    }
    return tuple(sorted(found, key=lambda slug: (slug.rpartition("-")[0], int(slug.rpartition("-")[2]))))


def to_comment(comment: LinearComment, slug: str) -> Comment:
    return Comment(
        id=number_of(comment.id),
        ticket_slug=slug,
        author=username_of(comment.user),
        body=comment.body,
        created_at=stored(comment.createdAt),
    )


def checked_slug(slug: str) -> str:
    text = slug.strip()
    if not SLUG.fullmatch(text):
        raise Invalid("slug", f"{slug!r} is not a Linear issue identifier.", hint="Pass it as shown, e.g. ENG-123.")
    return text.upper()
