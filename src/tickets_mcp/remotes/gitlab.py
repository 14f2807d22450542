"""GitLab behind the Tracker protocol: REST API v4 on gitlab.com or a self-hosted instance, also under a path.

`tickets-mcp --backend gitlab --url https://gitlab.example.com` (or `https://host/gitlab`), with an access
token of the `api` scope in TICKETS_TOKEN, sent as `PRIVATE-TOKEN`. docs/gitlab.md has the whole mapping:

- Organizations are the namespaces (groups, subgroups, personal namespaces) of the projects the token's
  user is a member of; projects are those projects (issues enabled, not archived), each with a code
  derived from its path (`mapping.project_code`). Both are read once and kept for five minutes.
- Tickets are issues, `CODE-iid`; comments are the issue's notes without GitLab's system notes. A
  listing reads a project's, a group's or all the user's issue lists (`gitlab_paging`).
- Columns, types and priorities are scoped labels (`gitlab_mapping`); moving a ticket sets its status
  label and closes or reopens the issue. Versions are the update time in milliseconds, checked before
  writing (GitLab has no conditional update, so a change landing in between is not caught).
- Files are the project uploads an issue's text links; moving to another project is GitLab's issue move
  (`gitlab_files`).
- Planning (gitlab_planning, gitlab_milestones): issue links, milestones, due dates, time estimates and
  time spent; what GitLab's REST API cannot say there (duplicates, due-date ranges, the blocked filters)
  is refused naming gitlab.
- GitLab's REST API cannot create projects for us, order a column by hand or keep parent issues:
  those refuse with Unsupported, naming gitlab.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import httpx2

from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import ME, UNASSIGNED, TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    CLOSED_STATUSES,
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
    Project,
    Relocation,
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
from tickets_mcp.domain.rules import check_version
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied, Unsupported
from tickets_mcp.remotes import gitlab_paging as paging
from tickets_mcp.remotes import gitlab_planning as planning
from tickets_mcp.remotes.base import PartlyFiled, RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy, RemoteClient, TokenRejected
from tickets_mcp.remotes.gitlab_directory import API, BACKEND, Directory
from tickets_mcp.remotes.gitlab_files import Files
from tickets_mcp.remotes.gitlab_mapping import (
    Namespace,
    Narrowing,
    Place,
    Term,
    filter_params,
    label_delta,
    narrowing_for,
    plain_labels,
    priority_label,
    role_of,
    status_label,
    to_comment,
    to_user,
    type_label,
)
from tickets_mcp.remotes.gitlab_milestones import GitLabMilestones
from tickets_mcp.remotes.gitlab_paging import Page, Slice, decode_position, encode_position, scan
from tickets_mcp.remotes.gitlab_planning import GitLabPlanning
from tickets_mcp.remotes.mapping import CLOCK_SKEW, api_root, parse, recover_created
from tickets_mcp.remotes.paging import bind, fingerprint, gather, page_headers
from tickets_mcp.wire.gitlab import GitLabIssue, GitLabMember, GitLabNote, GitLabUser, Issues, Listing, Members

log = logging.getLogger(__name__)
T = TypeVar("T")

LIST_LIMIT_MAX = 100
BOARD_PER_COLUMN_MAX = 100
COUNT_QUERIES_MAX = 16  # counting queries one listing may send when GitLab cannot filter at once
MEMBER_PROJECTS = 10  # projects of a personal namespace whose members the workspace lists
RECOVERY_WINDOW = 20  # newest issues of the token's user searched after an ambiguous create


async def open_adapter(
    settings: RemoteSettings, *, policy: Policy | None = None, transport: httpx2.AsyncBaseTransport | None = None
) -> GitLabTracker:
    """The adapter, once GET /user has shown the token works (401 becomes TokenRejected)."""
    client = RemoteClient(
        GitLabTracker.name,
        api_root(settings.url),
        {"PRIVATE-TOKEN": settings.token},
        policy=policy,
        transport=transport,
    )
    async with client.closed_on_failure():
        reply = await client.request("GET", API + "user")
        me = to_user(parse(GitLabUser, reply.body, BACKEND, "the token's user"))
    return GitLabTracker(client, me)


class GitLabTracker(RemoteTracker):
    name: ClassVar[str] = BACKEND
    maps: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.EDIT_TICKETS,
            Capability.MOVE_TICKETS,
            Capability.DELETE_TICKETS,
            Capability.COMMENT,
            Capability.BOARD,
            Capability.ATTACHMENTS,
            Capability.LINKS,
            Capability.MILESTONES,
            Capability.DUE_DATES,
            Capability.ESTIMATES,
            Capability.TIME_TRACKING,
        }
    )

    def __init__(self, client: RemoteClient, me: User) -> None:
        super().__init__(client)
        self.me = me
        self.gitlab = Directory(client, me)
        self.files = Files(self.gitlab)
        self.milestones = GitLabMilestones(self.gitlab)
        self.planning = GitLabPlanning(self.gitlab, self.milestones)

    # Workspace

    async def workspace(self) -> Workspace:
        places = await self.gitlab.places()
        namespaces = await self.gitlab.namespaces()
        entries = await gather(
            [bind(self._organization_entry, ns, [p for p in places if p.namespace.id == ns.id]) for ns in namespaces]
        )
        return self.with_capabilities(Workspace(user=self.me, organizations=tuple(entries)))

    async def _organization_entry(self, namespace: Namespace, places: list[Place]) -> OrganizationWorkspace:
        if namespace.kind == "group":
            sources = [f"groups/{namespace.id}/members/all"]
        else:
            sources = [f"projects/{place.id}/members/all" for place in places[:MEMBER_PROJECTS]]
        levels: dict[int, tuple[User, int]] = {}
        for source in sources:
            try:
                reply = await self.gitlab.get(source, {"per_page": paging.PER_PAGE_MAX})
                rows = parse(Members, reply.body, BACKEND, "a list of members").root
            except TokenRejected:
                raise  # not a list this user may not see: no list at all, and the workspace is not partial
            except (NotFound, PermissionDenied):
                continue
            for row in rows:
                user, level = to_user(row), row.access_level or 0
                if user.id not in levels or levels[user.id][1] < level:
                    levels[user.id] = (user, level)
        own = namespace.kind == "user" and namespace.full_path.casefold() == self.me.username.casefold()
        if own:  # GitLab shows no owner level on projects in personal namespaces (doc/api/members.md)
            levels[self.me.id] = (self.me, 50)
        if self.me.id not in levels:
            levels[self.me.id] = (self.me, await self._my_level(sources[0]) if sources else 0)
        members = sorted(levels.values(), key=lambda entry: entry[0].username.casefold())
        return OrganizationWorkspace(
            organization=namespace.organization,
            role=role_of(levels[self.me.id][1]),
            projects=tuple(place.project for place in places),
            members=tuple(Member(user=user, role=role_of(level)) for user, level in members),
        )

    async def _my_level(self, members_path: str) -> int:
        try:
            reply = await self.gitlab.get(f"{members_path}/{self.me.id}")
        except TokenRejected:
            raise
        except (NotFound, PermissionDenied):
            return 0
        return parse(GitLabMember, reply.body, BACKEND, "a member").access_level or 0

    async def list_organizations(self) -> list[Organization]:
        return [namespace.organization for namespace in await self.gitlab.namespaces()]

    async def list_projects(self, organization: str | None = None) -> list[Project]:
        places = await self.gitlab.places()
        if organization is not None:
            namespace = await self.gitlab.namespace(organization)
            places = [place for place in places if place.namespace.id == namespace.id]
        return [place.project for place in places]

    # Listing

    async def find_tickets(self, query: TicketFilter) -> TicketPage:
        if not 1 <= query.limit <= LIST_LIMIT_MAX:
            raise Invalid("limit", f"limit must be 1-{LIST_LIMIT_MAX}.", hint="Use cursor to page through more.")
        if query.sort is TicketSort.PRIORITY:
            raise Unsupported(
                "The gitlab backend cannot sort by priority: GitLab orders issues by its own label priorities, "
                "not by priority:: labels.",
                hint="Sort by created or updated, and filter by priority.",
            )
        if query.offset < 0:
            raise Invalid("offset", "offset must be 0 or more.")
        if query.offset and query.cursor:
            raise Invalid("offset", "Pass cursor or offset, not both.")
        planning.refuse_filters(query)
        wanted = planning.wanted_statuses(query)
        if wanted is None:  # overdue, and only closed columns asked for: nothing can match
            return TicketPage(tickets=(), total=0, next_cursor=None)
        paths = await self._issue_lists(query.project, query.organization)
        narrowing, terms = narrowing_for(wanted, query.types, query.priorities)
        labels = rules.normalize_labels(query.labels)
        filters: dict[str, Any] = {}
        if query.assignee is not None:
            assignee = query.assignee.strip()
            if assignee.casefold() == UNASSIGNED:
                filters["assignee_id"] = "None"
            else:
                filters["assignee_username"] = self.me.username if assignee.casefold() == ME else assignee
        if query.reporter is not None:
            reporter = query.reporter.strip()
            filters["author_username"] = self.me.username if reporter.casefold() == ME else reporter
        if query.text and query.text.strip():
            filters["search"] = query.text.strip()
        if query.updated_since:
            filters["updated_after"] = rules.parse_timestamp("updated_since", query.updated_since)
        filters |= await self.planning.list_filters(query)
        updated, due = query.sort is TicketSort.UPDATED, query.sort is TicketSort.DUE
        params = {
            **filter_params(narrowing, labels), **filters,
            "order_by": "updated_at" if updated else "due_date" if due else "created_at",
            "sort": "desc" if query.descending else "asc",
        }  # fmt: skip
        statuses, types, priorities = set(wanted), set(query.types), set(query.priorities)

        def keep(ticket: Ticket) -> bool:
            return (
                (not statuses or ticket.status in statuses)
                and (not types or ticket.type in types)
                and (not priorities or ticket.priority in priorities)
            )

        mark = fingerprint(paths, sorted(params.items()), sorted(statuses), sorted(types), sorted(priorities))
        skip_matches = 0
        starts: Sequence[tuple[int, int] | None]
        if query.cursor:
            starts, per_page, seen = decode_position(query.cursor, mark, len(paths), paging.PER_PAGE_MAX)
        elif narrowing.exact and len(paths) == 1:
            per_page = min(query.limit, paging.PER_PAGE_MAX)
            starts, seen = [(query.offset // per_page + 1, query.offset % per_page)], query.offset
        else:
            per_page, seen, skip_matches = paging.PER_PAGE_MAX, query.offset, query.offset
            starts = [(1, 0)] * len(paths)
        found = await scan(
            [self._reader(path, params) for path in paths], keep, query.limit, starts, per_page,
            exact=narrowing.exact, skip_matches=skip_matches, descending=query.descending,
            order=planning.due_key(query.descending) if due else self._time_key(updated),
        )  # fmt: skip
        tickets, order = tuple(found.tickets), planning.due_order(query)
        if found.resume is None:  # read to the end: what came before and what was found is everything
            return TicketPage(tickets=tickets, total=seen + len(tickets), next_cursor=None, order=order)
        cursor = encode_position(found.resume, per_page, seen + len(tickets), mark)
        total: int | None = None
        if narrowing.exact and all(t is not None for t in found.totals):
            total = sum(t or 0 for t in found.totals)
        elif not narrowing.exact:
            total = await self._count(paths, terms, labels, filters)
        if total is None:  # GitLab did not count: what has been seen, and one more, is a lower bound
            return TicketPage(
                tickets=tickets, total=seen + len(tickets) + 1, next_cursor=cursor, total_capped=True, order=order
            )
        return TicketPage(tickets=tickets, total=max(total, seen + len(tickets) + 1), next_cursor=cursor, order=order)

    @staticmethod
    def _time_key(updated: bool) -> Callable[[Ticket], tuple[str, int]]:
        return lambda t: (t.updated_at if updated else t.created_at, t.id)

    async def _count(
        self, paths: Sequence[str], terms: Sequence[Term], labels: Sequence[str], filters: Mapping[str, Any]
    ) -> int | None:
        """The matches of a filter GitLab cannot select at once: the signed sum of its queries' X-Total."""
        queries = [(sign, path, narrowing) for path in paths for sign, narrowing in terms]
        if len(queries) > COUNT_QUERIES_MAX:
            return None

        def count(path: str, narrowing: Narrowing) -> Callable[[], Awaitable[int | None]]:
            async def read() -> int | None:
                reply = await self.gitlab.get(path, {**filter_params(narrowing, labels), **filters, "per_page": 1})
                return page_headers(
                    reply.headers, 1, 1, len(parse(Listing, reply.body, BACKEND, "a list of issues").root)
                )[0]

            return read

        totals = await gather([count(path, narrowing) for _, path, narrowing in queries])
        if any(total is None for total in totals):
            return None
        return sum(sign * (total or 0) for (sign, _, _), total in zip(queries, totals, strict=True))

    async def _issue_lists(self, project: str | None, organization: str | None) -> list[str]:
        """The GitLab lists that hold the issues of a project, an organization or all the user's projects:
        a group's (with its subgroups'), else each project's of a personal namespace."""
        if project is not None:
            return [f"projects/{(await self.gitlab.place(project, organization)).id}/issues"]
        places = await self.gitlab.places()
        if organization is not None:
            namespaces = [await self.gitlab.namespace(organization)]
        else:
            namespaces = await self.gitlab.namespaces()
            groups = [n.full_path + "/" for n in namespaces if n.kind == "group"]
            namespaces = [n for n in namespaces if not any(n.full_path.startswith(g) for g in groups)]
        paths: list[str] = []
        for namespace in namespaces:
            if namespace.kind == "group":
                paths.append(f"groups/{namespace.id}/issues")
            else:
                paths += [f"projects/{p.id}/issues" for p in places if p.namespace.id == namespace.id]
        return paths

    def _reader(self, path: str, params: Mapping[str, Any]) -> Callable[[int, int], Awaitable[Page]]:
        """Reads one page of issues at `path` as tickets."""

        async def read(page: int, per_page: int) -> Page:
            reply = await self.gitlab.get(path, {**params, "page": page, "per_page": per_page})
            issues = parse(Issues, reply.body, BACKEND, "a list of issues").root
            total, more = page_headers(reply.headers, page, per_page, len(issues))
            return Page(await self.gitlab.tickets(issues), page + 1 if more and issues else None, total)

        return read

    async def get_board(
        self,
        project: str | None = None,
        *,
        per_column: int = 20,
        organization: str | None = None,
        milestone: str | None = None,
    ) -> Board:
        self.refuse_milestone_board(milestone)
        if not 1 <= per_column <= BOARD_PER_COLUMN_MAX:
            raise Invalid("per_column", f"per_column must be 1-{BOARD_PER_COLUMN_MAX}.")
        place = await self.gitlab.place(project, organization)
        path = f"projects/{place.id}/issues"

        def column(status: Status) -> Callable[[], Awaitable[Slice]]:
            narrowing, _ = narrowing_for([status], (), ())
            params = {**filter_params(narrowing, ()), "order_by": "relative_position", "sort": "asc"}
            per_page = per_column if narrowing.exact else paging.PER_PAGE_MAX
            read = self._reader(path, params)
            return lambda: scan(
                [read], lambda t: t.status is status, per_column, [(1, 0)], per_page, exact=narrowing.exact
            )

        slices = dict(zip(Status, await gather([column(status) for status in Status]), strict=True))
        totals = {status: found.column_total() for status, found in slices.items()}
        backlog = slices[Status.BACKLOG]
        if backlog.resume is None:
            totals[Status.BACKLOG] = len(backlog.tickets)
        elif (opened := backlog.totals[0]) is not None:
            # GitLab counted the open issues: the backlog is what the labelled open columns leave.
            labelled = sum(totals[s] for s in (Status.TODO, Status.IN_PROGRESS, Status.IN_REVIEW))
            totals[Status.BACKLOG] = max(len(backlog.tickets) + 1, opened - labelled)
        else:
            totals[Status.BACKLOG] = len(backlog.tickets) + 1
        columns = tuple(
            BoardColumn(status=status, total=totals[status], tickets=tuple(slices[status].tickets)) for status in Status
        )
        return Board(project=place.project, columns=columns)

    # Tickets

    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail:
        place, issue = await self.gitlab.issue(slug)
        ticket = (await self.gitlab.tickets([issue]))[0]
        notes = await self.gitlab.notes(place, ticket.number)
        comments = tuple(to_comment(note, ticket.slug) for note in notes if not note.system)
        links = await self.planning.links(place, issue)
        ticket = ticket.model_copy(update={"blocked_by": planning.blocked_by(links)})
        return TicketDetail(
            ticket=ticket,
            subtasks=(),
            comments=comments,
            links=links,
            attachments=self.files.listed(place, issue, notes),
        )

    async def file_ticket(self, draft: TicketDraft) -> Ticket:
        place = await self.gitlab.place(draft.project, draft.organization)
        title = rules.normalize_title(draft.title)
        description = rules.validate_text("description", draft.description, rules.DESCRIPTION_MAX)
        labels = [
            *plain_labels(rules.normalize_labels(draft.labels)),
            *(label for label in (status_label(draft.status), type_label(draft.type), priority_label(draft.priority))
              if label),
        ]  # fmt: skip
        # GitLab's OpenAPI document declares the body's label fields arrays of names (it also reads a
        # comma-joined string, but only the array is what the document promises).
        body: dict[str, Any] = {"title": title, "description": description, "labels": labels}
        if draft.assignee is not None and draft.assignee.strip().casefold() != UNASSIGNED:
            body["assignee_ids"] = [await self.gitlab.user_id(draft.assignee)]
        body |= await self.planning.fields(
            place, None, due_date=draft.due_date, milestone=draft.milestone, estimate=draft.estimate
        )
        sent = time.time()
        try:
            reply = await self.client.request("POST", API + f"projects/{place.id}/issues", json_body=body)
            ticket = (await self.gitlab.tickets([parse(GitLabIssue, reply.body, BACKEND, "the new issue")]))[0]
        except Ambiguous as lost:
            ticket = await recover_created(lost, sent, title, lambda: self._newest_of_mine(place, sent))
        if draft.status in CLOSED_STATUSES and ticket.status not in CLOSED_STATUSES:
            ticket = await self._put(place, ticket.number, {"state_event": "close"})
        try:  # GitLab's create takes no estimate: it is a request of its own
            return await self.planning.estimated(place, ticket, draft.estimate)
        except PermissionDenied as refused:
            raise PartlyFiled(
                f"Filed {ticket.slug}, but not its estimate: {refused.message}", ticket, hint=refused.hint
            ) from None

    async def _newest_of_mine(self, place: Place, since: float) -> list[Ticket]:
        """The token user's newest issues in a project, filed since about `since`: where a lost POST's issue is."""
        after = datetime.fromtimestamp(since - CLOCK_SKEW, UTC)
        reply = await self.gitlab.get(
            f"projects/{place.id}/issues",
            {"author_id": self.me.id, "state": "all", "order_by": "created_at", "sort": "desc",
             "created_after": rules.format_timestamp(after), "per_page": RECOVERY_WINDOW},
        )  # fmt: skip
        return await self.gitlab.tickets(parse(Issues, reply.body, BACKEND, "a list of issues").root)

    async def _put(self, place: Place, number: int, body: dict[str, Any]) -> Ticket:
        reply = await self.client.request("PUT", API + f"projects/{place.id}/issues/{number}", json_body=body)
        return (await self.gitlab.tickets([parse(GitLabIssue, reply.body, BACKEND, "the changed issue")]))[0]

    async def change(self, slug: str, changes: TicketChanges, version: int | None) -> Ticket:
        place, issue = await self.gitlab.issue(slug)
        current = (await self.gitlab.tickets([issue]))[0]
        check_version(current, version)
        body: dict[str, Any] = {}
        if changes.title is not None and (title := rules.normalize_title(changes.title)) != current.title:
            body["title"] = title
        if changes.description is not None and changes.description != current.description:
            body["description"] = rules.validate_text("description", changes.description, rules.DESCRIPTION_MAX)
        if changes.assignee is not None:
            unassign = changes.assignee.strip().casefold() == UNASSIGNED
            body["assignee_ids"] = [] if unassign else [await self.gitlab.user_id(changes.assignee)]
        labels = plain_labels(rules.normalize_labels(changes.labels)) if changes.labels is not None else None
        add, remove = label_delta(
            issue.label_names, status=changes.status, kind=changes.type, priority=changes.priority, labels=labels
        )
        if add:
            body["add_labels"] = list(add)
        if remove:
            body["remove_labels"] = list(remove)
        if changes.status is not None:
            if changes.status in CLOSED_STATUSES and not issue.closed:
                body["state_event"] = "close"
            elif changes.status not in CLOSED_STATUSES and issue.closed:
                body["state_event"] = "reopen"
        body |= await self.planning.fields(
            place, issue, due_date=changes.due_date, milestone=changes.milestone, estimate=changes.estimate
        )
        ticket = await self._put(place, current.number, body) if body else current
        return await self.planning.estimated(place, ticket, changes.estimate)

    async def ticket_deletion(self, slug: str) -> TicketDeletion:
        place, issue = await self.gitlab.issue(slug)
        return deletion_of(place, issue)

    async def delete_ticket(self, slug: str) -> TicketDeletion:
        place, issue = await self.gitlab.issue(slug)
        impact = deletion_of(place, issue)
        try:
            await self.client.request("DELETE", API + f"projects/{place.id}/issues/{issue.iid}")
        except TokenRejected:
            raise
        except PermissionDenied as refusal:
            raise PermissionDenied(
                f"GitLab did not let {self.me.username} delete {impact.slug} ({refusal.message}): only project "
                "owners and administrators may delete issues.",
                hint="Close it instead: move_ticket to done or canceled.",
            ) from None
        except NotFound:
            pass  # gone already: a retried DELETE whose first attempt landed, or someone else's
        return impact

    async def add_comment(self, slug: str, body: str) -> Comment:
        place, issue = await self.gitlab.issue(slug)
        if not body.strip():
            raise Invalid("body", "The comment is empty.", hint="Write what you want to say.")
        rules.validate_text("body", body, rules.COMMENT_MAX)
        reply = await self.client.request(
            "POST", API + f"projects/{place.id}/issues/{issue.iid}/notes", json_body={"body": body}
        )
        return to_comment(parse(GitLabNote, reply.body, BACKEND, "the new note"), f"{place.project.code}-{issue.iid}")

    async def move_to_project(self, slug: str, project: str, *, version: int | None = None) -> Relocation:
        return await self.files.move(slug, project, version)

    # Attachments (gitlab_files)

    async def attach_file(self, slug: str, name: str, content: bytes) -> Attachment:
        return await self.files.attach(slug, name, content)

    async def attachment(self, slug: str, attachment_id: int) -> tuple[Attachment, bytes]:
        return await self.files.read(slug, attachment_id)

    async def delete_attachment(self, slug: str, attachment_id: int) -> Attachment:
        return await self.files.delete(slug, attachment_id)

    # Planning: issue links, milestones, time estimates and time spent (gitlab_planning, gitlab_milestones)

    async def link_tickets(
        self, slug: str, kind: LinkKind, other: str, *, unlink: bool = False, close_as_duplicate: bool = False
    ) -> Linked:
        return await self.planning.link(slug, kind, other, unlink=unlink, close_as_duplicate=close_as_duplicate)

    async def list_milestones(
        self, project: str | None = None, *, closed: bool = False, organization: str | None = None
    ) -> list[Milestone]:
        return await self.milestones.listed(await self.gitlab.place(project, organization), closed=closed)

    async def save_milestone(
        self, project: str | None, name: str, *, rename: str | None = None, start_date: str | None = None,
        due_date: str | None = None, closed: bool | None = None, open_tickets: str | None = None,
        organization: str | None = None,
    ) -> Milestone:  # fmt: skip
        return await self.milestones.save(
            await self.gitlab.place(project, organization), name, rename=rename, start_date=start_date,
            due_date=due_date, closed=closed, open_tickets=open_tickets,
        )  # fmt: skip

    async def set_estimate_unit(
        self, project: str | None, unit: EstimateUnit, *, organization: str | None = None
    ) -> Project:
        return self.planning.estimate_unit(await self.gitlab.place(project, organization), unit)

    async def log_time(self, slug: str, hours: float, *, spent_on: str | None = None, note: str = "") -> TimeEntry:
        return await self.planning.log_time(slug, hours, spent_on=spent_on, note=note)


# Helpers without state.


def deletion_of(place: Place, issue: GitLabIssue) -> TicketDeletion:
    return TicketDeletion(slug=f"{place.project.code}-{issue.iid}", subtasks=(), comments=issue.user_notes_count or 0)
