"""Days as agents name them: a due date, a milestone's dates or the day time was spent is a calendar day,
written YYYY-MM-DD or in words relative to today (UTC): `today`, `tomorrow`, `yesterday`, a weekday
(`friday`, `fri`: the next one after today), or a span ahead (`+3d`, `2w`: three days, two weeks).
Agents think in "by Friday" and should not need a calendar of their own for it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from tickets_mcp.errors import Invalid

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_AHEAD = re.compile(r"\+?\s*(\d{1,4})\s*(d|days?|w|weeks?)")
_NAMED = {"today": 0, "tomorrow": 1, "yesterday": -1}
HINT = "Use YYYY-MM-DD or words: today, tomorrow, friday, +3d, 2w."


def today_utc() -> date:
    return datetime.now(UTC).date()


def parse_day(field: str, value: str, today: date | None = None) -> str:
    """The day `value` names, as YYYY-MM-DD; Invalid naming `field` when it names none."""
    text = " ".join(value.strip().casefold().split())
    base = today or today_utc()
    try:
        if text in _NAMED:
            return (base + timedelta(days=_NAMED[text])).isoformat()
        weekday = next((n for n, name in enumerate(WEEKDAYS) if len(text) >= 3 and name.startswith(text)), None)
        if weekday is not None:
            return (base + timedelta(days=(weekday - base.weekday() - 1) % 7 + 1)).isoformat()
        if found := _AHEAD.fullmatch(text):
            count = int(found[1]) * (7 if found[2].startswith("w") else 1)
            return (base + timedelta(days=count)).isoformat()
        return date.fromisoformat(text).isoformat()
    except (ValueError, OverflowError) as exc:
        raise Invalid(field, f"{value!r} is not a day.", hint=HINT) from exc
