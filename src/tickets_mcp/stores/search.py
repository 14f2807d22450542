"""Full-text search, the same for both stores: which words a query asks for, and how each engine says it.

Text is cut into words at every character that is not a letter or a digit, the way SQLite's
`unicode61` tokenizer cuts it; PostgreSQL indexes the text with those characters replaced by spaces,
so both stores find the same tickets. A query's words must all appear, each as a word or the start
of one ("crash" finds "crashes"), in the title, the description or a comment; words in double quotes
must appear in that order. A word of one or two characters matches only as a whole word. A query with
no word at all (`%`, say) matches its text anywhere instead.

Every query's cost is bounded (issue 15: 32 one-letter prefixes took 23 s on SQLite): no prefix shorter
than PREFIX_MIN, at most QUERY_WORDS_MAX words, the caller's projects inside the index query, and a
time budget (TICKETS_SEARCH_BUDGET_MS) after which the page says it stopped short.

A listed ticket whose title does not hold every word says where the others are: a snippet of the
description or of a comment, a few words around the first hit, found here by the same rules.

Duplicate detection asks a different question: which open tickets share enough title words with a
new one, or the words of its stack trace's signature in their descriptions, to be worth comparing
(see `domain.similarity`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import NamedTuple

from tickets_mcp.domain import Snippet
from tickets_mcp.domain.signature import signature
from tickets_mcp.domain.similarity import SIMILAR_SIMILARITY, words
from tickets_mcp.environment import env
from tickets_mcp.errors import Invalid

ENV_SEARCH_BUDGET = "TICKETS_SEARCH_BUDGET_MS"
DEFAULT_SEARCH_BUDGET_MS = 1000  # a text search's time; ordinary ones take milliseconds (bench/search.py)
MAX_SEARCH_BUDGET_MS = 60_000
WORD = re.compile(r"[^\W_]+")
_PHRASE = re.compile(r'"([^"]*)"')
# Only so many words of a query take part: a pasted stack trace must not become a query of 500 terms.
# Each is one more index read; a sentence a person or model types needs fewer than 16 required words.
QUERY_WORDS_MAX = 16
# A word's start names at most this many words in a query (SQLite): FTS5 merges a prefix's matches into
# one list before the first is read (60 ms for a word in a third of 1M tickets, each time it is asked),
# while the words it names are read newest first and stop at the page. Each named word costs a look in every
# index segment (146 words: about 20 ms a read at 1M tickets); past this many, the prefix is merged.
COMPLETIONS_MAX = 256
# A shorter word matches only as a whole word: a one- or two-letter prefix stands for thousands of
# words, each read and merged before the first match, and narrows nothing. Three letters is what the
# SQLite prefix index holds, so a three-letter prefix is one index read.
PREFIX_MIN = 3
# A new title's longest words, in which a look-alike must share enough (see `candidate_groups`).
CANDIDATE_WORDS_MAX = 6
# The latest look-alike open tickets compared with a new one: retries and parallel agents file
# their twins within minutes of each other.
DUPLICATE_CANDIDATES = 20
# ... and those whose descriptions hold its stack trace's words, found among this many latest tickets of its
# project that hold the words, closed ones too (a title's are read from an index of open tickets only).
DUPLICATE_MATCHES = 100
# The index of open titles (SQLite's open_titles) keeps each project's tickets in a rowid range of their
# own: the project's number shifted past every ticket id (2^40, a trillion tickets).
PROJECT_SHIFT = 40
# Comments are indexed up to this many characters per ticket, on both stores (PostgreSQL's migration
# repeats the figure: a migration never changes once shipped).
COMMENTS_INDEXED = 100_000
# A relevance sort ranks this many of the newest matches; older ones follow, newest first. Ranking
# reads every ranked match's word positions: 35 ms for a word in 20,000 tickets.
RANKED_MAX = 2000
# The relevance weights: a word in the title counts most, then the description, then a comment; the
# SQLite index's fourth column holds the ticket's project, which only scopes.
BM25_WEIGHTS = "10.0, 4.0, 1.0, 0.0"
# A snippet's words around its first hit: about ten in all, enough to see what the words are about.
SNIPPET_BEFORE = 4
SNIPPET_AFTER = 6
# ... and at most this many characters of them, from at most SNIPPET_LEAD before the hit: a word may be
# a pasted blob of thousands of letters.
SNIPPET_CHARS_MAX = 120
SNIPPET_LEAD = 50


def search_budget() -> float:
    """Seconds a text search may run before it answers with what it found, from TICKETS_SEARCH_BUDGET_MS."""
    text = env(ENV_SEARCH_BUDGET, "").strip() or str(DEFAULT_SEARCH_BUDGET_MS)
    if not text.isdigit() or not 1 <= int(text) <= MAX_SEARCH_BUDGET_MS:
        raise Invalid(
            "search_budget", f"{ENV_SEARCH_BUDGET} must be 1-{MAX_SEARCH_BUDGET_MS} (milliseconds), not {text!r}."
        )
    return int(text) / 1000


class Text(NamedTuple):
    """A filed ticket's words, as duplicate detection compares them (a `similarity.Candidate`)."""

    id: int
    number: int
    title: str
    description: str


