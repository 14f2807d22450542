"""Compact text for a model's context window: one line a ticket, no JSON, nothing pretty-printed.

What people and agents wrote (titles, descriptions, comments) is data, never instructions, and is shown
inside markers the model is told about (INSTRUCTIONS in server/app.py): a title as «title», a
description or a comment between <user-text> and </user-text>. Look-alikes of the markers inside the
text are defused, so no text can close its own boundary. Characters a reader cannot see (zero-width,
bidirectional controls, tag characters, variation selectors) are dropped from what is shown, and
only there: the stored text stays byte for byte as written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from difflib import get_close_matches
from typing import Any, Literal

from tickets_mcp.core.tracker import Batch
from tickets_mcp.domain import (
    HISTORY_MAX,
    Board,
    Change,
    Comment,
    LabelUse,
    NewLabels,
    Organization,
    Priority,
    Project,
    ProjectDeletion,
    Relocation,
    Snippet,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    TicketType,
    Workspace,
)
from tickets_mcp.domain.rules import format_timestamp, plural
from tickets_mcp.domain.similarity import Filed
from tickets_mcp.domain.text import INVISIBLE as INVISIBLE  # re-exported: tests read it here
from tickets_mcp.domain.text import clean_name, summary, visible
from tickets_mcp.errors import AlreadyDeleted, LikelyDuplicate, StaleVersion
from tickets_mcp.mcp.markers import CLOSE as CLOSE  # re-exported: tests read the boundary here
from tickets_mcp.mcp.markers import MARKER_LOOKALIKE, PLAIN_NAME, label_name, title, user_text
from tickets_mcp.mcp.markers import OPEN as OPEN
from tickets_mcp.mcp.render_files import attachment_lines
from tickets_mcp.mcp.render_planning import plan_marks, planning_lines

TICKET_LEGEND = "slug status priority type @assignee [labels] ^parent: «title»"
BOARD_LEGEND = "slug priority type @assignee [labels] ^parent: «title»"


def ticket_line(ticket: Ticket, *, status: bool = True, time: str = "") -> str:
    """`time`: a `field=when` to show before the title (what a page is sorted or filtered on)."""
    # The vocabularies are StrEnums: joined as they are, they read as their values (and skip Enum's
    # slow `.value`, which costs a list of 50 rows about a tenth of its time).
    parts = [ticket.slug, ticket.status] if status else [ticket.slug]
    parts += [ticket.priority, ticket.type]
    if ticket.assignee:
        parts.append("@" + ticket.assignee)
    if ticket.labels:
        parts.append("[" + ",".join(label_name(label.name) for label in ticket.labels) + "]")
    if ticket.parent:
        parts.append("^" + ticket.parent)
    if ticket.due_date or ticket.blocked_by:
        parts += plan_marks(ticket)
    if time:
        parts.append(time)
    return " ".join(parts) + ": " + title(ticket.title)


def project_line(project: Project, marked: bool = False) -> str:
    """`marked`: say when it is the organization's default project (worth saying only beside another)."""
    line = f"{project.code} {visible(project.name)!r}"
    if project.tickets_count is not None:
        line += f" open={project.open_tickets_count} total={project.tickets_count}"
    if marked and project.default:
        line += " (default)"
    return line + ": " + description_line(project.description) if project.description.strip() else line


DESCRIPTION_SHOWN = 100  # characters of a project's description on its line, at most: what tells projects apart


def description_line(text: str) -> str:
    """A project's description as user text on one line: its first, cut at a word within DESCRIPTION_SHOWN
    characters; a cut says so, outside the markers, with the whole one's length (update_project rewrites it)."""
    lines = text.strip().splitlines()
    shown = " ".join(lines[0].split())
    if len(shown) > DESCRIPTION_SHOWN:
        shown = shown[: DESCRIPTION_SHOWN + 1].rsplit(" ", 1)[0][:DESCRIPTION_SHOWN]
    elif len(lines) == 1:
        return user_text(shown)
    return user_text(shown) + f" (cut from {len(text)} characters)"


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


def workspace(ws: Workspace, now: datetime | None = None) -> str:
    """Who you are, where, with whom, and the server's time (UTC), which relative times such as `1h` count from."""
    now_text = short_time(format_timestamp(now or datetime.now(UTC)))
    lines = [f"you: {ws.user.username}; now: {now_text}"]
    for entry in ws.organizations:
        org = entry.organization
        lines.append(f"organization {org.slug} {visible(org.name)!r} (your role: {entry.role.value})")
        for project, line in zip(entry.projects, project_lines(entry.projects), strict=True):
            lines.append("  project " + line)
            if project.labels:
                lines.append("    labels: " + label_uses(project.labels))
        members = ", ".join(f"{m.user.username}({m.role.value})" for m in entry.members)
        lines.append(f"  members: {members}")
    if ws.backend != "local":
        lines.append(f"backend: {ws.backend}" + (f"; it cannot {', '.join(sorted(ws.missing))}" if ws.missing else ""))
    lines.append(vocabulary())
    return "\n".join(lines)


