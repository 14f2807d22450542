"""The pure rules behind search and duplicate detection: how alike two tickets are, which words a query
asks for, and which index queries find look-alike candidates."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.fixtures.traces import EXPORT_KEY_ERROR_OWN_FRAMES
from tickets_mcp.domain.similarity import (
    DUPLICATE_SIMILARITY,
    SIMILAR_SIMILARITY,
    TITLE_SIMILARITY,
    likely_duplicate,
    likeness_to,
    similarity,
    words,
)
from tickets_mcp.stores.search import (
    QUERY_WORDS_MAX,
    SearchTerms,
    Text,
    candidate_groups,
    fts5_match,
    fts5_title_match,
    fts5_trace_match,
    fts5_words,
    project_rowids,
    search_terms,
    title_tsquery,
    trace_groups,
    trace_tsquery,
    tsquery,
)


def test_words_are_lower_cased_split_at_punctuation_and_leave_function_words_out() -> None:
    assert words("The Login-button is BROKEN on safari_17!") == {"login", "button", "broken", "safari", "17"}
    assert words("") == frozenset()


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        (("Login fails on Safari", ""), ("Login fails in Safari", "")),  # function words do not count
        (("Checkout page times out", "504 after 30 s"), ("Checkout page times out", "a 504 after 30 seconds")),
        (("Export CSV", ""), ("export csv", "The export is broken")),  # one description missing: titles decide
    ],
)
def test_retries_and_rewordings_are_duplicates(mine: tuple[str, str], theirs: tuple[str, str]) -> None:
    assert similarity(*mine, *theirs) >= DUPLICATE_SIMILARITY


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        (("Bench ticket 1", "same"), ("Bench ticket 2", "same")),  # numbered siblings
        (("worker 0 ticket 1", ""), ("worker 1 ticket 0", "")),  # the same numbers, in another order
        (("HTTP 502 on upload", ""), ("HTTP 504 on upload", "")),
        (("Crash when saving a file", ""), ("Crash when opening a file", "")),
        (("Add export to CSV", ""), ("Add export to PDF", "")),
        (("Update dependencies", "bump fastapi and uvicorn"), ("Update dependencies", "move to python 3.14 images")),
    ],
)
def test_tickets_that_only_resemble_each_other_are_not(mine: tuple[str, str], theirs: tuple[str, str]) -> None:
    assert similarity(*mine, *theirs) < DUPLICATE_SIMILARITY


def test_a_title_too_different_is_not_rescued_by_an_identical_description() -> None:
    score = similarity("Slow board", "the same long description", "Board colours wrong", "the same long description")
    assert score < TITLE_SIMILARITY


def test_a_query_is_its_words_and_quoted_phrases_lower_cased_and_deduplicated() -> None:
    assert search_terms('Login "Fails on" safari login') == SearchTerms((("login",), ("fails", "on"), ("safari",)))
    assert search_terms('say "" and "!!"') == SearchTerms((("say",), ("and",)))
    assert search_terms("%_") is None
    assert search_terms("") is None


def test_a_pasted_stack_trace_keeps_only_the_first_words() -> None:
    trace = " ".join(f"frame{i}" for i in range(500))
    terms = search_terms(trace)
    assert terms is not None and len(terms.phrases) == QUERY_WORDS_MAX


def test_each_engine_gets_every_word_of_three_letters_or_more_as_a_prefix_and_phrases_in_order() -> None:
    terms = search_terms('crash "fails on" ui "on ios"')
    assert terms is not None
    assert fts5_match(terms, ["p-1"]) == 'project : ("p1") AND ("crash"* AND "fails on" AND "ui" AND "on ios"*)'
    assert tsquery(terms) == "(crash:*) & (fails <-> on) & (ui) & (on <-> ios:*)"


def test_a_word_that_could_be_a_projects_is_looked_for_in_the_columns_of_words_only() -> None:
    terms = search_terms("deadbeef crash")  # project ids are held as 32 hex digits in the fourth column
    assert terms is not None
    assert fts5_words(terms) == '{title description comments} : ("deadbeef"* AND "crash"*)'


def test_a_words_start_names_the_indexed_words_it_starts_when_they_are_few() -> None:
    terms = search_terms('crash "fails on" login')
    assert terms is not None
    completed = replace(terms, completions=(("crash", "crashes"), None, None))
    assert fts5_words(completed) == '(("crash" OR "crashes") AND "fails on" AND "login"*)'
    short = search_terms('"fails on" ui')
    assert short is not None
    assert fts5_words(replace(short, completions=(None, None))) == '("fails on" AND "ui")'
    quoted = search_terms('"login fails"')
    assert quoted is not None
    assert fts5_words(replace(quoted, completions=(("fails", "failsafe"),))) == (
        '(("login fails" OR "login failsafe"))'
    )


def test_candidates_must_hold_enough_of_the_new_titles_longest_words() -> None:
    # 3 words: a similar title shares at least 2 of them (0.4 of 3, rounded up), so it misses at most 1.
    assert candidate_groups("Login fails on Safari") == [("safari", "fails"), ("safari", "login"), ("fails", "login")]
    assert candidate_groups("the a an") == []


def test_titles_are_looked_for_among_the_projects_open_titles_and_traces_in_its_descriptions() -> None:
    titles, traces = [("a", "b"), ("c",)], [("keyerror", "export", "py", "142")]
    assert fts5_title_match(titles) == '("a" AND "b") OR ("c")'
    assert project_rowids(3) == (3 << 40, (4 << 40) - 1)  # the project's number above every ticket id
    assert fts5_trace_match(traces, "p-1") == (
        'project : ("p1") AND description : (("keyerror" AND "export" AND "py" AND "142"))'
    )
    assert title_tsquery(titles, "p-1") == "(p1a & p1b) | (p1c)"  # each word starts with its project's
    assert trace_tsquery(traces) == "(keyerror:B & export:B & py:B & 142:B)"
    assert trace_groups("It crashed, no trace") == ()
    assert trace_groups('File "app/x.py", line 9, in load\nKeyError: 1') == (
        ("keyerror", "x", "py"),
        ("keyerror", "load"),
    )


def test_a_long_title_needs_fewer_of_its_six_longest_words() -> None:
    title = "alpha bravo charlie delta echo foxtrot golf hotel india juliet"  # 10 words, misses up to 6 of 10
    groups = candidate_groups(title)
    assert groups == [(w,) for w in ("charlie", "foxtrot", "juliet", "alpha", "bravo", "delta")]


TRACE = EXPORT_KEY_ERROR_OWN_FRAMES


def test_rewordings_of_one_crash_are_duplicates_by_their_trace_alone() -> None:
    first = Text(1, 1, "CSV export crashes with KeyError", "Exporting customers fails.\n" + TRACE)
    reworded = ("Customer download blows up", "Support says downloads die for archived accounts:\n" + TRACE)
    assert similarity(*reworded, first.title, first.description) < DUPLICATE_SIMILARITY
    found = likely_duplicate(*reworded, [first])
    assert found is not None and found.candidate == first
    assert found.likeness.trace == "KeyError at app/export.py:142"


def test_numbered_titles_stay_apart_even_with_one_trace() -> None:
    first = Text(1, 1, "Nightly run 7 failed", TRACE)
    assert likely_duplicate("Nightly run 8 failed", TRACE, [first]) is None


def test_the_similar_are_those_sharing_half_their_title_words_or_a_traces_error_and_file() -> None:
    alike = Text(1, 1, "Export fails for archived customers", "")
    related = Text(2, 2, "Totals wrong", TRACE.replace("line 142, in export_rows", "line 9, in totals"))
    unrelated = Text(3, 3, "Login fails on Safari", "")
    assert similarity("Export of archived customers crashes", "", alike.title, "") >= SIMILAR_SIMILARITY
    found = likeness_to("Export of archived customers crashes", TRACE.replace("88", "90"), [alike, related, unrelated])
    assert [m.candidate.id for m in found] == [1, 2]
    assert not any(m.likeness.duplicate for m in found)
