"""Planning on GitLab (docs/gitlab.md has the table): issue links, due dates, milestones, time estimates and time
spent. remotes/gitlab.py calls it; milestones themselves are gitlab_milestones.

- Links are issue links (doc/api/issue_links.md). `relates_to` is every tier's; `blocks` and `is_blocked_by` are
  GitLab Premium's (without it GitLab answers 403 "Blocked issues not available for current license", refused
  here as what this GitLab cannot do), and GitLab before 12.7 relates every link whatever its type: a link is
  read back after it is made, and taken back with a refusal when it reads otherwise. GitLab keeps one link
  between two issues, and the list of an issue's links reads each from that issue (the issue a link blocks
  sees `is_blocked_by`).
- Duplicates are refused. GitLab has no such link: it marks a duplicate by closing it with the `/duplicate`
  quick action, which leaves a relates-to link and a system note, so a `duplicates` link written that way
  would read back as `relates_to`, and the tracker would not find it again to unlink it.
- blocked_by: an issue's document carries no links, so a listed ticket shows none; get_ticket and link_tickets
  read the issue's links (one request) and fill it in. The blocked and blocking filters are refused: GitLab's
  issue lists cannot select by links.
- Due dates are the issue's `due_date`. GitLab's lists filter due dates by its own windows only: overdue maps
  (`due_date=overdue`, due before today, on open issues), due_before and due_after are refused. The due-date
  order is GitLab's `order_by=due_date`, which puts issues without a due date last in either direction; the
  page says so.
- Milestones (gitlab_milestones) are set on an issue by `milestone_id` (0 takes it away) and filtered by title.
- Estimates are GitLab's time estimate, in hours (sent as "3h30m", whole minutes). GitLab keeps no estimate as
  0 seconds, so an estimate of 0 reads back as none. GitLab has no points (its issue weight, a Premium field, is
  not mapped).
- Time is `add_spent_time` with a summary. GitLab's REST API logs it as spent now (it takes no day) and answers
  with the issue's totals, not the timelog: the entry has no id (0), and get_ticket shows the time spent in all
  but no entries (timelogs are listed by GitLab's GraphQL API only).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from tickets_mcp.core.tracker import TicketFilter
from tickets_mcp.domain import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    EstimateUnit,
    Link,
    Linked,
    LinkKind,
    Project,
    Status,
    Ticket,
    TicketSort,
    TimeEntry,
    rules,
)
from tickets_mcp.domain.dates import parse_day, today_utc
from tickets_mcp.errors import Conflict, Invalid, NotFound, PermissionDenied, Unsupported
from tickets_mcp.remotes.client import Ambiguous
from tickets_mcp.remotes.gitlab_directory import API, BACKEND, Directory
from tickets_mcp.remotes.gitlab_mapping import Place
from tickets_mcp.remotes.gitlab_milestones import NO_DATE, GitLabMilestones
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.remotes.planning import check_link, clears, hours, refuse_unmapped_filters, self_link
from tickets_mcp.wire.gitlab import GitLabIssue, GitLabLinkedIssue, GitLabTimeStats, LinkedIssues

# How each link kind is sent, and how GitLab's list of an issue's links reads each one from that issue.
LINK_TYPES = {LinkKind.BLOCKS: "blocks", LinkKind.BLOCKED_BY: "is_blocked_by", LinkKind.RELATES_TO: "relates_to"}
READ_KINDS = {link_type: kind for kind, link_type in LINK_TYPES.items()}
KIND_ORDER = {kind: rank for rank, kind in enumerate(LinkKind)}
HOURS_MAX = 1000
SUMMARY_MAX = 255  # a timelog's summary, GitLab's limit
NO_MILESTONE = 0  # the milestone_id that takes an issue out of its milestone (doc/api/issues.md)
UNDATED_LAST = "no due date last"


def refuse_filters(query: TicketFilter) -> None:
    """Refuse what GitLab's issue lists cannot select: links, and due dates but by GitLab's own windows."""
    refuse_unmapped_filters(query, BACKEND, blocked="GitLab's issue lists cannot select issues by their links",
                            due_order=None)  # fmt: skip
    if query.due_before or query.due_after:
        raise Unsupported(
            f"The {BACKEND} backend cannot filter tickets by a range of due dates: GitLab's issue lists filter "
            "due dates by its own windows only (overdue, this week, this month).",
            hint="Use overdue=true, or sort by due and read on until the dates pass.",
        )


def wanted_statuses(query: TicketFilter) -> list[Status] | None:
    """The statuses a listing asks GitLab for: an overdue ticket is an open one, so with `overdue` the open ones
    of those asked (None: none can match)."""
    if not query.overdue:
        return list(query.statuses)
    return [s for s in query.statuses or OPEN_STATUSES if s in OPEN_STATUSES] or None


def due_key(descending: bool) -> Callable[[Ticket], str]:
    """How lists GitLab sorts by due date merge: the undated last either way, as GitLab puts them."""
    return lambda ticket: ticket.due_date or ("" if descending else "~")


def due_order(query: TicketFilter) -> tuple[str, ...]:
    """What a page sorted by due date says of its order."""
    if query.sort is not TicketSort.DUE:
        return ()
    return (f"due {'desc' if query.descending else 'asc'}", UNDATED_LAST)


def duration(minutes: int) -> str:
    """Whole minutes as GitLab reads a duration: `2h30m`, `45m`, `3h`."""
    spent_hours, rest = divmod(minutes, 60)
    return (f"{spent_hours}h" if spent_hours else "") + (f"{rest}m" if rest or not spent_hours else "")


def whole_minutes(field: str, amount: float) -> int:
    minutes = round(amount * 60)
    if not minutes:
        raise Invalid(field, "GitLab keeps whole minutes: a minute at least.", hint="Pass 0.02 hours or more.")
    return minutes


def estimate_minutes(estimate: float | str | None) -> int | None:
    """An estimate in whole minutes (None: none, or left as it is)."""
    if estimate is None or clears(estimate):
        return None
    amount = hours("estimate", estimate, HOURS_MAX)
    return whole_minutes("estimate", amount) if amount else None


def blocked_by(links: Sequence[Link]) -> tuple[str, ...]:
    """The open tickets that block one, from its links, by slug."""
    found = [link.slug for link in links if link.kind is LinkKind.BLOCKED_BY and link.status not in CLOSED_STATUSES]
    return tuple(sorted(found, key=rules.parse_slug))


class GitLabPlanning:
    """Links, planning fields and time on the projects a Directory knows."""

    def __init__(self, gitlab: Directory, milestones: GitLabMilestones) -> None:
        self.gitlab = gitlab
        self.milestones = milestones

    # The planning fields of an issue

    async def fields(
        self, place: Place, issue: GitLabIssue | None, *, due_date: str | None, milestone: str | None,
        estimate: float | str | None,
    ) -> dict[str, Any]:  # fmt: skip
        """What to send for a due date and a milestone (None: leave it, "none": take it away) that `issue` (None:
        a new one) does not have already. The estimate is sent on its own once the issue is written (`estimated`),
        so it is checked here, before anything is."""
        estimate_minutes(estimate)
        body: dict[str, Any] = {}
        if due_date is not None:
            day = None if clears(due_date) else parse_day("due_date", due_date)
            had = issue.due_date.isoformat() if issue is not None and issue.due_date else None
            if day != had:
                body["due_date"] = day or NO_DATE
        if milestone is not None:
            had_milestone = issue.milestone if issue is not None else None
            if clears(milestone):
                if had_milestone is not None:
                    body["milestone_id"] = NO_MILESTONE
            elif had_milestone is None or " ".join(milestone.split()).casefold() != had_milestone.title.casefold():
                body["milestone_id"] = (await self.milestones.named(place, milestone, open_only=True)).id
        return body

    async def list_filters(self, query: TicketFilter) -> dict[str, Any]:
        """The issue list parameters for a listing's milestone and overdue filters."""
        params: dict[str, Any] = {}
        if query.milestone is not None:
            if clears(query.milestone):
                params["milestone"] = "None"
            elif query.project is not None:  # named as the project's milestone is titled, or refused naming it
                place = await self.gitlab.place(query.project, query.organization)
                params["milestone"] = (await self.milestones.named(place, query.milestone)).title
            else:
                params["milestone"] = query.milestone.strip()
        if query.overdue:
            params["due_date"] = "overdue"
        return params

    async def estimated(self, place: Place, ticket: Ticket, estimate: float | str | None) -> Ticket:
        """The ticket with `estimate` set (None: left as it is, "none" or 0: taken away), read back."""
        if estimate is None:
            return ticket
        minutes = estimate_minutes(estimate)
        if minutes == (round(ticket.estimate * 60) if ticket.estimate else None):
            return ticket
        path = API + f"projects/{place.id}/issues/{ticket.number}/"
        # Each sets the estimate to a value: sent again, it changes nothing more, so it may be retried.
        if minutes is None:
            reply = await self.gitlab.client.request("POST", path + "reset_time_estimate", idempotent=True)
        else:
            body = {"duration": duration(minutes)}
            reply = await self.gitlab.client.request("POST", path + "time_estimate", json_body=body, idempotent=True)
        parse(GitLabTimeStats, reply.body, BACKEND, "the time stats")
        _, issue = await self.gitlab.issue(ticket.slug)
        return (await self.gitlab.tickets([issue]))[0]

    @staticmethod
    def estimate_unit(place: Place, unit: EstimateUnit) -> Project:
        if unit is not EstimateUnit.HOURS:
            raise Unsupported(
                f"The {BACKEND} backend cannot count estimates in {unit.value}: GitLab's estimate is a time "
                "estimate, in hours (its issue weight, a Premium field, is not mapped).",
                hint="Keep estimates in hours.",
            )
        return place.project

    # Links

    async def _linked(self, place: Place, number: int) -> list[GitLabLinkedIssue]:
        reply = await self.gitlab.get(f"projects/{place.id}/issues/{number}/links")
        return parse(LinkedIssues, reply.body, BACKEND, "a list of linked issues").root

    async def _links(self, rows: Sequence[GitLabLinkedIssue]) -> tuple[Link, ...]:
        kept = [row for row in rows if row.link_type in READ_KINDS]
        tickets = await self.gitlab.tickets(kept)
        found = [
            Link(kind=READ_KINDS[row.link_type], slug=ticket.slug, title=ticket.title, status=ticket.status)
            for row, ticket in zip(kept, tickets, strict=True)
        ]
        found.sort(key=lambda link: (KIND_ORDER[link.kind], *rules.parse_slug(link.slug)))
        return tuple(dict.fromkeys(found))

    async def links(self, place: Place, issue: GitLabIssue) -> tuple[Link, ...]:
        """The issue's links, read from it, by kind then slug."""
        return await self._links(await self._linked(place, issue.iid))

    async def link(self, slug: str, kind: LinkKind, other: str, *, unlink: bool, close_as_duplicate: bool) -> Linked:
        check_link(slug, kind, other, unlink=unlink, close_as_duplicate=close_as_duplicate)
        if kind.stored is LinkKind.DUPLICATES:
            raise Unsupported(
                f"The {BACKEND} backend cannot link tickets as duplicates: GitLab's issue links are relates to, "
                "blocks and is blocked by. GitLab marks a duplicate by closing it with /duplicate, which leaves "
                "only a relates-to link, so it would not read back as one.",
                hint=f"Link {slug} relates_to {other} and move it to canceled, or comment /duplicate on it in GitLab.",
            )
        place, issue = await self.gitlab.issue(slug)
        other_place, target = await self.gitlab.issue(other)
        if target.id == issue.id:
            raise self_link(slug)
        rows = await self._linked(place, issue.iid)
        between = next((row for row in rows if row.id == target.id), None)
        held = READ_KINDS.get(between.link_type) if between is not None else None
        if unlink:
            if between is None or held is not kind:
                raise NotFound(f"{slug} is not linked as {kind.value} {other}.", hint="get_ticket shows its links.")
            await self._unlink(place, issue, between)
            rows = [row for row in rows if row is not between]
        elif between is None:
            rows = await self._make(place, issue, other_place, target, kind)
        elif held is not kind:
            raise Conflict(
                f"{slug} and {other} are linked already ({held.value if held else between.link_type}): GitLab keeps "
                "one link between two issues.",
                hint="Unlink that one first.",
            )
        _, after = await self.gitlab.issue(slug)
        links = await self._links(rows)
        ticket = (await self.gitlab.tickets([after]))[0]
        return Linked(ticket=ticket.model_copy(update={"blocked_by": blocked_by(links)}), links=links)

    async def _unlink(self, place: Place, issue: GitLabIssue, link: GitLabLinkedIssue) -> None:
        path = API + f"projects/{place.id}/issues/{issue.iid}/links/{link.issue_link_id}"
        with contextlib.suppress(NotFound):  # gone already: a retried DELETE whose first attempt landed
            await self.gitlab.client.request("DELETE", path)

    async def _make(
        self, place: Place, issue: GitLabIssue, other_place: Place, target: GitLabIssue, kind: LinkKind
    ) -> list[GitLabLinkedIssue]:
        """Link `issue` to `target` as `kind`, and check GitLab kept it so (taking it back where it did not): the
        issue's links, read after."""
        body = {"target_project_id": other_place.id, "target_issue_iid": target.iid, "link_type": LINK_TYPES[kind]}
        try:
            await self.gitlab.client.request(
                "POST", API + f"projects/{place.id}/issues/{issue.iid}/links", json_body=body
            )
        except PermissionDenied as refused:
            if "blocked issues" not in refused.message.casefold():
                raise
            raise Unsupported(
                f"The {BACKEND} backend cannot link tickets as {kind.value} here: blocks links need GitLab Premium "
                f"or Ultimate ({refused.message})",
                hint="Link them relates_to instead.",
            ) from None
        except Ambiguous:
            pass  # whether it landed is read below: a link that is not there is reported as lost
        rows = await self._linked(place, issue.iid)
        made = next((row for row in rows if row.id == target.id), None)
        if made is None:
            raise Ambiguous(
                f"{BACKEND} did not answer whether it linked {place.project.code}-{issue.iid}, and holds no such link.",
                hint="Link them again.",
            )
        if READ_KINDS.get(made.link_type) is not kind:
            await self._unlink(place, issue, made)
            raise Unsupported(
                f"The {BACKEND} backend cannot link tickets as {kind.value} here: this GitLab kept it as "
                f"{made.link_type} (GitLab before 12.7 relates every link), so it was taken away again.",
                hint="Link them relates_to instead.",
            )
        return rows

    # Time

    async def log_time(self, slug: str, spent: float, *, spent_on: str | None, note: str) -> TimeEntry:
        if not 0 < spent < HOURS_MAX:
            raise Invalid("hours", f"Log more than 0 and less than {HOURS_MAX} hours, not {spent:g}.")
        today = today_utc().isoformat()
        if spent_on is not None and parse_day("spent_on", spent_on) != today:
            raise Unsupported(
                f"The {BACKEND} backend cannot log time on another day: GitLab's REST API logs time as spent now.",
                hint="Leave `on` out to log it today, or log it in GitLab (/spend 1h 2026-01-31 in a comment).",
            )
        minutes = whole_minutes("hours", spent)
        summary = rules.validate_text("note", note, SUMMARY_MAX)
        place, issue = await self.gitlab.issue(slug)
        body = {"duration": duration(minutes)} | ({"summary": summary} if summary else {})
        # Not idempotent: sent twice, the time is logged twice, so it is never retried.
        reply = await self.gitlab.client.request(
            "POST", API + f"projects/{place.id}/issues/{issue.iid}/add_spent_time", json_body=body, idempotent=False
        )
        parse(GitLabTimeStats, reply.body, BACKEND, "the time stats")
        return TimeEntry(
            id=0, ticket_slug=f"{place.project.code}-{issue.iid}", user=self.gitlab.me.username, hours=minutes / 60,
            spent_on=today, note=summary, created_at=rules.format_timestamp(datetime.now(UTC)),
        )  # fmt: skip