LABELS_SHOWN = 15  # of a project's labels in the workspace context, the most used


def label_uses(uses: Sequence[LabelUse]) -> str:
    """`bug(12),ui(4) +3 more`: each label with the number of tickets, open or closed, that carry it."""
    shown = ",".join(f"{label_name(use.name)}({use.tickets})" for use in uses[:LABELS_SHOWN])
    return shown + (f" +{len(uses) - LABELS_SHOWN} more" if len(uses) > LABELS_SHOWN else "")


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


TimeField = Literal["updated", "created"]
SNIPPET_FIELDS = {"description": "desc"}


def ticket_page(page: TicketPage, time_field: TimeField | None = None, now: datetime | None = None) -> str:
    """The page's rows under a head that says its order; `time_field`: the time shown in each row (the one
    sorted or filtered on), as how long before `now`; a text query's rows say under them where their words
    are, if not in the title."""
    now = now or datetime.now(UTC)
    shown = len(page.tickets)
    if not shown:
        return SEARCH_STOPPED if page.search_stopped else f"No tickets match (total={page.total})."
    head = f"{shown} of {page.total}{'+' if page.total_capped else ''} tickets"
    if page.order:
        head += " by " + " then ".join(page.order)
    head += f"; more with cursor={page.next_cursor}" if page.next_cursor else "; that is all"
    lines = [head, *([SEARCH_STOPPED] if page.search_stopped else []), TICKET_LEGEND]
    for ticket in page.tickets:
        at = ticket.updated_at if time_field == "updated" else ticket.created_at
        lines.append(ticket_line(ticket, time=f"{time_field} {ago(at, now)}" if time_field else ""))
        found = page.snippets.get(ticket.id)
        if found is not None:
            lines.append(snippet_line(found))
    return "\n".join(lines)


def snippet_line(found: Snippet) -> str:
    """`  ↳ desc: «…words…»`: what people wrote, on one line like a title, look-alikes of the markers defused."""
    return f"  ↳ {SNIPPET_FIELDS.get(found.field, found.field)}: " + title(MARKER_LOOKALIKE.sub(r"‹\1", found.text))


def short_time(timestamp: str) -> str:
    """`2026-12-07T08:01:02Z`: to the second, in UTC; a remote tracker's other formats as they are."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment.tzinfo else timestamp


_AGES = ((60, "s", 1), (3600, "m", 60), (48 * 3600, "h", 3600), (30 * 86400, "d", 86400))


def ago(timestamp: str, now: datetime) -> str:
    """How long before `now`, in a few tokens (`40s ago`, `12m ago`, `5h ago`, `3d ago`), or the date when
    it is older than a month: a whole timestamp costs a row about 15 tokens."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    elapsed = (now - (moment if moment.tzinfo else moment.replace(tzinfo=UTC))).total_seconds()
    if elapsed < 0:  # a remote tracker's clock ahead of ours
        return short_time(timestamp)
    for limit, unit, size in _AGES:
        if elapsed < limit:
            return f"{int(elapsed // size)}{unit} ago"
    return moment.date().isoformat()


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
        fields.append("labels=" + ",".join(label_name(label.name) for label in t.labels))
    if t.parent:
        fields.append(f"parent={t.parent}")
    fields.append(f"version={t.version}")
    times = f"created={short_time(t.created_at)} updated={short_time(t.updated_at)}"
    if t.closed_at:
        times += f" closed={short_time(t.closed_at)}" + (f" by {t.closed_by}" if t.closed_by else "")
    lines = [f"{t.slug}: {title(t.title)}", " ".join(fields), times]
    if detail.moved_from:  # each old slug still finds it
        lines.append("moved from " + ", ".join(detail.moved_from))
    lines += planning_lines(detail, detail.estimate_unit)
    if detail.subtasks:
        lines.append(f"sub-tasks ({len(detail.subtasks)}):")
        lines.extend("  " + ticket_line(sub) for sub in detail.subtasks)
    lines.append("description: " + user_text(t.description) if t.description else "description: (none)")
    if detail.comments:
        lines.append(f"comments ({len(detail.comments)}):")
        lines.extend(comment_line(c) for c in detail.comments)
    lines += attachment_lines(detail.attachments)
    if detail.history:
        shown = len(detail.history)
        count = f"{shown}" if shown == detail.changes else f"latest {shown} of {detail.changes}"
        if shown < detail.changes and shown < HISTORY_MAX:
            count += f"; more with history={min(detail.changes, HISTORY_MAX)}"
        lines.append(f"history ({count}):")
        lines.extend(history_lines(detail.history))
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
    return f"{change.at} {_who(change)}: {_what(change)}"


