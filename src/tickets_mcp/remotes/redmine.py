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
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx2

from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import ANYONE, ME, UNASSIGNED, TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    CLOSED_STATUSES,
    HISTORY_SHOWN,
    Board,
    BoardColumn,
    Capability,
    Change,
    Comment,
    Label,
    Member,
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
    User,
    Workspace,
    rules,
)
from tickets_mcp.domain.rules import check_version
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied, Unsupported
from tickets_mcp.remotes.base import PartlyFiled, RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy, RemoteClient, TokenRejected
from tickets_mcp.remotes.mapping import (
    CLOCK_SKEW,
    find_project,
    parse,
    project_code,
    recover_created,
    refuse_filters,
)
from tickets_mcp.remotes.paging import Chunk, gather, list_page
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
from tickets_mcp.wire.redmine import (
    CategoryEnvelope,
    Child,
    CurrentUser,
    Issue,
    IssueEnvelope,
    Issues,
    IssueStatus,
    Memberships,
    Named,
    Priorities,
    ProjectEnvelope,
    Projects,
    RedmineProject,
    RedmineUser,
    Statuses,
    UserEnvelope,
)
from tickets_mcp.wire.values import iso_seconds, stored, version_of

PAGE_MAX = 100  # Redmine's largest `limit`
BOARD_PER_COLUMN_MAX = 100
CACHE_SECONDS = 300.0  # how long projects, statuses and priorities are kept
PROJECT_PAGES = 20  # projects read at most: 2,000
MEMBER_PROJECTS = 10  # projects whose members the workspace lists
MEMBER_PAGES = 5  # members read of one project: 500
LOGIN_LOOKUPS = 50  # members whose login is read, where a name given is none of theirs
WORKSPACE_PROJECTS = 50  # projects the workspace shows of a user who is a member of none
REREAD_SECONDS = 10.0  # a code or name not known reads every project again, at most this often
RECOVERY_WINDOW = 20  # newest issues of a project searched after an ambiguous create
PRIORITY_RANK = {priority: rank for rank, priority in enumerate(Priority)}
USER_ID = re.compile(r"#?[0-9]{1,9}")  # a user named by id, as '#12' or '12' (ASCII digits only)
IDENTIFIER = re.compile(r"[0-9]+|[a-z][a-z0-9_-]{0,99}")  # a project's id, or its identifier (never a code)
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


