"""Planning on Jira (docs/jira.md has the table): issue links, due dates and worklogs. remotes/jira.py calls it.

- Links are issue links of Jira's default types Blocks, Duplicate and Relates (found by name among the
  site's link types). A link goes from its outward issue to its inward one, as Atlassian's description of
  `POST /issueLink` says ("the from (outward) issue"): A blocks B is outwardIssue A, inwardIssue B; on A's
  `issuelinks` B shows as outwardIssue ("blocks"), on B's A shows as inwardIssue ("is blocked by").
- blocked_by comes with every issue read (`issuelinks`): the open inward issues of its Blocks links.
- Due dates are `duedate`. Time is worklogs (`timespent`, in seconds, is the ticket's spent).
- Milestones are fix versions (jira_versions, jira_milestones). Not mapped: estimates, refused through
  RemoteTracker; JQL cannot say "blocked
  by an open issue", and the order of issues without a due date is not pinned down by Atlassian's
  description, so the blocked and blocking filters and the due-date order are refused naming jira.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tickets_mcp.core.tracker import TicketFilter
from tickets_mcp.domain import Link, LinkKind, TimeEntry, rules
from tickets_mcp.domain.dates import parse_day, today_utc
from tickets_mcp.errors import Invalid, NotFound, Unsupported
from tickets_mcp.remotes.client import RemoteClient
from tickets_mcp.remotes.jira_mapping import BACKEND, LINK_TYPES, adf_text, column_of, quote, shown, to_adf
from tickets_mcp.remotes.jira_site import API
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.remotes.planning import clears, refuse_unmapped_filters
from tickets_mcp.wire.jira import JiraIssue, JiraIssueLink, JiraWorklog, LinkType, LinkTypes, Worklogs
from tickets_mcp.wire.values import stored

KIND_ORDER = {kind: rank for rank, kind in enumerate(LinkKind)}
WORKLOGS_SHOWN = 100
HOURS_MAX = 1000
NOTE_MAX = 32_000


def refuse_filters(query: TicketFilter) -> None:
    refuse_unmapped_filters(
        query, BACKEND, blocked="JQL's link filters do not look at the other issue's status",
        due_order="where Jira puts issues without one is not pinned down by its API description",
    )  # fmt: skip


def due_clauses(query: TicketFilter, open_columns: str | None) -> list[str | None]:
    """JQL for the due-date filters (`open_columns`: the clause for open tickets, None if none can be)."""
    clauses: list[str | None] = []
    if query.due_before:
        clauses.append(f"duedate <= {quote(parse_day('due_before', query.due_before))}")
    if query.due_after:
        clauses.append(f"duedate >= {quote(parse_day('due_after', query.due_after))}")
    if query.overdue:
        clauses += [f"duedate < {quote(today_utc().isoformat())}", open_columns]
    return clauses


def due_field(value: str | None) -> dict[str, str | None]:
    """The `duedate` field to send for a due date (None: leave it, "none": clear it)."""
    if value is None:
        return {}
    return {"duedate": None if clears(value) else parse_day("due_date", value)}


def links(issue: JiraIssue) -> tuple[Link, ...]:
    """An issue's links of the three kinds, read from it, by kind then key."""
    found: list[Link] = []
    for link in issue.fields.issuelinks:
        kind = LINK_TYPES.get(link.type.name.casefold())
        other = link.outwardIssue or link.inwardIssue
        if kind is None or other is None:
            continue
        read = kind if link.outwardIssue is not None else kind.inverse
        status = column_of(other.fields.status)
        found.append(Link(kind=read, slug=other.key, title=other.fields.summary, status=status))
    found.sort(key=lambda link: (KIND_ORDER[link.kind], *rules.parse_slug(link.slug)))
    return tuple(dict.fromkeys(found))


