"""What the redmine backend knows of one Redmine site, as the key's user sees it: its projects (kept for
CACHE_SECONDS, an unknown code or name reading them again), statuses, priorities and people, how its issues
read as tickets (their open blockers read for a whole page at once) and their journals as history, and how
a write is checked (Redmine answers 204 even where it ignored a field). remotes/redmine.py is the Tracker
over it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tickets_mcp.core.tracker import ME
from tickets_mcp.domain import CLOSED_STATUSES, Change, Label, Organization, Project, Status, Ticket, User, rules
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied, Unsupported
from tickets_mcp.remotes.client import RemoteClient, TokenRejected
from tickets_mcp.remotes.mapping import find_project, parse, project_code
from tickets_mcp.remotes.paging import Chunk, gather
from tickets_mcp.remotes.redmine_mapping import BACKEND, STATUS_NAMES, pick_named, priority_of, status_of, type_of
from tickets_mcp.wire.redmine import (
    CategoryEnvelope,
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
from tickets_mcp.wire.values import stored, version_of

PAGE_MAX = 100  # Redmine's largest `limit`
CACHE_SECONDS = 300.0  # how long projects, statuses and priorities are kept
PROJECT_PAGES = 20  # projects read at most: 2,000
MEMBER_PROJECTS = 10  # projects whose members the workspace lists
MEMBER_PAGES = 5  # members read of one project: 500
LOGIN_LOOKUPS = 50  # members whose login is read, where a name given is none of theirs
REREAD_SECONDS = 10.0  # a code or name not known reads every project again, at most this often
USER_ID = re.compile(r"#?[0-9]{1,9}")  # a user named by id, as '#12' or '12' (ASCII digits only)
IDENTIFIER = re.compile(r"[0-9]+|[a-z][a-z0-9_-]{0,99}")  # a project's id, or its identifier (never a code)
RELATIONS = {"include": "relations"}  # what an issue is read with where it becomes a ticket: who blocks it


@dataclass(frozen=True)
class Place:
    """A Redmine project as the tracker knows it."""

    project: Project
    identifier: str
    trackers: tuple[Named, ...]
    active: bool  # open, with issue tracking on: where tickets may be filed


class Site:
    """One Redmine site (`host` its address) as the key's user (`me`) sees it, over `client`."""

    def __init__(self, client: RemoteClient, me: RedmineUser, *, host: str) -> None:
        self.client = client
        self.me = User(id=me.id, username=me.login, name=me.name)
        self.admin = me.admin
        self.organization = Organization(id="redmine", name=f"Redmine at {host}", slug="redmine")
        self._logins: dict[int, str] = {me.id: me.login}  # user id -> login, read only to find a login given
        self._cache: dict[str, tuple[float, Any]] = {}
        self._by_id: dict[int, tuple[float, Place]] = {}  # project id -> (when read, the project)

    async def still_me(self) -> None:
        """Fail if the key no longer works. Redmine serves a key it does not know (revoked, its user locked) as
        the anonymous user, who may still read public projects: without this, a revoked key would quietly
        see less, and could act as Anonymous where the site lets Anonymous file issues."""
        reply = await self.client.request("GET", "users/current.json")
        if parse(UserEnvelope, reply.body, BACKEND, "the key's user").user.id != self.me.id:
            raise TokenRejected(f"{BACKEND} now answers the key as another user.", hint="Check TICKETS_TOKEN.")

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return (await self.client.request("GET", path, params=params)).body

    async def _kept(self, key: str, read: Callable[[], Awaitable[Any]]) -> Any:
        """What `read` returns, read once per CACHE_SECONDS."""
        found = self._cache.get(key)
        if found is not None and time.monotonic() - found[0] < CACHE_SECONDS:
            return found[1]
        value = await read()
        self._cache[key] = (time.monotonic(), value)
        return value

    async def places(self, *, fresh: bool = False) -> list[Place]:
        """Every project, kept for CACHE_SECONDS; `fresh` reads them again (a name not found may be a new one).
        Only what names projects by code or name reads them all: a slug, an id or an identifier reads one."""
        kept = self._cache.get("projects")
        if fresh and kept is not None and time.monotonic() - kept[0] > REREAD_SECONDS:
            del self._cache["projects"]

        async def read() -> list[Place]:
            records: list[RedmineProject] = []
            for page in range(PROJECT_PAGES):
                params = {"limit": PAGE_MAX, "offset": page * PAGE_MAX, "include": "trackers"}
                found = parse(Projects, await self.get("projects.json", params), BACKEND, "a list of projects")
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

    async def project(self, key: str | int) -> Place | None:
        """One project by its id or identifier, as the key's user sees it; None if it sees none such."""
        try:
            body = await self.get(f"projects/{key}.json", {"include": "trackers"})
        except TokenRejected:
            raise
        except (NotFound, PermissionDenied):
            return None
        return self._keep(parse(ProjectEnvelope, body, BACKEND, "a project").project)

    async def place_for(self, reference: str | None, organization: str | None = None) -> Place:
        self.check_organization(organization)
        if reference is None:
            places = await self.places()
            if len(places) == 1:
                return places[0]
            raise Invalid(
                "project", "Several projects exist; say which one.",
                hint="Pass project as one of: " + ", ".join(p.project.code for p in places[:20]) + ".",
            )  # fmt: skip
        if IDENTIFIER.fullmatch(reference.strip()) and (direct := await self.project(reference.strip())):
            return direct
        places = await self.places()
        project = find_project(reference, [p.project for p in places])
        if project is None:
            places = await self.places(fresh=True)
            project = find_project(reference, [p.project for p in places])
        if project is None:
            raise NotFound(f"No Redmine project {reference!r} that you can see.", hint="list_projects shows them.")
        return next(p for p in places if p.project.id == project.id)

    async def place_of(self, project_id: int) -> Place | None:
        """The project an issue is in, read once per CACHE_SECONDS."""
        kept = self._by_id.get(project_id)
        if kept is not None and time.monotonic() - kept[0] < CACHE_SECONDS:
            return kept[1]
        return await self.project(project_id)

    def check_organization(self, organization: str | None) -> None:
        known = (self.organization.slug, self.organization.name.casefold())
        if organization is not None and organization.strip().casefold() not in known:
            raise NotFound(f"No organization {organization!r}: a Redmine site is one organization, redmine.")

    async def statuses(self) -> list[IssueStatus]:
        async def read() -> list[IssueStatus]:
            return parse(Statuses, await self.get("issue_statuses.json"), BACKEND, "the statuses").issue_statuses

        statuses: list[IssueStatus] = await self._kept("statuses", read)
        return statuses

    async def priorities(self) -> list[Named]:
        async def read() -> list[Named]:
            body = await self.get("enumerations/issue_priorities.json")
            return parse(Priorities, body, BACKEND, "the priorities").issue_priorities

        priorities: list[Named] = await self._kept("priorities", read)
        return priorities

    async def _login(self, user: Named) -> str:
        """A user's login, read once (users/ID.json); `#ID` for a user this key may not see."""
        if user.id not in self._logins:
            try:
                found = parse(UserEnvelope, await self.get(f"users/{user.id}.json"), BACKEND, "a user").user
                self._logins[user.id] = found.login or f"#{user.id}"
            except TokenRejected:
                raise
            except (NotFound, PermissionDenied):
                self._logins[user.id] = f"#{user.id}"
        return self._logins[user.id]

    async def user_id(self, place: Place | None, name: str, field: str = "assignee") -> int:
        """A user as tickets show them (their name), by login, 'me' or '#12'. The project's members are who
        Redmine lets us assign; a login is looked up only when no member has that name."""
        wanted = name.strip()
        if wanted.casefold() in (ME, self.me.username.casefold()):
            return self.me.id
        if USER_ID.fullmatch(wanted):
            return int(wanted.lstrip("#"))
        members = await self.members(place)
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

    async def members(self, place: Place | None) -> list[Named]:
        """The members of `place`, else of the user's own projects (the first MEMBER_PROJECTS of them)."""
        places = [place] if place is not None else (await self.mine())[:MEMBER_PROJECTS]
        members: dict[int, Named] = {}
        for each in places:
            for page in range(MEMBER_PAGES):
                params = {"limit": PAGE_MAX, "offset": page * PAGE_MAX}
                try:
                    body = await self.get(f"projects/{each.project.id}/memberships.json", params)
                except TokenRejected:
                    raise
                except (NotFound, PermissionDenied):
                    break
                found = parse(Memberships, body, BACKEND, "a list of members")
                members.update((row.user.id, row.user) for row in found.memberships if row.user is not None)
                if (page + 1) * PAGE_MAX >= found.total_count or not found.memberships:
                    break
        return list(members.values())

    async def mine(self) -> list[Place]:
        """The projects the user is a member of: where the workspace says they may file tickets."""
        body = await self.get("users/current.json", {"include": "memberships"})
        ids = [m.project.id for m in parse(CurrentUser, body, BACKEND, "the key's user").user.memberships]
        found = await gather([lambda i=i: self.place_of(i) for i in dict.fromkeys(ids)])
        return [place for place in found if place is not None and place.active]

    async def tickets(self, issues: Sequence[Issue]) -> list[Ticket]:
        """The issues as tickets. Where an issue was read with its relations, its open blockers are read too, all
        of them in one request (per 100), so a page of issues costs one request more, not one per issue."""
        blockers = {issue.id: blockers_of(issue) for issue in issues}
        wanted = sorted({b for found in blockers.values() for b in found})
        others = await self.issues_by_id(wanted)
        codes = await self.codes([*issues, *others])
        open_ones = {
            other.id: (codes[other.project.id], other.id)
            for other in others
            if status_of(other.status) not in CLOSED_STATUSES
        }
        return [
            self._ticket(
                issue, codes[issue.project.id],
                tuple(f"{code}-{n}" for code, n in sorted(open_ones[b] for b in blockers[issue.id] if b in open_ones)),
            )
            for issue in issues
        ]  # fmt: skip

    async def codes(self, issues: Sequence[Issue]) -> dict[int, str]:
        """The code of each issue's project, by project id (`P12` for a project the user no longer sees)."""
        ids = sorted({issue.project.id for issue in issues})
        places = dict(zip(ids, await gather([lambda i=i: self.place_of(i) for i in ids]), strict=True))
        return {i: place.project.code if place else f"P{i}" for i, place in places.items()}

    async def issues_by_id(self, ids: Sequence[int]) -> list[Issue]:
        """These issues, as far as the user sees them, whatever their status: one request per 100, without
        their relations."""
        batches = [ids[at : at + PAGE_MAX] for at in range(0, len(ids), PAGE_MAX)]

        async def read(batch: Sequence[int]) -> list[Issue]:
            params = {"issue_id": ",".join(map(str, batch)), "status_id": "*", "limit": PAGE_MAX}
            return parse(Issues, await self.get("issues.json", params), BACKEND, "a list of issues").issues

        found = await gather([lambda b=batch: read(b) for batch in batches])
        return [issue for batch in found for issue in batch]

    def _ticket(self, issue: Issue, code: str, blocked_by: tuple[str, ...]) -> Ticket:
        status = status_of(issue.status)
        label = (
            (Label(name=issue.category.name, color=rules.label_color(issue.category.name)),) if issue.category else ()
        )
        return Ticket(
            id=issue.id, project_id=str(issue.project.id), number=issue.id, slug=f"{code}-{issue.id}",
            type=type_of(issue.tracker), title=issue.subject, description=issue.description.replace("\r\n", "\n"),
            status=status, priority=priority_of(issue.priority),
            assignee=display_name(issue.assigned_to), reporter=display_name(issue.author),
            labels=label, parent=f"{code}-{issue.parent.id}" if issue.parent else None, position=issue.id,
            version=version_of(issue.updated_on), created_at=stored(issue.created_on),
            updated_at=stored(issue.updated_on),
            closed_at=stored(issue.closed_on) if issue.closed_on and status in CLOSED_STATUSES else None,
            closed_by=None,
            due_date=issue.due_date.isoformat() if issue.due_date else None, estimate=issue.estimated_hours,
            spent=issue.spent_hours or 0, milestone=issue.fixed_version.name if issue.fixed_version else None,
            blocked_by=blocked_by,
        )  # fmt: skip

    async def issue(self, slug: str, *include: str) -> tuple[Place, Issue]:
        """The issue a slug names: its number is the issue's id, and the issue must be in the code's project."""
        code, number = rules.parse_slug(slug)
        missing = NotFound(
            f"Ticket {code}-{number} not found.", hint="Check the slug with list_tickets; it may have been deleted."
        )
        params = {"include": ",".join(("relations", *include))}  # its relations: who blocks it
        try:
            issue = parse(IssueEnvelope, await self.get(f"issues/{number}.json", params), BACKEND, "an issue").issue
        except NotFound:
            raise missing from None
        place = await self.place_of(issue.project.id)
        if place is None or place.project.code != code:
            raise missing  # the number is an issue of another project
        return place, issue

    async def history(self, issue: Issue, ticket: Ticket) -> list[Change]:
        """The issue's journals as the ticket's history, oldest first, its filing first: each journal a change
        of the fields it lists (ids read as the names tickets show), or a comment."""
        statuses = {s.id: status_of(s).value for s in await self.statuses()}
        priorities = {p.id: priority_of(p).value for p in await self.priorities()}
        place = await self.place_of(issue.project.id)
        trackers = {t.id: type_of(t).value for t in (place.trackers if place else ())}
        people = {u.id: display_name(u) for u in (issue.author, issue.assigned_to) if u is not None}
        people |= {j.user.id: display_name(j.user) for j in issue.journals or () if j.user is not None}
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
            at, actor = stored(journal.created_on), display_name(journal.user)
            if fields:
                action = "ticket.moved" if set(fields) == {"status"} else "ticket.updated"
                history.append(Change(at=at, actor=actor, token=None, client=None, action=action, changes=fields))
            if journal.notes.strip():
                history.append(Change(at=at, actor=actor, token=None, client=None, action="comment.added", changes={}))
        return history

    # Listing issues

    async def chunk(self, params: dict[str, Any], offset: int, limit: int) -> Chunk:
        window = {"offset": offset, "limit": min(limit, PAGE_MAX)}
        body = await self.get("issues.json", {**params, **RELATIONS, **window})
        found = parse(Issues, body, BACKEND, "a list of issues")
        tickets = await self.tickets(found.issues)
        return Chunk(tickets=tickets, total=found.total_count, more=offset + len(tickets) < found.total_count)

    async def status_ids(self, statuses: Sequence[Status]) -> list[int]:
        wanted = set(statuses)
        return [s.id for s in await self.statuses() if status_of(s) in wanted]

    # Writing issues

    async def category_id(self, place: Place, name: str, *, create: bool) -> int | None:
        # Through the project: its categories are listed to whoever sees it, not only to those who manage them.
        body = await self.get(f"projects/{place.project.id}.json", {"include": "issue_categories"})
        for row in parse(ProjectEnvelope, body, BACKEND, "a project").project.issue_categories or ():
            if row.name.casefold() == name.casefold():
                return row.id
        if not create:
            return 0  # no such category: the filter selects nothing
        reply = await self.client.request(
            "POST", f"projects/{place.project.id}/issue_categories.json", json_body={"issue_category": {"name": name}}
        )
        return parse(CategoryEnvelope, reply.body, BACKEND, "the new category").issue_category.id

    async def allowed_status(self, issue: Issue, current: Ticket, status: Status) -> int:
        """The status to write for `status`: named like it, and one Redmine's workflow lets the user set."""
        statuses = await self.statuses()
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

    async def write(self, issue: Issue, fields: dict[str, Any], expect: dict[str, Any]) -> Ticket:
        """PUT the fields, then read the issue back: Redmine answers 204 even where it ignored a field."""
        await self.client.request("PUT", f"issues/{issue.id}.json", json_body={"issue": fields})
        body = await self.get(f"issues/{issue.id}.json", RELATIONS)
        after = parse(IssueEnvelope, body, BACKEND, "an issue").issue
        ticket = (await self.tickets([after]))[0]
        self.check_landed(ticket, expect)
        return ticket

    def check_landed(self, ticket: Ticket, expect: dict[str, Any]) -> None:
        """Refuse to report what Redmine ignored without a word (a field the user may not set there)."""
        values = {
            "title": ticket.title, "description": ticket.description, "status": ticket.status,
            "type": ticket.type, "priority": ticket.priority, "labels": tuple(label.name for label in ticket.labels),
            "due_date": ticket.due_date, "estimate": ticket.estimate, "milestone": ticket.milestone,
        }  # fmt: skip
        ignored = [name for name, value in expect.items() if _differs(values[name], value)]
        if ignored:
            one = len(ignored) == 1
            raise PermissionDenied(
                f"Redmine left the {', '.join(ignored)} of {ticket.slug} as {'it was' if one else 'they were'}: "
                f"{self.me.username} may not set {'it' if one else 'them'} there.",
                hint="Ask a Redmine administrator for the permission, or leave those fields out.",
            )


def blockers_of(issue: Issue) -> list[int]:
    """The ids of the issues that block `issue` (Redmine keeps `blocked` turned around, as `blocks`)."""
    return [r.issue_id for r in issue.relations or () if r.relation_type == "blocks" and r.issue_to_id == issue.id]


def display_name(user: Named | None) -> str | None:
    """A person as tickets show them: Redmine's display name (what every issue answer carries), else `#ID`."""
    if user is None:
        return None
    return user.name.strip() or f"#{user.id}"


def one_label(labels: Sequence[str]) -> str | None:
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
