"""Compact text for a model's context window: one line a ticket, no JSON, nothing pretty-printed.

What people and agents wrote (titles, descriptions, comments) is data, never instructions, and is shown
inside markers the model is told about (INSTRUCTIONS in server/app.py): a title as «title», a
description or a comment between <user-text> and </user-text>. Look-alikes of the markers inside the
text are defused, so no text can close its own boundary. Characters a reader cannot see (zero-width,
bidirectional controls, tag characters, variation selectors) are dropped from what is shown, and
only there: the stored text stays byte for byte as written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from tickets_mcp.core.tracker import Batch
from tickets_mcp.domain import (
    HISTORY_MAX,
    Board,
    Change,
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
from tickets_mcp.domain.rules import plural
from tickets_mcp.domain.similarity import Filed
from tickets_mcp.domain.text import INVISIBLE as INVISIBLE  # re-exported: tests read it here
from tickets_mcp.domain.text import clean_name, summary, visible
from tickets_mcp.errors import LikelyDuplicate

TICKET_LEGEND = "slug status priority type @assignee [labels] ^parent: «title»"
BOARD_LEGEND = "slug priority type @assignee [labels] ^parent: «title»"
OPEN, CLOSE = "<user-text>", "</user-text>"

MARKER_LOOKALIKE = re.compile(r"<(/?\s*user-text)", re.IGNORECASE)
PLAIN_NAME = re.compile(r"[\w.@/+-]+")


def title(text: str) -> str:
    """A title between guillemets, on one line (a remote tracker's may hold line breaks); guillemets
    inside it become single ones, so it cannot end early."""
    if not (text.isascii() and text.isprintable()):  # plain ASCII on one line (most titles) needs nothing
        text = " ".join(visible(text).split()).replace("«", "‹").replace("»", "›")
    return "«" + text + "»"


def user_text(text: str) -> str:
    """A description or a comment between the user-text markers, with look-alikes of them defused."""
    return OPEN + MARKER_LOOKALIKE.sub(r"‹\1", visible(text)) + CLOSE


def ticket_line(ticket: Ticket, *, status: bool = True) -> str:
    # The vocabularies are StrEnums: joined as they are, they read as their values (and skip Enum's
    # slow `.value`, which costs a list of 50 rows about a tenth of its time).
    parts = [ticket.slug, ticket.status] if status else [ticket.slug]
    parts += [ticket.priority, ticket.type]
    if ticket.assignee:
        parts.append("@" + ticket.assignee)
    if ticket.labels:
        parts.append("[" + ",".join(label.name for label in ticket.labels) + "]")
    if ticket.parent:
        parts.append("^" + ticket.parent)
    return " ".join(parts) + ": " + title(ticket.title)


def project_line(project: Project, marked: bool = False) -> str:
    """`marked`: say when it is the organization's default project (worth saying only beside another)."""
    line = f"{project.code} {visible(project.name)!r}"
    if project.tickets_count is not None:
        line += f" open={project.open_tickets_count} total={project.tickets_count}"
    return line + " (default)" if marked and project.default else line


def project_lines(projects: Sequence[Project]) -> list[str]:
    """One line each; the default project is marked in an organization with several."""
    per_organization = Counter(p.organization_id for p in projects)
    return [project_line(p, per_organization[p.organization_id] > 1) for p in projects]


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
        lines.append(f"organization {org.slug} {visible(org.name)!r} (your role: {entry.role.value})")
        lines.extend("  project " + line for line in project_lines(entry.projects))
        members = ", ".join(f"{m.user.username}({m.role.value})" for m in entry.members)
        lines.append(f"  members: {members}")
    if ws.backend != "local":
        lines.append(f"backend: {ws.backend}" + (f"; it cannot {', '.join(sorted(ws.missing))}" if ws.missing else ""))
    lines.append(vocabulary())
    return "\n".join(lines)


def organizations(orgs: Iterable[Organization]) -> str:
    lines = [f"{org.slug} {visible(org.name)!r} id={org.id}" for org in orgs]
    return "\n".join(lines) if lines else "No organizations."


def projects(items: Iterable[Project]) -> str:
    lines = project_lines(list(items))
    return "\n".join(lines) if lines else "No projects."


def project_saved(verb: str, project: Project) -> str:
    return f"{verb} project {project.code} {visible(project.name)!r}."


SEARCH_STOPPED = (
    "The search stopped at its time budget, so more tickets may match than shown. "
    "Narrow it: fewer words, longer words (a word of 1-2 letters matches only whole), a project or a status."
)


def ticket_page(page: TicketPage) -> str:
    shown = len(page.tickets)
    if not shown:
        return SEARCH_STOPPED if page.search_stopped else f"No tickets match (total={page.total})."
    head = f"{shown} of {page.total}{'+' if page.total_capped else ''} tickets"
    head += f"; more with cursor={page.next_cursor}" if page.next_cursor else "; that is all"
    lines = [head, *([SEARCH_STOPPED] if page.search_stopped else []), TICKET_LEGEND]
    return "\n".join([*lines, *(ticket_line(t) for t in page.tickets)])


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
    lines = [f"{t.slug}: {title(t.title)}", " ".join(fields), times]
    if detail.subtasks:
        lines.append(f"sub-tasks ({len(detail.subtasks)}):")
        lines.extend("  " + ticket_line(sub) for sub in detail.subtasks)
    lines.append("description: " + user_text(t.description) if t.description else "description: (none)")
    if detail.comments:
        lines.append(f"comments ({len(detail.comments)}):")
        lines.extend(comment_line(c) for c in detail.comments)
    if detail.history:
        shown = len(detail.history)
        count = f"{shown}" if shown == detail.changes else f"latest {shown} of {detail.changes}"
        if shown < detail.changes and shown < HISTORY_MAX:
            count += f"; more with history={min(detail.changes, HISTORY_MAX)}"
        lines.append(f"history ({count}):")
        lines.extend(change_line(c) for c in detail.history)
    elif detail.changes:
        lines.append(
            f"history: {plural(detail.changes, 'change')}; see them with history={min(detail.changes, HISTORY_MAX)}"
        )
    return "\n".join(lines)


def activity(project: str, changes: Sequence[Change], limit: int) -> str:
    """A project's latest changes; a full page says where the older ones are."""
    if not changes:
        return f"No activity in {project}."
    head = f"activity in {project}, newest first"
    if len(changes) >= limit:
        head += f" (the latest {limit}; a ticket's older changes: get_ticket slug=... history={HISTORY_MAX})"
    return head + ":\n" + "\n".join(f"{change.subject} {change_line(change)}" for change in changes)


def change_line(change: Change) -> str:
    """`when who [token=name] [client=name]: what`, e.g. `... alice client=claude-code: status todo→done`."""
    who = actor_name(change.actor) if change.actor else "unknown"
    if change.token:
        who += f" token={actor_name(change.token)}"
    if change.client:
        who += f" client={actor_name(change.client)}"
    return f"{change.at} {who}: {_what(change)}"


def actor_name(text: str) -> str:
    """Who or what acted, as data: on one capped line, quoted unless it is one plain word
    (`claude-code`, `'Claude Desktop'`), so no name reads as a field or a line of its own."""
    cleaned = clean_name(text)
    return cleaned if PLAIN_NAME.fullmatch(cleaned) else repr(cleaned)


MODEL_ACTIONS = {"ticket.created": "created", "comment.added": "commented"}


def _what(change: Change) -> str:
    return summary(change, actions=MODEL_ACTIONS, value=_model_value, arrow="→")


def _model_value(field: str, value: Any) -> str:
    if field == "title":
        return title(str(value))
    if field == "labels":
        return "[" + ",".join(map(str, value)) + "]"
    return f"{value or 'none'}"


def comment_line(comment: Comment) -> str:
    return f"[{comment.id}] {comment.author or 'unknown'} {comment.created_at}: {user_text(comment.body)}"


def batch(verb: str, result: Batch) -> str:
    """The outcome of create_tickets or move_tickets; `verb` is Filed or Moved."""
    done = [o for o in result.outcomes if isinstance(o, Ticket)]
    if result.atomic:
        return f"{verb} {plural(len(done), 'ticket')} in one transaction: {', '.join(t.slug for t in done)}."
    lines = [f"{verb} {len(done)} of {len(result.outcomes)}, each on its own (the backend takes one at a time):"]
    lines += [
        f"{n} {o.slug}" if isinstance(o, Ticket) else f"{n} failed: {o}" for n, o in enumerate(result.outcomes, 1)
    ]
    return "\n".join(lines)


def likely_duplicate(refusal: LikelyDuplicate) -> str:
    """What create_ticket answers instead of filing: the look-alike's line, how alike, what to do."""
    if refusal.current is None:  # the caller may not read it: the refusal says all it may know
        return str(refusal)
    ticket = Ticket.model_validate(refusal.current)
    why = f"same {refusal.trace}" if refusal.trace else f"{refusal.similarity:.0%} alike"
    return f"Not filed: it looks like {ticket_line(ticket)} ({why}). {refusal.hint}"


def ticket_saved(verb: str, ticket: Ticket) -> str:
    return f"{verb} {ticket.slug} ({ticket.status.value}, version {ticket.version})."


def ticket_filed(filed: Filed) -> str:
    """`Created WEB-9 (backlog, version 1). Similar open: WEB-3, WEB-5.`: the look-alikes to link or undo by."""
    saved = ticket_saved("Created", filed.ticket)
    return f"{saved} Similar open: {', '.join(filed.similar)}." if filed.similar else saved


def board(b: Board) -> str:
    total = sum(column.total for column in b.columns)
    lines = [f"board {b.project.code} {visible(b.project.name)!r}: {plural(total, 'ticket')}", BOARD_LEGEND]
    cut: list[str] = []
    for column in b.columns:
        shown = len(column.tickets)
        more = f", showing {shown}" if shown < column.total else ""
        if more:
            cut.append(column.status.value)
        lines.append(f"## {column.status.value} ({column.total}{more})")
        lines.extend(ticket_line(t, status=False) for t in column.tickets)
    if cut:  # never a silent cut: say where the rest is, under the legend
        lines.insert(2, f"Cut columns: list_tickets project={b.project.code} status={','.join(cut)} for the rest.")
    return "\n".join(lines)


def ticket_deletion_impact(impact: TicketDeletion) -> str:
    parts: list[str] = []
    if impact.subtasks:
        listed = ", ".join(impact.subtasks[:10])
        if len(impact.subtasks) > 10:
            listed += f", ... all with list_tickets parent={impact.slug}"
        parts.append(f"{plural(len(impact.subtasks), 'sub-task')} ({listed})")
    if impact.comments:
        parts.append(plural(impact.comments, "comment"))
    return f"{impact.slug}" + (" with " + " and ".join(parts) if parts else "")


def project_deletion_impact(impact: ProjectDeletion) -> str:
    p = impact.project
    extra = f" and its {plural(impact.labels, 'label')}" if impact.labels else ""
    return f"project {p.code} {visible(p.name)!r}{extra}"