@dataclass(frozen=True, slots=True)
class SearchTerms:
    """What a text query asks for: phrases of one or more words, every one required; never empty.

    `completions` (SQLite, `SqliteDialect.complete`): for each phrase in order, the indexed words its last
    word starts, when there are few enough to name, else None; empty when not looked up."""

    phrases: tuple[tuple[str, ...], ...]
    completions: tuple[tuple[str, ...] | None, ...] = ()

    def completed(self) -> tuple[tuple[str, ...] | None, ...]:
        """`completions`, one for each phrase: None for every phrase when they were not looked up."""
        return self.completions or (None,) * len(self.phrases)


def search_terms(text: str) -> SearchTerms | None:
    """The words and quoted phrases of a query, or None when it holds no letter or digit."""
    phrases: list[tuple[str, ...]] = []
    for index, part in enumerate(_PHRASE.split(text)):
        found = tuple(word.lower() for word in WORD.findall(part))
        if index % 2:  # between quotes
            if found:
                phrases.append(found)
        else:
            phrases.extend((word,) for word in found)
    kept: list[tuple[str, ...]] = []
    count = 0
    for phrase in phrases:
        if count + len(phrase) > QUERY_WORDS_MAX:
            break
        kept.append(phrase)
        count += len(phrase)
    return SearchTerms(tuple(dict.fromkeys(kept))) if kept else None


Phrase = tuple[str, ...]


def unmatched(phrases: Sequence[Phrase], text: str) -> tuple[Phrase, ...]:
    """The phrases that `text` does not hold."""
    lowered = [word.lower() for word in WORD.findall(text)]
    return tuple(p for p in phrases if not any(_phrase_at(lowered, i, p) for i in range(len(lowered))))


def snippet(phrases: Sequence[Phrase], field: str, texts: Iterable[str]) -> Snippet | None:
    """The words around the first hit of any of `phrases` in the first of `texts` that holds one."""
    for text in texts:
        found = list(WORD.finditer(text))
        lowered = [match.group().lower() for match in found]
        for i in range(len(lowered)):
            hit = next((p for p in phrases if _phrase_at(lowered, i, p)), None)
            if hit is not None:
                return Snippet(field=field, text=_around(text, found, i, len(hit)))
    return None


def _phrase_at(lowered: Sequence[str], i: int, phrase: Phrase) -> bool:
    """Whether the words from `i` on are `phrase`, its last word as a prefix if long enough (as the index has it)."""
    if i + len(phrase) > len(lowered):
        return False
    *whole, last = phrase
    if any(lowered[i + k] != word for k, word in enumerate(whole)):
        return False
    word = lowered[i + len(whole)]
    return word == last or (len(last) >= PREFIX_MIN and word.startswith(last))


def _around(text: str, found: Sequence[re.Match[str]], i: int, length: int) -> str:
    first, last = i - SNIPPET_BEFORE, i + length - 1 + SNIPPET_AFTER
    start = found[first].start() if first > 0 else 0
    end = found[last].end() if last < len(found) - 1 else len(text)
    start = max(start, found[i].start() - SNIPPET_LEAD)
    end = min(end, start + SNIPPET_CHARS_MAX)
    return ("…" if text[:start].strip() else "") + text[start:end].strip() + ("…" if text[end:].strip() else "")


def _prefix(word: str, mark: str) -> str:
    return mark if len(word) >= PREFIX_MIN else ""


def fts5_match(terms: SearchTerms, project_ids: Sequence[str]) -> str:
    """An FTS5 MATCH expression in the given projects: every phrase, its last word as a prefix if long
    enough (or as the words it starts, when `terms.completions` names them). Words are letters and digits
    only."""
    return f"{fts5_projects(project_ids)} AND {fts5_words(terms)}"


def fts5_words(terms: SearchTerms) -> str:
    """The phrases of `terms` alone, in the columns of words: `{title description comments} : (…)`, or, when no
    phrase could be a project's word (the fourth column holds 32 hex digits), the same without the column
    filter, which costs bm25 a look at every match's columns (26 -> 12 ms for a word in 300k tickets)."""
    words = " AND ".join(_fts5_phrase(p, c) for p, c in zip(terms.phrases, terms.completed(), strict=True))
    if any(len(phrase) == 1 and _HEX.fullmatch(phrase[0]) for phrase in terms.phrases):
        return f"{{title description comments}} : ({words})"
    return f"({words})"


