"""Days as agents name them (domain/days.py)."""

from __future__ import annotations

from datetime import date

import pytest

from tickets_mcp.domain.days import parse_day
from tickets_mcp.errors import Invalid

WEDNESDAY = date(2026, 12, 9)


@pytest.mark.parametrize(
    ("words", "day"),
    [
        ("2027-01-31", "2027-01-31"), ("today", "2026-12-09"), (" Tomorrow ", "2026-12-10"),
        ("yesterday", "2026-12-08"), ("friday", "2026-12-11"), ("FRI", "2026-12-11"), ("wednesday", "2026-12-16"),
        ("monday", "2026-12-14"), ("+3d", "2026-12-12"), ("2w", "2026-12-23"), ("10 days", "2026-12-19"),
    ],
)  # fmt: skip
def test_a_day_is_a_date_or_words_relative_to_today(words: str, day: str) -> None:
    assert parse_day("due_date", words, WEDNESDAY) == day


@pytest.mark.parametrize("words", ["next week", "fr", "2026-13-01", "", "-3d", "soon"])
def test_words_naming_no_day_are_refused_with_the_forms_that_work(words: str) -> None:
    with pytest.raises(Invalid, match="is not a day") as refused:
        parse_day("due_date", words, WEDNESDAY)
    assert refused.value.field == "due_date" and "friday" in (refused.value.hint or "")
