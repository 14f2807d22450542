"""How GitHub's REST shapes become the tracker's records, and the tracker's fields become GitHub labels.

Pure functions, no I/O: `remotes.github` does the requests and validates GitHub's answers into the
documents of wire/github.py, which these functions map. The mapping (docs/github.md has the table):

- The issue's state is authoritative. A closed issue is done, or canceled when GitHub's `state_reason`
  is `not_planned` or `duplicate`; closing writes `completed` or `not_planned`.
- An open issue's column is a label `status: todo`, `status: in progress` or `status: in review`; an
  open issue without one is in the backlog. A label is read whatever its case and whether words are
  joined by spaces, `_` or `-` (`Status: In-Progress`), and `status::todo` is read too; we write the
  spelling above. Where an open issue carries two, the furthest column wins; a closed issue's status
  labels are ordinary labels until it is reopened, and closing removes them.
- Types and priorities are labels too (`type: bug`, `type: feature`, `type: improvement`;
  `priority: low`, `priority: high`, `priority: urgent`); task and medium are no label. Without a type
  label, the issue's GitHub issue type (an organization's Bug, Feature, Task...) is read where its name
  is one of ours. Setting a field replaces every label of its scope.
- Labels of these scopes with values outside the vocabulary (`priority: p0`) are ordinary labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tickets_mcp.domain import (
    CLOSED_STATUSES,
    Comment,
    Label,
    Organization,
    Priority,
    Project,
    Role,
    Status,
    Ticket,
    TicketType,
)
from tickets_mcp.domain.rules import label_color
from tickets_mcp.errors import Invalid
from tickets_mcp.remotes.mapping import assign_codes
from tickets_mcp.wire.github import GitHubComment, GitHubIssue, GitHubLabel, GitHubRepository, GitHubUser
from tickets_mcp.wire.values import stored, version_of

BACKEND = "github"
STATUS, TYPE, PRIORITY = "status", "type", "priority"
OPEN_COLUMNS = (Status.BACKLOG, Status.TODO, Status.IN_PROGRESS, Status.IN_REVIEW)
DEFAULT_TYPE, DEFAULT_PRIORITY = TicketType.TASK, Priority.MEDIUM
CANCELED_REASONS = frozenset({"not_planned", "duplicate"})
VOCABULARY: dict[str, set[str]] = {
    STATUS: {s.value for s in OPEN_COLUMNS},
    TYPE: {t.value for t in TicketType},
    PRIORITY: {p.value for p in Priority},
}


# Labels


def scope_of(label: str) -> tuple[str, str] | None:
    """('status', 'in_progress') for 'status: in progress' when it names a value of the vocabulary."""
    scope, sep, value = label.partition(":")
    if not sep:
        return None
    scope = scope.strip().casefold()
    value = re.sub(r"[\s_-]+", "_", value.lstrip(":").strip().casefold())
    return (scope, value) if value in VOCABULARY.get(scope, ()) else None


def in_scope(label: str, scope: str) -> bool:
    """Whether a label belongs to a scope at all ('priority: p0' is in 'priority')."""
    head, sep, _ = label.partition(":")
    return bool(sep) and head.strip().casefold() == scope


def label_of(scope: str, value: str) -> str:
    return f"{scope}: {value.replace('_', ' ')}"


def status_label(status: Status) -> str | None:
    """The label of an open column; None for backlog (no label) and the closed statuses (the state)."""
    return label_of(STATUS, status.value) if status in OPEN_COLUMNS and status is not Status.BACKLOG else None


def type_label(kind: TicketType) -> str | None:
    return None if kind is DEFAULT_TYPE else label_of(TYPE, kind.value)


def priority_label(priority: Priority) -> str | None:
    return None if priority is DEFAULT_PRIORITY else label_of(PRIORITY, priority.value)


def plain_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """The caller's labels, refused where they would set status, type or priority behind their fields' backs."""
    for label in labels:
        if (scoped := scope_of(label)) is not None:
            raise Invalid(
                "labels",
                f"Label {label!r} sets the ticket's {scoped[0]}.",
                hint=f"Pass {scoped[0]}={scoped[1]} instead of the label.",
            )
    return tuple(labels)


@dataclass(frozen=True, slots=True)
class Fields:
    status: Status
    type: TicketType
    priority: Priority
    labels: tuple[str, ...]  # the labels that carry none of the above, as GitHub spells them


def read_fields(issue: GitHubIssue) -> Fields:
    found: dict[str, list[str]] = {STATUS: [], TYPE: [], PRIORITY: []}
    plain: list[str] = []
    for label in issue.label_names:
        scoped = scope_of(label)
        if scoped is None or (issue.closed and scoped[0] == STATUS):
            plain.append(label)
        else:
            found[scoped[0]].append(scoped[1])
    if issue.closed:
        status = Status.CANCELED if issue.state_reason in CANCELED_REASONS else Status.DONE
    else:
        status = max((Status(v) for v in found[STATUS]), key=OPEN_COLUMNS.index, default=Status.BACKLOG)
    types = [t for t in TicketType if t.value in found[TYPE]]
    issue_type = issue.type.name.strip().casefold() if issue.type is not None else ""
    kind = types[0] if types else next((t for t in TicketType if t.value == issue_type), DEFAULT_TYPE)
    priorities = [Priority(v) for v in found[PRIORITY]]
    priority = max(priorities, key=lambda p: p.rank, default=DEFAULT_PRIORITY)
    return Fields(status=status, type=kind, priority=priority, labels=tuple(plain))


def new_labels(status: Status, kind: TicketType, priority: Priority, labels: Sequence[str]) -> list[str]:
    """The labels of a new issue: the caller's, then those of its column, type and priority."""
    scoped = (status_label(status), type_label(kind), priority_label(priority))
    return [*plain_labels(labels), *(label for label in scoped if label)]


