"""The pure rules behind search and duplicate detection: how alike two tickets are, which words a query
asks for, and which index queries find look-alike candidates."""

from __future__ import annotations

import pytest

from tickets_mcp.domain.similarity import DUPLICATE_SIMILARITY, TITLE_SIMILARITY, similarity, words
from tickets_mcp.stores.search import (
    QUERY_WORDS_MAX,
    SearchTerms,
    candidate_groups,
    fts5_match,
    fts5_title_match,
    search_terms,
    title_tsquery,
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
    assert fts5_match(terms, ["p-1"]) == (
        'project : ("p1") AND {title description comments} : ("crash"* AND "fails on" AND "ui" AND "on ios"*)'
    )
    assert tsquery(terms) == "(crash:*) & (fails <-> on) & (ui) & (on <-> ios:*)"


def test_candidates_must_hold_enough_of_the_new_titles_longest_words() -> None:
    # 3 words: a look-alike shares at least 2 of them (0.6 of 3, rounded up), so it misses at most 1.
    assert candidate_groups("Login fails on Safari") == [("safari", "fails"), ("safari", "login"), ("fails", "login")]
    assert fts5_title_match([("a", "b"), ("c",)], "p-1") == 'project : ("p1") AND title : (("a" AND "b") OR ("c"))'
    assert title_tsquery([("a", "b"), ("c",)]) == "(a:A & b:A) | (c:A)"
    assert candidate_groups("the a an") == []


def test_a_long_title_needs_fewer_of_its_six_longest_words() -> None:
    title = "alpha bravo charlie delta echo foxtrot golf hotel india juliet"  # 10 words, misses up to 4
    groups = candidate_groups(title)
    assert all(len(group) == 2 for group in groups)
    assert len(groups) == 15  # pairs of the six longest
