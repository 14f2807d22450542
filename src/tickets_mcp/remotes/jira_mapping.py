"""How Jira's issues read as tickets, and how the tracker's values and filters are written for Jira.

- Columns come from a status's category and name: `new` is backlog when the name says backlog, else
  todo; `indeterminate` is in_review when the name says review, else in_progress; `done` is canceled when
  the status or the issue's resolution says so (Won't Do, Duplicate, Declined...), else done.
- Types by name: Bug → bug; Story, New Feature, Feature, Epic → feature; Improvement, Enhancement →
  improvement; everything else (Task, Sub-task...) → task. Priorities by name: Highest, Blocker, Critical →
  urgent; High, Major → high; Low, Lowest, Minor, Trivial → low; anything else or none → medium.
- Rich text is Atlassian Document Format: text becomes paragraphs (split at blank lines) of text and hard
  breaks, which read back as the same text; ADF written elsewhere reads as plain text (lists as `- `,
  headings as `#`, code blocks fenced).
- JQL clauses are written here (and put together in jira_search): every value from a caller is a
  quoted, escaped string, so a name or a search text is data, never JQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from tickets_mcp.domain import CLOSED_STATUSES, Comment, Label, LinkKind, Priority, Status, Ticket, TicketType, rules
from tickets_mcp.domain.rules import label_color
from tickets_mcp.errors import Invalid
from tickets_mcp.wire.jira import Adf, JiraComment, JiraFields, JiraIssue, JiraStatus, JiraUser
from tickets_mcp.wire.values import stored, version_in_ms

BACKEND = "jira"

# Columns

CANCELED_WORDS = ("cancel", "won't", "wont", "declined", "rejected", "duplicate", "cannot reproduce", "abandon")


def says_canceled(name: str | None) -> bool:
    return name is not None and any(word in name.casefold() for word in CANCELED_WORDS)


def column_of(status: JiraStatus, resolution: str | None = None) -> Status:
    """The column of an issue in `status` resolved as `resolution` (None: unresolved, or not known)."""
    category = status.statusCategory.key if status.statusCategory else "new"
    name = status.name.casefold()
    if category == "done":
        return Status.CANCELED if says_canceled(status.name) or says_canceled(resolution) else Status.DONE
    if category == "indeterminate":
        return Status.IN_REVIEW if "review" in name else Status.IN_PROGRESS
    return Status.BACKLOG if "backlog" in name else Status.TODO


def column_clause(column: Status, statuses: Sequence[JiraStatus], resolutions: Sequence[str]) -> str | None:
    """JQL for the issues in a column, given the site's statuses and resolutions; None where none can be."""
    if column in (Status.DONE, Status.CANCELED):
        done = [s for s in statuses if s.statusCategory and s.statusCategory.key == "done"]
        named = [s.id for s in done if says_canceled(s.name)]
        plain = [s.id for s in done if not says_canceled(s.name)]
        canceling = [r for r in resolutions if says_canceled(r)]
        if column is Status.DONE:
            if not plain:
                return None
            if not canceling:
                return f"status in ({ids(plain)})"
            return f"(status in ({ids(plain)}) AND (resolution is EMPTY OR resolution not in ({quoted(canceling)})))"
        parts = [f"status in ({ids(named)})"] if named else []
        if plain and canceling:
            parts.append(f"(status in ({ids(plain)}) AND resolution in ({quoted(canceling)}))")
        return " OR ".join(parts) or None
    wanted = [s.id for s in statuses if column_of(s) is column]
    return f"status in ({ids(wanted)})" if wanted else None


# Types and priorities

TYPE_NAMES: dict[TicketType, tuple[str, ...]] = {
    TicketType.BUG: ("Bug",),
    TicketType.FEATURE: ("Story", "New Feature", "Feature", "Epic"),
    TicketType.IMPROVEMENT: ("Improvement", "Enhancement"),
    TicketType.TASK: ("Task", "Sub-task", "Subtask"),
}
_TYPES = {name.casefold(): kind for kind, names in TYPE_NAMES.items() for name in names}
WRITTEN_NOT = {"epic"}  # read as a feature, never chosen for one: an epic holds stories

PRIORITY_NAMES: dict[Priority, tuple[str, ...]] = {
    Priority.URGENT: ("Highest", "Blocker", "Critical"),
    Priority.HIGH: ("High", "Major"),
    Priority.MEDIUM: ("Medium",),
    Priority.LOW: ("Low", "Lowest", "Minor", "Trivial"),
}
_PRIORITIES = {name.casefold(): p for p, names in PRIORITY_NAMES.items() for name in names}


