"""Days as planning takes them: ISO dates, and the words an agent uses without a calendar."""

from __future__ import annotations

from datetime import date

import pytest

from tickets_mcp.domain.dates import optional_day, parse_day
from tickets_mcp.errors import Invalid

MONDAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("2026-12-24", "2026-12-24"),
        ("2026-12-24T18:00:00Z", "2026-12-24"),
        ("today", "2026-12-07"),
        ("Tomorrow", "2026-12-08"),
        ("yesterday", "2026-12-06"),
        ("monday", "2026-12-07"),
        ("friday", "2026-12-11"),
        ("FRI", "2026-12-11"),
        ("thurs", "2026-12-10"),
        ("10 days", "2026-12-17"),
        ("next sunday", "2026-12-13"),
        ("+3d", "2026-12-10"),
        ("3d", "2026-12-10"),
        ("in 3 days", "2026-12-10"),
        ("2w", "2026-12-21"),
        ("-1d", "2026-12-06"),
    ],
)
def test_a_day_is_read_from_a_date_or_from_words_against_today(written: str, day: str) -> None:
    assert parse_day("due", written, MONDAY) == day


@pytest.mark.parametrize("written", ["0001-01-01", "9999-12-31", "1969-12-31"])
def test_a_day_no_plan_is_for_is_refused_naming_the_days_it_may_be(written: str) -> None:
    with pytest.raises(Invalid, match="not a day a tracker plans for") as refused:
        parse_day("due", written, MONDAY)
    assert refused.value.hint == "Use a day from 1970-01-01 to 2999-12-31."


@pytest.mark.parametrize("written", ["soon", "fr", "next week", "2026-13-01", "12/24/2026", "+99999d", ""])
def test_what_is_not_a_day_is_refused_naming_the_field_and_the_forms(written: str) -> None:
    with pytest.raises(Invalid, match="is not a day") as refused:
        parse_day("due", written, MONDAY)
    assert refused.value.field == "due"
    assert refused.value.hint is not None and "YYYY-MM-DD" in refused.value.hint


def test_none_unsets_a_day() -> None:
    assert optional_day("due", "None", MONDAY) is None
    assert optional_day("due", None, MONDAY) is None
    assert optional_day("due", "friday", MONDAY) == "2026-12-11"
