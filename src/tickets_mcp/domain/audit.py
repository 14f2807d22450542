"""The audit trail's vocabulary: every action a store records, with the payload each one carries.

A mutation and its event commit together; the stores write whatever `Event` these builders return,
so an action's name and what its `changes` hold are decided here, once, for every engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tickets_mcp.domain.enums import EstimateUnit, LinkKind, Role, TokenKind
from tickets_mcp.domain.models import Attachment, Milestone, Project, Ticket, TicketDeletion
from tickets_mcp.domain.rules import SLUG


@dataclass(frozen=True, slots=True)
class Event:
    """One audit entry, without who caused it (the store adds its actor) or when (the commit's time)."""

    action: str
    subject: str  # what the entry is about, as people name it: a slug, a project code, a username
    organization_id: str | None
    project_id: str | None = None
    ticket_id: int | None = None
    changes: Mapping[str, Any] = field(default_factory=dict[str, Any])


def organization_created(organization_id: str, subject: str) -> Event:
    return Event("organization.created", subject, organization_id)


def member_added_as_owner(organization_id: str, username: str) -> Event:
    """A local user who belongs nowhere joins the first organization (see Store.ensure_local_workspace)."""
    return Event("member.added", username, organization_id, changes={"role": Role.OWNER.value})


def member_set(organization_id: str, username: str, role: Role) -> Event:
    return Event("member.set", username, organization_id, changes={"role": role.value})


def member_removed(organization_id: str, username: str) -> Event:
    return Event("member.removed", username, organization_id)


def project_created(organization_id: str, project_id: str, code: str, name: str | None) -> Event:
    """`name` None: the local workspace's first project, recorded without one as it always was."""
    return Event("project.created", code, organization_id, project_id, changes={} if name is None else {"name": name})


def project_updated(project: Project, *, name: str | None, description: str | None) -> Event | None:
    """The edit of `project` to `name` and `description` (None: unchanged); None when nothing differs.
    A description edit is only named: its text can be long, and the project shows it."""
    changes: dict[str, Any] = {}
    if name is not None and name != project.name:
        changes["name"] = [project.name, name]
    if description is not None and description != project.description:
        changes["description"] = "edited"
    if not changes:
        return None
    return Event("project.updated", project.code, project.organization_id, project.id, changes=changes)


def project_made_default(project: Project) -> Event:
    return Event("project.made_default", project.code, project.organization_id, project.id)


def project_deleted(project: Project) -> Event:
    return Event("project.deleted", project.code, project.organization_id, project.id, changes={"name": project.name})


def token_created(
    prefix: str, kind: TokenKind, name: str, organization_id: str | None, project_id: str | None
) -> Event:
    return Event("token.created", prefix, organization_id, project_id, changes={"kind": kind.value, "name": name})


def token_revoked(prefix: str, organization_id: str | None, project_id: str | None) -> Event:
    return Event("token.revoked", prefix, organization_id, project_id)


def ticket_created(ticket: Ticket, organization_id: str) -> Event:
    changes = {"title": ticket.title, "status": ticket.status.value}
    return Event("ticket.created", ticket.slug, organization_id, ticket.project_id, ticket.id, changes)


def ticket_updated(before: Ticket, after: Ticket, organization_id: str) -> Event:
    return _ticket_changed("ticket.updated", before, after, organization_id)


def ticket_moved(before: Ticket, after: Ticket, organization_id: str) -> Event:
    return _ticket_changed("ticket.moved", before, after, organization_id)


MOVED_PROJECT = "ticket.moved_project"


def ticket_moved_project(before: Ticket, after: Ticket, organization_id: str) -> tuple[Event, Event]:
    """A ticket moved to another project, recorded in both, each entry under the slug the ticket has (had) in
    its project: the old project's says where it went, without the ticket's id (the ticket's history holds
    the move once), the new project's is the ticket's own entry."""
    changes = {"slug": [before.slug, after.slug], **ticket_diff(before, after)}
    return (
        Event(MOVED_PROJECT, before.slug, organization_id, before.project_id, None, changes),
        Event(MOVED_PROJECT, after.slug, organization_id, after.project_id, before.id, changes),
    )


def ticket_deleted(ticket: Ticket, impact: TicketDeletion, organization_id: str) -> Event:
    changes: dict[str, Any] = {"title": ticket.title, "subtasks": list(impact.subtasks), "comments": impact.comments}
    if impact.links:  # only then, so a deletion without links reads as it always did
        changes["links"] = impact.links
    return Event("ticket.deleted", ticket.slug, organization_id, ticket.project_id, ticket.id, changes)


def comment_added(ticket: Ticket, organization_id: str, comment_id: int) -> Event:
    return Event(
        "comment.added", ticket.slug, organization_id, ticket.project_id, ticket.id, {"comment_id": comment_id}
    )


def link_added(ticket: Ticket, kind: LinkKind, other: str, organization_id: str) -> Event:
    """A link, on the history of one of its two tickets: `kind` as read from `ticket`, `other` the other's slug."""
    return _link_event("link.added", ticket, kind, other, organization_id)


def link_removed(ticket: Ticket, kind: LinkKind, other: str, organization_id: str) -> Event:
    return _link_event("link.removed", ticket, kind, other, organization_id)


def _link_event(action: str, ticket: Ticket, kind: LinkKind, other: str, organization_id: str) -> Event:
    changes = {"kind": kind.value, "ticket": other}
    return Event(action, ticket.slug, organization_id, ticket.project_id, ticket.id, changes)


def time_logged(ticket: Ticket, organization_id: str, entry_id: int, hours: float, spent_on: str) -> Event:
    changes = {"entry_id": entry_id, "hours": hours, "spent_on": spent_on}
    return Event("time.logged", ticket.slug, organization_id, ticket.project_id, ticket.id, changes)


def estimate_unit_set(project: Project, unit: EstimateUnit) -> Event:
    changes = {"estimate_unit": [project.estimate_unit.value, unit.value]}
    return Event("project.updated", project.code, project.organization_id, project.id, changes=changes)


_MILESTONE_FIELDS = ("name", "start_date", "due_date", "closed")  # what milestone.updated diffs


def milestone_created(project: Project, milestone: Milestone) -> Event:
    """On the project's trail, its subject the project's code (as every project entry), the milestone by name;
    the dates it was given, and `closed` if it was made closed."""
    changes: dict[str, Any] = {"milestone": milestone.name}
    for name in _MILESTONE_FIELDS[1:]:
        if getattr(milestone, name):
            changes[name] = getattr(milestone, name)
    return Event("milestone.created", project.code, project.organization_id, project.id, changes=changes)


def milestone_updated(
    project: Project, before: Milestone, after: Milestone, open_tickets: str | None = None
) -> Event | None:
    """The changed fields as `[old, new]`, and what became of its open tickets when closing it moved any
    (`open_tickets`); None when nothing differs."""
    changes: dict[str, Any] = {"milestone": after.name}
    for name in _MILESTONE_FIELDS:
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            changes[name] = [old, new]
    if len(changes) == 1:
        return None
    if open_tickets is not None:
        changes["open_tickets"] = open_tickets
    return Event("milestone.updated", project.code, project.organization_id, project.id, changes=changes)


def attachment_added(ticket: Ticket, organization_id: str, attachment: Attachment) -> Event:
    return _attachment_event("attachment.added", ticket, organization_id, attachment)


def attachment_deleted(ticket: Ticket, organization_id: str, attachment: Attachment) -> Event:
    return _attachment_event("attachment.deleted", ticket, organization_id, attachment)


def _attachment_event(action: str, ticket: Ticket, organization_id: str, attachment: Attachment) -> Event:
    changes = {"attachment_id": attachment.id, "name": attachment.name, "size": attachment.size}
    return Event(action, ticket.slug, organization_id, ticket.project_id, ticket.id, changes)


def _ticket_changed(action: str, before: Ticket, after: Ticket, organization_id: str) -> Event:
    return Event(action, before.slug, organization_id, before.project_id, before.id, ticket_diff(before, after))


# The Ticket fields a diff leaves out or writes its own way: identity, what is fixed at filing (the reporter),
# bookkeeping a store keeps (the version, times, the board position, who closed it, the time spent: each entry
# has its own time.logged), what other tickets decide (its open blockers), the description (only named) and
# the labels (by name).
_NOT_DIFFED = frozenset({
    "id", "project_id", "number", "slug", "project_number", "reporter", "position", "version",
    "created_at", "updated_at", "closed_at", "closed_by", "spent", "blocked_by", "description", "labels",
})  # fmt: skip
# Every other field is shown as `[old, new]` when it changes, so a new one is audited without an edit here.
_DIFFED = tuple(name for name in Ticket.model_fields if name not in _NOT_DIFFED)


def ticket_diff(before: Ticket, after: Ticket) -> dict[str, Any]:
    """The changed fields as `[old, new]`; a description edit is only named."""
    changes: dict[str, Any] = {}
    for name in _DIFFED:
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            changes[name] = [old, new]
    if before.description != after.description:
        changes["description"] = "edited"
    old_labels = _names(before)
    new_labels = _names(after)
    if old_labels != new_labels:
        changes["labels"] = [old_labels, new_labels]
    return changes


def _names(ticket: Ticket) -> list[str]:
    return [label.name for label in ticket.labels]


# What a change did to what can be read: resource subscriptions (core/changes.py) hear of it from the trail.


@dataclass(frozen=True, slots=True)
class Recorded:
    """An entry of the trail as a watcher reads it back: its id, action and what it is about; for a deleted
    ticket, the sub-tasks deleted with it."""

    id: int
    action: str
    project_id: str | None
    ticket_id: int | None
    subject: str
    subtasks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Touched:
    """What one committed change did to a project as it is read: its tickets (by number) whose own page
    changed, whether its board changed; its activity changed in any case."""

    project_id: str
    tickets: tuple[int, ...] = ()
    board: bool = False


def touched(entry: Recorded) -> Touched | None:
    """What `entry` changed, or None when it is about no project (an organization, a member, a personal token).

    An entry with a ticket id is about that ticket (its subject is the slug, whatever the action, so a new
    kind of ticket event is heard without an edit here) and shows on the board; so does an edit of the
    project itself. Anything else of a project (a project token made or revoked) shows in its activity only.
    """
    if entry.project_id is None:
        return None
    if entry.ticket_id is None and entry.action == MOVED_PROJECT:  # its old project's entry: it left the board
        return Touched(entry.project_id, _numbers((entry.subject,)), board=True)
    if entry.ticket_id is None:
        return Touched(entry.project_id, board=entry.action.startswith("project."))
    return Touched(entry.project_id, _numbers((entry.subject, *entry.subtasks)), board=True)


def _numbers(slugs: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(int(found.group(2)) for slug in slugs if (found := SLUG.fullmatch(slug)))
