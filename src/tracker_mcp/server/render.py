"""Compact text for a model's context window: one line a ticket, no JSON, nothing pretty-printed."""

from __future__ import annotations

from collections.abc import Iterable

from tracker_mcp.domain import (
    Board,
    Comment,
    Organization,
    Priority,
    Project,
    ProjectDeletion,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    TicketType,
    Workspace,
)
from tracker_mcp.domain.rules import plural

TICKET_LEGEND = "slug status priority type @assignee [labels] ^parent: title"
BOARD_LEGEND = "slug priority type @assignee [labels] ^parent: title"


def ticket_line(ticket: Ticket, *, status: bool = True) -> str:
    parts = [ticket.slug, ticket.status.value] if status else [ticket.slug]
    parts += [ticket.priority.value, ticket.type.value]
    if ticket.assignee:
        parts.append("@" + ticket.assignee)
    if ticket.labels:
        parts.append("[" + ",".join(label.name for label in ticket.labels) + "]")
    if ticket.parent:
        parts.append("^" + ticket.parent)
    return " ".join(parts) + ": " + ticket.title


def project_line(project: Project) -> str:
    line = f"{project.code} {project.name!r}"
    if project.tickets_count is not None:
        line += f" open={project.open_tickets_count} total={project.tickets_count}"
    return line


def vocabulary() -> str:
    return "\n".join(
        [
            "statuses: " + ",".join(s.value for s in Status),
            "priorities: " + ",".join(p.value for p in Priority),
            "types: " + ",".join(t.value for t in TicketType),
        ]
    )


def workspace(ws: Workspace) -> str:
    lines = [f"you: {ws.user.username}"]
    for entry in ws.organizations:
        org = entry.organization
        lines.append(f"organization {org.slug} {org.name!r} (your role: {entry.role.value})")
        lines.extend("  project " + project_line(p) for p in entry.projects)
        members = ", ".join(f"{m.user.username}({m.role.value})" for m in entry.members)
        lines.append(f"  members: {members}")
    if ws.backend != "local":
        lines.append(f"backend: {ws.backend}" + (f"; it cannot {', '.join(sorted(ws.missing))}" if ws.missing else ""))
    lines.append(vocabulary())
    return "\n".join(lines)


def organizations(orgs: Iterable[Organization]) -> str:
    lines = [f"{org.slug} {org.name!r} id={org.id}" for org in orgs]
    return "\n".join(lines) if lines else "No organizations."


def projects(items: Iterable[Project]) -> str:
    lines = [project_line(p) for p in items]
    return "\n".join(lines) if lines else "No projects."


def project_saved(verb: str, project: Project) -> str:
    return f"{verb} project {project.code} {project.name!r}."


def ticket_page(page: TicketPage) -> str:
    shown = len(page.tickets)
    if not shown:
        return f"No tickets match (total={page.total})."
    head = f"{shown} of {page.total}{'+' if page.total_capped else ''} tickets"
    head += f"; more with cursor={page.next_cursor}" if page.next_cursor else "; that is all"
    return "\n".join([head, TICKET_LEGEND, *(ticket_line(t) for t in page.tickets)])


def ticket_detail(detail: TicketDetail) -> str:
    t = detail.ticket
    fields = [
        f"status={t.status.value}",
        f"priority={t.priority.value}",
        f"type={t.type.value}",
        f"assignee={t.assignee or 'none'}",
        f"reporter={t.reporter or 'none'}",
    ]
    if t.labels:
        fields.append("labels=" + ",".join(label.name for label in t.labels))
    if t.parent:
        fields.append(f"parent={t.parent}")
    fields.append(f"version={t.version}")
    times = f"created={t.created_at} updated={t.updated_at}"
    if t.closed_at:
        times += f" closed={t.closed_at}" + (f" by {t.closed_by}" if t.closed_by else "")
    lines = [f"{t.slug}: {t.title}", " ".join(fields), times]
    if detail.subtasks:
        lines.append(f"sub-tasks ({len(detail.subtasks)}):")
        lines.extend("  " + ticket_line(sub) for sub in detail.subtasks)
    lines.append("description:" if t.description else "description: (none)")
    if t.description:
        lines.append(t.description)
    if detail.comments:
        lines.append(f"comments ({len(detail.comments)}):")
        lines.extend(comment_line(c) for c in detail.comments)
    return "\n".join(lines)


def comment_line(comment: Comment) -> str:
    return f"[{comment.id}] {comment.author or 'unknown'} {comment.created_at}: {comment.body}"


def ticket_saved(verb: str, ticket: Ticket) -> str:
    return f"{verb} {ticket.slug} ({ticket.status.value}, version {ticket.version})."


def board(b: Board) -> str:
    total = sum(column.total for column in b.columns)
    lines = [f"board {b.project.code} {b.project.name!r}: {plural(total, 'ticket')}", BOARD_LEGEND]
    for column in b.columns:
        shown = len(column.tickets)
        more = f", showing {shown}" if shown < column.total else ""
        lines.append(f"## {column.status.value} ({column.total}{more})")
        lines.extend(ticket_line(t, status=False) for t in column.tickets)
    return "\n".join(lines)


def ticket_deletion_impact(impact: TicketDeletion) -> str:
    parts: list[str] = []
    if impact.subtasks:
        listed = ", ".join(impact.subtasks[:10]) + (", ..." if len(impact.subtasks) > 10 else "")
        parts.append(f"{plural(len(impact.subtasks), 'sub-task')} ({listed})")
    if impact.comments:
        parts.append(plural(impact.comments, "comment"))
    return f"{impact.slug}" + (" with " + " and ".join(parts) if parts else "")


def project_deletion_impact(impact: ProjectDeletion) -> str:
    p = impact.project
    extra = f" and its {plural(impact.labels, 'label')}" if impact.labels else ""
    return f"project {p.code} {p.name!r}{extra}"