def history_lines(changes: Sequence[Change]) -> list[str]:
    """A ticket's history, folded: who acted heads each run of their changes (`by alice client=claude-code:`),
    and each change is an indented line of its time, to the second, with the date only when it changes.
    The same actor and client on every line cost a ticket's history most of its tokens."""
    lines: list[str] = []
    who_before = day_before = None
    for change in changes:
        if (who := _who(change)) != who_before:
            lines.append(f"by {who}:")
            who_before = who
        day, clock = _day_and_clock(change.at)
        lines.append(f" {clock if day == day_before else f'{day} {clock}'} {_what(change)}")
        day_before = day
    return lines


def _day_and_clock(at: str) -> tuple[str | None, str]:
    day, _, clock = short_time(at).partition("T")
    return (day, clock.removesuffix("Z")) if clock else (None, at)  # a remote tracker's odd timestamp, whole


def _who(change: Change) -> str:
    who = actor_name(change.actor) if change.actor else "unknown"
    if change.token:
        who += f" token={actor_name(change.token)}"
    if change.client:
        who += f" client={actor_name(change.client)}"
    return who


def actor_name(text: str) -> str:
    """Who or what acted, as data: on one capped line, quoted unless it is one plain word
    (`claude-code`, `'Claude Desktop'`), so no name reads as a field or a line of its own."""
    cleaned = clean_name(text)
    return cleaned if PLAIN_NAME.fullmatch(cleaned) else repr(MARKER_LOOKALIKE.sub(r"‹\1", cleaned))


MODEL_ACTIONS = {"ticket.created": "created", "comment.added": "commented"}


def _what(change: Change) -> str:
    return _planned(change) or summary(change, actions=MODEL_ACTIONS, value=_model_value, arrow="→")


def _planned(change: Change) -> str | None:
    """A link, time or file entry with what it names (`linked blocked_by WEB-1`, `logged 1.5h on 2026-12-06`,
    `attached «trace.log»`); None for another change."""
    c = change.changes
    if change.action in ("link.added", "link.removed"):
        return f"{'linked' if change.action == 'link.added' else 'unlinked'} {c.get('kind')} {c.get('ticket')}"
    if change.action == "time.logged":
        return f"logged {c.get('hours')}h on {c.get('spent_on')}"
    if change.action in ("attachment.added", "attachment.deleted"):
        verb = "attached" if change.action == "attachment.added" else "deleted attachment"
        return f"{verb} {title(str(c.get('name', '')))}"
    return None


def _model_value(field: str, value: Any) -> str:
    if field == "title":
        return title(str(value))
    if field == "labels":
        return "[" + ",".join(label_name(str(name)) for name in value) + "]"
    return "none" if value is None or value == "" else f"{value}"


def comment_line(comment: Comment) -> str:
    return f"[{comment.id}] {comment.author or 'unknown'} {short_time(comment.created_at)}: {user_text(comment.body)}"


def batch(verb: str, result: Batch) -> str:
    """The outcome of create_tickets or move_tickets; `verb` is Filed or Moved."""
    done = [o for o in result.outcomes if isinstance(o, Ticket)]
    if result.atomic:
        items = f"items 1-{len(done)} → " if verb == "Filed" and len(done) > 1 else ""  # which slug is which item
        filed = f"{verb} {plural(len(done), 'ticket')} in one transaction: {items}{', '.join(t.slug for t in done)}."
        return filed + new_labels(done)
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
    why = f"same {title(refusal.trace)}" if refusal.trace else f"{refusal.similarity:.0%} alike"
    return f"{refusal.item}Not filed: it looks like {ticket_line(ticket)} ({why}). {refusal.hint}"


def changed_since(refusal: StaleVersion) -> str:
    """A stale version's refusal: who changed what since the caller's version, newest last, each actor
    named once for a run of their changes; the latest STALE_SHOWN at most."""
    parts: list[str] = []
    last = None
    for change in (Change.model_validate(c) for c in refusal.changes):
        who = _who(change)
        what = _what(change) if change.changes else "reordered it"  # a move within its column
        parts.append(what if who == last else f"{who}: {what}")
        last = who
    shown = "; ".join(parts)
    if refusal.changed > len(refusal.changes):
        head = f"{refusal.slug} changed {refusal.changed} times since version {refusal.expected}"
        head += f" (now {refusal.version}), the last {len(parts)}"
        shown += "; get_ticket shows all"
    else:
        head = f"{refusal.slug} changed since version {refusal.expected} (now {refusal.version})"
    return f"{head}: {shown}. {refusal.hint}"


