"""LocalTracker: the Tracker on a Store we own, one use case per method: each resolves the names it is given
(core/names.py), asks whether the caller may (core/access.py), validates, and has the store do it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import fields, replace
from functools import partial
from typing import Any, TypeVar

from tickets_mcp.core.access import Access, Action, Roles, Tier
from tickets_mcp.core.attachments import Attachments
from tickets_mcp.core.names import Names
from tickets_mcp.core.planning import Planning, estimate_value
from tickets_mcp.core.relocation import move_to_project
from tickets_mcp.core.tracker import (
    ANYONE,
    BULK_MAX,
    UNASSIGNED,
    Batch,
    MoveDraft,
    Principal,
    Progress,
    TicketChanges,
    TicketDraft,
    TicketFilter,
)
from tickets_mcp.domain import (
    ACTIVITY_SHOWN,
    HISTORY_MAX,
    HISTORY_SHOWN,
    Attachment,
    Board,
    Change,
    Comment,
    EstimateUnit,
    Linked,
    LinkKind,
    Milestone,
    Organization,
    OrganizationWorkspace,
    Project,
    ProjectDeletion,
    Relocation,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    TimeEntry,
    User,
    Workspace,
    rules,
)
from tickets_mcp.domain.dates import optional_day, parse_day, today_utc
from tickets_mcp.domain.similarity import Filed, unreadable_look_alike
from tickets_mcp.domain.text import clean_name
from tickets_mcp.errors import AlreadyDeleted, Invalid, LikelyDuplicate, NotFound, PermissionDenied, TrackerError
from tickets_mcp.stores import (
    PATCHABLE,
    Actor,
    Move,
    NewProject,
    NewTicket,
    Placement,
    Store,
    TicketPatch,
    TicketQuery,
)

LIST_LIMIT_MAX = 100
In = TypeVar("In")
Out = TypeVar("Out")
BOARD_PER_COLUMN_MAX = 100

# A draft's and a change's fields that the store takes under the same name, as they are: a new field shared
# by name passes through without an edit here. The ones named are normalized or checked on the way.
_CHECKED = frozenset({"title", "description", "labels", "idempotency_key", "check_duplicates", "due_date", "estimate"})
_DRAFT_AS_IS = tuple(
    f.name for f in fields(TicketDraft) if f.name in {g.name for g in fields(NewTicket)} and f.name not in _CHECKED
)
_CHANGES_AS_IS = tuple(f.name for f in fields(TicketChanges) if f.name in PATCHABLE and f.name not in _CHECKED)


class LocalTracker:
    """The Tracker protocol over a Store, acting for one principal for one call."""

    def __init__(self, store: Store, principal: Principal, tier: Tier = Tier.FULL) -> None:
        self._store = store
        self._access = Access(principal, tier)
        self._names = Names(store, self._access)
        # The audit trail keeps a client's name (clientInfo.name, a User-Agent) on one capped line, however it came.
        client = clean_name(principal.client) if principal.client else None
        self._actor = Actor(user_id=principal.user_id, token_id=principal.token_id, client=client or None)
        self._planning = Planning(store, self._access, self._names, self._actor)
        self._attachments = Attachments(store, self._access, self._names, self._actor)

    # What the caller may do, and how it names things

    async def permitted_actions(self, project_id: str | None = None) -> frozenset[Action]:
        """What the caller may do in at least one of its organizations (which tools to show it), or, given
        a project, in that project (which controls a page shows); nothing in a project it cannot see."""
        try:
            roles = await self._names.roles()
        except PermissionDenied:
            return frozenset()
        if project_id is None:
            return self._access.permitted(roles, list(roles), self._access.principal.project_id)
        visible = await self._names.visible_projects(list(roles))
        return self._access.permitted(roles, [p.organization_id for p in visible if p.id == project_id], project_id)

    async def refusal_to_change(self, ticket: Ticket) -> PermissionDenied | None:
        """Why the caller may not change this ticket (the refusal an update would raise), or None if it may."""
        roles = await self._names.roles()
        organization_id = await self._names.ticket_organization(roles, ticket)
        return self._access.refusal(roles, organization_id, Action.EDIT, ticket.project_id)

    async def project_reference(self, project: Project) -> str:
        """How the caller names `project` (in a board's URL): WEB, or acme:WEB if it sees WEB elsewhere too."""
        return await self._names.project_reference(project)

    async def users_named(self, usernames: Sequence[str]) -> list[User]:
        """The users these names are, members or not: for the reporters and assignees of tickets the caller has
        read, who may have left the organization since. One read for them all."""
        return await self._store.find_users(usernames) if usernames else []

    async def _readable(self, roles: Roles, work: Awaitable[Out]) -> Out:
        """`work` (a store write that may refuse a look-alike), its refusal cut to what the caller may read:
        a caller that may file but not read the project learns which open ticket, not what it says."""
        try:
            return await work
        except LikelyDuplicate as refusal:
            if refusal.current is None:
                raise
            if await self._may_read(roles, str(refusal.current["project_id"])):
                raise
            raise unreadable_look_alike(str(refusal.current["slug"]), refusal.similarity) from None

    async def _may_read(self, roles: Roles, project_id: str) -> bool:
        visible = await self._names.visible_projects(list(roles))
        organization = next((p.organization_id for p in visible if p.id == project_id), "")
        return self._access.refusal(roles, organization, Action.READ, project_id) is None

    # Workspace

    async def workspace(self) -> Workspace:
        roles = await self._names.roles()
        organizations = await self._names.known_organizations()
        for org in organizations:
            self._access.authorize(roles, org.id, Action.BROWSE)
        projects = await self._store.list_projects([o.id for o in organizations], labels=True)
        user = await self._store.find_user(self._access.principal.username)
        if user is None:
            raise NotFound(f"User {self._access.principal.username!r} no longer exists.")
        entries: list[OrganizationWorkspace] = []
        for org in organizations:
            entries.append(
                OrganizationWorkspace(
                    organization=org,
                    role=roles[org.id],
                    projects=tuple(p for p in projects if p.organization_id == org.id),
                    members=tuple(await self._store.members(org.id)),
                )
            )
        return Workspace(user=user, organizations=tuple(entries))

    async def list_organizations(self) -> list[Organization]:
        roles = await self._names.roles()
        organizations = await self._names.known_organizations()
        for org in organizations:
            self._access.authorize(roles, org.id, Action.BROWSE)
        return organizations

    async def list_projects(self, organization: str | None = None) -> list[Project]:
        roles = await self._names.roles()
        organizations = await self._names.organizations(organization)
        for org in organizations:
            self._access.authorize(roles, org.id, Action.BROWSE)
        return await self._store.list_projects([o.id for o in organizations])

    async def create_project(
        self, name: str, *, code: str | None = None, description: str = "", organization: str | None = None
    ) -> Project:
        roles = await self._names.roles()
        organizations = await self._names.organizations(organization)
        if len(organizations) != 1:
            raise Invalid(
                "organization",
                "You belong to several organizations; say which one.",
                hint="Pass organization as one of: " + ", ".join(o.slug for o in organizations) + ".",
            )
        org = organizations[0]
        self._access.authorize(roles, org.id, Action.MANAGE)
        name = rules.validate_project_name(name.strip())
        rules.validate_text("description", description, rules.DESCRIPTION_MAX)
        if code is None:
            code = rules.derive_project_code(name, await self._store.project_codes(org.id))
        else:
            code = rules.validate_project_code(code.strip())
        self._names.forget()  # what this tracker saw no longer holds once the project exists
        return await self._store.create_project(
            NewProject(organization_id=org.id, name=name, code=code, description=description), self._actor
        )

    async def update_project(
        self,
        project: str,
        *,
        name: str | None = None,
        description: str | None = None,
        organization: str | None = None,
        default: bool | None = None,
    ) -> Project:
        roles = await self._names.roles()
        target = await self._names.project(project, organization)
        self._access.authorize(roles, target.organization_id, Action.MANAGE, target.id)
        if default is not None:
            self._access.authorize(roles, target.organization_id, Action.CHOOSE_DEFAULT, target.id)
            if not default:
                raise Invalid(
                    "default",
                    "A project stops being the default when another one becomes it.",
                    hint="Send default: true for the project that should be the default.",
                )
        if name is not None:
            name = rules.validate_project_name(name.strip())
        if description is not None:
            rules.validate_text("description", description, rules.DESCRIPTION_MAX)
        self._names.forget()
        saved = await self._store.update_project(target.id, name=name, description=description, actor=self._actor)
        if default:
            await self._store.set_default_project(saved, self._actor)
            saved = saved.model_copy(update={"default": True})
        return saved

    async def project_deletion(self, project: str, *, organization: str | None = None) -> ProjectDeletion:
        roles = await self._names.roles()
        target = await self._names.project(project, organization)
        self._access.authorize(roles, target.organization_id, Action.MANAGE, target.id)
        return await self._store.project_deletion(target.id)

    async def delete_project(self, project: str, *, organization: str | None = None) -> ProjectDeletion:
        self._access.allow_deletion("delete projects")
        roles = await self._names.roles()
        target = await self._names.project(project, organization)
        self._access.authorize(roles, target.organization_id, Action.MANAGE, target.id)
        self._names.forget()
        return await self._store.delete_project(target.id, self._actor)

    # Tickets

    async def list_tickets(self, query: TicketFilter) -> TicketPage:
        roles = await self._names.roles()
        if not 1 <= query.limit <= LIST_LIMIT_MAX:
            raise Invalid("limit", f"limit must be 1-{LIST_LIMIT_MAX}.", hint="Use cursor to page through more.")
        if query.project is not None:
            projects = [await self._names.project(query.project, query.organization)]
        else:
            organizations = await self._names.organizations(query.organization)
            projects = await self._names.visible_projects([o.id for o in organizations])
        for project in projects:
            self._access.authorize(roles, project.organization_id, Action.READ, project.id)
        store_query = TicketQuery(
            project_ids=[p.id for p in projects],
            statuses=tuple(query.statuses),
            types=tuple(query.types),
            priorities=tuple(query.priorities),
            labels=rules.normalize_labels(query.labels),
            text=rules.refuse_control_characters("query", query.text).strip() or None if query.text else None,
            updated_since=_since(query),
            since_written=" ".join(query.updated_since.lower().split())
            if query.updated_since and rules.is_relative_time(query.updated_since)
            else None,
            sort=query.sort,
            descending=query.descending,
            limit=query.limit,
            cursor=query.cursor,
            count_limit=query.count_limit,
        )
        if query.assignee is not None:
            if query.assignee.strip().casefold() == UNASSIGNED:
                store_query = replace(store_query, unassigned=True)
            elif query.assignee.strip() == ANYONE:
                store_query = replace(store_query, assigned=True)
            else:
                user_id = await self._names.user_id([p.organization_id for p in projects], query.assignee)
                store_query = replace(store_query, assignee_id=user_id)
        if query.reporter is not None:
            reporter_id = await self._names.user_id([p.organization_id for p in projects], query.reporter)
            store_query = replace(store_query, reporter_id=reporter_id)
        if query.offset < 0:
            raise Invalid("offset", "offset must be 0 or more.")
        if query.offset:
            if query.cursor:
                raise Invalid("offset", "Pass cursor or offset, not both.")
            store_query = replace(store_query, offset=query.offset)
        if query.parent is not None:
            parent = await self._names.ticket(roles, query.parent, Action.READ)
            store_query = replace(store_query, parent_id=parent.id)
        store_query = await self._planned(store_query, query, projects)
        if not store_query.project_ids:
            return TicketPage(tickets=(), total=0, next_cursor=None)
        page = await self._store.list_tickets(store_query)
        return page.model_copy(update={"tickets": await self._names.named(page.tickets)})

    async def _planned(self, store_query: TicketQuery, query: TicketFilter, projects: Sequence[Project]) -> TicketQuery:
        """`store_query` with the filters planning adds: a milestone (of the one project listed), blockers, days."""
        if query.milestone is not None:
            if query.milestone.strip().casefold() == UNASSIGNED:
                store_query = replace(store_query, no_milestone=True)
            elif len(projects) != 1:
                raise Invalid(
                    "milestone", "A milestone is one project's: say which project.", hint="Pass project with milestone."
                )
            else:
                found = await self._planning.milestone(projects[0], query.milestone, progress=False)
                store_query = replace(store_query, milestone_id=found.id)
        return replace(
            store_query,
            blocked=query.blocked,
            blocking=query.blocking,
            overdue_on=today_utc().isoformat() if query.overdue else None,
            due_before=parse_day("due_before", query.due_before) if query.due_before else None,
            due_after=parse_day("due_after", query.due_after) if query.due_after else None,
        )

    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail:
        if not 0 <= history <= HISTORY_MAX:
            raise Invalid("history", f"history must be 0-{HISTORY_MAX}.")
        roles = await self._names.roles()
        ticket = await self._ticket_or_its_deletion(roles, slug, Action.READ)
        detail = await self._store.ticket_detail(ticket.id, history)
        named = await self._names.named((detail.ticket, *detail.subtasks))
        project = await self._names.project_of(roles, ticket)
        old_slug = await self._names.slug_namer(project.organization_id)
        return detail.model_copy(
            update={
                "ticket": named[0],
                "subtasks": named[1:],
                "estimate_unit": project.estimate_unit,
                "moved_from": tuple(map(old_slug, detail.moved_from)),
            }
        )

    async def create_ticket(self, draft: TicketDraft) -> Filed:
        roles = await self._names.roles()
        new = await self._new_ticket(roles, draft)
        filed = await self._readable(roles, self._store.create_ticket(new, self._actor))
        if filed.similar and not await self._may_read(roles, filed.ticket.project_id):
            return Filed(filed.ticket)  # a project token files blind: no slugs of tickets it may not read
        return filed

    async def create_tickets(self, drafts: Sequence[TicketDraft], progress: Progress | None = None) -> Batch:
        """File every draft, or none: all are checked first, then filed in one transaction."""
        roles = await self._names.roles()
        checked = await _check_each(drafts, "tickets", "filed", partial(self._new_ticket, roles))
        return await _in_one_transaction(
            len(drafts),
            "filing",
            "filed",
            lambda: self._readable(roles, self._store.create_tickets(checked, self._actor)),
            progress,
        )

    async def _new_ticket(self, roles: Roles, draft: TicketDraft) -> NewTicket:
        title = rules.normalize_title(draft.title)  # first: a missing title is the error to see, whatever else
        project = await self._names.project(draft.project, draft.organization)
        self._access.authorize(roles, project.organization_id, Action.FILE, project.id)
        rules.validate_text("description", draft.description, rules.DESCRIPTION_MAX)
        assignee_id = None
        if draft.assignee is not None and draft.assignee.strip().casefold() != UNASSIGNED:
            assignee_id = await self._names.user_id([project.organization_id], draft.assignee)
        parent_id = await self._names.parent_id(roles, project, draft.parent) if draft.parent else None
        as_is: dict[str, Any] = {name: getattr(draft, name) for name in _DRAFT_AS_IS}
        return NewTicket(
            due_date=optional_day("due_date", draft.due_date),
            estimate=estimate_value(draft.estimate),
            milestone_id=await self._planning.milestone_id(project, draft.milestone),
            **as_is,
            project_id=project.id,
            title=title,
            description=draft.description,
            assignee_id=assignee_id,
            reporter_id=self._access.principal.user_id,
            labels=rules.normalize_labels(draft.labels),
            parent_id=parent_id,
            idempotency_key=(key := rules.idempotency_key(draft.idempotency_key)),
            check_duplicates=draft.check_duplicates and key is None,
        )

    async def update_ticket(self, slug: str, changes: TicketChanges, *, version: int | None = None) -> Ticket:
        if all(getattr(changes, name) is None for name in TicketChanges.__slots__):
            raise Invalid(
                "slug", "Nothing to change.", hint="Pass at least one field: title, status, assignee, labels..."
            )
        roles = await self._names.roles()
        ticket = await self._names.ticket(roles, slug, Action.EDIT)
        values: dict[str, object] = {}
        if changes.title is not None:
            values["title"] = rules.normalize_title(changes.title)
        if changes.description is not None:
            values["description"] = rules.validate_text("description", changes.description, rules.DESCRIPTION_MAX)
        for name in _CHANGES_AS_IS:
            value = getattr(changes, name)
            if value is not None:
                values[name] = value
        organization_id = await self._names.ticket_organization(roles, ticket)
        if changes.assignee is not None:
            unassign = changes.assignee.strip().casefold() == UNASSIGNED
            values["assignee_id"] = None if unassign else await self._names.user_id([organization_id], changes.assignee)
        if changes.parent is not None:
            if changes.parent.strip().casefold() == UNASSIGNED:
                values["parent_id"] = None
            else:
                parent = await self._names.ticket(roles, changes.parent, Action.READ)
                if parent.project_id != ticket.project_id:
                    raise Invalid("parent", f"Parent {parent.slug} is in another project.")
                values["parent_id"] = parent.id
        if changes.due_date is not None:
            values["due_date"] = optional_day("due_date", changes.due_date)
        if changes.estimate is not None:
            values["estimate"] = estimate_value(changes.estimate)
        if changes.milestone is not None:
            project = await self._names.project_of(roles, ticket)
            values["milestone_id"] = await self._planning.milestone_id(project, changes.milestone)
        labels = rules.normalize_labels(changes.labels) if changes.labels is not None else None
        return await self._store.update_ticket(
            ticket.id, TicketPatch(values=values, labels=labels), expected_version=version, actor=self._actor
        )

    async def move_ticket(
        self,
        slug: str,
        status: Status,
        *,
        before: str | None = None,
        after: str | None = None,
        version: int | None = None,
    ) -> Ticket:
        move = await self._move(await self._names.roles(), MoveDraft(slug, status, before, after, version))
        return await self._store.move_ticket(
            move.ticket_id, status, move.placement, expected_version=version, actor=self._actor
        )

    async def move_tickets(self, moves: Sequence[MoveDraft], progress: Progress | None = None) -> Batch:
        """Every move, or none: all are checked first, then made in one transaction (versions checked there)."""
        checked = await _check_each(moves, "moves", "moved", partial(self._move, await self._names.roles()))
        return await _in_one_transaction(
            len(moves), "moving", "moved", lambda: self._store.move_tickets(checked, self._actor), progress
        )

    async def _move(self, roles: Roles, draft: MoveDraft) -> Move:
        if draft.before is not None and draft.after is not None:
            raise Invalid("before", "Pass before or after, not both.")
        ticket = await self._names.ticket(roles, draft.slug, Action.EDIT)
        anchor = draft.before or draft.after
        anchor_id = (await self._names.ticket(roles, anchor, Action.READ)).id if anchor else None
        placement = Placement(before_id=anchor_id) if draft.before else Placement(after_id=anchor_id)
        return Move(ticket.id, draft.status, placement, draft.version)

    async def ticket_deletion(self, slug: str) -> TicketDeletion:
        roles = await self._names.roles()
        ticket = await self._ticket_or_its_deletion(roles, slug, Action.EDIT)
        return await self._store.ticket_deletion(ticket.id)

    async def delete_ticket(self, slug: str) -> TicketDeletion:
        self._access.allow_deletion("delete tickets")
        roles = await self._names.roles()
        ticket = await self._ticket_or_its_deletion(roles, slug, Action.EDIT)
        return await self._store.delete_ticket(ticket.id, self._actor)

    async def move_to_project(self, slug: str, project: str, *, version: int | None = None) -> Relocation:
        """Move a ticket and its sub-tasks to another project of its organization (core/relocation.py)."""
        roles = await self._names.roles()
        return await move_to_project(self._store, self._access, self._names, self._actor, roles, slug, project, version)

    async def _ticket_or_its_deletion(self, roles: Roles, slug: str, action: Action) -> Ticket:
        """The ticket `slug` names, or AlreadyDeleted (a NotFound in the same words) where the audit trail
        of a project the caller may `action` in says who deleted it."""
        try:
            return await self._names.ticket(roles, slug, action)
        except NotFound as missing:
            organization, plain = rules.split_organization(slug)
            code, number = rules.parse_slug(plain)
            organizations = await self._names.organizations(organization)
            for project in await self._names.visible_projects([o.id for o in organizations]):
                refused = self._access.refusal(roles, project.organization_id, action, project.id)
                if project.code != code or refused is not None:
                    continue
                if (deletion := await self._store.ticket_deleted(project.id, f"{code}-{number}")) is not None:
                    raise AlreadyDeleted(
                        missing.message,
                        hint=missing.hint,
                        slug=f"{code}-{number}",
                        deletion=deletion.model_dump(mode="json"),
                    ) from None
            raise

    async def activity(self, project: str | None, *, limit: int = ACTIVITY_SHOWN) -> list[Change]:
        """What happened in a project lately, newest first: tickets filed, changed, moved, commented, deleted."""
        if not 1 <= limit <= LIST_LIMIT_MAX:
            raise Invalid("limit", f"limit must be 1-{LIST_LIMIT_MAX}.")
        roles = await self._names.roles()
        found = await self._names.project(project, None)
        self._access.authorize(roles, found.organization_id, Action.READ, found.id)
        return await self._store.project_activity(found.id, limit)

    async def get_board(
        self,
        project: str | None = None,
        *,
        per_column: int = 20,
        organization: str | None = None,
        milestone: str | None = None,
    ) -> Board:
        if not 1 <= per_column <= BOARD_PER_COLUMN_MAX:
            raise Invalid("per_column", f"per_column must be 1-{BOARD_PER_COLUMN_MAX}.")
        roles = await self._names.roles()
        target = await self._names.project(project, organization)
        self._access.authorize(roles, target.organization_id, Action.READ, target.id)
        chosen = await self._planning.milestone(target, milestone, progress=False) if milestone is not None else None
        board = await self._store.board(target, per_column, chosen.id if chosen else None)
        columns = [c.model_copy(update={"tickets": await self._names.named(c.tickets)}) for c in board.columns]
        return board.model_copy(update={"columns": tuple(columns), "milestone": chosen.name if chosen else None})

    async def add_comment(self, slug: str, body: str) -> Comment:
        roles = await self._names.roles()
        ticket = await self._names.ticket(roles, slug, Action.COMMENT)
        if not body.strip():
            raise Invalid("body", "The comment is empty.", hint="Write what you want to say.")
        rules.refuse_control_characters("body", body)
        rules.validate_text("body", body, rules.COMMENT_MAX)
        return await self._store.add_comment(ticket.id, body, self._actor)

    # Planning: links, milestones, estimates and time (core/planning.py)

    async def link_tickets(
        self, slug: str, kind: LinkKind, other: str, *, unlink: bool = False, close_as_duplicate: bool = False
    ) -> Linked:
        roles = await self._names.roles()
        linked = await self._planning.link(
            roles, slug, kind, other, unlink=unlink, close_as_duplicate=close_as_duplicate
        )
        return linked.model_copy(update={"ticket": (await self._names.named((linked.ticket,)))[0]})

    async def list_milestones(
        self, project: str | None = None, *, closed: bool = False, organization: str | None = None
    ) -> list[Milestone]:
        roles = await self._names.roles()
        target = await self._names.project(project, organization)
        return await self._planning.list_milestones(roles, target, closed=closed)

    async def save_milestone(
        self,
        project: str | None,
        name: str,
        *,
        rename: str | None = None,
        start_date: str | None = None,
        due_date: str | None = None,
        closed: bool | None = None,
        open_tickets: str | None = None,
        organization: str | None = None,
    ) -> Milestone:
        roles = await self._names.roles()
        target = await self._names.project(project, organization)
        return await self._planning.save_milestone(
            roles, target, name, rename=rename, start_date=start_date, due_date=due_date, closed=closed,
            open_tickets=open_tickets,
        )  # fmt: skip

    async def set_estimate_unit(
        self, project: str | None, unit: EstimateUnit, *, organization: str | None = None
    ) -> Project:
        roles = await self._names.roles()
        target = await self._names.project(project, organization)
        return await self._planning.set_estimate_unit(roles, target, unit)

    async def log_time(self, slug: str, hours: float, *, spent_on: str | None = None, note: str = "") -> TimeEntry:
        return await self._planning.log_time(await self._names.roles(), slug, hours, spent_on, note)

    # Attachments (core/attachments.py)

    async def attach_file(self, slug: str, name: str, content: bytes) -> Attachment:
        return await self._attachments.attach(await self._names.roles(), slug, name, content)

    async def attachment(self, slug: str, attachment_id: int) -> tuple[Attachment, bytes]:
        return await self._attachments.read(await self._names.roles(), slug, attachment_id)

    async def delete_attachment(self, slug: str, attachment_id: int) -> Attachment:
        return await self._attachments.delete(await self._names.roles(), slug, attachment_id)


async def _check_each(items: Sequence[In], field: str, done: str, check: Callable[[In], Awaitable[Out]]) -> list[Out]:
    """Each item of a batch checked before anything is done; an error says which item and that nothing was."""
    if not 1 <= len(items) <= BULK_MAX:
        raise Invalid(field, f"Send 1-{BULK_MAX} {field} at a time, not {len(items)}.")
    checked: list[Out] = []
    for number, item in enumerate(items, start=1):
        try:
            checked.append(await check(item))
        except TrackerError as exc:
            exc.message = f"Item {number} of {len(items)}: {exc.message}"
            raise _nothing_was(exc, done) from None
    return checked


async def _in_one_transaction(
    total: int, doing: str, done: str, work: Callable[[], Awaitable[list[Ticket]]], progress: Progress | None
) -> Batch:
    """Run a checked batch's one transaction, telling `progress` before and after."""
    if progress is not None:
        await progress(0, total, f"checked {total}; {doing} them in one transaction")
    try:
        result = await work()
    except TrackerError as exc:  # found inside the transaction (a stale version, say): nothing was done
        raise _nothing_was(exc, done) from None
    if progress is not None:
        await progress(len(result), total, f"{done} {len(result)}")
    return Batch(atomic=True, outcomes=tuple(result))


def _nothing_was(error: TrackerError, done: str) -> TrackerError:
    error.hint = (error.hint + " " if error.hint else "") + f"Nothing was {done}; send them all again."
    return error


def _since(query: TicketFilter) -> str | None:
    """The moment `updated_since` names. A relative one (`1h`) is read against the clock on the first page
    only: the next pages take the moment from the cursor, so a page turned a minute later lists the same."""
    if not query.updated_since:
        return None
    since = rules.parse_timestamp("updated_since", query.updated_since)
    if query.cursor and rules.is_relative_time(query.updated_since):
        first = rules.decode_cursor(query.cursor).get("u")
        return rules.parse_timestamp("cursor", first) if isinstance(first, str) else since
    return since
