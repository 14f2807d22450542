"""The time the tracker stamps on what it records: UTC, in the one text format every store sorts by."""

from __future__ import annotations

from datetime import UTC, datetime

from tickets_mcp.domain.rules import format_timestamp


def utc_now() -> str:
    return format_timestamp(datetime.now(UTC))


def utc_today() -> str:
    """Today's date in UTC, YYYY-MM-DD: what due dates are compared with."""
    return datetime.now(UTC).date().isoformat()
