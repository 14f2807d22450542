"""LocalTracker: the Tracker on a Store we own: resolves names, authorizes, validates, audits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from enum import Enum
from functools import partial
from typing import TypeVar

from tickets_mcp.core.tracker import (
    ANYONE,
    BULK_MAX,
    ME,
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
    Board,
    Change,
    Comment,
    Organization,
    OrganizationWorkspace,
    Project,
    ProjectDeletion,
    Role,
    Scope,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    User,
    Workspace,
    rules,
)
from tickets_mcp.domain.similarity import unreadable_look_alike
from tickets_mcp.domain.text import clean_name
from tickets_mcp.errors import Invalid, LikelyDuplicate, NotFound, PermissionDenied, TrackerError
from tickets_mcp.mcp.exposure import Tier, tier_refusal
from tickets_mcp.stores import Actor, Move, NewProject, NewTicket, Placement, Reach, Store, TicketPatch, TicketQuery

LIST_LIMIT_MAX = 100
In = TypeVar("In")
Out = TypeVar("Out")
BOARD_PER_COLUMN_MAX = 100


class Action(Enum):
    """What a caller wants to do. `MINIMUM_ROLE` says which role may, `SCOPES` which token scopes do."""

    BROWSE = "see projects"
    READ = "read tickets"
    FILE = "file tickets"
    COMMENT = "comment"
    EDIT = "change tickets"
    MANAGE = "manage projects"
    CHOOSE_DEFAULT = "choose the default project"  # an organization-wide setting: where unplaced tickets go


MINIMUM_ROLE = {
    Action.BROWSE: Role.REPORTER,
    Action.READ: Role.REPORTER,
    Action.FILE: Role.REPORTER,
    Action.COMMENT: Role.REPORTER,
    Action.EDIT: Role.MEMBER,
    Action.MANAGE: Role.ADMIN,
    Action.CHOOSE_DEFAULT: Role.OWNER,
}
# Any one of these scopes allows the action (scopes are expanded first: write implies read).
SCOPES = {
    Action.BROWSE: {Scope.PROJECTS_READ, Scope.TICKETS_READ},
    Action.READ: {Scope.TICKETS_READ},
    Action.FILE: {Scope.TICKETS_WRITE},
    Action.COMMENT: {Scope.TICKETS_WRITE},
    Action.EDIT: {Scope.TICKETS_WRITE},
    Action.MANAGE: {Scope.PROJECTS_WRITE},
    Action.CHOOSE_DEFAULT: {Scope.PROJECTS_WRITE},
}
# Refused below tier no-delete.
CHANGES = frozenset({Action.FILE, Action.COMMENT, Action.EDIT, Action.MANAGE, Action.CHOOSE_DEFAULT})


class LocalTracker:
    """The Tracker protocol over a Store, acting for one principal."""

    def __init__(self, store: Store, principal: Principal, tier: Tier = Tier.FULL) -> None:
        self._store = store
        self._principal = principal
        self._tier = tier  # the server's --tier: it bounds every front end, whatever the caller's role
        # The audit trail keeps a client's name (clientInfo.name, a User-Agent) on one capped line, however it came.
        client = clean_name(principal.client) if principal.client else None
        self._actor = Actor(user_id=principal.user_id, token_id=principal.token_id, client=client or None)
        # A LocalTracker lives for one call, so what it looks up once stays true for the rest of the call
        # (its own project changes forget it).
        self._known: tuple[dict[str, Role], Reach] | None = None

    # Resolution and authorization

    async def _reach(self) -> tuple[dict[str, Role], Reach]:
        """The caller's roles, organizations and projects: one read, made once per call."""
        if self._known is None:
            principal = self._principal
            reach = await self._store.reach(principal.user_id, principal.organization_id)
            if principal.project_id is not None:
                # A project token sees its own project only: naming another gets one refusal, whether it exists or not.
                reach = replace(reach, projects=[p for p in reach.projects if p.id == principal.project_id])
            if principal.organization_id is not None:
                # Organization and project tokens act for their organization, within their limits.
                roles = {principal.organization_id: Role.ADMIN}
            elif reach.roles:
                roles = dict(reach.roles)
            else:
                raise PermissionDenied(
                    f"User {principal.username!r} belongs to no organization.",
                    hint="Ask an organization owner to add you.",
                )
            self._known = roles, reach
        return self._known

    async def _roles(self) -> dict[str, Role]:
        return (await self._reach())[0]

    async def _visible_projects(self, organization_ids: Sequence[str]) -> list[Project]:
        """The projects of these organizations (among the caller's), without ticket counts."""
        wanted = set(organization_ids)
        return [p for p in (await self._reach())[1].projects if p.organization_id in wanted]

    async def _known_organizations(self) -> list[Organization]:
        return list((await self._reach())[1].organizations)

    def _refusal(
        self, roles: dict[str, Role], organization_id: str, action: Action, project_id: str | None = None
    ) -> PermissionDenied | None:
        """The one place that decides: None when allowed, else the refusal naming what is missing."""
        if action in CHANGES and (refusal := tier_refusal(self._tier, Tier.NO_DELETE, action.value)) is not None:
            return refusal
        principal = self._principal
        if principal.project_id is not None and (action is not Action.FILE or project_id != principal.project_id):
            return PermissionDenied(
                f"A project token may only file tickets in its own project, not {action.value} here.",
                hint="Use a personal token (pk_) or an organization key (amk_) for this.",
            )
        if principal.scopes is not None and not Scope.expand(principal.scopes) & SCOPES[action]:
            needed = " or ".join(sorted(SCOPES[action]))
            return PermissionDenied(
                f"This key lacks the scope to {action.value} (needs {needed}).",
                hint="Create a key with that scope: tickets-mcp token create --kind organization --scopes ...",
            )
        role, needed = roles.get(organization_id), MINIMUM_ROLE[action]
        if role is None or not role.may_act_as(needed):
            asked = "an organization owner" if needed is Role.OWNER else "an organization owner or admin"
            if principal.organization_id is not None:  # a key acts as an admin but has no role of its own
                return PermissionDenied(
                    f"An organization key may not {action.value}.",
                    hint=f"{asked.capitalize()} does it with their own token.",
                )
            return PermissionDenied(
                f"Your role ({role.value if role else 'none'}) may not {action.value} here.", hint=f"Ask {asked}."
            )
        return None

    async def refusal_to_change(self, ticket: Ticket) -> PermissionDenied | None:
        """Why the caller may not change this ticket (the refusal an update would raise), or None if it may."""
        roles = await self._roles()
        return self._refusal(roles, await self._ticket_organization(roles, ticket), Action.EDIT, ticket.project_id)

    def _authorize(
        self, roles: dict[str, Role], organization_id: str, action: Action, project_id: str | None = None
    ) -> None:
        refusal = self._refusal(roles, organization_id, action, project_id)
        if refusal is not None:
            raise refusal

    def _allow_deletion(self, change: str) -> None:
        refusal = tier_refusal(self._tier, Tier.FULL, change)
        if refusal is not None:
            raise refusal

    async def permitted_actions(self, project_id: str | None = None) -> frozenset[Action]:
        """What the caller may do in at least one of its organizations (which tools to show it), or, given
        a project, in that project (which controls a page shows); nothing in a project it cannot see."""
        try:
            roles = await self._roles()
        except PermissionDenied:
            return frozenset()
        if project_id is None:
            organizations, project = list(roles), self._principal.project_id
        else:
            visible = await self._visible_projects(list(roles))
            organizations = [p.organization_id for p in visible if p.id == project_id]
            project = project_id
        return frozenset(
            action
            for action in Action
            if any(self._refusal(roles, org, action, project) is None for org in organizations)
        )

    async def _organizations(self, roles: dict[str, Role], organization: str | None) -> list[Organization]:
        organizations = await self._known_organizations()
        if organization is None:
            return organizations
        found = rules.pick(
            organization, organizations, lambda o: o.slug, lambda o: o.id, lambda o: o.name,
            field="organization", describe=lambda o: o.slug,
        )  # fmt: skip
        if found is not None:
            return [found]
        raise NotFound(
            f"Organization {organization!r} not found.",
            hint=rules.suggestion(organization, [o.slug for o in organizations], "organizations"),
        )

    async def _project(self, roles: dict[str, Role], project: str | None, organization: str | None) -> Project:
        organizations = await self._organizations(roles, organization)
        if project is not None and rules.ORGANIZATION_MARK in project:
            # `acme:WEB`: codes are unique per organization only, so this is how a caller who sees WEB in
            # several organizations names one (the form the ambiguity below asks for).
            named, project = rules.split_organization(project)
            chosen = await self._organizations(roles, named)
            organizations = [o for o in chosen if o in organizations]
        projects = await self._visible_projects([o.id for o in organizations])
        if project is None and self._principal.project_id is not None:
            project = self._principal.project_id
        if project is None:
            if not projects:
                where = f"Organization {organizations[0].slug} has" if len(organizations) == 1 else "You have"
                raise Invalid(
                    "project",
                    f"{where} no project yet.",
                    hint="An organization owner or admin creates one: create_project, or POST /api/v1/native/projects.",
                )
            if len(projects) == 1:
                return projects[0]
            if organization is not None and len(organizations) == 1:
                # Naming the organization alone (seed 001's path without repository_id) means its default
                # project; naming neither (an MCP tool) is still asked, so an agent does not file by accident.
                default = (await self._reach())[1].defaults.get(organizations[0].id)
                found = next((p for p in projects if p.id == default), None)
                if found is not None:
                    return found
            raise Invalid(
                "project",
                "Several projects exist; say which one.",
                choices=[p.code for p in projects[:20]],
            )
        slugs = {o.id: o.slug for o in organizations}  # codes and names repeat across organizations
        found = rules.pick(
            project, projects, lambda p: p.code, lambda p: p.id, lambda p: str(p.number), lambda p: p.name,
            field="project", describe=lambda p: f"{rules.in_organization(slugs[p.organization_id], p.code)} ({p.name})",
        )  # fmt: skip
        if found is not None:
            return found
        if self._principal.project_id is not None:
            # The same answer whether the project exists or not: a project token learns none of the others.
            raise PermissionDenied(
                "A project token may only file tickets in its own project"
                + (f" ({projects[0].code})." if projects else "."),
                hint="Use a personal token (pk_) or an organization key (amk_) for other projects.",
            )
        near = rules.closest(project, [p.code for p in projects] + [p.name for p in projects])
        by_name = {p.name: p.code for p in projects}
        codes = list(dict.fromkeys(by_name.get(n, n) for n in near))
        listing = [f"{p.code} ({p.name})" for p in projects if p.code in codes] if codes else []
        if not listing and 0 < len(projects) <= 8:
            hint = "Valid projects: " + ", ".join(f"{p.code} ({p.name})" for p in projects) + "."
        elif listing:
            hint = "Did you mean: " + ", ".join(listing) + "?"
        else:
            hint = "Call list_projects to see them."
        raise NotFound(f"Project {project!r} not found.", hint=hint)

    async def _ticket(self, roles: dict[str, Role], slug: str, action: Action) -> Ticket:
        """The ticket a slug names among the caller's projects: codes are unique per organization only, so
        `beta:WEB-42` says which organization when the caller sees a project WEB in several."""
        organization, plain = rules.split_organization(slug)
        code, number = rules.parse_slug(plain)
        organizations = await self._organizations(roles, organization)
        projects = [p for p in await self._visible_projects([o.id for o in organizations]) if p.code == code]
        refusals = [r for p in projects if (r := self._refusal(roles, p.organization_id, action, p.id)) is not None]
        if projects and len(refusals) == len(projects):
            raise refusals[0]  # before looking: the same answer whether the ticket exists or not
        found = [(p, t) for p in projects if (t := await self._store.find_ticket(p.id, number)) is not None]
        if len(found) > 1:
            slugs = {o.id: o.slug for o in organizations}
            named = [rules.in_organization(slugs[p.organization_id], f"{code}-{number}") for p, _ in found]
            raise Invalid(
                "slug",
                f"{code}-{number} is a ticket in several of your organizations.",
                hint="Say which: " + " or ".join(named) + ".",
            )
        if found:
            project, ticket = found[0]
            self._authorize(roles, project.organization_id, action, project.id)
            return ticket
        raise NotFound(
            f"Ticket {code}-{number} not found.",
            hint="Check the slug with list_tickets; deleted tickets keep their number.",
        )

    async def _qualifiers(self) -> dict[str, str]:
        slugs = {o.id: o.slug for o in await self._known_organizations()}
        return rules.qualifiers(await self._visible_projects(list(slugs)), slugs)

    async def project_reference(self, project: Project) -> str:
        """How the caller names `project` (in a board's URL): WEB, or acme:WEB if it sees WEB elsewhere too."""
        return rules.project_reference(project, await self._qualifiers())

    async def _named(self, tickets: Sequence[Ticket]) -> tuple[Ticket, ...]:
        """`tickets` with `acme:WEB-1` slugs where the caller sees the code WEB in several organizations, so
        every slug a list or board shows can be named back; one organization's caller sees them as stored."""
        qualifiers = await self._qualifiers()
        return tuple(
            t.model_copy(
                update={
                    "slug": rules.in_organization(org, t.slug),
                    "parent": t.parent and rules.in_organization(org, t.parent),
                }
            )
            if (org := qualifiers.get(t.project_id))
            else t
            for t in tickets
        )

    async def _user_id(self, organization_ids: Sequence[str], username: str) -> int:
        if username.strip().casefold() == ME:
            return self._principal.user_id
        members = [m for org_id in dict.fromkeys(organization_ids) for m in await self._store.members(org_id)]
        for member in members:
            if member.user.username.casefold() == username.strip().casefold():
                return member.user.id
        roles = await self._roles()
        # Members are named only to a caller that may see them (the workspace lists them on BROWSE).
        if all(self._refusal(roles, org_id, Action.BROWSE) is None for org_id in organization_ids):
            hint = rules.suggestion(username, [m.user.username for m in members] + [ME, UNASSIGNED], "users")
        else:
            hint = f"Pass the exact username of a member of the organization, {ME} or {UNASSIGNED}."
        raise Invalid("assignee", f"No member named {username!r}.", hint=hint)

    async def _readable(self, roles: dict[str, Role], work: Awaitable[Out]) -> Out:
        """`work` (a store write that may refuse a look-alike), its refusal cut to what the caller may read:
        a caller that may file but not read the project learns which open ticket, not what it says."""
        try:
            return await work
        except LikelyDuplicate as refusal:
            if refusal.current is None:
                raise
            project_id = str(refusal.current["project_id"])
            visible = await self._visible_projects(list(roles))
            organization = next((p.organization_id for p in visible if p.id == project_id), "")
            if self._refusal(roles, organization, Action.READ, project_id) is None:
                raise
            raise unreadable_look_alike(str(refusal.current["slug"]), refusal.similarity) from None

    async def _parent_id(self, roles: dict[str, Role], project: Project, parent: str) -> int:
        ticket = await self._ticket(roles, parent, Action.READ)
        if ticket.project_id != project.id:
            raise Invalid(
                "parent",
                f"Parent {ticket.slug} is in another project.",
                hint=f"Sub-tasks stay in their parent's project; pick a ticket of {project.code}.",
            )
        return ticket.id

    # Workspace

    async def workspace(self) -> Workspace:
        roles = await self._roles()
        organizations = await self._known_organizations()
        for org in organizations:
            self._authorize(roles, org.id, Action.BROWSE)
        projects = await self._store.list_projects([o.id for o in organizations])
        user = await self._store.find_user(self._principal.username)
        if user is None:
            raise NotFound(f"User {self._principal.username!r} no longer exists.")
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

    async def users_named(self, usernames: Sequence[str]) -> list[User]:
        """The users these names are, members or not: for the reporters and assignees of tickets the caller has
        read, who may have left the organization since. One read for them all."""
        return await self._store.find_users(usernames) if usernames else []

    async def list_organizations(self) -> list[Organization]:
        roles = await self._roles()
        organizations = await self._known_organizations()
        for org in organizations:
            self._authorize(roles, org.id, Action.BROWSE)
        return organizations

    async def list_projects(self, organization: str | None = None) -> list[Project]:
        roles = await self._roles()
        organizations = await self._organizations(roles, organization)
        for org in organizations:
            self._authorize(roles, org.id, Action.BROWSE)
        return await self._store.list_projects([o.id for o in organizations])

    async def create_project(
        self, name: str, *, code: str | None = None, description: str = "", organization: str | None = None
    ) -> Project:
        roles = await self._roles()
        organizations = await self._organizations(roles, organization)
        if len(organizations) != 1:
            raise Invalid(
                "organization",
                "You belong to several organizations; say which one.",
                hint="Pass organization as one of: " + ", ".join(o.slug for o in organizations) + ".",
            )
        org = organizations[0]
        self._authorize(roles, org.id, Action.MANAGE)
        name = rules.validate_project_name(name.strip())
        rules.validate_text("description", description, rules.DESCRIPTION_MAX)
        if code is None:
            code = rules.derive_project_code(name, await self._store.project_codes(org.id))
        else:
            code = rules.validate_project_code(code.strip())
        self._known = None  # what this tracker saw no longer holds once the project exists
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
        roles = await self._roles()
        target = await self._project(roles, project, organization)
        self._authorize(roles, target.organization_id, Action.MANAGE, target.id)
        if default is not None:
            self._authorize(roles, target.organization_id, Action.CHOOSE_DEFAULT, target.id)
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
        self._known = None
        saved = await self._store.update_project(target.id, name=name, description=description, actor=self._actor)
        if default:
            await self._store.set_default_project(saved, self._actor)
            saved = saved.model_copy(update={"default": True})
        return saved

    async def project_deletion(self, project: str, *, organization: str | None = None) -> ProjectDeletion:
        roles = await self._roles()
        target = await self._project(roles, project, organization)
        self._authorize(roles, target.organization_id, Action.MANAGE, target.id)
        return await self._store.project_deletion(target.id)

    async def delete_project(self, project: str, *, organization: str | None = None) -> ProjectDeletion:
        self._allow_deletion("delete projects")
        roles = await self._roles()
        target = await self._project(roles, project, organization)
        self._authorize(roles, target.organization_id, Action.MANAGE, target.id)
        self._known = None
        return await self._store.delete_project(target.id, self._actor)

    # Tickets

    async def list_tickets(self, query: TicketFilter) -> TicketPage:
        roles = await self._roles()
        if not 1 <= query.limit <= LIST_LIMIT_MAX:
            raise Invalid("limit", f"limit must be 1-{LIST_LIMIT_MAX}.", hint="Use cursor to page through more.")
        if query.project is not None:
            projects = [await self._project(roles, query.project, query.organization)]
        else:
            organizations = await self._organizations(roles, query.organization)
            projects = await self._visible_projects([o.id for o in organizations])
        for project in projects:
            self._authorize(roles, project.organization_id, Action.READ, project.id)
        store_query = TicketQuery(
            project_ids=[p.id for p in projects],
            statuses=tuple(query.statuses),
            types=tuple(query.types),
            priorities=tuple(query.priorities),
            labels=rules.normalize_labels(query.labels),
            text=rules.refuse_control_characters("query", query.text).strip() or None if query.text else None,
            updated_since=rules.parse_timestamp("updated_since", query.updated_since) if query.updated_since else None,
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
                user_id = await self._user_id([p.organization_id for p in projects], query.assignee)
                store_query = replace(store_query, assignee_id=user_id)
        if query.reporter is not None:
            reporter_id = await self._user_id([p.organization_id for p in projects], query.reporter)
            store_query = replace(store_query, reporter_id=reporter_id)
        if query.offset < 0:
            raise Invalid("offset", "offset must be 0 or more.")
        if query.offset:
            if query.cursor:
                raise Invalid("offset", "Pass cursor or offset, not both.")
            store_query = replace(store_query, offset=query.offset)
        if query.parent is not None:
            parent = await self._ticket(roles, query.parent, Action.READ)
            store_query = replace(store_query, parent_id=parent.id)
        if not store_query.project_ids:
            return TicketPage(tickets=(), total=0, next_cursor=None)
        page = await self._store.list_tickets(store_query)
        return page.model_copy(update={"tickets": await self._named(page.tickets)})

    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail:
        if not 0 <= history <= HISTORY_MAX:
            raise Invalid("history", f"history must be 0-{HISTORY_MAX}.")
        roles = await self._roles()
        ticket = await self._ticket(roles, slug, Action.READ)
        detail = await self._store.ticket_detail(ticket.id, history)
        named = await self._named((detail.ticket, *detail.subtasks))
        return detail.model_copy(update={"ticket": named[0], "subtasks": named[1:]})

    async def create_ticket(self, draft: TicketDraft) -> Ticket:
        roles = await self._roles()
        new = await self._new_ticket(roles, draft)
        return await self._readable(roles, self._store.create_ticket(new, self._actor))

    async def create_tickets(self, drafts: Sequence[TicketDraft], progress: Progress | None = None) -> Batch:
        """File every draft, or none: all are checked first, then filed in one transaction."""
        roles = await self._roles()
        checked = await _check_each(drafts, "tickets", "filed", partial(self._new_ticket, roles))
        return await _in_one_transaction(
            len(drafts),
            "filing",
            "filed",
            lambda: self._readable(roles, self._store.create_tickets(checked, self._actor)),
            progress,
        )

    async def _new_ticket(self, roles: dict[str, Role], draft: TicketDraft) -> NewTicket:
        title = rules.normalize_title(draft.title)  # first: a missing title is the error to see, whatever else
        project = await self._project(roles, draft.project, draft.organization)
        self._authorize(roles, project.organization_id, Action.FILE, project.id)
        rules.validate_text("description", draft.description, rules.DESCRIPTION_MAX)
        assignee_id = None
        if draft.assignee is not None and draft.assignee.strip().casefold() != UNASSIGNED:
            assignee_id = await self._user_id([project.organization_id], draft.assignee)
        parent_id = await self._parent_id(roles, project, draft.parent) if draft.parent else None
        return NewTicket(
            project_id=project.id,
            type=draft.type,
            title=title,
            description=draft.description,
            status=draft.status,
            priority=draft.priority,
            assignee_id=assignee_id,
            reporter_id=self._principal.user_id,
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
        roles = await self._roles()
        ticket = await self._ticket(roles, slug, Action.EDIT)
        values: dict[str, object] = {}
        if changes.title is not None:
            values["title"] = rules.normalize_title(changes.title)
        if changes.description is not None:
            values["description"] = rules.validate_text("description", changes.description, rules.DESCRIPTION_MAX)
        for name in ("type", "priority", "status"):
            value = getattr(changes, name)
            if value is not None:
                values[name] = value
        organization_id = await self._ticket_organization(roles, ticket)
        if changes.assignee is not None:
            unassign = changes.assignee.strip().casefold() == UNASSIGNED
            values["assignee_id"] = None if unassign else await self._user_id([organization_id], changes.assignee)
        if changes.parent is not None:
            if changes.parent.strip().casefold() == UNASSIGNED:
                values["parent_id"] = None
            else:
                parent = await self._ticket(roles, changes.parent, Action.READ)
                if parent.project_id != ticket.project_id:
                    raise Invalid("parent", f"Parent {parent.slug} is in another project.")
                values["parent_id"] = parent.id
        labels = rules.normalize_labels(changes.labels) if changes.labels is not None else None
        return await self._store.update_ticket(
            ticket.id, TicketPatch(values=values, labels=labels), expected_version=version, actor=self._actor
        )

    async def _ticket_organization(self, roles: dict[str, Role], ticket: Ticket) -> str:
        projects = await self._visible_projects(list(roles))
        return next(p.organization_id for p in projects if p.id == ticket.project_id)

    async def move_ticket(
        self,
        slug: str,
        status: Status,
        *,
        before: str | None = None,
        after: str | None = None,
        version: int | None = None,
    ) -> Ticket:
        move = await self._move(await self._roles(), MoveDraft(slug, status, before, after, version))
        return await self._store.move_ticket(
            move.ticket_id, status, move.placement, expected_version=version, actor=self._actor
        )

    async def move_tickets(self, moves: Sequence[MoveDraft], progress: Progress | None = None) -> Batch:
        """Every move, or none: all are checked first, then made in one transaction (versions checked there)."""
        checked = await _check_each(moves, "moves", "moved", partial(self._move, await self._roles()))
        return await _in_one_transaction(
            len(moves), "moving", "moved", lambda: self._store.move_tickets(checked, self._actor), progress
        )

    async def _move(self, roles: dict[str, Role], draft: MoveDraft) -> Move:
        if draft.before is not None and draft.after is not None:
            raise Invalid("before", "Pass before or after, not both.")
        ticket = await self._ticket(roles, draft.slug, Action.EDIT)
        anchor = draft.before or draft.after
        anchor_id = (await self._ticket(roles, anchor, Action.READ)).id if anchor else None
        placement = Placement(before_id=anchor_id) if draft.before else Placement(after_id=anchor_id)
        return Move(ticket.id, draft.status, placement, draft.version)

    async def ticket_deletion(self, slug: str) -> TicketDeletion:
        roles = await self._roles()
        ticket = await self._ticket(roles, slug, Action.EDIT)
        return await self._store.ticket_deletion(ticket.id)

    async def delete_ticket(self, slug: str) -> TicketDeletion:
        self._allow_deletion("delete tickets")
        roles = await self._roles()
        ticket = await self._ticket(roles, slug, Action.EDIT)
        return await self._store.delete_ticket(ticket.id, self._actor)

    async def activity(self, project: str | None, *, limit: int = ACTIVITY_SHOWN) -> list[Change]:
        """What happened in a project lately, newest first: tickets filed, changed, moved, commented, deleted."""
        if not 1 <= limit <= LIST_LIMIT_MAX:
            raise Invalid("limit", f"limit must be 1-{LIST_LIMIT_MAX}.")
        roles = await self._roles()
        found = await self._project(roles, project, None)
        self._authorize(roles, found.organization_id, Action.READ, found.id)
        return await self._store.project_activity(found.id, limit)

    async def get_board(
        self, project: str | None = None, *, per_column: int = 20, organization: str | None = None
    ) -> Board:
        if not 1 <= per_column <= BOARD_PER_COLUMN_MAX:
            raise Invalid("per_column", f"per_column must be 1-{BOARD_PER_COLUMN_MAX}.")
        roles = await self._roles()
        target = await self._project(roles, project, organization)
        self._authorize(roles, target.organization_id, Action.READ, target.id)
        board = await self._store.board(target, per_column)
        columns = [c.model_copy(update={"tickets": await self._named(c.tickets)}) for c in board.columns]
        return board.model_copy(update={"columns": tuple(columns)})

    async def add_comment(self, slug: str, body: str) -> Comment:
        roles = await self._roles()
        ticket = await self._ticket(roles, slug, Action.COMMENT)
        if not body.strip():
            raise Invalid("body", "The comment is empty.", hint="Write what you want to say.")
        rules.refuse_control_characters("body", body)
        rules.validate_text("body", body, rules.COMMENT_MAX)
        return await self._store.add_comment(ticket.id, body, self._actor)


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
