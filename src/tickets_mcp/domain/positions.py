"""Where tickets sit in a board column: integer positions spaced POSITION_STEP apart.

A ticket placed next to another takes the midpoint between that anchor and its neighbour on that
side; when no integer is left between them the column is respaced (every ticket renumbered in order,
which changes no ticket's content) and the midpoint taken again. A ticket moved with no anchor goes last.
"""

from __future__ import annotations

from tickets_mcp.domain.enums import Status
from tickets_mcp.domain.models import Ticket
from tickets_mcp.errors import Invalid

# Most moves find a free integer between two neighbours this far apart without respacing.
POSITION_STEP = 1024


def after_last(last: int | None) -> int:
    """The position after a column's last ticket (`last` None: the column is empty)."""
    return (last or 0) + POSITION_STEP


def check_anchor(ticket: Ticket, anchor: Ticket, status: Status, *, before: bool) -> None:
    """A ticket is placed next to another ticket of the column it moves to, never next to itself."""
    field = "before" if before else "after"
    if anchor.id == ticket.id:
        raise Invalid(field, "A ticket cannot be placed next to itself.")
    if anchor.project_id != ticket.project_id or anchor.status != status:
        raise Invalid(
            field,
            f"{anchor.slug} is not in the {status.value} column of this project.",
            hint=f"Pass a ticket that is in {status.value}, or omit before/after to place it last.",
        )


def slot_next_to(anchor_position: int, neighbour_position: int | None, *, before: bool) -> int | None:
    """The midpoint between an anchor and its neighbour on that side; None when no integer is left between them."""
    if neighbour_position is None:
        neighbour_position = anchor_position + (-2 if before else 2) * POSITION_STEP
    if abs(neighbour_position - anchor_position) > 1:
        return (neighbour_position + anchor_position) // 2
    return None