def type_of(name: str) -> TicketType:
    return _TYPES.get(name.casefold(), TicketType.TASK)


def priority_of(name: str | None) -> Priority:
    return _PRIORITIES.get(name.casefold(), Priority.MEDIUM) if name else Priority.MEDIUM


# A clause is JQL, EVERYTHING (no condition needed) or None (nothing can match: no request is sent).
EVERYTHING = ""


def type_clause(kinds: Iterable[TicketType], names: Iterable[str]) -> str | None:
    """JQL for issues of these types, among the issue type `names` the site has (task is every other type).
    Only names Jira has go in: JQL refuses a value its field does not know."""
    existing = list(dict.fromkeys(names))
    wanted = set(kinds)
    if TicketType.TASK in wanted:
        others = [n for n in existing if type_of(n) not in wanted]
        return f"issuetype not in ({quoted(others)})" if others else EVERYTHING
    chosen = [n for n in existing if type_of(n) in wanted]
    return f"issuetype in ({quoted(chosen)})" if chosen else None


def priority_clause(priorities: Iterable[Priority], names: Iterable[str]) -> str | None:
    """JQL for issues of these priorities, among the priority `names` the site has (medium: any other, or none)."""
    existing = list(dict.fromkeys(names))
    wanted = set(priorities)
    if Priority.MEDIUM in wanted:
        others = [n for n in existing if priority_of(n) not in wanted]
        return f"(priority is EMPTY OR priority not in ({quoted(others)}))" if others else EVERYTHING
    chosen = [n for n in existing if priority_of(n) in wanted]
    return f"priority in ({quoted(chosen)})" if chosen else None


def columns_clause(columns: Iterable[Status], statuses: Sequence[JiraStatus], resolutions: Sequence[str]) -> str | None:
    """JQL for issues in any of these columns."""
    parts = [c for column in dict.fromkeys(columns) if (c := column_clause(column, statuses, resolutions))]
    return "(" + " OR ".join(parts) + ")" if parts else None


# JQL values


