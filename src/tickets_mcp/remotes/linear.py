"""Linear behind the Tracker protocol: its GraphQL API, one POST to {url}/graphql per query or mutation.

`tickets-mcp --backend linear --url https://api.linear.app`, with a personal API key (`lin_api_...`, sent
as `Authorization: <key>`) or an OAuth access token (sent as `Authorization: Bearer <token>`) in
TICKETS_TOKEN. docs/linear.md has the whole mapping (remotes/linear_mapping.py holds it):

- The organization is the Linear workspace (viewer.organization); projects are its teams, coded by
  their key, so a ticket's slug is the issue's own identifier (ENG-123).
- Statuses are workflow states by type, priorities Linear's numbers, types the workspace labels Bug,
  Feature and Improvement; other labels are issue labels, a missing one created for the team.
- The GraphQL documents and the client that sends them, retrying queries but not mutations and
  turning Linear's `errors` into the tracker's, are remotes/linear_graphql.py. A create whose answer
  was lost is looked up by the id we gave it (Linear takes a client-chosen issue id).
- Paging carries Linear's endCursor in our cursor; totals are counted once, on the first page, by
  reading the matches' ids (250 a request, up to COUNT_PAGES requests, and no further than the query's
  count_limit; more is reported as capped).
- Versions are updatedAt in milliseconds, checked before writing. A delete trashes the issue and its
  sub-issues (Linear keeps them 30 days). Teams are not created or changed here, and the public API
  lists no column in manual order: both refuse with Unsupported naming linear.
- Planning (remotes/linear_planning.py): relations are links, cycles read-only milestones, dueDate the due
  date, estimates points; Linear has no time tracking.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, NoReturn, TypeVar

import httpx2
from pydantic import BaseModel

from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import ANYONE, ME, UNASSIGNED, TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    CLOSED_STATUSES,
    HISTORY_SHOWN,
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
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    TicketSort,
    TicketType,
    Workspace,
    rules,
)
from tickets_mcp.domain.rules import check_version, decode_cursor, encode_cursor
from tickets_mcp.errors import (
    BackendUnavailable,
    Invalid,
    NotFound,
    PermissionDenied,
    TrackerError,
    Unsupported,
)
from tickets_mcp.remotes.base import RemoteTracker
from tickets_mcp.remotes.client import Ambiguous, Policy, TokenRejected
from tickets_mcp.remotes.linear_graphql import (
    COMMENT_CREATE,
    DELETION,
    ISSUE,
    ISSUE_CREATE,
    ISSUE_DELETE,
    ISSUE_DETAIL,
    ISSUE_IDS,
    ISSUE_REFS,
    ISSUE_UPDATE,
    ISSUES,
    LABEL_CREATE,
    LABELS,
    MEMBERS,
    TEAMS,
    USERS,
    VIEWER,
    LinearClient,
    authorization,
    linear_root,
)
from tickets_mcp.remotes.linear_mapping import (
    BACKEND,
    PRIORITIES,
    TYPE_LABELS,
    checked_slug,
    is_type_label,
    label_filter,
    named,
    people_filter,
    plain_labels,
    priority_filter,
    role_of,
    state_for,
    state_ids,
    text_filter,
    to_comment,
    to_ticket,
    to_user,
    type_filter,
)
from tickets_mcp.remotes.linear_planning import (
    Planning,
    refuse_estimate_unit,
    refuse_milestone_change,
)
from tickets_mcp.remotes.linear_planning import refuse_filters as refuse_planning_filters
from tickets_mcp.remotes.mapping import find_project, only_project
from tickets_mcp.remotes.paging import fingerprint, gather, query_fingerprint
from tickets_mcp.remotes.planning import check_link, self_link
from tickets_mcp.wire.linear import (
    CommentCreateData,
    DeletionData,
    IssueCreateData,
    IssueData,
    IssueDeleteData,
    IssueDetailData,
    IssueIdsData,
    IssueRefsData,
    IssuesData,
    IssueUpdateData,
    LabelCreateData,
    LabelsData,
    LinearIssue,
    LinearTeam,
    MembersData,
    ScopedLabel,
    TeamsData,
    UsersData,
    Viewer,
    ViewerData,
)
from tickets_mcp.wire.values import stored

M = TypeVar("M", bound=BaseModel)
Found = TypeVar("Found", bound=LinearIssue)

LIST_LIMIT_MAX = 100
BOARD_PER_COLUMN_MAX = 100
COUNT_PAGES = 8  # requests of 250 ids one count reads at most: totals past 2,000 are reported as capped
ID_PAGE = 250  # ids a count request reads (IssueIds' and IssueRefs' `first`)
REF_PAGES = 40  # requests of 250 sub-issues a delete reads at most: 10,000
TEAMS_TTL = 300.0  # seconds the teams and their workflow states are kept

# Why Linear's API offers something the adapter still refuses.
REASONS = {
    Capability.MANAGE_PROJECTS: "projects are Linear teams, part of the workspace's structure, which tickets-mcp "
    "does not create, rename or delete",
    Capability.ORDER_COLUMNS: "Linear's public API lists no column in its manual order (its `sort` argument is "
    "internal), so a ticket cannot be placed between two others",
}


async def open_adapter(
    settings: RemoteSettings, *, policy: Policy | None = None, transport: httpx2.AsyncBaseTransport | None = None
) -> LinearTracker:
    """The adapter, once the viewer query has shown the token works (AUTHENTICATION_ERROR: TokenRejected)."""
    client = LinearClient(
        BACKEND, linear_root(settings.url), authorization(settings.token), policy=policy, transport=transport
    )
    async with client.closed_on_failure():
        viewer = (await client.query(VIEWER, {}, ViewerData)).viewer
    return LinearTracker(client, viewer)


class LinearTracker(RemoteTracker):
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
        }
    )

    def __init__(self, client: LinearClient, viewer: Viewer) -> None:
        super().__init__(client)
        self.linear = client
        self.planning = Planning(client)
        self.viewer = viewer
        self.me = to_user(viewer)
        self._teams: list[LinearTeam] = []
        self._teams_read = 0.0

    def unsupported(self, capability: Capability) -> NoReturn:
        reason = REASONS.get(capability)
        if reason is None:
            super().unsupported(capability)
        raise Unsupported(f"The {self.name} backend cannot {capability.value}: {reason}.", hint="Do it in Linear.")

    # Workspace, organization, teams

    @property
    def organization(self) -> Organization:
        org = self.viewer.organization
        return Organization(id=org.id, name=org.name, slug=org.urlKey)

    def _check_organization(self, reference: str | None) -> None:
        org = self.organization
        if reference is not None and reference.strip().casefold() not in {
            org.id.casefold(), org.slug.casefold(), org.name.casefold(),
        }:  # fmt: skip
            raise NotFound(
                f"linear: no workspace {reference!r}; the token's workspace is {org.slug}.",
                hint=f"Leave organization out, or pass {org.slug}.",
            )

    async def teams(self, *, fresh: bool = False) -> list[LinearTeam]:
        if fresh or not self._teams or time.monotonic() - self._teams_read > TEAMS_TTL:
            found = (await self.linear.query(TEAMS, {}, TeamsData)).teams.nodes
            self._teams, self._teams_read = sorted(found, key=lambda t: t.key), time.monotonic()
        return self._teams

    def project_of(self, team: LinearTeam) -> Project:
        return Project(
            id=team.id, organization_id=self.viewer.organization.id, name=team.name, code=team.key,
            description=team.description or "", created_at=stored(team.createdAt), estimate_unit=EstimateUnit.POINTS,
        )  # fmt: skip

    async def team(self, reference: str | None, organization: str | None = None) -> LinearTeam:
        """The team a project reference names (key, id or name); the only team where none is named."""
        self._check_organization(organization)
        for fresh in (False, True):
            teams = await self.teams(fresh=fresh)
            by_id = {team.id: team for team in teams}
            projects = [self.project_of(team) for team in teams]
            if reference is None:
                return by_id[only_project(projects, BACKEND).id]
            found = find_project(reference, projects)
            if found is not None:
                return by_id[found.id]
        raise NotFound(f"linear: no team {reference!r}.", hint="list_projects shows the teams (projects) there are.")

    async def workspace(self) -> Workspace:
        teams = await self.teams(fresh=True)
        users = (await self.linear.query(MEMBERS, {}, MembersData)).organization.users.nodes
        members = sorted(
            (Member(user=to_user(user), role=role_of(user)) for user in users if user.active),
            key=lambda member: member.user.username.casefold(),
        )
        entry = OrganizationWorkspace(
            organization=self.organization,
            role=role_of(self.viewer),
            projects=tuple(self.project_of(team) for team in teams),
            members=tuple(members),
        )
        return self.with_capabilities(Workspace(user=self.me, organizations=(entry,)))

    async def list_organizations(self) -> list[Organization]:
        return [self.organization]

    async def list_projects(self, organization: str | None = None) -> list[Project]:
        self._check_organization(organization)
        return [self.project_of(team) for team in await self.teams(fresh=True)]

    # Listing

    async def find_tickets(self, query: TicketFilter) -> TicketPage:
        if not 1 <= query.limit <= LIST_LIMIT_MAX:
            raise Invalid("limit", f"limit must be 1-{LIST_LIMIT_MAX}.", hint="Use cursor to page through more.")
        if query.offset:
            raise Invalid("offset", "The linear backend pages by cursor, not offset.", hint="Pass next_cursor.")
        refuse_planning_filters(query)
        if query.sort is TicketSort.PRIORITY or not query.descending:
            order = f"{query.sort.value}, {'newest' if query.descending else 'oldest'} first"
            raise Unsupported(
                f"The linear backend cannot list tickets by {order}: Linear's public API orders by creation or "
                "last update, newest first.",
                hint="Sort by created or updated, newest first; filter by priority.",
            )
        issue_filter = await self._filter(query)
        order_by = "updatedAt" if query.sort is TicketSort.UPDATED else "createdAt"
        mark = fingerprint(query_fingerprint(query), issue_filter)
        after, seen, total, capped = _position(query.cursor, mark) if query.cursor else (None, 0, None, False)
        variables = {"filter": issue_filter, "first": query.limit, "after": after, "orderBy": order_by}
        found = (await self.linear.query(ISSUES, variables, IssuesData)).issues
        tickets = tuple(map(to_ticket, found.nodes))
        more = found.pageInfo.hasNextPage and bool(found.nodes) and found.pageInfo.endCursor is not None
        if not more:
            return TicketPage(tickets=tickets, total=seen + len(tickets), next_cursor=None)
        known = seen + len(tickets) + 1  # a next page holds one more at least
        if total is None and query.count_limit is not None and known > query.count_limit:
            total, capped = known, True  # more than the caller wants counted: nothing to read
        elif total is None:
            total, complete = await self._count(issue_filter, query.count_limit)
            capped = not complete
        total = max(total, known)
        cursor = encode_cursor(
            {
                "after": found.pageInfo.endCursor,
                "seen": seen + len(tickets),
                "total": total,
                "capped": capped,
                "query": mark,
            }
        )
        return TicketPage(tickets=tickets, total=total, next_cursor=cursor, total_capped=capped)

    async def _filter(self, query: TicketFilter) -> dict[str, Any] | None:
        """Linear's IssueFilter for a query: every condition must hold."""
        terms: list[dict[str, Any]] = []
        self._check_organization(query.organization)
        teams = [await self.team(query.project)] if query.project else await self.teams()
        if query.project:
            terms.append({"team": {"id": {"eq": teams[0].id}}})
        if query.statuses:
            states = [state for team in teams for state in team.states.nodes]
            terms.append({"state": {"id": {"in": state_ids(query.statuses, states)}}})
        if query.types:
            terms.append(type_filter(query.types))
        if query.priorities:
            terms.append({"priority": {"in": priority_filter(query.priorities)}})
        if query.labels:
            terms += label_filter(rules.normalize_labels(query.labels))
        if query.assignee is not None:
            terms.append({"assignee": people_filter(query.assignee, self.me.username)})
        if query.reporter is not None:
            terms.append({"creator": people_filter(query.reporter, self.me.username)})
        if query.parent is not None:
            terms.append({"parent": {"id": {"eq": (await self._issue(query.parent)).id}}})
        if query.text and query.text.strip():
            terms.append(text_filter(query.text.strip()))
        if query.updated_since:
            terms.append({"updatedAt": {"gte": rules.parse_timestamp("updated_since", query.updated_since)}})
        terms += await self.planning.terms(teams, query)
        return {"and": terms} if terms else None

    async def _count(self, issue_filter: dict[str, Any] | None, limit: int | None = None) -> tuple[int, bool]:
        """How many issues match, by reading their ids, and whether that is all of them: COUNT_PAGES requests
        at most, and no more than it takes to pass `limit`."""
        count, after = 0, None
        pages = COUNT_PAGES if limit is None else min(COUNT_PAGES, limit // ID_PAGE + 1)
        for _ in range(pages):
            found = (await self.linear.query(ISSUE_IDS, {"filter": issue_filter, "after": after}, IssueIdsData)).issues
            count += len(found.nodes)
            if not found.pageInfo.hasNextPage or not found.nodes:
                return count, True
            after = found.pageInfo.endCursor
        return count, False

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
        team = await self.team(project, organization)

        def column(status: Status) -> Callable[[], Awaitable[BoardColumn]]:
            async def read() -> BoardColumn:
                ids = state_ids([status], team.states.nodes)
                if not ids:
                    return BoardColumn(status=status, total=0, tickets=())
                issue_filter = {"and": [{"team": {"id": {"eq": team.id}}}, {"state": {"id": {"in": ids}}}]}
                variables = {"filter": issue_filter, "first": per_column, "after": None, "orderBy": "createdAt"}
                found = (await self.linear.query(ISSUES, variables, IssuesData)).issues
                tickets = tuple(map(to_ticket, found.nodes))
                total = len(tickets)
                if found.pageInfo.hasNextPage:
                    total = max((await self._count(issue_filter))[0], total + 1)
                return BoardColumn(status=status, total=total, tickets=tickets)

            return read

        columns = await gather([column(status) for status in Status])
        return Board(project=self.project_of(team), columns=tuple(columns))

    # Tickets

    async def _lookup(self, document: str, slug: str, model: type[M]) -> M:
        """One issue's document, by its identifier; Linear's "Entity not found" names the slug asked for."""
        try:
            return await self.linear.query(document, {"id": checked_slug(slug)}, model)
        except NotFound:
            raise NotFound(
                f"linear: no issue {slug.strip()}.", hint="list_tickets shows the issues there are."
            ) from None

    async def _issue(self, slug: str) -> LinearIssue:
        return _live((await self._lookup(ISSUE, slug, IssueData)).issue)

    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail:
        issue = _live((await self._lookup(ISSUE_DETAIL, slug, IssueDetailData)).issue)
        ticket = to_ticket(issue)
        children = [child for child in issue.children.nodes if not child.trashed]
        comments = sorted(issue.comments.nodes, key=lambda comment: comment.createdAt)
        return TicketDetail(
            ticket=ticket,
            subtasks=tuple(map(to_ticket, children)),
            comments=tuple(to_comment(comment, ticket.slug) for comment in comments),
            links=self.planning.links(await self.planning.relations(issue.id)),
        )

    async def file_ticket(self, draft: TicketDraft) -> Ticket:
        team = await self.team(draft.project, draft.organization)
        chosen = str(uuid.uuid4())  # Linear takes the new issue's id from us: a lost answer is looked up by it
        data: dict[str, Any] = {
            "id": chosen,
            "teamId": team.id,
            "title": rules.normalize_title(draft.title),
            "description": rules.validate_text("description", draft.description, rules.DESCRIPTION_MAX),
            "stateId": state_for(draft.status, team.states.nodes, team.key).id,
            "priority": PRIORITIES[draft.priority],
        }
        labels = plain_labels(rules.normalize_labels(draft.labels))
        label_ids = await self._label_ids(team, labels, draft.type)
        if label_ids:
            data["labelIds"] = label_ids
        if draft.assignee is not None and draft.assignee.strip().casefold() != UNASSIGNED:
            data["assigneeId"] = await self._user_id(draft.assignee)
        if draft.parent:
            data["parentId"] = (await self._issue(draft.parent)).id
        data |= await self.planning.fields(
            team, due_date=draft.due_date, estimate=draft.estimate, milestone=draft.milestone
        )
        try:
            created = (await self.linear.mutate(ISSUE_CREATE, {"input": data}, IssueCreateData)).issueCreate
        except Ambiguous as lost:
            return await self._recover(chosen, lost)
        return to_ticket(_done(created.issue, "issueCreate"))

    async def _recover(self, chosen: str, lost: Ambiguous) -> Ticket:
        """The issue a lost issueCreate made, found by the id we chose; else the Ambiguous error itself."""
        try:
            issue = (await self.linear.query(ISSUE, {"id": chosen}, IssueData)).issue
        except TrackerError:
            raise lost from None
        return to_ticket(issue)

    async def _user_id(self, who: str) -> str:
        name = who.strip()
        if name.casefold() == ME:
            return self.viewer.id
        if name == ANYONE:
            raise Invalid("assignee", "'*' filters for any assignee; it names nobody to assign.")
        users = (await self.linear.query(USERS, {"filter": named(name)}, UsersData)).users.nodes
        exact = [user for user in users if user.displayName.casefold() == name.casefold()] or users
        if len(exact) != 1:
            raise Invalid(
                "assignee",
                f"linear has {'no user' if not exact else 'several users'} named {who!r}.",
                hint="Name a member by the display name get_workspace_context shows.",
            )
        return exact[0].id

    async def _label_ids(self, team: LinearTeam, labels: Sequence[str], kind: TicketType | None) -> list[str]:
        """The ids of the team's (or else the workspace's) labels of these names, and of the type's label;
        a missing label is created for the team, a missing type label refused."""
        typed = TYPE_LABELS.get(kind) if kind is not None else None
        wanted = [*labels, *([typed] if typed else [])]
        if not wanted:
            return []
        name_filter = {"or": [{"name": {"eqIgnoreCase": name}} for name in wanted]}
        found = (await self.linear.query(LABELS, {"filter": name_filter}, LabelsData)).issueLabels.nodes
        ids: list[str] = []
        for name in wanted:
            label = _pick_label(found, name, team)
            if label is None and is_type_label(name):
                raise Unsupported(
                    f"The linear backend cannot set type {kind.value if kind else name} here: the workspace "
                    f"has no label {name}.",
                    hint=f"Create a workspace label named {name} in Linear, or leave the type out.",
                )
            if label is None:
                color = "#" + rules.label_color(name)
                made = await self.linear.mutate(
                    LABEL_CREATE, {"input": {"name": name, "teamId": team.id, "color": color}}, LabelCreateData
                )
                label = _done(made.issueLabelCreate.issueLabel, "issueLabelCreate")
            ids.append(label.id)
        return ids

    async def change(self, slug: str, changes: TicketChanges, version: int | None) -> Ticket:
        issue = await self._issue(slug)
        current = to_ticket(issue)
        check_version(current, version)
        team = next((t for t in await self.teams() if t.id == issue.team.id), None) or await self.team(issue.team.key)
        data: dict[str, Any] = {}
        if changes.title is not None and (title := rules.normalize_title(changes.title)) != current.title:
            data["title"] = title
        if changes.description is not None and changes.description != current.description:
            data["description"] = rules.validate_text("description", changes.description, rules.DESCRIPTION_MAX)
        if changes.status is not None and changes.status is not current.status:
            data["stateId"] = state_for(changes.status, team.states.nodes, team.key).id
        if changes.priority is not None and changes.priority is not current.priority:
            data["priority"] = PRIORITIES[changes.priority]
        if changes.assignee is not None:
            unassign = changes.assignee.strip().casefold() == UNASSIGNED
            data["assigneeId"] = None if unassign else await self._user_id(changes.assignee)
        if changes.parent is not None:
            unparent = changes.parent.strip().casefold() == UNASSIGNED
            data["parentId"] = None if unparent else (await self._issue(changes.parent)).id
        if changes.labels is not None or (changes.type is not None and changes.type is not current.type):
            data["labelIds"] = await self._new_labels(issue, team, changes)
        data |= await self.planning.fields(
            team, due_date=changes.due_date, estimate=changes.estimate, milestone=changes.milestone
        )
        if not data:
            return current
        variables = {"id": issue.id, "input": data}
        changed = (await self.linear.mutate(ISSUE_UPDATE, variables, IssueUpdateData)).issueUpdate
        return to_ticket(_done(changed.issue, "issueUpdate"))

    async def _new_labels(self, issue: LinearIssue, team: LinearTeam, changes: TicketChanges) -> list[str]:
        """The label ids an issue carries after a change of its labels or its type (each keeps the other)."""
        plain = [label for label in issue.labels.nodes if not is_type_label(label.name)]
        typed = [label.id for label in issue.labels.nodes if is_type_label(label.name)]
        if changes.labels is None:
            names: Sequence[str] = ()
            kept = [label.id for label in plain]
        else:
            names, kept = plain_labels(rules.normalize_labels(changes.labels)), []
        if changes.type is None:
            return kept + await self._label_ids(team, names, None) + typed
        return kept + await self._label_ids(team, names, changes.type)

    async def ticket_deletion(self, slug: str) -> TicketDeletion:
        return (await self._deletion(slug))[0]

    async def _deletion(self, slug: str) -> tuple[TicketDeletion, list[str]]:
        """What deleting an issue takes with it, and the ids to delete: its sub-issues (deepest first), itself."""
        issue = (await self._lookup(DELETION, slug, DeletionData)).issue
        if issue.trashed:
            raise _trashed(issue.identifier)
        levels: list[list[tuple[str, str]]] = []
        seen, pages = {issue.id}, REF_PAGES
        parents = [issue.id]
        while parents:
            level, pages = await self._children(parents, seen, pages)
            if level:
                levels.append(level)
            parents = [ref_id for ref_id, _ in level]
        subtasks = tuple(identifier for level in levels for _, identifier in level)
        ids = [ref_id for level in reversed(levels) for ref_id, _ in level] + [issue.id]
        return TicketDeletion(slug=issue.identifier, subtasks=subtasks, comments=len(issue.comments.nodes)), ids

    async def _children(self, parents: list[str], seen: set[str], pages: int) -> tuple[list[tuple[str, str]], int]:
        """The sub-issues (id, identifier) of `parents` not `seen` yet (a cycle ends here), reading at most
        `pages` pages, and the pages left; a cursor Linear repeats, or leaves out while saying more follow,
        stops it."""
        level: list[tuple[str, str]] = []
        after: str | None = None
        cursors: set[str] = set()
        while True:
            if pages <= 0:
                raise BackendUnavailable(
                    f"linear listed more than {REF_PAGES * ID_PAGE} sub-issues to delete; nothing was deleted.",
                    hint="Delete the sub-issues in Linear, or move the issue to canceled.",
                )
            pages -= 1
            variables = {"filter": {"parent": {"id": {"in": parents}}}, "after": after}
            found = (await self.linear.query(ISSUE_REFS, variables, IssueRefsData)).issues
            for ref in found.nodes:
                if ref.id not in seen:
                    seen.add(ref.id)
                    level.append((ref.id, ref.identifier))
            if not found.pageInfo.hasNextPage or not found.nodes:
                return level, pages
            after = found.pageInfo.endCursor
            if after is None or after in cursors:
                raise BackendUnavailable(
                    f"linear paged sub-issues with a {'repeated' if after else 'missing'} cursor; nothing was deleted.",
                    hint="Retry later.",
                )
            cursors.add(after)

    async def delete_ticket(self, slug: str) -> TicketDeletion:
        impact, ids = await self._deletion(slug)
        for issue_id in ids:
            try:
                await self.linear.mutate(ISSUE_DELETE, {"id": issue_id}, IssueDeleteData)
            except TokenRejected:
                raise
            except PermissionDenied as refusal:
                raise PermissionDenied(
                    f"Linear did not let {self.me.username} delete {impact.slug} ({refusal.message}).",
                    hint="Move it to canceled instead.",
                ) from None
        return impact

    async def add_comment(self, slug: str, body: str) -> Comment:
        """One commentCreate, which takes the issue's identifier as its issueId (CommentCreateInput says so)."""
        identifier = checked_slug(slug)
        if not body.strip():
            raise Invalid("body", "The comment is empty.", hint="Write what you want to say.")
        rules.validate_text("body", body, rules.COMMENT_MAX)
        data = {"input": {"issueId": identifier, "body": body}}
        try:
            made = (await self.linear.mutate(COMMENT_CREATE, data, CommentCreateData)).commentCreate
        except NotFound:
            raise NotFound(f"linear: no issue {identifier}.", hint="list_tickets shows the issues there are.") from None
        comment = _done(made.comment, "commentCreate")
        return to_comment(comment, comment.issue.identifier if comment.issue else identifier)

    # Planning: relations, cycles, due dates, estimates (linear_planning)

    async def link_tickets(
        self, slug: str, kind: LinkKind, other: str, *, unlink: bool = False, close_as_duplicate: bool = False
    ) -> Linked:
        check_link(slug, kind, other, unlink=unlink, close_as_duplicate=close_as_duplicate)
        issue = await self._issue(slug)
        target = await self._issue(other)
        if target.id == issue.id:
            raise self_link(slug)
        await self.planning.link(await self.planning.relations(issue.id), kind, target.identifier, unlink=unlink)
        if close_as_duplicate and to_ticket(issue).status not in CLOSED_STATUSES:
            await self._mark_duplicate(issue)
        after = await self._issue(slug)
        return Linked(ticket=to_ticket(after), links=self.planning.links(await self.planning.relations(after.id)))

    async def _mark_duplicate(self, issue: LinearIssue) -> None:
        """Move a duplicate to the team's Duplicate state (type duplicate), else its first canceled one."""
        team = await self.team(issue.team.key)
        states = team.states.nodes
        state = min((s for s in states if s.type == "duplicate"), key=lambda s: s.position, default=None)
        state = state or state_for(Status.CANCELED, states, team.key)
        variables = {"id": issue.id, "input": {"stateId": state.id}}
        _done((await self.linear.mutate(ISSUE_UPDATE, variables, IssueUpdateData)).issueUpdate.issue, "issueUpdate")

    async def list_milestones(
        self, project: str | None = None, *, closed: bool = False, organization: str | None = None
    ) -> list[Milestone]:
        return await self.planning.milestones(await self.team(project, organization), closed=closed)

    async def save_milestone(
        self, project: str | None, name: str, *, rename: str | None = None, start_date: str | None = None,
        due_date: str | None = None, closed: bool | None = None, open_tickets: str | None = None,
        organization: str | None = None,
    ) -> Milestone:  # fmt: skip
        raise refuse_milestone_change()

    async def set_estimate_unit(
        self, project: str | None, unit: EstimateUnit, *, organization: str | None = None
    ) -> Project:
        team = await self.team(project, organization)
        refuse_estimate_unit(unit)
        return self.project_of(team)


# Helpers without state.

T = TypeVar("T")


def _done(value: T | None, operation: str) -> T:
    """A mutation's payload object; Linear answers success without one only when it did nothing."""
    if value is None:
        raise BackendUnavailable(f"linear answered {operation} without the changed object.", hint="Retry later.")
    return value


def _live(issue: Found) -> Found:
    if issue.trashed:
        raise _trashed(issue.identifier)
    return issue


def _trashed(identifier: str) -> NotFound:
    return NotFound(
        f"linear: {identifier} is in the trash (deleted).", hint="Restore it in Linear within 30 days to use it."
    )


def _pick_label(found: Sequence[ScopedLabel], name: str, team: LinearTeam) -> ScopedLabel | None:
    """The label of that name the team may use: its own, else the workspace's."""
    named = [label for label in found if label.name.casefold() == name.casefold()]
    own = [label for label in named if label.team is not None and label.team.id == team.id]
    return (own or [label for label in named if label.team is None] or [None])[0]


def _position(cursor: str, mark: str) -> tuple[str, int, int, bool]:
    payload = decode_cursor(cursor)
    if payload.get("query") != mark:
        raise Invalid(
            "cursor",
            "The cursor belongs to a different query.",
            hint="Repeat the same filters and sort with next_cursor, or omit cursor to start over.",
        )
    after, seen, total, capped = (payload.get(key) for key in ("after", "seen", "total", "capped"))
    if not (isinstance(after, str) and type(seen) is int and type(total) is int and isinstance(capped, bool)):
        raise Invalid("cursor", "The cursor is not valid.", hint="Pass next_cursor exactly as returned, or omit it.")
    return after, seen, total, capped
