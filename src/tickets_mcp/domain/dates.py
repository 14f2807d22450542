"""Days, as planning names them: a due date, a milestone's start, the day time was spent.

A day is stored as `YYYY-MM-DD` (ISO 8601, sorts as text). Callers may write one, or words an agent
uses without a calendar of its own: `today`, `tomorrow`, `yesterday`, a weekday (`friday`: the next
one, today included), `+3d` / `3d` / `in 3 days`, `+2w`, and `-1d` for a day past. Words are read
against the server's day in UTC, which get_workspace_context states.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Final

from tickets_mcp.domain.enums import CLOSED_STATUSES, Status
from tickets_mcp.errors import Invalid

NONE: Final = "none"  # the word that unsets a day
_WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHIFT: Final = re.compile(r"(?:in\s+)?([+-]?)(\d{1,4})\s*(d|days?|w|weeks?)", re.IGNORECASE)
_HINT: Final = "Use YYYY-MM-DD, or today, tomorrow, a weekday (friday), +3d, 2w, -1d."


FIRST_DAY: Final = date(1970, 1, 1)  # the days a plan may name: a slip of the keyboard (0001, 9999) is refused
LAST_DAY: Final = date(2999, 12, 31)


def today_utc() -> date:
    return datetime.now(UTC).date()


def overdue(due_date: str | None, status: Status, on: date | None = None) -> bool:
    """Whether a ticket due on `due_date` is late on `on` (today in UTC): still open and its day is past;
    on the day itself it is due, not yet late."""
    return due_date is not None and status not in CLOSED_STATUSES and due_date < (on or today_utc()).isoformat()


def parse_day(field: str, value: str, on: date | None = None) -> str:
    """`value` as a stored day (`YYYY-MM-DD`), words read against `on` (today in UTC). Invalid otherwise,
    naming the field and the accepted forms."""
    text = " ".join(value.strip().lower().split())
    base = on or today_utc()
    try:
        if text in {"today", "tomorrow", "yesterday"}:
            day = base + timedelta(days={"today": 0, "tomorrow": 1, "yesterday": -1}[text])
        elif (wanted := _weekday(text.removeprefix("next "))) is not None:
            day = base + timedelta(days=(wanted - base.weekday()) % 7)
        elif found := _SHIFT.fullmatch(text):
            sign = -1 if found[1] == "-" else 1
            days = int(found[2]) * (7 if found[3].startswith("w") else 1)
            day = base + timedelta(days=sign * days)
        elif len(text) > 10 and text[10] in "t ":  # a timestamp: its day
            day = datetime.fromisoformat(value.strip()).date()
        else:
            day = date.fromisoformat(text)
    except (ValueError, OverflowError) as exc:
        raise Invalid(field, f"{value!r} is not a day.", hint=_HINT) from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(
            field,
            f"{day.isoformat()} is not a day a tracker plans for.",
            hint=f"Use a day from {FIRST_DAY} to {LAST_DAY}.",
        )
    return day.isoformat()


def _weekday(text: str) -> int | None:
    """Monday's 0 to Sunday's 6, for a weekday's name or its first three letters or more (`fri`, `Thurs`)."""
    return next((n for n, name in enumerate(_WEEKDAYS) if len(text) >= 3 and name.startswith(text)), None)


def optional_day(field: str, value: str | None, on: date | None = None) -> str | None:
    """parse_day, where "none" (any case) unsets the day: None."""
    if value is None or value.strip().casefold() == NONE:
        return None
    return parse_day(field, value, on)