_HEX = re.compile(r"[0-9a-f]{1,32}")


def _fts5_phrase(phrase: Phrase, completions: tuple[str, ...] | None) -> str:
    if completions:
        return "(" + " OR ".join('"' + " ".join((*phrase[:-1], word)) + '"' for word in completions) + ")"
    return '"' + " ".join(phrase) + '"' + _prefix(phrase[-1], "*")


def completable(word: str) -> bool:
    """Whether a query's word is looked up among the indexed words it starts: a three-letter one is one read
    of the prefix index already."""
    return len(word) > PREFIX_MIN


def fts5_projects(project_ids: Sequence[str]) -> str:
    """`project : ("…" OR "…")`: the index holds each ticket's project id without its dashes, one word."""
    return "project : (" + " OR ".join(f'"{project_word(p)}"' for p in project_ids) + ")"


def project_word(project_id: str) -> str:
    """A project's id as the SQLite index holds it (the migration's `replace(project_id, '-', '')`)."""
    return project_id.replace("-", "").replace('"', "")


def tsquery(terms: SearchTerms) -> str:
    """The same words for PostgreSQL's to_tsquery: `(a:*) & (b <-> c:*)`."""
    return " & ".join(
        "(" + " <-> ".join((*phrase[:-1], phrase[-1] + _prefix(phrase[-1], ":*"))) + ")" for phrase in terms.phrases
    )


def candidate_groups(title: str) -> list[tuple[str, ...]]:
    """Sets of title words of which a look-alike title holds at least one set whole.

    A title with n words is similar enough (to be named beside it, let alone to be its duplicate) only
    if it shares `SIMILAR_SIMILARITY * n` of them, so it misses at most
    `m = n - ceil(SIMILAR_SIMILARITY * n)`; of any k chosen words it then holds at least k - m. The
    chosen words are the title's longest (the longer a word, the rarer it tends to be), and every
    (k - m)-subset of them is one group: an index answers "all of these" fast.
    """
    title_words = sorted(words(title), key=lambda w: (-len(w), w))
    if not title_words:
        return []
    n = len(title_words)
    misses = n - math.ceil(round(SIMILAR_SIMILARITY * n, 6))  # round: 0.6 * 5 is 3.0000000000000004
    chosen = title_words[:CANDIDATE_WORDS_MAX]
    need = max(1, len(chosen) - misses)
    return list(combinations(chosen, need))


def trace_groups(description: str) -> tuple[tuple[str, ...], ...]:
    """Sets of words of which the description of a report with the same stack trace holds one whole
    (see `Signature.word_groups`); none when the description holds no trace."""
    found = signature(description)
    return found.word_groups() if found else ()


def project_rowids(project_number: int) -> tuple[int, int]:
    """The first and last rowid of a project's open tickets in SQLite's open_titles."""
    first = project_number << PROJECT_SHIFT
    return first, first | ((1 << PROJECT_SHIFT) - 1)


def fts5_title_match(titles: Sequence[tuple[str, ...]]) -> str:
    """`("a" AND "b") OR ("c")`: an open title holding one of the groups whole (open_titles has no columns)."""
    return _any_of_all(titles, '"{}"', " AND ", " OR ")


def fts5_trace_match(traces: Sequence[tuple[str, ...]], project_id: str) -> str:
    """`project : ("…") AND description : ((…) OR (…))`: whole words in one project's descriptions, so
    another organization's traces cannot crowd the project's out."""
    groups = _any_of_all(traces, '"{}"', " AND ", " OR ")
    return f"{fts5_projects([project_id])} AND description : ({groups})"


def title_tsquery(titles: Sequence[tuple[str, ...]], project_id: str) -> str:
    """The title groups for PostgreSQL's index of open titles, whose words each start with their project's
    word (`ticket_title_words`): `(p1a & p1b) | (p1c)`."""
    return _any_of_all(titles, project_word(project_id) + "{}", " & ", " | ")


def trace_tsquery(traces: Sequence[tuple[str, ...]]) -> str:
    """The trace groups for PostgreSQL's `search`, where description words carry weight B: `(k:B & e:B)`."""
    return _any_of_all(traces, "{}:B", " & ", " | ")


def _any_of_all(groups: Sequence[tuple[str, ...]], word: str, both: str, either: str) -> str:
    return either.join("(" + both.join(word.format(w) for w in group) + ")" for group in groups)
