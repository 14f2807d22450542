"""When a new ticket is likely one already filed: how much its title and description share with another's.

Agents that retry or run in parallel file the same ticket twice, mostly with the same title and
often with reworded details. Two tickets are compared by the words they share (Jaccard overlap of
their word sets, small English function words left out): the title above all, the description when
both have one. Titles that number different things ("Bench ticket 7", "HTTP 502", "round 2 request 1"
against "round 1 request 2") are never alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from tickets_mcp.domain.models import Ticket
from tickets_mcp.errors import LikelyDuplicate

_WORD = re.compile(r"[^\W_]+")
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "its",
    "of", "on", "or", "that", "the", "this", "to", "was", "were", "when", "with",
})  # fmt: skip
# Titles sharing less than this are about different things, whatever the descriptions say.
TITLE_SIMILARITY = 0.6
# How alike a ticket must be to be returned instead of filing a new one.
DUPLICATE_SIMILARITY = 0.75
DESCRIPTION_WEIGHT = 0.4


def words(text: str) -> frozenset[str]:
    """The distinct words of a text, lower-cased, without function words."""
    return frozenset(word.lower() for word in _WORD.findall(text)) - STOPWORDS


def _numbers(text: str) -> tuple[str, ...]:
    """The words holding a digit, in order: "round 2 request 1" and "round 1 request 2" differ."""
    return tuple(word.lower() for word in _WORD.findall(text) if any(ch.isdigit() for ch in word))


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


class Candidate(Protocol):
    """What is compared of a filed ticket: a Ticket, or a row of just these."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...


C = TypeVar("C", bound=Candidate)


@dataclass(frozen=True, slots=True)
class _Words:
    numbers: tuple[str, ...]
    title: frozenset[str]
    description: frozenset[str]

    @classmethod
    def of(cls, title: str, description: str) -> _Words:
        return cls(_numbers(title), words(title), words(description))

    def likeness(self, other: _Words) -> float:
        if self.numbers and other.numbers and self.numbers != other.numbers:
            return 0.0
        alike = _overlap(self.title, other.title)
        if alike < TITLE_SIMILARITY or not self.description or not other.description:
            return alike
        return (1 - DESCRIPTION_WEIGHT) * alike + DESCRIPTION_WEIGHT * _overlap(self.description, other.description)


def similarity(title: str, description: str, other_title: str, other_description: str) -> float:
    """From 0 (nothing in common) to 1 (the same words)."""
    return _Words.of(title, description).likeness(_Words.of(other_title, other_description))


def likely_duplicate(title: str, description: str, candidates: Iterable[C]) -> tuple[C, float] | None:
    """The most alike of `candidates`, if alike enough to be the same ticket; ties go to the oldest."""
    new = _Words.of(title, description)
    best: tuple[C, float] | None = None
    for candidate in candidates:
        score = new.likeness(_Words.of(candidate.title, candidate.description))
        if score >= DUPLICATE_SIMILARITY and (
            best is None or score > best[1] or (score == best[1] and candidate.id < best[0].id)
        ):
            best = (candidate, score)
    return best


def look_alike(ticket: Ticket, score: float) -> LikelyDuplicate:
    """The refusal to file a ticket that looks like `ticket`, an open one."""
    return LikelyDuplicate(
        f"Not filed: it looks like {ticket.slug} ({ticket.status.value}, {score:.0%} alike).",
        hint=f"If it is the same, comment on {ticket.slug}; if not, file it again with not_duplicate=true.",
        current=ticket.model_dump(mode="json"),
        similarity=score,
    )


def unreadable_look_alike(slug: str, score: float) -> LikelyDuplicate:
    """The refusal for a caller that may file but not read the look-alike (a project token): which ticket,
    nothing of what it says, and no likeness figure to steer guesses at its words by."""
    return LikelyDuplicate(
        f"Not filed: it looks like {slug}, an open ticket you may not read.",
        hint="If it is the same, it is filed already; if not, file it again with not_duplicate=true.",
        current=None,
        similarity=score,
    )
