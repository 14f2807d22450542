"""The planning use cases of the local tracker: links, milestones, estimates and time.

LocalTracker holds one Planning and hands these calls to it; the ticket fields planning adds (a due date,
an estimate, a milestone) are read here too, so create, update and list share one reading of each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Final

from tickets_mcp.core.access import Access, Action, Roles
from tickets_mcp.core.names import Names
from tickets_mcp.core.tracker import UNASSIGNED
from tickets_mcp.domain import EstimateUnit, Linked, LinkKind, Milestone, Project, TimeEntry, rules
from tickets_mcp.domain.dates import NONE, optional_day, parse_day, today_utc
from tickets_mcp.domain.planning import KEEP, check_link, closing_refused, self_link
from tickets_mcp.domain.text import clean_name
from tickets_mcp.errors import Invalid, NotFound
from tickets_mcp.stores import Actor, MilestoneFields, NewTimeEntry, OpenTickets, Store

ESTIMATE_MAX: Final = 100_000.0  # hours or points: beyond it, a slip of the keyboard
ESTIMATE_STEP: Final = 0.01  # estimates are kept to a hundredth: a smaller one would be kept as 0
HOURS_MAX: Final = 1_000.0  # time logged in one entry
NOTE_MAX: Final = 1_000
MILESTONE_NAME_MAX: Final = 100


def estimate_value(value: float | str | None) -> float | None:
    """An estimate as stored: 0 or more (None for "none"); Invalid for what no one estimates."""
    if value is None or (isinstance(value, str) and value.strip().casefold() == NONE):
        return None
    try:
        number = float(value)
    except ValueError:
        raise Invalid("estimate", f"{value!r} is not an estimate.", hint="Send hours or points, or none.") from None
    if not math.isfinite(number) or not 0 <= number <= ESTIMATE_MAX or 0 < number < ESTIMATE_STEP:
        raise Invalid(
            "estimate",
            f"An estimate is 0 or {ESTIMATE_STEP:g}-{ESTIMATE_MAX:g}, not {value}.",
            hint="Send hours or points, to a hundredth at most.",
        )
    return round(number, 2)


def milestone_name(name: str) -> str:
    """A milestone's name, on one line, trimmed; Invalid when empty or too long."""
    cleaned = " ".join(rules.refuse_control_characters("milestone", name).split())
    if not cleaned or cleaned.casefold() == NONE:
        raise Invalid("milestone", "A milestone needs a name (and none is not one).", hint="Name it: Sprint 12, v2.1.")
    if len(cleaned) > MILESTONE_NAME_MAX:
        raise Invalid("milestone", f"A milestone's name is at most {MILESTONE_NAME_MAX} characters.")
    return cleaned


