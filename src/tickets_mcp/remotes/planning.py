"""What the remote adapters share in mapping planning (redmine_planning, linear_planning, github_milestones,
gitlab_planning, ...): "none" that clears a field, an estimate in hours, a milestone's name, and the local
tracker's rule for closing a milestone that still holds open tickets (stores/sql/milestones.py), worded the same
on every backend."""

from __future__ import annotations

from collections.abc import Sequence

from tickets_mcp.core.tracker import UNASSIGNED, TicketFilter
from tickets_mcp.domain import TicketSort, rules
from tickets_mcp.domain.planning import KEEP, closing_refused
from tickets_mcp.domain.planning import check_link as check_link
from tickets_mcp.domain.planning import self_link as self_link
from tickets_mcp.errors import Conflict, Invalid, Unsupported


def clears(value: object) -> bool:
    """Whether a field's value is "none": take it away."""
    return isinstance(value, str) and value.strip().casefold() == UNASSIGNED


def hours(field: str, value: str | float, limit: int) -> float:
    """An estimate in hours, from a number or its text, 0 to less than `limit` (the API's own limit)."""
    try:
        number = float(value)
    except ValueError:
        raise Invalid(field, f"{value!r} is not a number of hours.", hint="Pass hours, e.g. 2.5, or 'none'.") from None
    if not 0 <= number < limit:
        raise Invalid(field, f"An estimate must be 0-{limit} hours, not {number:g}.")
    return number


def milestone_name(name: str, limit: int) -> str:
    """A milestone's name with its spaces tidied, 1 to `limit` characters (the API's own limit)."""
    text = " ".join(name.split())
    if not 1 <= len(text) <= limit:
        raise Invalid("name", f"A milestone's name must be 1-{limit} characters.")
    return rules.refuse_control_characters("name", text)


def renamed(rename: str | None, current: str | None, names: Sequence[str], limit: int, where: str) -> str | None:
    """The name a milestone named `current` (None: a new one) takes from `rename`: None when there is no new
    name, refused when another of `where`'s milestones (`names`) has it, whatever its case and spaces."""
    if rename is None or (current is not None and rename.strip() == current):
        return None
    name = milestone_name(rename, limit)
    wanted = name.casefold()
    taken = next((n for n in names if " ".join(n.split()).casefold() == wanted and n != current), None)
    if taken is not None:
        raise Conflict(
            f"{where} has a milestone named {taken!r} already.", hint="Choose another name, or update that milestone."
        )
    return name


def closing_choice(milestone: str, open_count: int, open_tickets: str | None) -> str | None:
    """What becomes of the `open_count` open tickets of `milestone`, which is being closed: None keeps them
    in it, UNASSIGNED takes them out of any milestone, another name moves them to that milestone. Without a
    choice, Invalid naming how many there are."""
    if open_tickets is None:
        raise closing_refused(milestone, open_count)
    choice = open_tickets.strip()
    if choice.casefold() == KEEP:
        return None
    return UNASSIGNED if clears(choice) else choice


def not_another(milestone: str) -> Invalid:
    """The refusal to move a closing milestone's open tickets into itself."""
    return Invalid(
        "open_tickets",
        f"The open tickets of {milestone!r} can move only to another open milestone of its project.",
        hint="List the project's milestones, and name an open one.",
    )


def refuse_unmapped_filters(query: TicketFilter, backend: str, *, blocked: str, due_order: str | None) -> None:
    """Refuse the blocked and blocking filters and the due-date order on a backend that keeps links and due dates
    but cannot select or order by them as the tracker means them; `blocked` and `due_order` say why (`due_order`
    None: the backend orders by due date)."""
    if query.blocked is not None or query.blocking is not None:
        raise Unsupported(
            f"The {backend} backend cannot filter tickets by whether an open ticket blocks them (or they one): "
            f"{blocked}.",
            hint="Leave blocked and blocking out; get_ticket shows a ticket's blockers.",
        )
    if query.sort is TicketSort.DUE and due_order is not None:
        raise Unsupported(
            f"The {backend} backend cannot list tickets by due date: {due_order}.",
            hint="Filter by due_before or overdue instead.",
        )