def changed_labels(
    issue: GitHubIssue,
    *,
    status: Status | None = None,
    kind: TicketType | None = None,
    priority: Priority | None = None,
    labels: Sequence[str] | None = None,
) -> list[str]:
    """The whole set of labels (a PATCH replaces it) that gives `issue` these fields (None: unchanged).

    Setting a field replaces every label of its scope; `labels` replaces the ordinary ones."""
    setting = {STATUS: status, TYPE: kind, PRIORITY: priority}

    def stays(name: str) -> bool:
        if any(value is not None and in_scope(name, scope) for scope, value in setting.items()):
            return False
        scoped = scope_of(name)
        return scoped is not None if labels is not None else True

    new = [
        status_label(status) if status is not None else None,
        type_label(kind) if kind is not None else None,
        priority_label(priority) if priority is not None else None,
    ]
    kept = [name for name in issue.label_names if stays(name)]
    seen: dict[str, str] = {}
    for name in [*kept, *plain_labels(labels or ()), *(n for n in new if n)]:
        seen.setdefault(name.casefold(), name)
    return list(seen.values())


def state_of(status: Status) -> tuple[str, str | None]:
    """GitHub's state and state_reason for a column."""
    if status is Status.DONE:
        return "closed", "completed"
    if status is Status.CANCELED:
        return "closed", "not_planned"
    return "open", None


# Repositories, their owners and the token's role


ROLES = (("admin", Role.ADMIN), ("maintain", Role.ADMIN), ("push", Role.MEMBER), ("triage", Role.MEMBER))


def role_in(repository: GitHubRepository, me: str) -> Role:
    """Owner of one's own repositories; admin or maintain → admin; push or triage → member; read → reporter."""
    if repository.owner.login.casefold() == me.casefold():
        return Role.OWNER
    permissions = repository.permissions
    for name, role in ROLES:
        if permissions is not None and getattr(permissions, name):
            return role
    return Role.REPORTER


@dataclass(frozen=True, slots=True)
class Place:
    """A repository as the tracker sees it: a project, in the organization of its owner."""

    project: Project
    full_name: str  # owner/name
    owner: Organization
    role: Role

    @property
    def id(self) -> int:
        return int(self.project.id)


def owner_of(user: GitHubUser) -> Organization:
    return Organization(id=str(user.id), name=user.name or user.login, slug=user.login)


def to_places(repositories: Sequence[GitHubRepository], me: str) -> list[Place]:
    """The repositories with issues enabled and not archived, with their codes, sorted by full name."""
    kept = [r for r in repositories if r.has_issues and not r.archived]
    codes = assign_codes({r.id: r.name for r in kept})
    places = [to_place(r, codes[r.id], me) for r in kept]
    return sorted(places, key=lambda place: place.full_name.casefold())


def to_place(repository: GitHubRepository, code: str, me: str) -> Place:
    project = Project(
        id=str(repository.id),
        organization_id=str(repository.owner.id),
        name=repository.name,
        code=code,
        description=repository.description,
        created_at=stored(repository.created_at) if repository.created_at else "",
    )
    return Place(project, repository.full_name, owner_of(repository.owner), role_in(repository, me))


def repository_of(url: str) -> str:
    """'owner/name' from an API URL of a repository or of something in it (…/repos/owner/name/…)."""
    _, _, rest = url.partition("/repos/")
    return "/".join(rest.split("/")[:2])


def issue_reference(url: str) -> tuple[str, int] | None:
    """('owner/name', 7) from an issue's API URL (…/repos/owner/name/issues/7)."""
    match = re.search(r"/repos/([^/]+/[^/]+)/issues/(\d+)$", url)
    return (match.group(1), int(match.group(2))) if match else None


# Records


def color_of(label: str | GitHubLabel) -> str:
    if isinstance(label, GitHubLabel) and re.fullmatch(r"[0-9a-f]{6}", label.color.lower()):
        return label.color.lower()
    return label_color(label if isinstance(label, str) else label.name)


def to_ticket(issue: GitHubIssue, place: Place, parent: str | None) -> Ticket:
    """An issue of `place` as a ticket; `parent` is its parent's slug, if it is a sub-issue."""
    fields = read_fields(issue)
    colors = {(label if isinstance(label, str) else label.name): color_of(label) for label in issue.labels}
    first = issue.assignees[0] if issue.assignees else issue.assignee
    closed = issue.closed and fields.status in CLOSED_STATUSES
    return Ticket(
        id=issue.id,
        project_id=place.project.id,
        number=issue.number,
        slug=f"{place.project.code}-{issue.number}",
        type=fields.type,
        title=issue.title,
        description=issue.body,
        status=fields.status,
        priority=fields.priority,
        assignee=first.login if first else None,
        reporter=issue.user.login if issue.user else None,
        labels=tuple(Label(name=name, color=colors[name]) for name in fields.labels),
        parent=parent,
        position=0,
        version=version_of(issue.updated_at),
        created_at=stored(issue.created_at),
        updated_at=stored(issue.updated_at),
        closed_at=stored(issue.closed_at) if closed and issue.closed_at else None,
        closed_by=issue.closed_by.login if closed and issue.closed_by else None,
        milestone=issue.milestone.title if issue.milestone else None,
    )


def to_comment(comment: GitHubComment, slug: str) -> Comment:
    return Comment(
        id=comment.id,
        ticket_slug=slug,
        author=comment.user.login if comment.user else None,
        body=comment.body,
        created_at=stored(comment.created_at),
    )
