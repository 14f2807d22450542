"""Moving a ticket to another project: the use case LocalTracker hands over (the store does the move itself,
in one transaction: stores/sql/relocation.py).

A ticket moves within its organization only: labels, members and links are an organization's, and its old
slug must keep finding it for whoever could read it. So the target is looked up in the ticket's organization
first, where `WEB` means that organization's WEB even for a caller who sees a WEB in several. The caller
needs to change the ticket where it is and to file tickets where it goes.
"""

from __future__ import annotations

from tickets_mcp.core.access import Access, Action, Roles
from tickets_mcp.core.names import Names
from tickets_mcp.domain import Organization, Project, Relocation, rules
from tickets_mcp.errors import Invalid, NotFound, TrackerError
from tickets_mcp.stores import Actor, Store


async def move_to_project(
    store: Store, access: Access, names: Names, actor: Actor, roles: Roles, slug: str, project: str, version: int | None
) -> Relocation:
    ticket = await names.ticket(roles, slug, Action.EDIT)
    organization_id = await names.ticket_organization(roles, ticket)
    home = next(o for o in await names.known_organizations() if o.id == organization_id)
    target = await _target(names, home, project, ticket.slug)
    access.authorize(roles, organization_id, Action.FILE, target.id)
    moved = await store.move_to_project(ticket.id, target.id, actor, expected_version=version)
    (named,) = await names.named((moved.ticket,))
    name = await names.slug_namer(organization_id)
    return moved.model_copy(
        update={
            "ticket": named,
            "moved_from": name(moved.moved_from),
            "subtasks": {name(old): name(new) for old, new in moved.subtasks.items()},
            "parent": name(moved.parent) if moved.parent else None,
        }
    )


async def _target(names: Names, home: Organization, project: str, slug: str) -> Project:
    """The project `project` names in the ticket's organization `home`; a project the caller sees in another
    organization is refused for what it is, not as one that does not exist."""
    named_organization, _ = rules.split_organization(project)
    try:
        found = await names.project(project, None if named_organization else home.slug)
    except NotFound as missing:
        try:
            found = await names.project(project, None)
        except TrackerError:
            raise missing from None
    if found.organization_id != home.id:
        raise Invalid(
            "project",
            f"Project {project.strip()} is in another organization than {slug}.",
            hint=f"A ticket moves within its organization only ({home.slug}); to take it elsewhere, file a new "
            "ticket there and close this one.",
        )
    return found
