"""The audit trail's vocabulary: every action a store records, with the payload each one carries.

A mutation and its event commit together; the stores write whatever `Event` these builders return,
so an action's name and what its `changes` hold are decided here, once, for every engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tickets_mcp.domain.enums import Role, TokenKind
from tickets_mcp.domain.models import Project, Ticket, TicketDeletion


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


def ticket_deleted(ticket: Ticket, impact: TicketDeletion, organization_id: str) -> Event:
    changes = {"title": ticket.title, "subtasks": list(impact.subtasks), "comments": impact.comments}
    return Event("ticket.deleted", ticket.slug, organization_id, ticket.project_id, ticket.id, changes)


def comment_added(ticket: Ticket, organization_id: str, comment_id: int) -> Event:
    return Event(
        "comment.added", ticket.slug, organization_id, ticket.project_id, ticket.id, {"comment_id": comment_id}
    )


def webhook_created(organization_id: str, webhook_id: int, host: str, events: str) -> Event:
    """Only the host is recorded: a URL's path or query may hold the receiver's own secret."""
    return Event("webhook.created", f"webhook {webhook_id}", organization_id, changes={"host": host, "events": events})


def webhook_removed(organization_id: str, webhook_id: int) -> Event:
    return Event("webhook.removed", f"webhook {webhook_id}", organization_id)


def webhook_enabled(organization_id: str, webhook_id: int) -> Event:
    return Event("webhook.enabled", f"webhook {webhook_id}", organization_id)


def webhook_disabled(organization_id: str, webhook_id: int, reason: str) -> Event:
    return Event("webhook.disabled", f"webhook {webhook_id}", organization_id, changes={"reason": reason})


def _ticket_changed(action: str, before: Ticket, after: Ticket, organization_id: str) -> Event:
    return Event(action, before.slug, organization_id, before.project_id, before.id, ticket_diff(before, after))


# The Ticket fields a diff leaves out or writes its own way: identity, what is fixed at filing (the reporter),
# bookkeeping a store keeps (the version, times, the board position, who closed it), the description (only
# named) and the labels (by name).
_NOT_DIFFED = frozenset({
    "id", "project_id", "number", "slug", "project_number", "reporter", "position", "version",
    "created_at", "updated_at", "closed_at", "closed_by", "description", "labels",
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
