"""Jira Cloud behind the Tracker protocol: the platform REST API v3 of one site.

`tickets-mcp --backend jira --url https://SITE.atlassian.net`, with `email:api_token` in TICKETS_TOKEN (sent
as HTTP Basic) or an OAuth 2.0 access token (no colon; sent as a Bearer token). docs/jira.md has the mapping:

- The organization is the site; projects are its Jira projects (code = project key); tickets are issues,
  slugged by their own key (`KEY-12`). Types, priorities and columns map by name (jira_mapping).
- A column changes only through the issue's workflow: the adapter reads the transitions open to the
  issue and takes the one whose target status is in the wanted column, or refuses, naming the columns it
  can reach. Sub-tasks are Jira sub-tasks (one level, as Jira has them).
- Listing is JQL through the enhanced search (`/search/jql`, `nextPageToken` paging), written from our
  filters with every caller's value quoted; totals come from Jira's approximate count (jira_search).
- A ticket's version is its `updated` time in milliseconds, checked against a fresh read before writing.
- Jira's platform API cannot create projects for us (not with an API token's rights) or rank issues
  within a column (that is Jira Software's agile API): those refuse with Unsupported.
- Planning (jira_planning): issue links, due dates and worklogs; milestones are project versions, an issue's
  fix version (jira_versions, jira_milestones); estimates are not mapped yet.
- Files (jira_files) are the issue's attachments, checked by our own rules before they are sent; their bytes
  come from the site itself, never from a host it redirects to.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx2

from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import UNASSIGNED, TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    CLOSED_STATUSES,
    HISTORY_SHOWN,
    Attachment,
    Board,
    BoardColumn,
    Capability,
    Comment,
    Linked,
    LinkKind,
    Member,
    Milestone,
    Organization,
    OrganizationWorkspace,
    Priority,
    Project,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    TicketType,
    TimeEntry,
    User,
    Workspace,
    rules,
)
from tickets_mcp.domain.rules import check_version
from tickets_mcp.errors import Invalid, NotFound, Unsupported
from tickets_mcp.remotes.base import RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy, RemoteClient
from tickets_mcp.remotes.jira_files import JiraFiles, listed
from tickets_mcp.remotes.jira_mapping import (
    BACKEND,
    PRIORITY_NAMES,
    TYPE_NAMES,
    WRITTEN_NOT,
    column_of,
    jira_labels,
    jql_time,
    parse_slug,
    priority_of,
    quote,
    to_adf,
    to_comment,
    to_ticket,
    type_of,
)
from tickets_mcp.remotes.jira_milestones import JiraMilestones
from tickets_mcp.remotes.jira_planning import JiraPlanning, due_field, links
from tickets_mcp.remotes.jira_search import FIELDS, LIST_LIMIT_MAX, Search, Searches
from tickets_mcp.remotes.jira_site import API, Catalog, Site
from tickets_mcp.remotes.jira_versions import fix_versions
from tickets_mcp.remotes.mapping import CHANGE_TICKETS, CLOCK_SKEW, parse, recover_created
from tickets_mcp.remotes.paging import gather
from tickets_mcp.remotes.planning import check_link, self_link
from tickets_mcp.wire.jira import (
    CommentPage,
    CreatedIssue,
    JiraComment,
    JiraIssue,
    JiraIssueType,
    JiraProject,
    JiraUser,
    Transitions,
)

COMMENT_PAGES = 10
RECOVERY_WINDOW = 20


def auth_headers(token: str) -> dict[str, str]:
    """`email:api_token` as HTTP Basic; anything else is an OAuth 2.0 access token (Bearer)."""
    token = token.strip()
    if ":" in token:
        return {"authorization": "Basic " + base64.b64encode(token.encode()).decode()}
    return {"authorization": "Bearer " + token}


def site_root(url: str) -> str:
    """The site from a URL that may go on into its API (`…/rest/api/3…` is cut off)."""
    parts = urlsplit(url.strip())
    path = parts.path
    if (cut := path.find("/rest/")) >= 0:
        path = path[:cut]
    return urlunsplit(parts._replace(path=path.rstrip("/") + "/", query="", fragment=""))


async def open_adapter(
    settings: RemoteSettings, *, policy: Policy | None = None, transport: httpx2.AsyncBaseTransport | None = None
) -> JiraTracker:
    """The adapter, once GET /myself has shown the credentials work (401 becomes TokenRejected)."""
    client = RemoteClient(
        BACKEND, site_root(settings.url), auth_headers(settings.token), policy=policy, transport=transport
    )
    async with client.closed_on_failure():
        me = parse(JiraUser, (await client.request("GET", API + "myself")).body, BACKEND, "the token's user")
    return JiraTracker(client, me)


class JiraTracker(RemoteTracker):
    name: ClassVar[str] = BACKEND
    maps: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.EDIT_TICKETS,
            Capability.MOVE_TICKETS,
            Capability.DELETE_TICKETS,
            Capability.COMMENT,
            Capability.ATTACHMENTS,
            Capability.BOARD,
            Capability.SUBTASKS,
            Capability.LINKS,
            Capability.DUE_DATES,
            Capability.TIME_TRACKING,
            Capability.MILESTONES,
        }
    )

    def __init__(self, client: RemoteClient, me: JiraUser) -> None:
        super().__init__(client)
        self.me = me
        self.site = Site(client, me)
        try:
            self.zone: ZoneInfo | None = ZoneInfo(me.timeZone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = None  # this machine's time zone database lacks the user's zone
        self.searches = Searches(client, self.site, self.zone)
        self.planning = JiraPlanning(client)
        self.milestones = JiraMilestones(client, self.searches)
        self.files = JiraFiles(client, me)

    # Workspace

    async def workspace(self) -> Workspace:
        projects = await self.list_projects()
        me = User(id=0, username=self.me.accountId, name=self.me.displayName)
        entry = OrganizationWorkspace(
            organization=self.site.organization, role=CHANGE_TICKETS, projects=tuple(projects),
            members=(Member(user=me, role=CHANGE_TICKETS),),
        )  # fmt: skip
        return self.with_capabilities(Workspace(user=me, organizations=(entry,)))

    async def list_organizations(self) -> list[Organization]:
        return [self.site.organization]

    async def list_projects(self, organization: str | None = None) -> list[Project]:
        self.site.check_organization(organization)
        return [self.site.to_project(p) for p in (await self.site.catalog()).projects]

    # Listing

    async def find_tickets(self, query: TicketFilter) -> TicketPage:
        return await self.searches.listing(query)

    async def get_board(
        self,
        project: str | None = None,
        *,
        per_column: int = 20,
        organization: str | None = None,
        milestone: str | None = None,
    ) -> Board:
        self.refuse_milestone_board(milestone)
        if not 1 <= per_column <= LIST_LIMIT_MAX:
            raise Invalid("per_column", f"per_column must be 1-{LIST_LIMIT_MAX}.")
        chosen = await self.site.project(project, organization)

        def column(status: Status) -> Callable[[], Awaitable[BoardColumn]]:
            async def read() -> BoardColumn:
                search = await self.searches.search_for(TicketFilter(project=chosen.key, statuses=[status]))
                if search is None:
                    return BoardColumn(status=status, total=0, tickets=())
                tickets, following = await self.searches.page(search, per_column, None)
                total = len(tickets) if following is None else await self.searches.count(search.jql)
                return BoardColumn(status=status, total=max(total, len(tickets)), tickets=tickets)

            return read

        columns = await gather([column(status) for status in Status])
        return Board(project=self.site.to_project(chosen), columns=tuple(columns))

    # Tickets

    async def _issue(self, slug: str, extra: Sequence[str] = ()) -> JiraIssue:
        params = {"fields": [*FIELDS, *extra]}
        reply = await self.client.request("GET", API + f"issue/{parse_slug(slug)}", params=params)
        return parse(JiraIssue, reply.body, BACKEND, "an issue")

    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail:
        issue = await self._issue(slug, ["attachment"])
        ticket = to_ticket(issue)
        subtasks: tuple[Ticket, ...] = ()
        if issue.fields.subtasks:
            children = Search(jql=f"parent = {quote(issue.key)}", order="ORDER BY key ASC")
            subtasks, _ = await self.searches.page(children, LIST_LIMIT_MAX, None)
        comments = [to_comment(c, ticket.slug) for c in await self._comments(issue.key)]
        return TicketDetail(
            ticket=ticket, subtasks=subtasks, comments=tuple(comments), links=links(issue),
            time_entries=await self.planning.time_entries(issue), attachments=listed(issue),
        )  # fmt: skip

    async def _comments(self, key: str) -> list[JiraComment]:
        found: list[JiraComment] = []
        for _ in range(COMMENT_PAGES):
            params = {"startAt": len(found), "maxResults": LIST_LIMIT_MAX, "orderBy": "created"}
            reply = await self.client.request("GET", API + f"issue/{key}/comment", params=params)
            page = parse(CommentPage, reply.body, BACKEND, "a list of comments")
            found += page.comments
            if not page.comments or len(found) >= page.total:
                break
        return found

    async def file_ticket(self, draft: TicketDraft) -> Ticket:
        project = await self.site.project(draft.project, draft.organization)
        title = rules.normalize_title(draft.title)
        fields: dict[str, Any] = {
            "project": {"id": project.id},
            "summary": title,
            "issuetype": {"id": (await self._issue_type(project, draft.type, sub_task=draft.parent is not None)).id},
            "labels": list(jira_labels(draft.labels)),
        }
        if description := to_adf(rules.validate_text("description", draft.description, rules.DESCRIPTION_MAX)):
            fields["description"] = description
        if draft.priority is not Priority.MEDIUM:  # medium is no priority set: the site's default
            fields["priority"] = {"name": self._priority_name(await self.site.catalog(), draft.priority)}
        if draft.parent is not None:
            parent = await self._issue(draft.parent)
            if parent.fields.issuetype.subtask:
                raise Unsupported(
                    f"The jira backend cannot file a sub-task of {parent.key}: it is a sub-task itself, and Jira "
                    "keeps one level of sub-tasks.",
                    hint=f"File it under {parent.fields.parent.key if parent.fields.parent else 'its parent'}.",
                )
            fields["parent"] = {"key": parent.key}
        if draft.assignee is not None and draft.assignee.strip().casefold() != UNASSIGNED:
            fields["assignee"] = {"accountId": await self._account(draft.assignee)}
        fields |= due_field(draft.due_date)
        fields |= await fix_versions(self.client, project, draft.milestone)
        sent = time.time()
        try:
            reply = await self.client.request("POST", API + "issue", json_body={"fields": fields})
            key = parse(CreatedIssue, reply.body, BACKEND, "the new issue").key
        except Ambiguous as lost:
            key = (await recover_created(lost, sent, title, lambda: self._newest_of_mine(project, sent))).slug
        issue = await self._issue(key)
        ticket = to_ticket(issue)
        if draft.status is Status.BACKLOG and ticket.status is Status.TODO:
            return ticket  # a workflow that starts at To Do has no backlog: the ticket starts where it starts
        return await self._into_column(issue, draft.status, filed=True)

    async def _newest_of_mine(self, project: JiraProject, since: float) -> list[Ticket]:
        # Without the user's zone, a day's margin covers every offset; recover_created checks the times again.
        margin = CLOCK_SKEW if self.zone is not None else 86_400.0
        after = rules.format_timestamp(datetime.fromtimestamp(since - margin, UTC))
        search = Search(
            jql=f"project = {quote(project.key)} AND reporter = currentUser() "
            f"AND created >= {jql_time(after, self.zone or UTC)}",
            order="ORDER BY created DESC, key DESC",
        )
        return list((await self.searches.page(search, RECOVERY_WINDOW, None))[0])

    async def _issue_type(self, project: JiraProject, kind: TicketType, *, sub_task: bool) -> JiraIssueType:
        """The project's issue type for `kind` (a sub-task type under a parent), by TYPE_NAMES' order."""
        kinds = [t for t in project.issueTypes if t.subtask == sub_task]
        for name in TYPE_NAMES[kind]:
            for issue_type in kinds:
                if issue_type.name.casefold() == name.casefold() and name.casefold() not in WRITTEN_NOT:
                    return issue_type
        if sub_task and kind is TicketType.TASK and kinds:
            return kinds[0]
        offered = sorted({type_of(t.name).value for t in kinds if t.name.casefold() not in WRITTEN_NOT})
        what = f"sub-task of the type {kind.value}" if sub_task else f"{kind.value} ticket"
        raise Unsupported(
            f"The jira backend cannot file a {what} in {project.key}: the project has no such issue type "
            f"({', '.join(t.name for t in kinds) or 'none'}).",
            hint=f"Use type {' or '.join(offered)}." if offered else "Ask a Jira admin to add the issue type.",
        )

    def _priority_name(self, catalog: Catalog, priority: Priority) -> str:
        for name in PRIORITY_NAMES[priority]:
            if name.casefold() in {p.casefold() for p in catalog.priorities}:
                return name
        kept = sorted({priority_of(p).value for p in catalog.priorities})
        raise Unsupported(
            f"The jira backend has no priority {priority.value} on this site ({', '.join(catalog.priorities)}).",
            hint=f"Use one of: {', '.join(kept)}.",
        )

    async def _account(self, name: str) -> str:
        return await self.site.account(name, "assignee") or self.me.accountId

    async def change(self, slug: str, changes: TicketChanges, version: int | None) -> Ticket:
        issue = await self._issue(slug)
        check_version(to_ticket(issue), version)
        fields: dict[str, Any] = {}
        if changes.title is not None:
            fields["summary"] = rules.normalize_title(changes.title)
        if changes.description is not None:
            fields["description"] = to_adf(
                rules.validate_text("description", changes.description, rules.DESCRIPTION_MAX)
            )
        if changes.type is not None and changes.type is not type_of(issue.fields.issuetype.name):
            project = await self._project_of(issue)
            sub_task = issue.fields.issuetype.subtask
            fields["issuetype"] = {"id": (await self._issue_type(project, changes.type, sub_task=sub_task)).id}
        if changes.priority is not None:
            fields["priority"] = {"name": self._priority_name(await self.site.catalog(), changes.priority)}
        if changes.assignee is not None:
            unassign = changes.assignee.strip().casefold() == UNASSIGNED
            fields["assignee"] = None if unassign else {"accountId": await self._account(changes.assignee)}
        if changes.labels is not None:
            fields["labels"] = list(jira_labels(changes.labels))
        if changes.parent is not None:
            fields["parent"] = {"key": parse_slug(changes.parent)}
        fields |= due_field(changes.due_date)
        if changes.milestone is not None:
            fields |= await fix_versions(self.client, await self._project_of(issue), changes.milestone)
        if fields:
            await self.client.request("PUT", API + f"issue/{issue.key}", json_body={"fields": fields})
            issue = await self._issue(issue.key)
        if changes.status is not None:
            return await self._into_column(issue, changes.status)
        return to_ticket(issue)

    async def _project_of(self, issue: JiraIssue) -> JiraProject:
        project = await self.site.project_of_key(issue.key.rpartition("-")[0])
        if project is None:
            raise NotFound(f"The Jira project of {issue.key} is not among those this token's user can browse.")
        return project

    async def move_ticket(
        self, slug: str, status: Status, *, before: str | None = None, after: str | None = None,
        version: int | None = None,
    ) -> Ticket:  # fmt: skip
        if before is not None or after is not None:
            self.unsupported(Capability.ORDER_COLUMNS)
        issue = await self._issue(slug)
        check_version(to_ticket(issue), version)
        return await self._into_column(issue, status)

    async def _into_column(self, issue: JiraIssue, wanted: Status, *, filed: bool = False) -> Ticket:
        """The issue moved by a transition of its workflow into the column `wanted` (as it is, if there)."""
        ticket = to_ticket(issue)
        if ticket.status is wanted:
            return ticket
        reply = await self.client.request("GET", API + f"issue/{issue.key}/transitions")
        offered = parse(Transitions, reply.body, BACKEND, "the issue's transitions").transitions
        chosen = next((t for t in offered if column_of(t.to) is wanted), None)
        if chosen is None:
            reachable = {column_of(t.to).value: t.to.name for t in offered if column_of(t.to) is not ticket.status}
            where = ", ".join(f"{column} ({name})" for column, name in reachable.items()) or "nowhere"
            raise Unsupported(
                f"The jira backend cannot move {issue.key} from {ticket.status.value} ({issue.fields.status.name}) to "
                f"{wanted.value}: its Jira workflow has no transition to such a status from there"
                + (f" ({issue.key} was filed in {ticket.status.value})." if filed else "."),
                hint=f"From here it can go to: {where}.",
            )
        await self.client.request(
            "POST", API + f"issue/{issue.key}/transitions", json_body={"transition": {"id": chosen.id}}
        )
        return to_ticket(await self._issue(issue.key))

    async def ticket_deletion(self, slug: str) -> TicketDeletion:
        issue = await self._issue(slug)
        return await self._deletion(issue)

    async def _deletion(self, issue: JiraIssue) -> TicketDeletion:
        reply = await self.client.request("GET", API + f"issue/{issue.key}/comment", params={"maxResults": 1})
        comments = parse(CommentPage, reply.body, BACKEND, "a list of comments").total
        return TicketDeletion(slug=issue.key, subtasks=tuple(s.key for s in issue.fields.subtasks), comments=comments)

    async def delete_ticket(self, slug: str) -> TicketDeletion:
        issue = await self._issue(slug)
        impact = await self._deletion(issue)
        params = {"deleteSubtasks": "true"} if impact.subtasks else None  # Jira refuses to orphan them
        with contextlib.suppress(NotFound):  # gone already: a retried DELETE whose first attempt landed
            await self.client.request("DELETE", API + f"issue/{issue.key}", params=params)
        return impact

    async def add_comment(self, slug: str, body: str) -> Comment:
        if not body.strip():
            raise Invalid("body", "The comment is empty.", hint="Write what you want to say.")
        document = to_adf(rules.validate_text("body", body, rules.COMMENT_MAX))
        key = parse_slug(slug)
        reply = await self.client.request("POST", API + f"issue/{key}/comment", json_body={"body": document})
        return to_comment(parse(JiraComment, reply.body, BACKEND, "the new comment"), key)

    # Files (jira_files)

    async def attach_file(self, slug: str, name: str, content: bytes) -> Attachment:
        return await self.files.attach(slug, name, content)

    async def attachment(self, slug: str, attachment_id: int) -> tuple[Attachment, bytes]:
        return await self.files.read(slug, attachment_id)

    async def delete_attachment(self, slug: str, attachment_id: int) -> Attachment:
        return await self.files.delete(slug, attachment_id)

    # Planning: issue links and worklogs (jira_planning)

    async def link_tickets(
        self, slug: str, kind: LinkKind, other: str, *, unlink: bool = False, close_as_duplicate: bool = False
    ) -> Linked:
        check_link(slug, kind, other, unlink=unlink, close_as_duplicate=close_as_duplicate)
        issue, target = await self._issue(slug), await self._issue(other)
        if target.id == issue.id:
            raise self_link(slug)
        await self.planning.link(issue, kind, target, unlink=unlink)
        issue = await self._issue(issue.key)
        if close_as_duplicate and to_ticket(issue).status not in CLOSED_STATUSES:
            await self._into_column(issue, Status.CANCELED)
            issue = await self._issue(issue.key)
        return Linked(ticket=to_ticket(issue), links=links(issue))

    async def log_time(self, slug: str, hours: float, *, spent_on: str | None = None, note: str = "") -> TimeEntry:
        return await self.planning.log_time(await self._issue(slug), hours, spent_on=spent_on, note=note)

    # Milestones: project versions (jira_milestones)

    async def list_milestones(
        self, project: str | None = None, *, closed: bool = False, organization: str | None = None
    ) -> list[Milestone]:
        return await self.milestones.listed(await self.site.project(project, organization), closed=closed)

    async def save_milestone(
        self, project: str | None, name: str, *, rename: str | None = None, start_date: str | None = None,
        due_date: str | None = None, closed: bool | None = None, open_tickets: str | None = None,
        organization: str | None = None,
    ) -> Milestone:  # fmt: skip
        return await self.milestones.save(
            await self.site.project(project, organization), name, rename=rename, start_date=start_date,
            due_date=due_date, closed=closed, open_tickets=open_tickets,
        )  # fmt: skip
