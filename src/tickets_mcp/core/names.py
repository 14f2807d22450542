"""Names as callers write them, resolved among what the caller can see: organizations by slug, id or name,
projects by code (or `acme:WEB`), id, number or name, tickets by slug, users by username or "me".

A miss names the closest matches, and a name the caller may not see gets the same answer as one that
does not exist. Slugs are answered back the way the caller can name them again (`acme:WEB-1` where it
sees the code WEB in several organizations).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from tickets_mcp.core.access import Access, Action, Roles
from tickets_mcp.core.tracker import ME, UNASSIGNED
from tickets_mcp.domain import Organization, Project, Role, Ticket, rules
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied
from tickets_mcp.stores import Reach, Store


class Names:
    """What one caller can see and how it names it, read from the store once per call.

    A LocalTracker lives for one call, so what it looks up once stays true for the rest of the call;
    its own project changes call `forget`.
    """

    def __init__(self, store: Store, access: Access) -> None:
        self._store = store
        self._access = access
        self._known: tuple[Roles, Reach] | None = None

    def forget(self) -> None:
        """Drop what was read: a project was created, changed or deleted since."""
        self._known = None

    async def reach(self) -> tuple[Roles, Reach]:
        """The caller's roles, organizations and projects: one read, made once per call."""
        if self._known is None:
            principal = self._access.principal
            reach = await self._store.reach(
                principal.user_id, principal.organization_id, version=principal.identity_version
            )
            if principal.project_id is not None:
                # A project token sees its own project only: naming another gets one refusal, whether it exists or not.
                reach = replace(reach, projects=tuple(p for p in reach.projects if p.id == principal.project_id))
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

    async def roles(self) -> Roles:
        return (await self.reach())[0]

    async def visible_projects(self, organization_ids: Sequence[str]) -> list[Project]:
        """The projects of these organizations (among the caller's), without ticket counts."""
        wanted = set(organization_ids)
        return [p for p in (await self.reach())[1].projects if p.organization_id in wanted]

    async def known_organizations(self) -> list[Organization]:
        return list((await self.reach())[1].organizations)

    async def organizations(self, organization: str | None) -> list[Organization]:
        """All the caller's organizations, or the one `organization` names."""
        organizations = await self.known_organizations()
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

    async def project(self, project: str | None, organization: str | None) -> Project:
        """The project a call names, or the one it means when it names none (the only one, or the
        organization's default)."""
        organizations = await self.organizations(organization)
        if project is not None and rules.ORGANIZATION_MARK in project:
            # `acme:WEB`: codes are unique per organization only, so this is how a caller who sees WEB in
            # several organizations names one (the form the ambiguity below asks for).
            named, project = rules.split_organization(project)
            chosen = await self.organizations(named)
            organizations = [o for o in chosen if o in organizations]
        projects = await self.visible_projects([o.id for o in organizations])
        principal = self._access.principal
        if project is None and principal.project_id is not None:
            project = principal.project_id
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
                default = (await self.reach())[1].defaults.get(organizations[0].id)
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
        if principal.project_id is not None:
            # The same answer whether the project exists or not: a project token learns none of the others.
            raise PermissionDenied(
                "A project token may only file tickets in its own project"
                + (f" ({projects[0].code})." if projects else "."),
                hint="Use a personal token (pk_) or an organization key (amk_) for other projects.",
            )
        raise NotFound(f"Project {project!r} not found.", hint=_projects_like(project, projects))

    async def ticket(self, roles: Roles, slug: str, action: Action) -> Ticket:
        """The ticket a slug names among the caller's projects, if the caller may do `action` to it: codes
        are unique per organization only, so `beta:WEB-42` says which organization when the caller sees a
        project WEB in several. The old slug of a ticket moved to another project names it where it is now."""
        organization, plain = rules.split_organization(slug)
        code, number = rules.parse_slug(plain)
        organizations = await self.organizations(organization)
        projects = [p for p in await self.visible_projects([o.id for o in organizations]) if p.code == code]
        access = self._access
        refusals = [r for p in projects if (r := access.refusal(roles, p.organization_id, action, p.id)) is not None]
        if projects and len(refusals) == len(projects):
            raise refusals[0]  # before looking: the same answer whether the ticket exists or not
        found = [(p, t) for p in projects if (t := await self._numbered(p.id, number)) is not None]
        if len(found) > 1:
            slugs = {o.id: o.slug for o in organizations}
            named = [rules.in_organization(slugs[p.organization_id], f"{code}-{number}") for p, _ in found]
            raise Invalid(
                "slug",
                f"{code}-{number} is a ticket in several of your organizations.",
                hint="Say which: " + " or ".join(named) + ".",
            )
        if found:
            ticket = found[0][1]
            # Where it is now: a moved ticket is in another project than its old slug names.
            now_in = next((p for p in await self.visible_projects(list(roles)) if p.id == ticket.project_id), None)
            if now_in is not None:
                access.authorize(roles, now_in.organization_id, action, now_in.id)
                return ticket
        raise NotFound(
            f"Ticket {code}-{number} not found.",
            hint="Check the slug with list_tickets; deleted tickets keep their number.",
        )

    async def _numbered(self, project_id: str, number: int) -> Ticket | None:
        """The project's ticket `number`, or the ticket that had it before moving to another project. A miss
        costs the second lookup only: most slugs name a ticket where it is."""
        return await self._store.find_ticket(project_id, number) or await self._store.moved_ticket(project_id, number)

    async def ticket_organization(self, roles: Roles, ticket: Ticket) -> str:
        projects = await self.visible_projects(list(roles))
        return next(p.organization_id for p in projects if p.id == ticket.project_id)

    async def project_of(self, roles: Roles, ticket: Ticket) -> Project:
        """The project a ticket the caller has read is in."""
        return next(p for p in await self.visible_projects(list(roles)) if p.id == ticket.project_id)

    async def parent_id(self, roles: Roles, project: Project, parent: str) -> int:
        """The id of the ticket a new sub-task of `project` names as its parent."""
        ticket = await self.ticket(roles, parent, Action.READ)
        if ticket.project_id != project.id:
            raise Invalid(
                "parent",
                f"Parent {ticket.slug} is in another project.",
                hint=f"Sub-tasks stay in their parent's project; pick a ticket of {project.code}.",
            )
        return ticket.id

    async def user_id(self, organization_ids: Sequence[str], username: str) -> int:
        """The member of these organizations named `username` (or "me": the caller)."""
        principal = self._access.principal
        if username.strip().casefold() == ME:
            return principal.user_id
        members = [m for org_id in dict.fromkeys(organization_ids) for m in await self._store.members(org_id)]
        for member in members:
            if member.user.username.casefold() == username.strip().casefold():
                return member.user.id
        roles = await self.roles()
        # Members are named only to a caller that may see them (the workspace lists them on BROWSE).
        if all(self._access.refusal(roles, org_id, Action.BROWSE) is None for org_id in organization_ids):
            hint = rules.suggestion(username, [m.user.username for m in members] + [ME, UNASSIGNED], "users")
        else:
            hint = f"Pass the exact username of a member of the organization, {ME} or {UNASSIGNED}."
        raise Invalid("assignee", f"No member named {username!r}.", hint=hint)

    async def project_reference(self, project: Project) -> str:
        """How the caller names `project`: WEB, or acme:WEB if it sees WEB elsewhere too."""
        return rules.project_reference(project, await self._qualifiers())

    async def named(self, tickets: Sequence[Ticket]) -> tuple[Ticket, ...]:
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

    async def slug_namer(self, organization_id: str) -> Callable[[str], str]:
        """How the caller names back a slug of a project of this organization, as `named` names a ticket's:
        `acme:WEB-1` where it sees the code WEB in several organizations. For slugs without their ticket at
        hand: the old slugs of a moved ticket."""
        qualifiers = await self._qualifiers()
        projects = await self.visible_projects([organization_id])
        shared = {p.code: qualifiers[p.id] for p in projects if p.id in qualifiers}

        def name(slug: str) -> str:
            code = slug.rsplit("-", 1)[0]
            return rules.in_organization(shared[code], slug) if code in shared else slug

        return name

    async def _qualifiers(self) -> dict[str, str]:
        slugs = {o.id: o.slug for o in await self.known_organizations()}
        return rules.qualifiers(await self.visible_projects(list(slugs)), slugs)


def _projects_like(name: str, projects: Sequence[Project]) -> str:
    """The hint for a project name that matched none: the near ones, else all of a few, else where to look."""
    near = rules.closest(name, [p.code for p in projects] + [p.name for p in projects])
    by_name = {p.name: p.code for p in projects}
    codes = list(dict.fromkeys(by_name.get(n, n) for n in near))
    listing = [f"{p.code} ({p.name})" for p in projects if p.code in codes] if codes else []
    if not listing and 0 < len(projects) <= 8:
        return "Valid projects: " + ", ".join(f"{p.code} ({p.name})" for p in projects) + "."
    if listing:
        return "Did you mean: " + ", ".join(listing) + "?"
    return "Call list_projects to see them."