@dataclass(frozen=True)
class Place:
    """A Redmine project as the tracker knows it."""

    project: Project
    identifier: str
    trackers: tuple[Named, ...]
    active: bool  # open, with issue tracking on: where tickets may be filed


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
        }
    )

    def __init__(self, client: RemoteClient, me: RedmineUser, *, site: str) -> None:
        super().__init__(client)
        self.me = User(id=me.id, username=me.login, name=me.name)
        self.admin = me.admin
        self.organization = Organization(id="redmine", name=f"Redmine at {site}", slug="redmine")
        self._logins: dict[int, str] = {me.id: me.login}  # user id -> login, read only to find a login given
        self._cache: dict[str, tuple[float, Any]] = {}
        self._by_id: dict[int, tuple[float, Place]] = {}  # project id -> (when read, the project)

    # Reading Redmine

    async def _still_me(self) -> None:
        """Fail if the key no longer works. Redmine serves a key it does not know (revoked, its user locked) as
        the anonymous user, who may still read public projects: without this, a revoked key would quietly
        see less, and could act as Anonymous where the site lets Anonymous file issues."""
        reply = await self.client.request("GET", "users/current.json")
        if parse(UserEnvelope, reply.body, BACKEND, "the key's user").user.id != self.me.id:
            raise TokenRejected(f"{BACKEND} now answers the key as another user.", hint="Check TICKETS_TOKEN.")

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return (await self.client.request("GET", path, params=params)).body

    async def _kept(self, key: str, read: Callable[[], Awaitable[Any]]) -> Any:
        """What `read` returns, read once per CACHE_SECONDS."""
        found = self._cache.get(key)
        if found is not None and time.monotonic() - found[0] < CACHE_SECONDS:
            return found[1]
        value = await read()
        self._cache[key] = (time.monotonic(), value)
        return value

    async def _places(self, *, fresh: bool = False) -> list[Place]:
        """Every project, kept for CACHE_SECONDS; `fresh` reads them again (a name not found may be a new one).
        Only what names projects by code or name reads them all: a slug, an id or an identifier reads one."""
        kept = self._cache.get("projects")
        if fresh and kept is not None and time.monotonic() - kept[0] > REREAD_SECONDS:
            del self._cache["projects"]

        async def read() -> list[Place]:
            records: list[RedmineProject] = []
            for page in range(PROJECT_PAGES):
                params = {"limit": PAGE_MAX, "offset": page * PAGE_MAX, "include": "trackers"}
                found = parse(Projects, await self._get("projects.json", params), BACKEND, "a list of projects")
                records += found.projects
                if len(records) >= found.total_count or not found.projects:
                    break
            return [place for place in map(self._keep, records) if place.active]

        places: list[Place] = await self._kept("projects", read)
        return places

    def _keep(self, record: RedmineProject) -> Place:
        project = Project(
            id=str(record.id), organization_id=self.organization.id, name=record.name,
            code=project_code(record.identifier), description=record.description, created_at=stored(record.created_on),
        )  # fmt: skip
        place = Place(
            project, record.identifier, tuple(record.trackers or ()), record.status == 1 and bool(record.trackers)
        )
        self._by_id[record.id] = (time.monotonic(), place)
        return place

    async def _project(self, key: str | int) -> Place | None:
        """One project by its id or identifier, as the key's user sees it; None if it sees none such."""
        try:
            body = await self._get(f"projects/{key}.json", {"include": "trackers"})
        except TokenRejected:
            raise
        except (NotFound, PermissionDenied):
            return None
        return self._keep(parse(ProjectEnvelope, body, BACKEND, "a project").project)

    async def _place_for(self, reference: str | None, organization: str | None = None) -> Place:
        self._check_organization(organization)
        if reference is None:
            places = await self._places()
            if len(places) == 1:
                return places[0]
            raise Invalid(
                "project", "Several projects exist; say which one.",
                hint="Pass project as one of: " + ", ".join(p.project.code for p in places[:20]) + ".",
            )  # fmt: skip
        if IDENTIFIER.fullmatch(reference.strip()) and (direct := await self._project(reference.strip())):
            return direct
        places = await self._places()
        project = find_project(reference, [p.project for p in places])
        if project is None:
            places = await self._places(fresh=True)
            project = find_project(reference, [p.project for p in places])
        if project is None:
            raise NotFound(f"No Redmine project {reference!r} that you can see.", hint="list_projects shows them.")
        return next(p for p in places if p.project.id == project.id)

    async def _place_of(self, project_id: int) -> Place | None:
        """The project an issue is in, read once per CACHE_SECONDS."""
        kept = self._by_id.get(project_id)
        if kept is not None and time.monotonic() - kept[0] < CACHE_SECONDS:
            return kept[1]
        return await self._project(project_id)

    def _check_organization(self, organization: str | None) -> None:
        known = (self.organization.slug, self.organization.name.casefold())
        if organization is not None and organization.strip().casefold() not in known:
            raise NotFound(f"No organization {organization!r}: a Redmine site is one organization, redmine.")

    async def _statuses(self) -> list[IssueStatus]:
        async def read() -> list[IssueStatus]:
            return parse(Statuses, await self._get("issue_statuses.json"), BACKEND, "the statuses").issue_statuses

        statuses: list[IssueStatus] = await self._kept("statuses", read)
        return statuses

    async def _priorities(self) -> list[Named]:
        async def read() -> list[Named]:
            body = await self._get("enumerations/issue_priorities.json")
            return parse(Priorities, body, BACKEND, "the priorities").issue_priorities

        priorities: list[Named] = await self._kept("priorities", read)
        return priorities

    async def _login(self, user: Named) -> str:
        """A user's login, read once (users/ID.json); `#ID` for a user this key may not see."""
        if user.id not in self._logins:
            try:
                found = parse(UserEnvelope, await self._get(f"users/{user.id}.json"), BACKEND, "a user").user
                self._logins[user.id] = found.login or f"#{user.id}"
            except TokenRejected:
                raise
            except (NotFound, PermissionDenied):
                self._logins[user.id] = f"#{user.id}"
        return self._logins[user.id]

    async def _user_id(self, place: Place | None, name: str, field: str = "assignee") -> int:
        """A user as tickets show them (their name), by login, 'me' or '#12'. The project's members are who
        Redmine lets us assign; a login is looked up only when no member has that name."""
        wanted = name.strip()
        if wanted.casefold() in (ME, self.me.username.casefold()):
            return self.me.id
        if USER_ID.fullmatch(wanted):
            return int(wanted.lstrip("#"))
        members = await self._members(place)
        named = [m for m in members if m.name.casefold() == wanted.casefold()]
        if len(named) > 1:
            raise Invalid(field, f"{len(named)} members are named {wanted!r}.",
                          hint="Pass one as " + " or ".join(f"#{m.id}" for m in named) + ".")  # fmt: skip
        if named:
            return named[0].id
        for member in members[:LOGIN_LOOKUPS]:
            if (await self._login(member)).casefold() == wanted.casefold():
                return member.id
        where = place.project.code if place else "your projects"
        raise Invalid(
            field, f"No member of {where} on Redmine is named {wanted!r}.",
            hint="Use a name from get_workspace_context or get_ticket, a login, 'me', '#ID' or 'none'.",
        )  # fmt: skip

    async def _members(self, place: Place | None) -> list[Named]:
        """The members of `place`, else of the user's own projects (the first MEMBER_PROJECTS of them)."""
        places = [place] if place is not None else (await self._mine())[:MEMBER_PROJECTS]
        members: dict[int, Named] = {}
        for each in places:
            for page in range(MEMBER_PAGES):
                params = {"limit": PAGE_MAX, "offset": page * PAGE_MAX}
                try:
                    body = await self._get(f"projects/{each.project.id}/memberships.json", params)
                except TokenRejected:
                    raise
                except (NotFound, PermissionDenied):
                    break
                found = parse(Memberships, body, BACKEND, "a list of members")
                members.update((row.user.id, row.user) for row in found.memberships if row.user is not None)
                if (page + 1) * PAGE_MAX >= found.total_count or not found.memberships:
                    break
        return list(members.values())

    async def _mine(self) -> list[Place]:
        """The projects the user is a member of: where the workspace says they may file tickets."""
        body = await self._get("users/current.json", {"include": "memberships"})
        ids = [m.project.id for m in parse(CurrentUser, body, BACKEND, "the key's user").user.memberships]
        found = await gather([lambda i=i: self._place_of(i) for i in dict.fromkeys(ids)])
        return [place for place in found if place is not None and place.active]

    async def _tickets(self, issues: Sequence[Issue]) -> list[Ticket]:
        ids = sorted({issue.project.id for issue in issues})
        places = dict(zip(ids, await gather([lambda i=i: self._place_of(i) for i in ids]), strict=True))
        codes = {i: place.project.code if place else f"P{i}" for i, place in places.items()}
        return [self._ticket(issue, codes[issue.project.id]) for issue in issues]

    def _ticket(self, issue: Issue, code: str) -> Ticket:
        status = status_of(issue.status)
        label = (
            (Label(name=issue.category.name, color=rules.label_color(issue.category.name)),) if issue.category else ()
        )
        return Ticket(
            id=issue.id, project_id=str(issue.project.id), number=issue.id, slug=f"{code}-{issue.id}",
            type=type_of(issue.tracker), title=issue.subject, description=issue.description.replace("\r\n", "\n"),
            status=status, priority=priority_of(issue.priority),
            assignee=_name(issue.assigned_to), reporter=_name(issue.author),
            labels=label, parent=f"{code}-{issue.parent.id}" if issue.parent else None, position=issue.id,
            version=version_of(issue.updated_on), created_at=stored(issue.created_on),
            updated_at=stored(issue.updated_on),
            closed_at=stored(issue.closed_on) if issue.closed_on and status in CLOSED_STATUSES else None,
            closed_by=None,
        )  # fmt: skip

    async def _issue(self, slug: str, *include: str) -> tuple[Place, Issue]:
        """The issue a slug names: its number is the issue's id, and the issue must be in the code's project."""
        code, number = rules.parse_slug(slug)
        missing = NotFound(
            f"Ticket {code}-{number} not found.", hint="Check the slug with list_tickets; it may have been deleted."
        )
        params = {"include": ",".join(include)} if include else None
        try:
            issue = parse(IssueEnvelope, await self._get(f"issues/{number}.json", params), BACKEND, "an issue").issue
        except NotFound:
            raise missing from None
        place = await self._place_of(issue.project.id)
        if place is None or place.project.code != code:
            raise missing  # the number is an issue of another project
        return place, issue

    # Workspace

    async def workspace(self) -> Workspace:
        await self._still_me()
        places = await self._mine() or (await self._places())[:WORKSPACE_PROJECTS]
        people = {m.id: User(id=m.id, username=m.name, name=m.name) for m in await self._members(None)}
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
        await self._still_me()
        self._check_organization(organization)
        return [place.project for place in await self._places()]

    # Listing

    async def find_tickets(self, query: TicketFilter) -> TicketPage:
        await self._still_me()
        refuse_filters(query, BACKEND, SUPPORTED_FILTERS)
        self._check_organization(query.organization)
        place = await self._place_for(query.project) if query.project else None
        params = await self._filters(place, query)
        key = "updated_on" if query.sort is TicketSort.UPDATED else "created_on"
        if query.sort is TicketSort.PRIORITY:
            key = "priority"
        direction = "desc" if query.descending else "asc"
        params["sort"] = f"{key}:{direction},id:{direction}"

        async def source(offset: int, limit: int) -> Chunk:
            return await self._chunk(params, offset, limit)

        page = await list_page(query, [source], _order(query.sort), descending=query.descending)
        shown = "created" if query.sort is TicketSort.RELEVANCE else query.sort.value  # Redmine cannot rank text
        return page.model_copy(update={"order": (f"{shown} {direction}", f"id {direction}")})

    async def _chunk(self, params: dict[str, Any], offset: int, limit: int) -> Chunk:
        body = await self._get("issues.json", {**params, "offset": offset, "limit": min(limit, PAGE_MAX)})
        found = parse(Issues, body, BACKEND, "a list of issues")
        tickets = await self._tickets(found.issues)
        return Chunk(tickets=tickets, total=found.total_count, more=offset + len(tickets) < found.total_count)

    async def _filters(self, place: Place | None, query: TicketFilter) -> dict[str, Any]:
        params: dict[str, Any] = {"status_id": "*"}
        if place is not None:
            params["project_id"] = place.project.id
            params["subproject_id"] = "!*"  # its own issues, not its subprojects'
        if query.statuses:
            ids = await self._status_ids(query.statuses)
            params["status_id"] = "|".join(str(i) for i in ids) if ids else "0"
        if query.types:
            trackers = {t.id: t for p in ([place] if place else await self._places()) for t in p.trackers}
            ids = [t.id for t in trackers.values() if type_of(t) in set(query.types)]
            params["tracker_id"] = "|".join(str(i) for i in ids) if ids else "0"
        if query.priorities:
            ids = [p.id for p in await self._priorities() if priority_of(p) in set(query.priorities)]
            params["priority_id"] = "|".join(str(i) for i in ids) if ids else "0"
        if query.assignee is not None:
            who = query.assignee.strip()
            lowered = who.casefold()
            params["assigned_to_id"] = (
                "!*" if lowered == UNASSIGNED else "*" if lowered == ANYONE else await self._user_id(place, who)
            )
        if query.reporter is not None:
            params["author_id"] = await self._user_id(place, query.reporter, "reporter")
        if (label := _one_label(query.labels)) is not None:
            if place is None:
                raise Invalid("labels", "Redmine filters by category within one project.", hint="Pass project too.")
            params["category_id"] = await self._category_id(place, label, create=False)
        if query.parent is not None:
            parent_place, parent = await self._issue(query.parent)
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
        return params

    async def _status_ids(self, statuses: Sequence[Status]) -> list[int]:
        wanted = set(statuses)
        return [s.id for s in await self._statuses() if status_of(s) in wanted]

    async def get_board(
        self, project: str | None = None, *, per_column: int = 20, organization: str | None = None
    ) -> Board:
        await self._still_me()
        if not 1 <= per_column <= BOARD_PER_COLUMN_MAX:
            raise Invalid("per_column", f"per_column must be 1-{BOARD_PER_COLUMN_MAX}.")
        place = await self._place_for(project, organization)
        statuses = await self._statuses()
        shown = [s for s in Status if any(status_of(r) is s for r in statuses)]
        base = {"project_id": place.project.id, "subproject_id": "!*", "sort": "updated_on:desc,id:desc"}

        async def column(status: Status) -> BoardColumn:
            ids = "|".join(str(s.id) for s in statuses if status_of(s) is status)
            chunk = await self._chunk({**base, "status_id": ids}, 0, per_column)
            return BoardColumn(status=status, total=chunk.total or 0, tickets=tuple(chunk.tickets))

        columns = await gather([lambda s=status: column(s) for status in shown])
        return Board(project=place.project, columns=tuple(columns))

    # Tickets

    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail:
        await self._still_me()
        _, issue = await self._issue(slug, "journals")
        ticket = (await self._tickets([issue]))[0]
        children = {"parent_id": issue.id, "status_id": "*", "sort": "id:asc"}
        subtasks = (await self._chunk(children, 0, PAGE_MAX)).tickets  # the first 100, in one request
        journals = issue.journals or []
        notes = [j for j in journals if j.notes.strip()]
        changes = await self._history(issue, ticket)
        comments = tuple(
            Comment(
                id=j.id, ticket_slug=ticket.slug, author=_name(j.user),
                body=j.notes.replace("\r\n", "\n"), created_at=stored(j.created_on),
            )
            for j in notes
        )  # fmt: skip
        shown = tuple(changes[-history:]) if history else ()
        return TicketDetail(
            ticket=ticket, subtasks=tuple(subtasks), comments=comments, history=shown, changes=len(changes)
        )

    async def _history(self, issue: Issue, ticket: Ticket) -> list[Change]:
        """The issue's journals as the ticket's history, oldest first, its filing first: each journal a change
        of the fields it lists (ids read as the names tickets show), or a comment."""
        statuses = {s.id: status_of(s).value for s in await self._statuses()}
        priorities = {p.id: priority_of(p).value for p in await self._priorities()}
        place = await self._place_of(issue.project.id)
        trackers = {t.id: type_of(t).value for t in (place.trackers if place else ())}
        people = {u.id: _name(u) for u in (issue.author, issue.assigned_to) if u is not None}
        people |= {j.user.id: _name(j.user) for j in issue.journals or () if j.user is not None}
        code = ticket.slug.rpartition("-")[0]
        readers: dict[str, tuple[str, Callable[[int], Any]]] = {
            "status_id": ("status", lambda i: statuses.get(i, f"#{i}")),
            "priority_id": ("priority", lambda i: priorities.get(i, f"#{i}")),
            "tracker_id": ("type", lambda i: trackers.get(i, f"#{i}")),
            "assigned_to_id": ("assignee", lambda i: people.get(i) or f"#{i}"),
            "parent_id": ("parent", lambda i: f"{code}-{i}"),
            "category_id": ("labels", lambda i: f"category #{i}"),
        }

        def value(reader: Callable[[int], Any], raw: str | None) -> Any:
            return reader(int(raw)) if raw and raw.isascii() and raw.isdigit() else None

        created = Change(
            at=ticket.created_at, actor=ticket.reporter, token=None, client=None, action="ticket.created", changes={}
        )
        history = [created]
        for journal in issue.journals or ():
            fields: dict[str, Any] = {}
            for detail in journal.details:
                if detail.property != "attr":
                    continue  # custom fields, attachments, relations: not in the canonical model
                if detail.name == "subject":
                    fields["title"] = [detail.old_value, detail.new_value]
                elif detail.name == "description":
                    fields["description"] = "edited"
                elif detail.name in readers:
                    field, reader = readers[detail.name]
                    fields[field] = [value(reader, detail.old_value), value(reader, detail.new_value)]
            at, actor = stored(journal.created_on), _name(journal.user)
            if fields:
                action = "ticket.moved" if set(fields) == {"status"} else "ticket.updated"
                history.append(Change(at=at, actor=actor, token=None, client=None, action=action, changes=fields))
            if journal.notes.strip():
                history.append(Change(at=at, actor=actor, token=None, client=None, action="comment.added", changes={}))
        return history

    async def file_ticket(self, draft: TicketDraft) -> Ticket:
        await self._still_me()
        place = await self._place_for(draft.project, draft.organization)
        title = rules.normalize_title(draft.title)
        description = rules.validate_text("description", draft.description, rules.DESCRIPTION_MAX)
        statuses = await self._statuses()
        status_id = pick_named(draft.status, statuses, STATUS_NAMES, "status", "on this site")
        priorities = await self._priorities()
        fields: dict[str, Any] = {
            "project_id": int(place.project.id), "subject": title, "description": description,
            "tracker_id": pick_named(draft.type, place.trackers, TRACKER_NAMES, "tracker", f"in {place.project.code}"),
            "priority_id": pick_named(draft.priority, priorities, PRIORITY_NAMES, "priority", "on this site"),
        }  # fmt: skip
        if (label := _one_label(draft.labels)) is not None:
            fields["category_id"] = await self._category_id(place, label, create=True)
        if draft.assignee is not None and draft.assignee.strip().casefold() != UNASSIGNED:
            fields["assigned_to_id"] = await self._user_id(place, draft.assignee)
        if draft.parent:
            fields["parent_issue_id"] = (await self._issue(draft.parent))[1].id
        sent = time.time()
        try:
            reply = await self.client.request("POST", "issues.json", json_body={"issue": fields})
            issue = parse(IssueEnvelope, reply.body, BACKEND, "the new issue").issue
        except Ambiguous as lost:
            ticket = await recover_created(lost, sent, title, lambda: self._newest(place, sent))
            issue = (await self._issue(ticket.slug))[1]
        ticket = (await self._tickets([issue]))[0]
        try:
            self._check_landed(ticket, {"type": draft.type, "priority": draft.priority})
            if ticket.status is not draft.status:  # Redmine files every issue in its tracker's first status
                issue = (await self._issue(ticket.slug, "allowed_statuses"))[1]
                await self._allowed_status(issue, ticket, draft.status)
                ticket = await self._write(issue, {"status_id": status_id}, {"status": draft.status})
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
        return list((await self._chunk(params, 0, RECOVERY_WINDOW)).tickets)

    async def _category_id(self, place: Place, name: str, *, create: bool) -> int | None:
        # Through the project: its categories are listed to whoever sees it, not only to those who manage them.
        body = await self._get(f"projects/{place.project.id}.json", {"include": "issue_categories"})
        for row in parse(ProjectEnvelope, body, BACKEND, "a project").project.issue_categories or ():
            if row.name.casefold() == name.casefold():
                return row.id
        if not create:
            return 0  # no such category: the filter selects nothing
        reply = await self.client.request(
            "POST", f"projects/{place.project.id}/issue_categories.json", json_body={"issue_category": {"name": name}}
        )
        return parse(CategoryEnvelope, reply.body, BACKEND, "the new category").issue_category.id

    async def change(self, slug: str, changes: TicketChanges, version: int | None) -> Ticket:
        await self._still_me()
        place, issue = await self._issue(slug, "allowed_statuses")
        current = (await self._tickets([issue]))[0]
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
            choices = await self._priorities()
            fields["priority_id"] = pick_named(changes.priority, choices, PRIORITY_NAMES, "priority", "on this site")
            expect["priority"] = changes.priority
        if changes.status is not None and changes.status is not current.status:
            fields["status_id"] = await self._allowed_status(issue, current, changes.status)
            expect["status"] = changes.status
        if changes.assignee is not None:
            unassign = changes.assignee.strip().casefold() == UNASSIGNED
            fields["assigned_to_id"] = "" if unassign else await self._user_id(place, changes.assignee)
        if changes.labels is not None:
            label = _one_label(changes.labels)
            fields["category_id"] = await self._category_id(place, label, create=True) if label else ""
            expect["labels"] = (label,) if label else ()
        if changes.parent is not None:
            clear = changes.parent.strip().casefold() == UNASSIGNED
            fields["parent_issue_id"] = "" if clear else (await self._issue(changes.parent))[1].id
        if not fields:
            return current
        return await self._write(issue, fields, expect)

    async def _allowed_status(self, issue: Issue, current: Ticket, status: Status) -> int:
        """The status to write for `status`: named like it, and one Redmine's workflow lets the user set."""
        statuses = await self._statuses()
        wanted = pick_named(status, statuses, STATUS_NAMES, "status", "on this site")
        allowed = issue.allowed_statuses
        if allowed is None or any(s.id == wanted for s in allowed):
            return wanted
        reachable = sorted({status_of(s).value for s in allowed if status_of(s) is not current.status})
        raise PermissionDenied(
            f"Redmine's workflow does not let {self.me.username} move {current.slug} to {status.value} from "
            f"{issue.status.name}.",
            hint=f"It may go to: {', '.join(reachable)}." if reachable else "Ask someone with more rights.",
        )

    async def _write(self, issue: Issue, fields: dict[str, Any], expect: dict[str, Any]) -> Ticket:
        """PUT the fields, then read the issue back: Redmine answers 204 even where it ignored a field."""
        await self.client.request("PUT", f"issues/{issue.id}.json", json_body={"issue": fields})
        after = parse(IssueEnvelope, await self._get(f"issues/{issue.id}.json"), BACKEND, "an issue").issue
        ticket = (await self._tickets([after]))[0]
        self._check_landed(ticket, expect)
        return ticket

    def _check_landed(self, ticket: Ticket, expect: dict[str, Any]) -> None:
        """Refuse to report what Redmine ignored without a word (a field the user may not set there)."""
        values = {
            "title": ticket.title, "description": ticket.description, "status": ticket.status,
            "type": ticket.type, "priority": ticket.priority, "labels": tuple(label.name for label in ticket.labels),
        }  # fmt: skip
        ignored = [name for name, value in expect.items() if _differs(values[name], value)]
        if ignored:
            one = len(ignored) == 1
            raise PermissionDenied(
                f"Redmine left the {', '.join(ignored)} of {ticket.slug} as {'it was' if one else 'they were'}: "
                f"{self.me.username} may not set {'it' if one else 'them'} there.",
                hint="Ask a Redmine administrator for the permission, or leave those fields out.",
            )

    async def ticket_deletion(self, slug: str) -> TicketDeletion:
        await self._still_me()
        place, issue = await self._issue(slug, "children", "journals")
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
        await self._still_me()
        place, issue = await self._issue(slug, "children", "journals")
        impact = self._deletion(place, issue)
        with contextlib.suppress(NotFound):  # gone already: a retried DELETE whose first attempt landed
            await self.client.request("DELETE", f"issues/{issue.id}.json")
        return impact

    async def add_comment(self, slug: str, body: str) -> Comment:
        await self._still_me()
        if not body.strip():
            raise Invalid("body", "The comment is empty.", hint="Write what you want to say.")
        rules.validate_text("body", body, rules.COMMENT_MAX)
        place, issue = await self._issue(slug)
        # A PUT, but not idempotent: sent twice, it adds the note twice.
        note = {"issue": {"notes": body}}
        await self.client.request("PUT", f"issues/{issue.id}.json", json_body=note, idempotent=False)
        after = parse(
            IssueEnvelope, await self._get(f"issues/{issue.id}.json", {"include": "journals"}), BACKEND, "an issue"
        ).issue
        mine = [j for j in after.journals or () if j.user is not None and j.user.id == self.me.id and j.notes == body]
        if not mine:
            raise PermissionDenied(f"Redmine did not keep the comment on {slug}: {self.me.username} may not add notes.")
        journal = mine[-1]
        return Comment(
            id=journal.id, ticket_slug=f"{place.project.code}-{issue.id}", author=self.me.username,
            body=journal.notes, created_at=stored(journal.created_on),
        )  # fmt: skip


def _name(user: Named | None) -> str | None:
    """A person as tickets show them: Redmine's display name (what every issue answer carries), else `#ID`."""
    if user is None:
        return None
    return user.name.strip() or f"#{user.id}"


def _order(sort: TicketSort) -> Callable[[Ticket], Any]:
    if sort is TicketSort.UPDATED:
        return lambda t: (t.updated_at, t.id)
    if sort is TicketSort.PRIORITY:
        return lambda t: (PRIORITY_RANK[t.priority], t.id)
    return lambda t: (t.created_at, t.id)


def _one_label(labels: Sequence[str]) -> str | None:
    """The category a ticket's labels name: Redmine holds one."""
    names = rules.normalize_labels(labels)
    if len(names) > 1:
        raise Unsupported(
            "The redmine backend holds one label per ticket (its category), not several.",
            hint="Pass one label.",
        )
    return names[0] if names else None


def _differs(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, tuple):
        return tuple(str(a).casefold() for a in actual) != tuple(str(w).casefold() for w in wanted)  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return actual != wanted
