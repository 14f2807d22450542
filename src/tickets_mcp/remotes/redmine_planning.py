"""Planning on Redmine (docs/redmine.md has the table): relations as links, target versions as milestones,
due dates, estimated hours and time entries.

- Links are issue relations. Redmine keeps one relation between two issues, in one direction (`blocked`
  and `duplicated` are kept turned around, as `blocks` and `duplicates`); precedes/follows and copies
  are not links here and are left out.
- Milestones are versions. A version's status is open, locked (takes no more issues) or closed; its due
  date is its effective date; it has no start date. A version's progress is counted with four `limit=1`
  issue lists, so listing milestones costs four requests per version.
- Estimates are hours (Redmine's estimated time): a project cannot count points.
- Time is a time entry, logged as the site's default activity (else the project's first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tickets_mcp.core.tracker import TicketFilter
from tickets_mcp.domain import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    EstimateUnit,
    Link,
    Linked,
    LinkKind,
    Milestone,
    Project,
    Status,
    Ticket,
    TicketSort,
    TimeEntry,
    rules,
)
from tickets_mcp.domain.dates import parse_day, today_utc
from tickets_mcp.errors import Conflict, Invalid, NotFound, PermissionDenied, Unsupported
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.remotes.paging import gather
from tickets_mcp.remotes.planning import (
    check_link,
    clears,
    closing_choice,
    hours,
    milestone_name,
    not_another,
    renamed,
    self_link,
)
from tickets_mcp.remotes.redmine_mapping import BACKEND, status_of
from tickets_mcp.remotes.redmine_site import PAGE_MAX, Place, Site, display_name
from tickets_mcp.wire.redmine import (
    Issue,
    Issues,
    ProjectEnvelope,
    Relation,
    RelationEnvelope,
    SiteActivities,
    TimeEntries,
    TimeEntryEnvelope,
    Version,
    VersionEnvelope,
    Versions,
)
from tickets_mcp.wire.values import stored

# How each link kind is written as a relation from the first issue; read back, the stored types below.
RELATION_TYPES = {
    LinkKind.BLOCKS: "blocks",
    LinkKind.BLOCKED_BY: "blocked",
    LinkKind.DUPLICATES: "duplicates",
    LinkKind.DUPLICATED_BY: "duplicated",
    LinkKind.RELATES_TO: "relates",
}
STORED_KINDS = {"blocks": LinkKind.BLOCKS, "duplicates": LinkKind.DUPLICATES, "relates": LinkKind.RELATES_TO}
KIND_ORDER = {kind: rank for rank, kind in enumerate(LinkKind)}
VERSION_NAME_MAX = 60  # Redmine's limit
NOTE_MAX = 1024  # a time entry's comment, Redmine's limit
HOURS_MAX = 1000  # Redmine refuses a time entry of 1,000 hours or more
MOVE_MAX = 500  # open issues a milestone being closed may hand on (one PUT each)
TIME_ENTRIES_SHOWN = 100  # the latest ones, on get_ticket
CLEAR = ""  # what clears a field in a Redmine PUT


@dataclass(frozen=True, slots=True)
class Plan:
    """The planning fields of a create or change, as Redmine fields, and what each must read back as."""

    fields: dict[str, Any]
    expect: dict[str, Any]


class Planning:
    """Links, milestones, dates, estimates and time on one Redmine site."""

    def __init__(self, site: Site) -> None:
        self.site = site

    # The planning fields of a ticket

    async def plan(
        self, place: Place, *, due_date: str | None, estimate: str | float | None, milestone: str | None,
        start: str | None,
    ) -> Plan:  # fmt: skip
        """What to send for a ticket's due date, estimate and milestone (None: leave it, "none": clear it).
        Redmine wants a due date on or after the issue's start date (`start`; today's for a new issue, where
        the site sets one): tickets have no start date, so an earlier due date moves the start back with it."""
        fields: dict[str, Any] = {}
        expect: dict[str, Any] = {}
        if due_date is not None:
            day = None if clears(due_date) else parse_day("due_date", due_date)
            fields["due_date"], expect["due_date"] = day or CLEAR, day
            if day is not None and start is not None and day < start:
                fields["start_date"] = day
        if estimate is not None:
            amount = None if clears(estimate) else hours("estimate", estimate, HOURS_MAX)
            fields["estimated_hours"] = CLEAR if amount is None else amount
            expect["estimate"] = amount
        if milestone is not None:
            version = None if clears(milestone) else await self.version_named(place, milestone, assignable=True)
            fields["fixed_version_id"] = version.id if version else CLEAR
            expect["milestone"] = version.name if version else None
        return Plan(fields, expect)

    # Filters

    async def sources(
        self, place: Place | None, query: TicketFilter, base: dict[str, Any], statuses: set[int] | None
    ) -> list[dict[str, Any]]:
        """The issue lists `query` reads, merged in its order: `base` (its other filters, `statuses` the status
        ids it asks for, None: any) with the planning filters, split where Redmine cannot say it in one list.
        `blocking=false` is closed issues, and open ones that block no open issue; the due-date order is issues
        with a due date, then those without (Redmine would sort those first)."""
        plan, only_open = await self._filters(place, query)
        wanted = statuses
        parts = [({**base, **plan}, wanted)]
        if only_open or query.blocking is False:  # the statuses read as open are needed only here
            known = await self.site.statuses()
            open_ids = {s.id for s in known if status_of(s) in OPEN_STATUSES}
            wanted = {s.id for s in known} if wanted is None else wanted
            if only_open:
                wanted &= open_ids
            parts = [({**base, **plan}, wanted)]
            if query.blocking is False:
                parts = [({**base, **plan}, wanted - open_ids), ({**base, **plan, "blocks": "!o"}, wanted & open_ids)]
                parts = [(params, ids) for params, ids in parts if ids] or parts[:1]
        lists = [{**params, "status_id": _ids(ids)} for params, ids in parts]
        if query.sort is TicketSort.DUE:
            direction = "desc" if query.descending else "asc"
            dated = [{**p, "sort": f"due_date:{direction},id:{direction}"} for p in lists]
            if "due_date" in plan:  # a due-date filter leaves out the issues without one
                return dated
            undated = [{**p, "due_date": "!*", "sort": f"id:{direction}"} for p in lists]
            return [{**p, "due_date": "*"} for p in dated] + undated
        return lists

    async def _filters(self, place: Place | None, query: TicketFilter) -> tuple[dict[str, Any], bool]:
        """The issue filters for the planning fields of `query`, and whether only open issues may match."""
        params: dict[str, Any] = {}
        only_open = False
        if query.milestone is not None:
            if clears(query.milestone):
                params["fixed_version_id"] = "!*"
            elif place is None:
                raise Invalid("milestone", "Redmine's milestones belong to a project.", hint="Pass project too.")
            else:
                params["fixed_version_id"] = (await self.version_named(place, query.milestone)).id
        if query.blocked is not None:
            params["blocked"] = "*o" if query.blocked else "!o"  # blocked by any open issue, or by none
        if query.blocking:
            params["blocks"], only_open = "*o", True  # open, and blocks an open issue
        latest = parse_day("due_before", query.due_before) if query.due_before else None
        if query.overdue:
            yesterday = parse_day("overdue", "yesterday")
            latest, only_open = min(latest or yesterday, yesterday), True
        earliest = parse_day("due_after", query.due_after) if query.due_after else None
        if earliest and latest:
            params["due_date"] = f"><{earliest}|{latest}"
        elif earliest or latest:
            params["due_date"] = f">={earliest}" if earliest else f"<={latest}"
        return params, only_open

    # Milestones

    async def versions(self, place: Place) -> list[Version]:
        """The versions issues of `place` may have: its own, and those shared with it."""
        body = await self.site.get(f"projects/{place.project.id}/versions.json")
        return parse(Versions, body, BACKEND, "a list of versions").versions

    async def version_named(self, place: Place, name: str, *, assignable: bool = False) -> Version:
        """The version called `name` (its own project's first); `assignable`: one that may take issues."""
        wanted = name.strip().casefold()
        found = sorted(
            (v for v in await self.versions(place) if v.name.strip().casefold() == wanted),
            key=lambda v: v.project.id != int(place.project.id),
        )
        if not found:
            names = [v.name for v in await self.versions(place) if v.status != "closed"]
            raise NotFound(
                f"No milestone {name!r} in {place.project.code} on Redmine.",
                hint=rules.suggestion(name, names, "milestone", "list_milestones"),
            )
        version = found[0]
        if assignable and version.status != "open":
            raise Invalid(
                "milestone",
                f"Milestone {version.name!r} is {version.status}: Redmine puts no more issues in it.",
                hint="Reopen it with save_milestone (closed=false), or choose an open one.",
            )
        return version

    async def milestones(self, place: Place, *, closed: bool) -> list[Milestone]:
        """The project's milestones with their progress: open (and locked) ones by due date, none last, then
        by name; with `closed`, the closed ones after."""
        chosen = [v for v in await self.versions(place) if closed or v.status != "closed"]
        chosen.sort(key=lambda v: (v.status == "closed", v.due_date is None, v.due_date or "", v.name.casefold()))
        return await gather([lambda v=version: self.milestone(v) for version in chosen])

    async def milestone(self, version: Version) -> Milestone:
        """A version with its issues counted: all, open, done, and open ones past their due date (or past the
        version's, for those without one)."""
        statuses = await self.site.statuses()
        open_ids = "|".join(str(s.id) for s in statuses if status_of(s) in OPEN_STATUSES) or "0"
        done_ids = "|".join(str(s.id) for s in statuses if status_of(s) is Status.DONE) or "0"
        today = today_utc().isoformat()
        yesterday = parse_day("due_date", "yesterday")
        late_version = version.due_date is not None and version.due_date.isoformat() < today
        # Past the version's due date, every open issue is late but those due today or later.
        late = f">={today}" if late_version else f"<={yesterday}"

        async def count(status_id: str, **more: str) -> int:
            params = {"fixed_version_id": version.id, "status_id": status_id, "limit": 1, **more}
            return parse(Issues, await self.site.get("issues.json", params), BACKEND, "a count of issues").total_count

        total, open_count, done, due = await gather([
            lambda: count("*"), lambda: count(open_ids), lambda: count(done_ids),
            lambda: count(open_ids, due_date=late),
        ])  # fmt: skip
        return Milestone(
            id=version.id, project_id=str(version.project.id), name=version.name, start_date=None,
            due_date=version.due_date.isoformat() if version.due_date else None, closed=version.status == "closed",
            open_tickets=open_count, done_tickets=done, total_tickets=total,
            overdue_tickets=open_count - due if late_version else due,
        )  # fmt: skip

    async def save_milestone(
        self, place: Place, name: str, *, rename: str | None, start_date: str | None, due_date: str | None,
        closed: bool | None, open_tickets: str | None,
    ) -> Milestone:  # fmt: skip
        if start_date is not None and not clears(start_date):
            raise Unsupported(
                f"The {BACKEND} backend cannot keep a milestone's start date: a Redmine version has none.",
                hint="Leave start_date out; due_date is the version's date.",
            )
        own = [v for v in await self.versions(place) if v.project.id == int(place.project.id)]
        current = next((v for v in own if v.name.strip().casefold() == name.strip().casefold()), None)
        fields: dict[str, Any] = {}
        names, where = [v.name for v in own], f"Project {place.project.code}"
        if (new_name := renamed(rename, current and current.name, names, VERSION_NAME_MAX, where)) is not None:
            fields["name"] = new_name
        if due_date is not None:
            fields["due_date"] = CLEAR if clears(due_date) else parse_day("due_date", due_date)
        if closed is not None:
            fields["status"] = "closed" if closed else "open"
        if current is None:
            fields.setdefault("name", milestone_name(name, VERSION_NAME_MAX))
            reply = await self.site.client.request(
                "POST", f"projects/{place.project.id}/versions.json", json_body={"version": fields}
            )
            return await self.milestone(parse(VersionEnvelope, reply.body, BACKEND, "the new version").version)
        if closed and current.status != "closed":
            await self._hand_on(place, current, open_tickets)
        if fields:
            await self.site.client.request("PUT", f"versions/{current.id}.json", json_body={"version": fields})
        body = await self.site.get(f"versions/{current.id}.json")
        return await self.milestone(parse(VersionEnvelope, body, BACKEND, "a version").version)

    async def _hand_on(self, place: Place, version: Version, open_tickets: str | None) -> None:
        """What closing `version` does with its open issues, as the local tracker does: refused without
        `open_tickets`; `keep` leaves them in it, `none` takes them out, a name moves them there (one PUT each)."""
        progress = await self.milestone(version)
        if not progress.open_tickets:
            return
        choice = closing_choice(version.name, progress.open_tickets, open_tickets)
        if choice is None:
            return
        target = None if clears(choice) else await self.version_named(place, choice, assignable=True)
        if target is not None and target.id == version.id:
            raise not_another(version.name)
        if progress.open_tickets > MOVE_MAX:
            count = rules.plural(progress.open_tickets, "open ticket")
            raise Unsupported(
                f"The {BACKEND} backend moves issues one request each, and {version.name!r} holds {count}.",
                hint=f"Move them in Redmine (bulk edit) first, or keep them (open_tickets=keep); at most {MOVE_MAX}.",
            )
        moving = await self._open_issues(version)
        body = {"issue": {"fixed_version_id": target.id if target else CLEAR}}
        for issue_id in moving:
            await self.site.client.request("PUT", f"issues/{issue_id}.json", json_body=body)
        left = (await self.milestone(version)).open_tickets
        if left:
            raise PermissionDenied(
                f"Redmine kept {rules.plural(left, 'open ticket')} in {version.name!r}: "
                f"{self.site.me.username} may not change their milestone. The milestone was left open.",
                hint="Ask a Redmine administrator, or close it with open_tickets=keep.",
            )

    async def _open_issues(self, version: Version) -> list[int]:
        statuses = await self.site.statuses()
        open_ids = "|".join(str(s.id) for s in statuses if status_of(s) in OPEN_STATUSES) or "0"
        found: list[int] = []
        for offset in range(0, MOVE_MAX, PAGE_MAX):
            params = {"fixed_version_id": version.id, "status_id": open_ids, "offset": offset, "limit": PAGE_MAX}
            page = parse(Issues, await self.site.get("issues.json", params), BACKEND, "a list of issues")
            found += [issue.id for issue in page.issues]
            if len(found) >= page.total_count or not page.issues:
                break
        return found

    async def estimate_unit(self, place: Place, unit: EstimateUnit) -> Project:
        if unit is not EstimateUnit.HOURS:
            raise Unsupported(
                f"The {BACKEND} backend cannot count estimates in {unit.value}: Redmine's estimated time is hours.",
                hint="Keep estimates in hours.",
            )
        return place.project

    # Links

    async def links(self, issue: Issue) -> tuple[Link, ...]:
        """The issue's relations as links read from it, by kind then slug (precedes, follows and copies left out)."""
        seen = [(r, self._kind(r, issue.id)) for r in issue.relations or ()]
        kinds = {(r.issue_to_id if r.issue_id == issue.id else r.issue_id): k for r, k in seen if k is not None}
        others = await self.site.issues_by_id(sorted(kinds))
        codes = await self.site.codes(others)
        found = [
            Link(kind=kinds[o.id], slug=f"{codes[o.project.id]}-{o.id}", title=o.subject, status=status_of(o.status))
            for o in others
        ]
        found.sort(key=lambda link: (KIND_ORDER[link.kind], *rules.parse_slug(link.slug)))
        return tuple(found)

    @staticmethod
    def _kind(relation: Relation, issue_id: int) -> LinkKind | None:
        kind = STORED_KINDS.get(relation.relation_type)
        if kind is None:
            return None
        return kind if relation.issue_id == issue_id else kind.inverse

    async def link(self, slug: str, kind: LinkKind, other: str, *, unlink: bool, close_as_duplicate: bool) -> Linked:
        check_link(slug, kind, other, unlink=unlink, close_as_duplicate=close_as_duplicate)
        _, issue = await self.site.issue(slug)
        _, target = await self.site.issue(other)
        if target.id == issue.id:
            raise self_link(slug)
        stored_from, stored_to = (target.id, issue.id) if kind.reversed else (issue.id, target.id)
        between = [r for r in issue.relations or () if {r.issue_id, r.issue_to_id} == {issue.id, target.id}]
        same = next(
            (r for r in between if (r.issue_id, r.issue_to_id, r.relation_type) == (stored_from, stored_to,
                                                                                     RELATION_TYPES[kind.stored])),
            None,
        )  # fmt: skip
        if unlink:
            if same is None:
                raise NotFound(f"{slug} is not linked as {kind.value} {other}.", hint="get_ticket shows its links.")
            await self.site.client.request("DELETE", f"relations/{same.id}.json")
        elif same is None:
            if between:
                held = self._kind(between[0], issue.id)
                raise Conflict(
                    f"{slug} and {other} are linked already ({held.value if held else between[0].relation_type}): "
                    "Redmine keeps one relation between two issues.",
                    hint="Unlink that one first.",
                )
            relation = {"issue_to_id": target.id, "relation_type": RELATION_TYPES[kind]}
            reply = await self.site.client.request(
                "POST", f"issues/{issue.id}/relations.json", json_body={"relation": relation}
            )
            parse(RelationEnvelope, reply.body, BACKEND, "the new relation")
        _, after = await self.site.issue(slug)
        ticket = (await self.site.tickets([after]))[0]
        if close_as_duplicate and ticket.status not in CLOSED_STATUSES:
            ticket = await self._cancel(slug, ticket)
            _, after = await self.site.issue(slug)
        return Linked(ticket=ticket, links=await self.links(after))

    async def _cancel(self, slug: str, ticket: Ticket) -> Ticket:
        """Move a ticket marked a duplicate to the status read as canceled, where the workflow lets the user."""
        _, issue = await self.site.issue(slug, "allowed_statuses")
        status_id = await self.site.allowed_status(issue, ticket, Status.CANCELED)
        return await self.site.write(issue, {"status_id": status_id}, {"status": Status.CANCELED})

    # Time

    async def time_entries(self, issue: Issue, slug: str) -> tuple[TimeEntry, ...]:
        """The issue's latest time entries (TIME_ENTRIES_SHOWN at most), oldest first. An issue without time spent
        (or whose time the user may not see: Redmine then leaves spent_hours out) costs no request."""
        if not issue.spent_hours:
            return ()
        params = {"issue_id": issue.id, "limit": TIME_ENTRIES_SHOWN}
        found = parse(TimeEntries, await self.site.get("time_entries.json", params), BACKEND, "time entries")
        entries = sorted(found.time_entries, key=lambda e: (e.spent_on, e.created_on, e.id))
        return tuple(
            TimeEntry(
                id=e.id, ticket_slug=slug, user=display_name(e.user), hours=e.hours, spent_on=e.spent_on.isoformat(),
                note=e.comments, created_at=stored(e.created_on),
            )
            for e in entries
        )  # fmt: skip

    async def log_time(self, slug: str, spent: float, *, spent_on: str | None, note: str) -> TimeEntry:
        if not 0 < spent < HOURS_MAX:
            raise Invalid("hours", f"Log more than 0 and less than {HOURS_MAX} hours, not {spent:g}.")
        day = parse_day("spent_on", spent_on) if spent_on else today_utc().isoformat()
        rules.validate_text("note", note, NOTE_MAX)
        place, issue = await self.site.issue(slug)
        entry = {
            "issue_id": issue.id, "hours": spent, "spent_on": day, "comments": note,
            "activity_id": await self._activity(place),
        }  # fmt: skip
        # Not idempotent: sent twice, the time is logged twice, so it is never retried.
        reply = await self.site.client.request(
            "POST", "time_entries.json", json_body={"time_entry": entry}, idempotent=False
        )
        made = parse(TimeEntryEnvelope, reply.body, BACKEND, "the new time entry").time_entry
        return TimeEntry(
            id=made.id, ticket_slug=f"{place.project.code}-{issue.id}", user=display_name(made.user),
            hours=made.hours, spent_on=made.spent_on.isoformat(), note=made.comments,
            created_at=stored(made.created_on),
        )  # fmt: skip

    async def _activity(self, place: Place) -> int:
        """The activity time is logged as: the site's default one, else the project's first."""
        site = parse(
            SiteActivities, await self.site.get("enumerations/time_entry_activities.json"), BACKEND, "activities"
        )
        default = next((a.id for a in site.time_entry_activities if a.is_default and a.active), None)
        if default is not None:
            return default
        body = await self.site.get(f"projects/{place.project.id}.json", {"include": "time_entry_activities"})
        found = parse(ProjectEnvelope, body, BACKEND, "a project").project.time_entry_activities or ()
        first = next((a.id for a in found if a.active), None)
        if first is None:
            raise Invalid(
                "hours",
                f"Redmine has no activity to log time as in {place.project.code}.",
                hint="Ask a Redmine administrator to enable time tracking and an activity there.",
            )
        return first


def _ids(ids: set[int] | None) -> str:
    """A status_id filter: any status (None), these ids, or one no issue has."""
    return "*" if ids is None else "|".join(map(str, sorted(ids))) or "0"
