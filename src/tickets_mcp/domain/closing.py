"""When a ticket counts as closed: `closed_at` and `closed_by` follow its status."""

from __future__ import annotations

from typing import Any

from tickets_mcp.domain.enums import CLOSED_STATUSES, Status


def closing_columns(was: Status | None, status: Status, user_id: int | None, now: str) -> dict[str, Any]:
    """What a change from `was` (None: a new ticket) to `status` does to closed_at/closed_by_id: set when
    the ticket closes, cleared when it reopens, left alone otherwise."""
    was_closed = was is not None and was in CLOSED_STATUSES
    if status in CLOSED_STATUSES and not was_closed:
        return {"closed_at": now, "closed_by_id": user_id}
    if status not in CLOSED_STATUSES and was_closed:
        return {"closed_at": None, "closed_by_id": None}
    return {}
