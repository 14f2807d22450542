"""How GitLab's REST v4 shapes become the tracker's records, and the tracker's fields become GitLab labels.

Pure functions, no I/O: `remotes.gitlab` does the requests and validates GitLab's answers into the
documents of wire/gitlab.py, which these functions map. The mapping (docs/gitlab.md has the table):

- Board columns, types and priorities are scoped labels: `status::todo`, `status::in_progress`,
  `status::in_review`, `status::canceled`; `type::bug`, `type::feature`, `type::improvement`;
  `priority::low`, `priority::high`, `priority::urgent`. The defaults are written as no label: an open
  issue without a status label is in backlog, a closed one is done (unless `status::canceled`), and an
  issue without a type or priority label is a medium-priority task. `status::backlog`, `type::task` and
  `priority::medium` are read as those values too.
- The issue's state is authoritative: an open issue is never done or canceled, a closed one never in an
  open column. Where labels disagree (two values of one scope), the furthest column, the first type and
  the highest priority win; a change of one of them removes every label of its scope, as GitLab's
  scoped labels do.
- Labels of these scopes with values outside the vocabulary (`status::blocked`) are ordinary labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import product
from typing import Any

from tickets_mcp.domain import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Comment,
    Label,
    Organization,
    Priority,
    Project,
    Role,
    Status,
    Ticket,
    TicketType,
    User,
)
from tickets_mcp.domain.rules import label_color
from tickets_mcp.errors import Invalid
from tickets_mcp.remotes.mapping import assign_codes
from tickets_mcp.wire.gitlab import GitLabIssue, GitLabLabel, GitLabNote, GitLabProject, GitLabUser
from tickets_mcp.wire.values import stored, version_in_ms

STATUS, TYPE, PRIORITY = "status", "type", "priority"
SCOPES = (STATUS, TYPE, PRIORITY)
DEFAULT_STATUS_OPEN = Status.BACKLOG
DEFAULT_TYPE = TicketType.TASK
DEFAULT_PRIORITY = Priority.MEDIUM
WORKFLOW = list(Status)

# GitLab's access levels (doc/api/members.md, "Valid access levels") as the tracker's roles.
ROLE_FLOORS = ((50, Role.OWNER), (40, Role.ADMIN), (30, Role.MEMBER))


# Users and their roles.


def to_user(user: GitLabUser) -> User:
    return User(id=user.id, username=user.username, name=user.name)


def username_of(user: GitLabUser | None) -> str | None:
    return user.username if user is not None else None


def role_of(access_level: int | None) -> Role:
    """Owner 50 → owner, maintainer 40 → admin, developer 30 → member, planner/reporter/guest → reporter."""
    for floor, role in ROLE_FLOORS:
        if access_level is not None and access_level >= floor:
            return role
    return Role.REPORTER


# Labels: the scoped ones carry status, type and priority; the rest are the ticket's labels.


def scope_of(label: str) -> tuple[str, str] | None:
    """('status', 'todo') for 'status::todo' when it names a value of the vocabulary; None otherwise."""
    scope, sep, value = label.partition("::")
    if not sep:
        return None
    scope, value = scope.strip().casefold(), value.strip().casefold()
    vocabulary: dict[str, type[Status] | type[TicketType] | type[Priority]] = {
        STATUS: Status, TYPE: TicketType, PRIORITY: Priority,
    }  # fmt: skip
    known = vocabulary.get(scope)
    if known is None or value not in {member.value for member in known}:
        return None
    return scope, value


def in_scope(label: str, scope: str) -> bool:
    """Whether a label belongs to a scope at all ('status::blocked' is in 'status'), as GitLab reads scopes."""
    head, sep, _ = label.partition("::")
    return bool(sep) and head.strip().casefold() == scope


@dataclass(frozen=True, slots=True)
class Fields:
    status: Status
    type: TicketType
    priority: Priority
    labels: tuple[str, ...]  # the labels that carry none of the above, as GitLab spells them


def read_fields(labels: Iterable[str], closed: bool) -> Fields:
    found: dict[str, set[str]] = {scope: set() for scope in SCOPES}
    plain: list[str] = []
    for label in labels:
        scoped = scope_of(label)
        if scoped is None:
            plain.append(label)
        else:
            found[scoped[0]].add(scoped[1])
    statuses = {Status(value) for value in found[STATUS]}
    if closed:
        status = Status.CANCELED if Status.CANCELED in statuses else Status.DONE
    else:
        status = max((s for s in statuses if s not in CLOSED_STATUSES), key=WORKFLOW.index, default=DEFAULT_STATUS_OPEN)
    types = [t for t in TicketType if t.value in found[TYPE]]
    priorities = [Priority(value) for value in found[PRIORITY]]
    return Fields(
        status=status,
        type=types[0] if types else DEFAULT_TYPE,
        priority=max(priorities, key=lambda p: p.rank, default=DEFAULT_PRIORITY),
        labels=tuple(plain),
    )


def status_label(status: Status) -> str | None:
    """The label that puts an issue in a column (its state does the rest); None for backlog and done."""
    return None if status in (Status.BACKLOG, Status.DONE) else f"{STATUS}::{status.value}"


def type_label(kind: TicketType) -> str | None:
    return None if kind is DEFAULT_TYPE else f"{TYPE}::{kind.value}"


def priority_label(priority: Priority) -> str | None:
    return None if priority is DEFAULT_PRIORITY else f"{PRIORITY}::{priority.value}"


def plain_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """The caller's labels, refused where they would set status, type or priority behind their fields' backs."""
    for label in labels:
        scoped = scope_of(label)
        if scoped is not None:
            raise Invalid(
                "labels",
                f"Label {label!r} sets the ticket's {scoped[0]}.",
                hint=f"Pass {scoped[0]}={scoped[1]} instead of the label.",
            )
    return tuple(labels)


def label_delta(
    current: Sequence[str],
    *,
    status: Status | None = None,
    kind: TicketType | None = None,
    priority: Priority | None = None,
    labels: Sequence[str] | None = None,
) -> tuple[list[str], list[str]]:
    """The labels to add and to remove so an issue carrying `current` gets these fields (None: unchanged).

    Setting a field replaces every label of its scope; `labels` replaces the labels outside the vocabulary.
    """
    setting: dict[str, Status | TicketType | Priority | None] = {STATUS: status, TYPE: kind, PRIORITY: priority}

    def stays(name: str) -> bool:
        scoped = scope_of(name)
        if scoped is not None:
            return setting[scoped[0]] is None
        if any(value is not None and in_scope(name, scope) for scope, value in setting.items()):
            return False  # one label per scope, as GitLab's scoped labels keep it
        return labels is None

    new = [
        status_label(status) if status is not None else None,
        type_label(kind) if kind is not None else None,
        priority_label(priority) if priority is not None else None,
    ]
    desired = _unique([*(name for name in current if stays(name)), *(labels or ()), *(n for n in new if n)])
    had = {name.casefold() for name in current}
    keeps = {name.casefold() for name in desired}
    add = [name for name in desired if name.casefold() not in had]
    return add, [name for name in current if name.casefold() not in keeps]


def _unique(labels: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for label in labels:
        seen.setdefault(label.casefold(), label)
    return list(seen.values())


# Queries: which GitLab filters select a set of statuses, types or priorities, and whether they select it exactly.


@dataclass(frozen=True, slots=True)
class Narrowing:
    """GitLab query parameters for a filter; `exact` when they select precisely what the filter keeps."""

    state: str = "all"
    labels: tuple[str, ...] = ()
    not_labels: tuple[str, ...] = ()
    exact: bool = True

    def merge(self, other: Narrowing) -> Narrowing:
        return Narrowing(
            state=other.state if self.state == "all" else self.state,
            labels=self.labels + other.labels,
            not_labels=self.not_labels + other.not_labels,
            exact=self.exact and other.exact,
        )


def filter_params(narrowing: Narrowing, labels: Sequence[str]) -> dict[str, Any]:
    """GitLab's issue list parameters for a narrowing and the caller's labels (issues must carry them all)."""
    params: dict[str, Any] = {"state": narrowing.state}
    wanted = [*labels, *narrowing.labels]
    if wanted:
        params["labels"] = ",".join(wanted)
    if narrowing.not_labels:
        params["not[labels]"] = ",".join(narrowing.not_labels)
    return params


Term = tuple[int, Narrowing]  # a signed query: its X-Total is added (+1) or taken away (-1)
OPENED, CLOSED = Narrowing(state="opened"), Narrowing(state="closed")


def status_terms(statuses: Iterable[Status]) -> list[Term]:
    """Queries whose counts add up to the issues in these columns: backlog is the open issues less those
    labelled for another open column, done the closed ones not labelled canceled."""
    wanted = set(statuses) or set(Status)
    if wanted == set(Status):
        return [(1, Narrowing())]
    terms: list[Term] = []
    labelled = [s for s in OPEN_STATUSES if s is not DEFAULT_STATUS_OPEN]
    if DEFAULT_STATUS_OPEN in wanted:
        terms.append((1, OPENED))
        terms += [
            (-1, Narrowing(state="opened", labels=(f"{STATUS}::{s.value}",))) for s in labelled if s not in wanted
        ]
    else:
        terms += [(1, Narrowing(state="opened", labels=(f"{STATUS}::{s.value}",))) for s in labelled if s in wanted]
    canceled = f"{STATUS}::{Status.CANCELED.value}"
    closed = wanted & CLOSED_STATUSES
    if closed == set(CLOSED_STATUSES):
        terms.append((1, CLOSED))
    elif closed == {Status.CANCELED}:
        terms.append((1, Narrowing(state="closed", labels=(canceled,))))
    elif closed == {Status.DONE}:
        terms.append((1, Narrowing(state="closed", not_labels=(canceled,))))
    return terms


def value_terms(values: Iterable[Any], everything: Sequence[Any], label_of: Callable[[Any], str | None]) -> list[Term]:
    """Queries for types or priorities: a labelled value is its label; the default is everything less the
    other values' labels."""
    wanted = set(values)
    if not wanted or wanted == set(everything):
        return [(1, Narrowing())]
    labelled = {value: label for value in everything if (label := label_of(value)) is not None}
    if all(value in labelled for value in wanted):
        return [(1, Narrowing(labels=(labelled[value],))) for value in everything if value in wanted]
    return [(1, Narrowing())] + [(-1, Narrowing(labels=(labelled[v],))) for v in everything if v not in wanted]