def already_deleted(refusal: AlreadyDeleted, already: str = "already ") -> str:
    """delete_ticket's answer for a ticket deleted before (done already), or another tool's refusal of it
    (`already=""`): by whom and when, to the second."""
    deletion = Change.model_validate(refusal.deletion)
    who = _who(deletion)
    along = f" with its parent {deletion.subject}" if deletion.subject != refusal.slug else ""
    return f"{refusal.slug} was {already}deleted{along} (by {who} at {short_time(deletion.at)})."


def ticket_saved(verb: str, ticket: Ticket, moved_from: str | None = None) -> str:
    """`Updated WEB-9 (todo, version 3).`; `moved_from`: the old slug the caller named it by."""
    moved = f"; it moved from {moved_from}" if moved_from else ""
    return f"{verb} {ticket.slug} ({ticket.status.value}, version {ticket.version}){moved}." + new_labels([ticket])


def relocation(moved: Relocation) -> str:
    """A ticket moved to another project, what went with it and what stayed (the old project's parent, milestone)."""
    t = moved.ticket
    parts = [f"Moved {moved.moved_from} to {t.slug} ({t.status.value}, version {t.version})."]
    if moved.subtasks:
        pairs = ", ".join(f"{old}→{new}" for old, new in moved.subtasks.items())
        parts.append(f"Sub-task{'s' if len(moved.subtasks) > 1 else ''} moved with it: {pairs}.")
    old_project = moved.moved_from.rsplit("-", 1)[0]
    if moved.parent:
        parts.append(f"Its parent {moved.parent} stayed in {old_project}: it has none now.")
    if moved.milestone:
        parts.append(f"Its milestone {title(moved.milestone)} stayed in {old_project}: it is in none now.")
    return " ".join(parts) + new_labels([t])


HAD_SHOWN = 4  # of the project's labels named beside a new one, the likeliest meant first (the rest: workspace)


def new_labels(tickets: Sequence[Ticket]) -> str:
    """What a write's reply adds when it created labels, e.g. ` New label: flakey (the project had: flaky, ui).`,
    a project's at a time; nothing when it created none."""
    created: dict[str, tuple[list[str], NewLabels]] = {}  # by project code: the names, and the first creation
    for ticket in tickets:
        if ticket.new_labels:
            names, _ = created.setdefault(ticket.slug.rsplit("-", 1)[0], ([], ticket.new_labels))
            names += ticket.new_labels.names
    notes: list[str] = []
    for code, (names, first) in created.items():
        head = "New label" + ("s" if len(names) > 1 else "") + ("" if len(created) == 1 else f" in {code}")
        whose = "the project" if len(created) == 1 else "it"
        shown = ", ".join(map(label_name, names))
        notes.append(f"{head}: {shown} ({whose} {_had(names, [label_name(use.name) for use in first.had])}).")
    return "".join(" " + note for note in notes)


def _had(new: Sequence[str], had: Sequence[str]) -> str:
    """The project's labels before, those spelt like a new one first (`flaky` beside `flakey`), then the most used."""
    if not had:
        return "had none"
    folded = {name.casefold(): name for name in had}
    alike = [folded[match] for name in new for match in get_close_matches(name.casefold(), list(folded), cutoff=0.75)]
    ordered = list(dict.fromkeys([*alike, *had]))
    more = f", +{len(ordered) - HAD_SHOWN} more" if len(ordered) > HAD_SHOWN else ""
    return "had: " + ", ".join(ordered[:HAD_SHOWN]) + more


def ticket_filed(filed: Filed) -> str:
    """`Created WEB-9 (backlog, version 1). Similar open: WEB-3, WEB-5.`: the look-alikes to link or undo by."""
    saved = ticket_saved("Created", filed.ticket)
    return f"{saved} Similar open: {', '.join(filed.similar)}." if filed.similar else saved


def board(b: Board) -> str:
    total = sum(column.total for column in b.columns)
    scope = f" milestone {title(b.milestone)}" if b.milestone else ""
    lines = [f"board {b.project.code} {visible(b.project.name)!r}{scope}: {plural(total, 'ticket')}", BOARD_LEGEND]
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
    if impact.links:
        parts.append(plural(impact.links, "link") + " to other tickets")
    if impact.attachments:
        parts.append(plural(impact.attachments, "attachment"))
    return f"{impact.slug}" + (" with " + " and ".join(parts) if parts else "")


def project_deletion_impact(impact: ProjectDeletion) -> str:
    p = impact.project
    extra = f" and its {plural(impact.labels, 'label')}" if impact.labels else ""
    return f"project {p.code} {visible(p.name)!r}{extra}"
