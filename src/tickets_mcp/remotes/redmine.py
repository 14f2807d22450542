"""Redmine behind the Tracker protocol: its REST API (Redmine 4.2 and 5.x), also under a path.

`tickets-mcp --backend redmine --url https://redmine.example.com` with the user's API access key (My
account → API access key; the site needs "Enable REST web service") in TICKETS_TOKEN, sent as
`X-Redmine-API-Key`. docs/redmine.md has the whole mapping:

- One organization, the site. Projects are its active projects the key's user sees, each with a code
  from its identifier (`web-shop` → WEBSHOP). Redmine numbers issues across the site, so a ticket's
  number is its issue id: WEBSHOP-1234 is issue #1234, found only in its own project.
- Types are trackers, statuses are issue statuses and priorities are issue priorities, matched by name
  (redmine_mapping); the single label a ticket may carry is its issue category. People are logins.
- Comments are the journals' notes (private ones only for those who may see them); a comment is a PUT
  with notes. Sub-tasks are child issues. Deleting an issue deletes its sub-tasks, as Redmine does.
- Redmine ignores, without a word, a status its workflow does not allow the user, and any field the
  user may not set: every write checks the allowed statuses first and reads the issue back, refusing
  with what happened instead of reporting a change that did not land.
- Versions are the last change in Unix seconds, checked before writing (Redmine's own lock_version is
  not in its API, so a change landing between the read and the write is not caught).
- Files (redmine_files) are the issue's attachments, checked by our own rules before they are sent.
- Planning (redmine_planning): relations are links, target versions are milestones, due dates and
  estimated hours are the issue's own, and time is logged as time entries.

redmine_site.Site is what the adapter knows of the site and how it reads and writes issues.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx2

from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import ANYONE, UNASSIGNED, TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    HISTORY_SHOWN,
    Attachment,
    Board,
    BoardColumn,
    Capability,
    Comment,
    EstimateUnit,
    Linked,
    LinkKind,
    Member,
    Milestone,
    Organization,
    OrganizationWorkspace,
    Priority,
    Project,
    Role,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    TicketSort,
    TimeEntry,
    User,
    Workspace,
    rules,
)
from tickets_mcp.domain.dates import today_utc
from tickets_mcp.domain.rules import check_version
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied
from tickets_mcp.remotes.base import PartlyFiled, RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy, RemoteClient
from tickets_mcp.remotes.mapping import (
    CLOCK_SKEW,
    parse,
    recover_created,
    refuse_filters,
)
from tickets_mcp.remotes.paging import Source, gather, list_page
from tickets_mcp.remotes.redmine_files import Files, listed
from tickets_mcp.remotes.redmine_mapping import (
    BACKEND,
    PRIORITY_NAMES,
    STATUS_NAMES,
    TRACKER_NAMES,
    pick_named,
    priority_of,
    status_of,
    type_of,
)
from tickets_mcp.remotes.redmine_planning import Planning
from tickets_mcp.remotes.redmine_site import PAGE_MAX, Place, Site, display_name, one_label
from tickets_mcp.wire.redmine import (
    Child,
    Issue,
    IssueEnvelope,
    RedmineUser,
    UserEnvelope,
)
from tickets_mcp.wire.values import iso_seconds, stored

BOARD_PER_COLUMN_MAX = 100
WORKSPACE_PROJECTS = 50  # projects the workspace shows of a user who is a member of none
RECOVERY_WINDOW = 20  # newest issues of a project searched after an ambiguous create
PRIORITY_RANK = {priority: rank for rank, priority in enumerate(Priority)}
UNDATED = "~"  # a ticket without a due date sorts after every date, as on a local store
SUPPORTED_FILTERS = ("types", "priorities", "assignee", "reporter", "labels", "parent", "text", "updated_since")


async def open_adapter(
    settings: RemoteSettings, *, policy: Policy | None = None, transport: httpx2.AsyncBaseTransport | None = None
) -> RedmineTracker:
    """The adapter, once GET /users/current.json has shown the key works (401 becomes TokenRejected)."""
    root = settings.url.strip().rstrip("/") + "/"
    client = RemoteClient(BACKEND, root, {"X-Redmine-API-Key": settings.token}, policy=policy, transport=transport)
    async with client.closed_on_failure():
        reply = await client.request("GET", "users/current.json")
        me = parse(UserEnvelope, reply.body, BACKEND, "the key's user").user
    return RedmineTracker(client, me, site=urlsplit(root).netloc)


class RedmineTracker(RemoteTracker):
    name: ClassVar[str] = BACKEND
    maps: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.EDIT_TICKETS,
            Capability.MOVE_TICKETS,
            Capability.DELETE_TICKETS,
            Capability.COMMENT,
            Capability.BOARD,
            Capability.SUBTASKS,
            Capability.LINKS,
            Capability.MILESTONES,
            Capability.DUE_DATES,
            Capability.ESTIMATES,
            Capability.TIME_TRACKING,
            Capability.ATTACHMENTS,
        }
    )

    def __init__(self, client: RemoteClient, me: RedmineUser, *, site: str) -> None:
        super().__init__(client)
        self.site = Site(client, me, host=site)
        self.planning = Planning(self.site)
        self.files = Files(self.site)
        self.me = self.site.me
        self.admin = self.site.admin
        self.organization = self.site.organization

    # Workspace

    async def workspace(self) -> Workspace:
        await self.site.still_me()
        places = await self.site.mine() or (await self.site.places())[:WORKSPACE_PROJECTS]
        people = {m.id: User(id=m.id, username=m.name, name=m.name) for m in await self.site.members(None)}
        people[self.me.id] = self.me
        entry = OrganizationWorkspace(
            organization=self.organization,
            role=Role.ADMIN if self.admin else Role.MEMBER,
            projects=tuple(p.project for p in places),
            members=tuple(
                Member(user=user, role=Role.ADMIN if user.id == self.me.id and self.admin else Role.MEMBER)
                for user in sorted(people.values(), key=lambda u: u.username.casefold())
            ),
        )
        return self.with_capabilities(Workspace(user=self.me, organizations=(entry,)))

    async def list_organizations(self) -> list[Organization]:
        return [self.organization]

    async def list_projects(self, organization: str | None = None) -> list[Project]:
        await self.site.still_me()
        self.site.check_organization(organization)
        return [place.project for place in await self.site.places()]

    # Listing

    async def find_tickets(self, query: TicketFilter) -> TicketPage:
        await self.site.still_me()
        refuse_filters(query, BACKEND, SUPPORTED_FILTERS)
        self.site.check_organization(query.organization)
        place = await self.site.place_for(query.project) if query.project else None
        params, statuses = await self._filters(place, query)
        key = "updated_on" if query.sort is TicketSort.UPDATED else "created_on"
        if query.sort is TicketSort.PRIORITY:
            key = "priority"
        direction = "desc" if query.descending else "asc"
        params["sort"] = f"{key}:{direction},id:{direction}"
        lists = await self.planning.sources(place, query, params, statuses)

        def source(each: dict[str, Any]) -> Source:
            return lambda offset, limit: self.site.chunk(each, offset, limit)

        page = await list_page(query, [source(each) for each in lists], _order(query.sort), descending=query.descending)
        shown = "created" if query.sort is TicketSort.RELEVANCE else query.sort.value  # Redmine cannot rank text
        return page.model_copy(update={"order": (f"{shown} {direction}", f"id {direction}")})

    async def _filters(self, place: Place | None, query: TicketFilter) -> tuple[dict[str, Any], set[int] | None]:
        """The issue filters for all but the planning fields, and the status ids asked for (None: any)."""
        params: dict[str, Any] = {}
        statuses = set(await self.site.status_ids(query.statuses)) if query.statuses else None
        if place is not None:
            params["project_id"] = place.project.id
            params["subproject_id"] = "!*"  # its own issues, not its subprojects'
        if query.types:
            trackers = {t.id: t for p in ([place] if place else await self.site.places()) for t in p.trackers}
            ids = [t.id for t in trackers.values() if type_of(t) in set(query.types)]
            params["tracker_id"] = "|".join(str(i) for i in ids) if ids else "0"
        if query.priorities:
            ids = [p.id for p in await self.site.priorities() if priority_of(p) in set(query.priorities)]
            params["priority_id"] = "|".join(str(i) for i in ids) if ids else "0"
        if query.assignee is not None:
            who = query.assignee.strip()
            lowered = who.casefold()
            params["assigned_to_id"] = (
                "!*" if lowered == UNASSIGNED else "*" if lowered == ANYONE else await self.site.user_id(place, who)
            )
        if query.reporter is not None:
            params["author_id"] = await self.site.user_id(place, query.reporter, "reporter")
        if (label := one_label(query.labels)) is not None:
            if place is None:
                raise Invalid("labels", "Redmine filters by category within one project.", hint="Pass project too.")
            params["category_id"] = await self.site.category_id(place, label, create=False)
        if query.parent is not None:
            parent_place, parent = await self.site.issue(query.parent)
            params["parent_id"] = parent.id
            params.setdefault("project_id", parent_place.project.id)
        if query.text and query.text.strip():
            text = " ".join(query.text.split())
            if "|" in text:
                raise Invalid("text", "Redmine reads | in a search as 'or'.", hint="Leave out the |.")
            params["subject"] = "~" + text
        if query.updated_since:
            moment = datetime.fromisoformat(rules.parse_timestamp("updated_since", query.updated_since))
            params["updated_on"] = ">=" + iso_seconds(moment)
        return params, statuses

    async def get_board(
        self,
        project: str | None = None,
        *,
        per_column: int = 20,
        organization: str | None = None,
        milestone: str | None = None,
    ) -> Board:
        self.refuse_milestone_board(milestone)
        await self.site.still_me()
        if not 1 <= per_column <= BOARD_PER_COLUMN_MAX:
            raise Invalid("per_column", f"per_column must be 1-{BOARD_PER_COLUMN_MAX}.")
        place = await self.site.place_for(project, organization)
        statuses = await self.site.statuses()
        shown = [s for s in Status if any(status_of(r) is s for r in statuses)]
        base = {"project_id": place.project.id, "subproject_id": "!*", "sort": "updated_on:desc,id:desc"}

        async def column(status: Status) -> BoardColumn:
            ids = "|".join(str(s.id) for s in statuses if status_of(s) is status)
            chunk = await self.site.chunk({**base, "status_id": ids}, 0, per_column)
            return BoardColumn(status=status, total=chunk.total or 0, tickets=tuple(chunk.tickets))

        columns = await gather([lambda s=status: column(s) for status in shown])
        return Board(project=place.project, columns=tuple(columns))

    # Tickets

    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail:
        await self.site.still_me()
        _, issue = await self.site.issue(slug, "journals", "attachments")
        ticket = (await self.site.tickets([issue]))[0]
        children = {"parent_id": issue.id, "status_id": "*", "sort": "id:asc"}
        subtasks = (await self.site.chunk(children, 0, PAGE_MAX)).tickets  # the first 100, in one request
        journals = issue.journals or []
        notes = [j for j in journals if j.notes.strip()]
        changes = await self.site.history(issue, ticket)
        comments = tuple(
            Comment(
                id=j.id, ticket_slug=ticket.slug, author=display_name(j.user),
                body=j.notes.replace("\r\n", "\n"), created_at=stored(j.created_on),
            )
            for j in notes
        )  # fmt: skip
        shown = tuple(changes[-history:]) if history else ()
        return TicketDetail(
            ticket=ticket, subtasks=tuple(subtasks), comments=comments, history=shown, changes=len(changes),
            links=await self.planning.links(issue), time_entries=await self.planning.time_entries(issue, ticket.slug),
            attachments=listed(issue, ticket.slug),
        )  # fmt: skip

    async def file_ticket(self, draft: TicketDraft) -> Ticket:
        await self.site.still_me()
        place = await self.site.place_for(draft.project, draft.organization)
        title = rules.normalize_title(draft.title)
        description = rules.validate_text("description", draft.description, rules.DESCRIPTION_MAX)
        statuses = await self.site.statuses()
        status_id = pick_named(draft.status, statuses, STATUS_NAMES, "status", "on this site")
        priorities = await self.site.priorities()
        fields: dict[str, Any] = {
            "project_id": int(place.project.id), "subject": title, "description": description,
            "tracker_id": pick_named(draft.type, place.trackers, TRACKER_NAMES, "tracker", f"in {place.project.code}"),
            "priority_id": pick_named(draft.priority, priorities, PRIORITY_NAMES, "priority", "on this site"),
        }  # fmt: skip
        if (label := one_label(draft.labels)) is not None:
            fields["category_id"] = await self.site.category_id(place, label, create=True)
        if draft.assignee is not None and draft.assignee.strip().casefold() != UNASSIGNED:
            fields["assigned_to_id"] = await self.site.user_id(place, draft.assignee)
        if draft.parent:
            fields["parent_issue_id"] = (await self.site.issue(draft.parent))[1].id
        plan = await self.planning.plan(
            place, due_date=draft.due_date, estimate=draft.estimate, milestone=draft.milestone,
            start=today_utc().isoformat(),  # where the site starts new issues today, as it does by default
        )  # fmt: skip
        fields |= plan.fields
        sent = time.time()
        try:
            reply = await self.client.request("POST", "issues.json", json_body={"issue": fields})
            issue = parse(IssueEnvelope, reply.body, BACKEND, "the new issue").issue
        except Ambiguous as lost:
            ticket = await recover_created(lost, sent, title, lambda: self._newest(place, sent))
            issue = (await self.site.issue(ticket.slug))[1]
        ticket = (await self.site.tickets([issue]))[0]
        try:
            self.site.check_landed(ticket, {"type": draft.type, "priority": draft.priority, **plan.expect})
            if ticket.status is not draft.status:  # Redmine files every issue in its tracker's first status
                issue = (await self.site.issue(ticket.slug, "allowed_statuses"))[1]
                await self.site.allowed_status(issue, ticket, draft.status)
                ticket = await self.site.write(issue, {"status_id": status_id}, {"status": draft.status})
        except PermissionDenied as refused:
            raise PartlyFiled(
                f"Filed {ticket.slug} ({ticket.status.value}, {ticket.type.value}, {ticket.priority.value}), "
                f"but not all of it: {refused.message}",
                ticket,
                hint=refused.hint,
            ) from None
        return ticket

    async def _newest(self, place: Place, since: float) -> list[Ticket]:
        """The key user's newest issues in a project, filed since about `since`: where a lost POST's issue is."""
        after = iso_seconds(datetime.fromtimestamp(since - CLOCK_SKEW, UTC))
        params = {
            "project_id": place.project.id, "status_id": "*", "author_id": self.me.id, "created_on": ">=" + after,
            "sort": "id:desc", "limit": RECOVERY_WINDOW,
        }  # fmt: skip
        return list((await self.site.chunk(params, 0, RECOVERY_WINDOW)).tickets)

    async def change(self, slug: str, changes: TicketChanges, version: int | None) -> Ticket:
        await self.site.still_me()
        place, issue = await self.site.issue(slug, "allowed_statuses")
        current = (await self.site.tickets([issue]))[0]
        check_version(current, version)
        fields: dict[str, Any] = {}
        expect: dict[str, Any] = {}
        if changes.title is not None and (title := rules.normalize_title(changes.title)) != current.title:
            fields["subject"] = expect["title"] = title
        if changes.description is not None and changes.description != current.description:
            text = rules.validate_text("description", changes.description, rules.DESCRIPTION_MAX)
            fields["description"] = text
            expect["description"] = text.replace("\r\n", "\n")  # Redmine keeps CRLF; tickets read it as LF
        if changes.type is not None and changes.type is not current.type:
            where = f"in {place.project.code}"
            fields["tracker_id"] = pick_named(changes.type, place.trackers, TRACKER_NAMES, "tracker", where)
            expect["type"] = changes.type
        if changes.priority is not None and changes.priority is not current.priority:
            choices = await self.site.priorities()
            fields["priority_id"] = pick_named(changes.priority, choices, PRIORITY_NAMES, "priority", "on this site")
            expect["priority"] = changes.priority
        if changes.status is not None and changes.status is not current.status:
            fields["status_id"] = await self.site.allowed_status(issue, current, changes.status)
            expect["status"] = changes.status
        if changes.assignee is not None:
            unassign = changes.assignee.strip().casefold() == UNASSIGNED
            fields["assigned_to_id"] = "" if unassign else await self.site.user_id(place, changes.assignee)
        if changes.labels is not None:
            label = one_label(changes.labels)
            fields["category_id"] = await self.site.category_id(place, label, create=True) if label else ""
            expect["labels"] = (label,) if label else ()
        if changes.parent is not None:
            clear = changes.parent.strip().casefold() == UNASSIGNED
            fields["parent_issue_id"] = "" if clear else (await self.site.issue(changes.parent))[1].id
        start = issue.start_date.isoformat() if issue.start_date else None
        plan = await self.planning.plan(
            place, due_date=changes.due_date, estimate=changes.estimate, milestone=changes.milestone, start=start
        )
        fields |= plan.fields
        expect |= plan.expect
        if not fields:
            return current
        return await self.site.write(issue, fields, expect)

    async def ticket_deletion(self, slug: str) -> TicketDeletion:
        await self.site.still_me()
        place, issue = await self.site.issue(slug, "children", "journals")
        return self._deletion(place, issue)

    def _deletion(self, place: Place, issue: Issue) -> TicketDeletion:
        code = place.project.code
        subtasks: list[str] = []

        def walk(children: Sequence[Child]) -> None:
            for child in children:
                subtasks.append(f"{code}-{child.id}")
                walk(child.children)

        walk(issue.children or ())
        comments = sum(1 for j in issue.journals or () if j.notes.strip())
        return TicketDeletion(slug=f"{code}-{issue.id}", subtasks=tuple(subtasks), comments=comments)

    async def delete_ticket(self, slug: str) -> TicketDeletion:
        await self.site.still_me()
        place, issue = await self.site.issue(slug, "children", "journals")
        impact = self._deletion(place, issue)
        with contextlib.suppress(NotFound):  # gone already: a retried DELETE whose first attempt landed
            await self.client.request("DELETE", f"issues/{issue.id}.json")
        return impact

    async def add_comment(self, slug: str, body: str) -> Comment:
        await self.site.still_me()
        if not body.strip():
            raise Invalid("body", "The comment is empty.", hint="Write what you want to say.")
        rules.validate_text("body", body, rules.COMMENT_MAX)
        place, issue = await self.site.issue(slug)
        # A PUT, but not idempotent: sent twice, it adds the note twice.
        note = {"issue": {"notes": body}}
        await self.client.request("PUT", f"issues/{issue.id}.json", json_body=note, idempotent=False)
        after = parse(
            IssueEnvelope, await self.site.get(f"issues/{issue.id}.json", {"include": "journals"}), BACKEND, "an issue"
        ).issue
        mine = [j for j in after.journals or () if j.user is not None and j.user.id == self.me.id and j.notes == body]
        if not mine:
            raise PermissionDenied(f"Redmine did not keep the comment on {slug}: {self.me.username} may not add notes.")
        journal = mine[-1]
        return Comment(
            id=journal.id, ticket_slug=f"{place.project.code}-{issue.id}", author=self.me.username,
            body=journal.notes, created_at=stored(journal.created_on),
        )  # fmt: skip

    # Files (redmine_files)

    async def attach_file(self, slug: str, name: str, content: bytes) -> Attachment:
        await self.site.still_me()
        return await self.files.attach(slug, name, content)

    async def attachment(self, slug: str, attachment_id: int) -> tuple[Attachment, bytes]:
        await self.site.still_me()
        return await self.files.read(slug, attachment_id)

    async def delete_attachment(self, slug: str, attachment_id: int) -> Attachment:
        await self.site.still_me()
        return await self.files.delete(slug, attachment_id)

    # Planning: relations, versions, estimated hours, time entries (redmine_planning)

    async def link_tickets(
        self, slug: str, kind: LinkKind, other: str, *, unlink: bool = False, close_as_duplicate: bool = False
    ) -> Linked:
        await self.site.still_me()
        return await self.planning.link(slug, kind, other, unlink=unlink, close_as_duplicate=close_as_duplicate)

    async def list_milestones(
        self, project: str | None = None, *, closed: bool = False, organization: str | None = None
    ) -> list[Milestone]:
        await self.site.still_me()
        return await self.planning.milestones(await self.site.place_for(project, organization), closed=closed)

    async def save_milestone(
        self, project: str | None, name: str, *, rename: str | None = None, start_date: str | None = None,
        due_date: str | None = None, closed: bool | None = None, open_tickets: str | None = None,
        organization: str | None = None,
    ) -> Milestone:  # fmt: skip
        await self.site.still_me()
        place = await self.site.place_for(project, organization)
        return await self.planning.save_milestone(
            place, name, rename=rename, start_date=start_date, due_date=due_date, closed=closed,
            open_tickets=open_tickets,
        )  # fmt: skip

    async def set_estimate_unit(
        self, project: str | None, unit: EstimateUnit, *, organization: str | None = None
    ) -> Project:
        await self.site.still_me()
        return await self.planning.estimate_unit(await self.site.place_for(project, organization), unit)

    async def log_time(self, slug: str, hours: float, *, spent_on: str | None = None, note: str = "") -> TimeEntry:
        await self.site.still_me()
        return await self.planning.log_time(slug, hours, spent_on=spent_on, note=note)


def _order(sort: TicketSort) -> Callable[[Ticket], Any]:
    if sort is TicketSort.DUE:
        return lambda t: (t.due_date or UNDATED, t.id)
    if sort is TicketSort.UPDATED:
        return lambda t: (t.updated_at, t.id)
    if sort is TicketSort.PRIORITY:
        return lambda t: (PRIORITY_RANK[t.priority], t.id)
    return lambda t: (t.created_at, t.id)