def narrowing_for(
    statuses: Iterable[Status], types: Iterable[TicketType], priorities: Iterable[Priority]
) -> tuple[Narrowing, list[Term]]:
    """The list query for a filter (exact, or a superset the caller sifts) and the signed queries whose
    counts add up to its matches, assuming one label per scope."""
    statuses = list(statuses)
    dimensions = [
        (status_terms(statuses), Narrowing(state=_loose_state(statuses))),
        (value_terms(types, list(TicketType), type_label), Narrowing()),
        (value_terms(priorities, list(Priority), priority_label), Narrowing()),
    ]
    narrowing = Narrowing()
    for terms, loose in dimensions:
        single = len(terms) == 1 and terms[0][0] == 1
        narrowing = narrowing.merge(terms[0][1] if single else replace(loose, exact=False))
    combined = [
        (a * b * c, x.merge(y).merge(z)) for (a, x), (b, y), (c, z) in product(*(terms for terms, _ in dimensions))
    ]
    return narrowing, combined


def _loose_state(statuses: Sequence[Status]) -> str:
    if statuses and all(s not in CLOSED_STATUSES for s in statuses):
        return "opened"
    if statuses and all(s in CLOSED_STATUSES for s in statuses):
        return "closed"
    return "all"


# Records.


def color_of(label: GitLabLabel) -> str:
    """A label's color without GitLab's '#', e.g. 'd9534f'."""
    color = label.color.lstrip("#").lower()
    return color if re.fullmatch(r"[0-9a-f]{6}", color) else label_color(label.name)


