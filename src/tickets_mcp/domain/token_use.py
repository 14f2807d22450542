"""When a token's use is worth recording: at most once per TOUCH_INTERVAL, so authenticating stays a read."""

from __future__ import annotations

from datetime import datetime, timedelta

from tickets_mcp.domain.models import Token
from tickets_mcp.domain.rules import format_timestamp

TOUCH_INTERVAL = timedelta(minutes=1)


def stale_before(token: Token, now: datetime) -> str | None:
    """The moment before which a recorded use is stale, if this use of `token` should be recorded; None if
    not. A token that no longer works is not "used": revoked, or its creator may no longer grant it."""
    if token.revoked_at is not None or token.ungranted_reason is not None:
        return None
    stale = format_timestamp(now - TOUCH_INTERVAL)
    return stale if token.last_used_at is None or token.last_used_at < stale else None