@dataclass(frozen=True, slots=True)
class Planning:
    """The planning calls for one caller: the LocalTracker's store, access, names and actor."""

    store: Store
    access: Access
    names: Names
    actor: Actor

    async def milestone_id(self, project: Project, name: str | None) -> int | None:
        """The id of `project`'s open milestone `name`, for a ticket to join; None for "none"."""
        if name is None or name.strip().casefold() == UNASSIGNED:
            return None
        found = await self.milestone(project, name, progress=False)
        if found.closed:
            raise Invalid(
                "milestone",
                f"Milestone {found.name!r} of {project.code} is closed.",
                hint="Pick an open one (list_milestones), or reopen it with save_milestone closed=false.",
            )
        return found.id

    async def milestone(self, project: Project, name: str, *, progress: bool = True) -> Milestone:
        """The project's milestone of this name; `progress`: with its tickets counted (see Store.find_milestone)."""
        found = await self.store.find_milestone(project.id, " ".join(name.split()), progress=progress)
        if found is not None:
            return found
        known = [m.name for m in await self.store.list_milestones(project.id, closed=True)]
        near = rules.closest(name, known)
        raise NotFound(
            f"{project.code} has no milestone {clean_name(name)!r}.",
            hint=("Did you mean: " + ", ".join(near) + "? " if near else "")
            + "list_milestones shows them; save_milestone creates one.",
        )

    async def link(
        self, roles: Roles, slug: str, kind: LinkKind, other: str, *, unlink: bool, close_as_duplicate: bool
    ) -> Linked:
        check_link(slug, kind, other, unlink=unlink, close_as_duplicate=close_as_duplicate)
        ticket = await self.names.ticket(roles, slug, Action.EDIT)
        target = await self.names.ticket(roles, other, Action.READ)
        if target.id == ticket.id:
            raise self_link(ticket.slug)
        organization = await self.names.ticket_organization(roles, ticket)
        if await self.names.ticket_organization(roles, target) != organization:
            raise Invalid(
                "other", f"{target.slug} is in another organization.", hint="Link tickets of one organization."
            )
        if unlink:
            return await self.store.unlink_tickets(ticket.id, kind, target.id, self.actor)
        return await self.store.link_tickets(
            ticket.id, kind, target.id, self.actor, close_as_duplicate=close_as_duplicate
        )

    async def list_milestones(self, roles: Roles, project: Project, *, closed: bool) -> list[Milestone]:
        self.access.authorize(roles, project.organization_id, Action.READ, project.id)
        return await self.store.list_milestones(project.id, closed=closed)

    async def save_milestone(
        self,
        roles: Roles,
        project: Project,
        name: str,
        *,
        rename: str | None,
        start_date: str | None,
        due_date: str | None,
        closed: bool | None,
        open_tickets: str | None,
    ) -> Milestone:
        self.access.authorize(roles, project.organization_id, Action.EDIT, project.id)
        name = milestone_name(name)
        fields = MilestoneFields(
            name=milestone_name(rename) if rename is not None else None,
            start_date=optional_day("start_date", start_date),
            due_date=optional_day("due_date", due_date),
            closed=closed,
            clear_start=_unsets(start_date),
            clear_due=_unsets(due_date),
        )
        if fields.start_date and fields.due_date and fields.start_date > fields.due_date:
            raise Invalid("due_date", f"Due {fields.due_date} is before the start, {fields.start_date}.")
        existing = await self.store.find_milestone(project.id, name)
        if existing is None:
            if rename is not None:
                await self.milestone(project, name)  # renaming one that is not there: NotFound, with the near names
            created = replace(fields, name=name, closed=bool(closed), clear_start=False, clear_due=False)
            return await self.store.create_milestone(project.id, created, self.actor)
        if closed and not existing.closed and existing.open_tickets and open_tickets is None:
            raise closing_refused(existing.name, existing.open_tickets)
        disposal = await self._open_tickets(project, existing, open_tickets) if closed else None
        return await self.store.update_milestone(existing.id, fields, self.actor, open_tickets=disposal)

    async def _open_tickets(self, project: Project, closing: Milestone, choice: str | None) -> OpenTickets | None:
        """What closing `closing` does with its open tickets, from the caller's words (None: not said)."""
        if choice is None:
            return None
        word = choice.strip().casefold()
        if word == KEEP:
            return OpenTickets(keep=True)
        if word == NONE:
            return OpenTickets()
        target = await self.milestone(project, choice)
        if target.id == closing.id or target.closed:
            why = "the one being closed" if target.id == closing.id else "closed"
            raise Invalid(
                "open_tickets",
                f"The open tickets cannot move to {target.name!r}: it is {why}.",
                hint="Name another open milestone, keep, or none.",
            )
        return OpenTickets(to=target.id)

    async def set_estimate_unit(self, roles: Roles, project: Project, unit: EstimateUnit) -> Project:
        self.access.authorize(roles, project.organization_id, Action.MANAGE, project.id)
        self.names.forget()
        return await self.store.set_estimate_unit(project.id, unit, self.actor)

    async def log_time(self, roles: Roles, slug: str, hours: float, spent_on: str | None, note: str) -> TimeEntry:
        ticket = await self.names.ticket(roles, slug, Action.EDIT)
        if not math.isfinite(hours) or not 0 < hours <= HOURS_MAX:
            raise Invalid("hours", f"Log 0-{HOURS_MAX:g} hours at a time, not {hours:g}.", hint="Send hours: 1.5.")
        rules.refuse_control_characters("note", note)
        rules.validate_text("note", note, NOTE_MAX)
        day = parse_day("spent_on", spent_on) if spent_on else today_utc().isoformat()
        if day > today_utc().isoformat():
            raise Invalid("spent_on", f"{day} has not come yet.", hint="Log time on today or a day past.")
        entry = NewTimeEntry(hours=round(hours, 2), spent_on=day, note=note.strip())
        return await self.store.log_time(ticket.id, entry, self.actor)


def _unsets(day: str | None) -> bool:
    return day is not None and day.strip().casefold() == NONE