def quote(value: str) -> str:
    """A JQL string literal holding `value` exactly: quotes, backslashes and control characters escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped)
    return f'"{escaped}"'


def quoted(values: Iterable[str]) -> str:
    return ", ".join(quote(value) for value in values)


def ids(values: Iterable[str]) -> str:
    """Status ids, which Jira writes as digits: anything else is refused rather than put in JQL."""
    found = list(values)
    if not all(value.isdigit() for value in found):
        raise ValueError(f"not Jira ids: {found}")
    return ", ".join(found)


def jql_time(moment: str, zone: Any) -> str:
    """A stored timestamp as JQL writes a time, to the minute, in the zone JQL reads it in (the user's)."""
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(zone)
    return quote(parsed.strftime("%Y-%m-%d %H:%M"))


# Rich text


def to_adf(text: str) -> Adf | None:
    """Text as a minimal ADF document: a paragraph per block (split at blank lines), lines joined by hard breaks."""
    if not text:
        return None
    paragraphs: list[Adf] = []
    for block in text.split("\n\n"):
        inline: list[Adf] = []
        for index, line in enumerate(block.split("\n")):
            if index:
                inline.append({"type": "hardBreak"})
            if line:
                inline.append({"type": "text", "text": line})
        paragraphs.append({"type": "paragraph", "content": inline} if inline else {"type": "paragraph"})
    return {"type": "doc", "version": 1, "content": paragraphs}


def adf_text(node: Adf | None) -> str:
    """An ADF document as text: what to_adf wrote reads back exactly; other nodes as plain text."""
    if not node:
        return ""
    return "\n\n".join(_block(child) for child in _children(node))


def _children(node: Adf) -> list[Adf]:
    content: Any = node.get("content") or []
    return [child for child in content if isinstance(child, dict)]


def _block(node: Adf) -> str:
    kind = node.get("type")
    if kind == "heading":
        attrs: Any = node.get("attrs") or {}
        level: Any = attrs.get("level", 1)
        return "#" * (level if isinstance(level, int) else 1) + " " + _inline(node)
    if kind in ("bulletList", "orderedList"):
        items = [" ".join(_block(part) for part in _children(item)) for item in _children(node)]
        marks = ["- "] * len(items) if kind == "bulletList" else [f"{n}. " for n in range(1, len(items) + 1)]
        return "\n".join(mark + item for mark, item in zip(marks, items, strict=True))
    if kind == "codeBlock":
        return "```\n" + _inline(node) + "\n```"
    if kind == "blockquote":
        return "\n".join("> " + line for line in "\n\n".join(_block(c) for c in _children(node)).split("\n"))
    if kind == "rule":
        return "---"
    if kind in ("paragraph", None) or "text" in node:
        return _inline(node)
    return "\n\n".join(_block(child) for child in _children(node)) if _children(node) else _inline(node)


def _inline(node: Adf) -> str:
    parts: list[str] = []
    for child in _children(node) if "content" in node else [node]:
        kind = child.get("type")
        attrs: Any = child.get("attrs") or {}
        if kind == "text":
            parts.append(str(child.get("text", "")))
        elif kind == "hardBreak":
            parts.append("\n")
        elif kind in ("mention", "emoji", "status", "date"):
            parts.append(str(attrs.get("text") or attrs.get("shortName") or attrs.get("timestamp") or ""))
        elif kind == "inlineCard":
            parts.append(str(attrs.get("url", "")))
        else:
            parts.append(_inline(child) if "content" in child else "")
    return "".join(parts)


# Records


def shown(user: JiraUser | None) -> str | None:
    """A person as tickets show them: Jira's display name (its account id is the identifier behind it)."""
    return (user.displayName or user.accountId) if user is not None else None


def to_ticket(issue: JiraIssue) -> Ticket:
    fields = issue.fields
    column = column_of(fields.status, fields.resolution.name if fields.resolution else None)
    closed = column in (Status.DONE, Status.CANCELED)
    return Ticket(
        id=int(issue.id),
        project_id=fields.project.id,
        number=int(issue.key.rpartition("-")[2]),
        slug=issue.key,
        type=type_of(fields.issuetype.name),
        title=fields.summary,
        description=adf_text(fields.description),
        status=column,
        priority=priority_of(fields.priority.name if fields.priority else None),
        assignee=shown(fields.assignee),
        reporter=shown(fields.reporter),
        labels=tuple(Label(name=name, color=label_color(name)) for name in fields.labels),
        parent=fields.parent.key if fields.parent else None,
        position=0,
        version=version_in_ms(fields.updated),
        created_at=stored(fields.created),
        updated_at=stored(fields.updated),
        closed_at=stored(fields.resolutiondate or fields.updated) if closed else None,
        closed_by=None,
        due_date=fields.duedate,
        milestone=fields.fixVersions[0].name if fields.fixVersions else None,
        spent=(fields.timespent or 0) / 3600,
        blocked_by=blockers(fields),
    )


LINK_TYPES = {"blocks": LinkKind.BLOCKS, "duplicate": LinkKind.DUPLICATES, "relates": LinkKind.RELATES_TO}
"""Jira's default link types by name (case aside), each read from its outward issue: A blocks B."""


def blockers(fields: JiraFields) -> tuple[str, ...]:
    """The open issues a `Blocks` link shows blocking this one (this one <is blocked by> its inward issue)."""
    found = {
        link.inwardIssue.key
        for link in fields.issuelinks
        if LINK_TYPES.get(link.type.name.casefold()) is LinkKind.BLOCKS
        and link.inwardIssue is not None
        and column_of(link.inwardIssue.fields.status) not in CLOSED_STATUSES
    }
    return tuple(sorted(found, key=lambda key: (key.rpartition("-")[0], int(key.rpartition("-")[2]))))


def to_comment(comment: JiraComment, slug: str) -> Comment:
    return Comment(
        id=int(comment.id),
        ticket_slug=slug,
        author=shown(comment.author),
        body=adf_text(comment.body),
        created_at=stored(comment.created),
    )


# Keys and labels

SLUG = r"[A-Za-z][A-Za-z0-9_]{0,254}-[1-9][0-9]{0,9}"


def parse_slug(slug: str) -> str:
    """An issue key as Jira writes it (`KEY-12`, the key upper-cased); anything else is refused before a request."""
    text = slug.strip()
    if not re.fullmatch(SLUG, text):
        raise Invalid("slug", f"{slug!r} is not a Jira issue key.", hint="Pass it as KEY-12, e.g. PROJ-7.")
    key, _, number = text.rpartition("-")
    return f"{key.upper()}-{number}"


def jira_labels(labels: Any) -> tuple[str, ...]:
    """Labels as Jira takes them: no spaces (Jira splits a label at one)."""
    found = rules.normalize_labels(labels)
    for label in found:
        if any(ch.isspace() for ch in label):
            raise Invalid("labels", f"Jira labels cannot contain spaces: {label!r}.", hint="Use - or _ instead.")
    return found
