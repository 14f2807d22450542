"""Pure domain rules."""

from __future__ import annotations

import pytest

from tickets_mcp.config import default_data_dir, local_username
from tickets_mcp.domain import Priority, Status, rules
from tickets_mcp.errors import Invalid
from tickets_mcp.mcp import arguments


@pytest.mark.parametrize("name", ["Web", "Web App", "my_project-2", "x" * 36])
def test_project_names_of_seed_004_are_accepted(name: str) -> None:
    assert rules.validate_project_name(name) == name


@pytest.mark.parametrize("name", ["ab", "x" * 37, "web/app", "café", "a\nb", ""])
def test_project_names_outside_seed_004_are_refused(name: str) -> None:
    with pytest.raises(Invalid):
        rules.validate_project_name(name)


@pytest.mark.parametrize(
    ("name", "taken", "code"),
    [
        ("Web App", [], "WA"),
        ("Backend", [], "BACK"),
        ("Backend", ["BACK"], "BACK2"),
        ("x", [], "XX"),
        ("42 things", [], "P4T"),
        ("Mobile application for everyone", [], "MAFE"),
    ],
)
def test_project_codes_are_derived_from_names_and_unique(name: str, taken: list[str], code: str) -> None:
    derived = rules.derive_project_code(name, taken)
    assert derived == code
    assert rules.validate_project_code(derived) == derived


def test_slugs_parse_case_insensitively_and_reject_junk() -> None:
    assert rules.parse_slug(" web-42 ") == ("WEB", 42)
    for junk in ["WEB42", "WEB-0", "-1", "WEB-", "W-1", "WEB-1-2"]:
        with pytest.raises(Invalid):
            rules.parse_slug(junk)


def test_labels_are_trimmed_and_deduplicated_case_insensitively() -> None:
    assert rules.normalize_labels([" ui", "UI", "auth "]) == ("ui", "auth")
    with pytest.raises(Invalid):
        rules.normalize_labels([f"l{i}" for i in range(21)])


def test_label_colors_are_stable_hex() -> None:
    assert rules.label_color("bug") == rules.label_color("BUG")
    assert len(rules.label_color("bug")) == 6


def test_cursors_round_trip_and_garbage_is_invalid() -> None:
    payload = {"v": "2026-01-01T00:00:00.000Z", "i": 5, "f": "abc"}
    assert rules.decode_cursor(rules.encode_cursor(payload)) == payload
    for junk in ["", "!!!", rules.encode_cursor({"v": 1})[:-3] + "@@@"]:
        with pytest.raises(Invalid):
            rules.decode_cursor(junk)


def test_closest_prefers_near_spellings() -> None:
    assert rules.closest("in progres", [s.value for s in Status]) == ["in_progress"]
    assert rules.suggestion("zzz", ["a", "b"], "things") == "Valid things: a, b."


def test_tool_argument_vocabularies_match_the_domain() -> None:
    assert list(arguments.StatusName.__args__) == [s.value for s in Status]
    assert list(arguments.PriorityName.__args__) == [p.value for p in Priority]


def test_the_default_database_lives_in_the_user_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "/data/home")
    monkeypatch.setattr("sys.platform", "linux")
    assert str(default_data_dir()) == "/data/home/tickets-mcp"
    monkeypatch.setattr("sys.platform", "darwin")
    assert default_data_dir().parts[-3:] == ("Library", "Application Support", "tickets-mcp")
    monkeypatch.setattr("sys.platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", "C:/Users/me/AppData/Local")
    assert default_data_dir().as_posix() == "C:/Users/me/AppData/Local/tickets-mcp"


def test_the_local_username_is_reduced_to_safe_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETS_USER", "Jane Doe (laptop)")
    assert local_username() == "Jane-Doe-laptop"
