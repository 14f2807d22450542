"""Times an agent writes as it thinks of them (`1h`, `yesterday`), and times shown as how long ago."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tickets_mcp.domain.rules import is_relative_time, parse_timestamp
from tickets_mcp.errors import Invalid
from tickets_mcp.mcp.render import ago

NOW = datetime(2026, 12, 7, 9, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "moment"),
    [
        ("45s", "2026-12-07T09:29:30.000Z"),
        ("30m", "2026-12-07T09:00:15.000Z"),
        ("90 min", "2026-12-07T08:00:15.000Z"),
        ("1h", "2026-12-07T08:30:15.000Z"),
        ("2 H ago", "2026-12-07T07:30:15.000Z"),
        ("2d", "2026-12-05T09:30:15.000Z"),
        ("1w", "2026-11-30T09:30:15.000Z"),
        ("today", "2026-12-07T00:00:00.000Z"),
        ("Yesterday", "2026-12-06T00:00:00.000Z"),
        ("now", "2026-12-07T09:30:15.000Z"),
        ("2026-11-01", "2026-11-01T00:00:00.000Z"),
        ("2026-11-01T10:00:00+01:00", "2026-11-01T09:00:00.000Z"),
    ],
)
def test_a_time_is_read_as_iso_8601_or_as_a_time_ago(written: str, moment: str) -> None:
    assert parse_timestamp("updated_since", written, NOW) == moment
    assert is_relative_time(written) is (not written[0].isdigit() or not written.startswith("2026"))


@pytest.mark.parametrize("written", ["last tuesday", "1y", "-1h", "9999999d", "h", ""])
def test_anything_else_is_refused_with_the_forms_it_takes(written: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_timestamp("updated_since", written, NOW)
    assert refused.value.hint is not None and "30m, 1h, 2d, 1w, today, yesterday" in refused.value.hint


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        ("2026-12-07T09:30:15.000Z", "0s ago"),
        ("2026-12-07T09:29:16.000Z", "59s ago"),
        ("2026-12-07T09:29:15.000Z", "1m ago"),
        ("2026-12-07T08:30:16.000Z", "59m ago"),
        ("2026-12-05T09:30:16.000Z", "47h ago"),
        ("2026-12-05T09:30:15.000Z", "2d ago"),
        ("2026-11-07T09:30:16.000Z", "29d ago"),
        ("2026-11-07T09:30:15.000Z", "2026-11-07"),
        ("2026-12-07T10:00:00.000Z", "2026-12-07T10:00:00Z"),  # a clock ahead of ours: the time itself
        ("someday", "someday"),  # a remote tracker's odd value, as it is
    ],
)
def test_a_time_is_shown_as_how_long_ago_in_a_few_tokens(moment: str, shown: str) -> None:
    assert ago(moment, NOW) == shown