class JiraPlanning:
    """Links and worklogs on one Jira site."""

    def __init__(self, client: RemoteClient) -> None:
        self.client = client
        self._types: list[LinkType] | None = None

    async def link_type(self, kind: LinkKind) -> LinkType:
        if self._types is None:
            reply = await self.client.request("GET", API + "issueLinkType")
            self._types = parse(LinkTypes, reply.body, BACKEND, "the link types").issueLinkTypes
        found = next((t for t in self._types if LINK_TYPES.get(t.name.casefold()) is kind.stored), None)
        if found is None:
            raise Unsupported(
                f"The {BACKEND} backend cannot link tickets as {kind.value} here: the site has no link type "
                f"named {next(name for name, k in LINK_TYPES.items() if k is kind.stored).title()}.",
                hint="Ask a Jira admin to restore the default link types, or use another kind.",
            )
        return found

    async def link(self, issue: JiraIssue, kind: LinkKind, other: JiraIssue, *, unlink: bool) -> None:
        """Link (or unlink) `issue` to `other` as `kind`; linking again is no change."""
        source, target = (other, issue) if kind.reversed else (issue, other)
        existing = self._existing(issue, kind, other.key)
        if unlink:
            if existing is None:
                raise NotFound(
                    f"{issue.key} is not linked as {kind.value} {other.key}.", hint="get_ticket shows its links."
                )
            await self.client.request("DELETE", API + f"issueLink/{existing.id}")
        elif existing is None:
            link_type = await self.link_type(kind)
            ends = {"outwardIssue": {"key": source.key}, "inwardIssue": {"key": target.key}}
            body = {"type": {"name": link_type.name}, **ends}
            await self.client.request("POST", API + "issueLink", json_body=body)

    @staticmethod
    def _existing(issue: JiraIssue, kind: LinkKind, other: str) -> JiraIssueLink | None:
        """The link of `issue` that reads as `kind` to `other`: an outward one for a stored kind (this issue
        is its source), an inward one for a reversed kind; relates to reads the same both ways."""
        for link in issue.fields.issuelinks:
            if LINK_TYPES.get(link.type.name.casefold()) is not kind.stored:
                continue
            outward = link.outwardIssue is not None and link.outwardIssue.key == other
            inward = link.inwardIssue is not None and link.inwardIssue.key == other
            if (
                (outward and not kind.reversed)
                or (inward and kind.reversed)
                or (kind is LinkKind.RELATES_TO and inward)
            ):
                return link
        return None

    async def time_entries(self, issue: JiraIssue) -> tuple[TimeEntry, ...]:
        """The issue's first WORKLOGS_SHOWN worklogs, oldest first (none read where no time is logged)."""
        if not issue.fields.timespent:
            return ()
        params = {"maxResults": WORKLOGS_SHOWN}
        reply = await self.client.request("GET", API + f"issue/{issue.key}/worklog", params=params)
        found = parse(Worklogs, reply.body, BACKEND, "the worklogs").worklogs
        return tuple(
            TimeEntry(
                id=int(w.id), ticket_slug=issue.key, user=shown(w.author), hours=w.timeSpentSeconds / 3600,
                spent_on=w.started.date().isoformat(), note=adf_text(w.comment), created_at=stored(w.created),
            )
            for w in sorted(found, key=lambda w: (w.started, w.created, int(w.id)))
        )  # fmt: skip

    async def log_time(self, issue: JiraIssue, hours: float, *, spent_on: str | None, note: str) -> TimeEntry:
        if not 0 < hours < HOURS_MAX:
            raise Invalid("hours", f"Log more than 0 and less than {HOURS_MAX} hours, not {hours:g}.")
        day = parse_day("spent_on", spent_on) if spent_on else today_utc().isoformat()
        seconds = round(hours * 3600)
        if seconds < 60:
            raise Invalid("hours", "Jira logs whole minutes: log a minute at least.", hint="Pass 0.02 hours or more.")
        # RFC 3339, as the description's date-time says (its own example writes +0000).
        started = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC).isoformat(timespec="milliseconds")
        body: dict[str, object] = {"timeSpentSeconds": seconds, "started": started}
        if comment := to_adf(rules.validate_text("note", note, NOTE_MAX)):
            body["comment"] = comment
        # Not idempotent: sent twice, the time is logged twice, so it is never retried.
        reply = await self.client.request("POST", API + f"issue/{issue.key}/worklog", json_body=body, idempotent=False)
        made = parse(JiraWorklog, reply.body, BACKEND, "the new worklog")
        return TimeEntry(
            id=int(made.id), ticket_slug=issue.key, user=shown(made.author), hours=made.timeSpentSeconds / 3600,
            spent_on=made.started.date().isoformat(), note=adf_text(made.comment), created_at=stored(made.created),
        )  # fmt: skip