def to_ticket(issue: GitLabIssue, code: str, colors: Mapping[str, str]) -> Ticket:
    """An issue as a ticket; `colors` maps label names (case-folded) to colors. Its estimate and spent time are
    GitLab's time stats in hours (no estimate reads as none: GitLab keeps 0 for both); its blockers are not in
    an issue's document (gitlab_planning reads them from its links)."""
    fields = read_fields(issue.label_names, issue.closed)
    first = issue.assignees[0] if issue.assignees else issue.assignee
    stats = issue.time_stats
    return Ticket(
        id=issue.id,
        project_id=str(issue.project_id),
        number=issue.iid,
        slug=f"{code}-{issue.iid}",
        type=fields.type,
        title=issue.title,
        description=issue.description,
        status=fields.status,
        priority=fields.priority,
        assignee=username_of(first),
        reporter=username_of(issue.author),
        labels=tuple(
            Label(name=name, color=colors.get(name.casefold()) or label_color(name)) for name in fields.labels
        ),
        parent=None,
        position=0,
        version=version_in_ms(issue.updated_at),
        created_at=stored(issue.created_at),
        updated_at=stored(issue.updated_at),
        closed_at=stored(issue.closed_at) if issue.closed and issue.closed_at else None,
        closed_by=username_of(issue.closed_by) if issue.closed else None,
        due_date=issue.due_date.isoformat() if issue.due_date else None,
        estimate=stats.time_estimate / 3600 if stats and stats.time_estimate else None,
        spent=stats.total_time_spent / 3600 if stats else 0,
        milestone=issue.milestone.title if issue.milestone else None,
    )


def to_comment(note: GitLabNote, slug: str) -> Comment:
    return Comment(
        id=note.id,
        ticket_slug=slug,
        author=username_of(note.author),
        body=note.body,
        created_at=stored(note.created_at),
    )


# Projects and the namespaces they live in.


@dataclass(frozen=True, slots=True)
class Namespace:
    """A group, subgroup or personal namespace: an organization."""

    id: int
    name: str
    full_path: str  # e.g. acme/platform, or a username
    kind: str  # "group" or "user"

    @property
    def organization(self) -> Organization:
        return Organization(id=str(self.id), name=self.name or self.full_path, slug=self.full_path)


@dataclass(frozen=True, slots=True)
class Place:
    """A GitLab project as the tracker sees it."""

    project: Project
    path: str  # path_with_namespace, e.g. acme/web
    namespace: Namespace

    @property
    def id(self) -> int:
        return int(self.project.id)


def to_place(record: GitLabProject, code: str) -> Place:
    space = record.namespace
    namespace = Namespace(id=space.id, name=space.name, full_path=space.full_path, kind=space.kind)
    project = Project(
        id=str(record.id),
        organization_id=str(namespace.id),
        name=record.name,
        code=code,
        description=record.description,
        created_at=stored(record.created_at),
    )
    return Place(project=project, path=record.path_with_namespace, namespace=namespace)


def to_places(records: Sequence[GitLabProject]) -> list[Place]:
    """Member projects with their codes, sorted by path."""
    codes = assign_codes({record.id: record.path for record in records})
    places = [to_place(record, codes[record.id]) for record in records]
    return sorted(places, key=lambda place: place.path.casefold())
