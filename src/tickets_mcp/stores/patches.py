"""A TicketPatch as column values: what it changes compared with what is stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickets_mcp.domain import Priority, Status, Ticket, TicketType
from tickets_mcp.stores.port import PATCHABLE, TicketPatch

# The columns a patch may change, in the fixed order stores read them back.
PATCH_COLUMNS = tuple(sorted(PATCHABLE))


def changed_columns(stored: Mapping[str, Any], patch: TicketPatch) -> dict[str, Any]:
    """The patch's values as stored column values, keeping only those that differ from `stored`."""
    unknown = set(patch.values) - PATCHABLE
    if unknown:
        raise ValueError(f"not patchable: {sorted(unknown)}")
    wanted = {name: column_value(value) for name, value in patch.values.items()}
    return {name: value for name, value in wanted.items() if stored[name] != value}


def column_value(value: Any) -> Any:
    """A ticket field's value as its column stores it: a priority by rank, other enums by value."""
    if isinstance(value, Priority):
        return value.rank
    if isinstance(value, Status | TicketType):
        return value.value
    return value


def labels_changed(current: Ticket, patch: TicketPatch) -> bool:
    """Whether the patch sets other labels than the ticket has; labels compare case-insensitively."""
    return patch.labels is not None and sorted(name.casefold() for name in patch.labels) != sorted(
        label.name.casefold() for label in current.labels
    )
