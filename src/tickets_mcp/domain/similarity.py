"""When a new ticket is likely one already filed: how much its title and description share with another's.

Agents that retry or run in parallel file the same ticket twice, mostly with the same title and
often with reworded details. Two tickets are compared by the words they share (Jaccard overlap of
their word sets, small English function words left out): the title above all, the description when
both have one. Bug reports that paste a stack trace are alike, whatever their words, when their traces
match (`signature.Signature.matches`): rewordings of one crash share little but the trace. Titles that
number different things ("Bench ticket 7", "HTTP 502", "round 2 request 1" against "round 1 request 2")
are never alike.

A ticket filed anyway names the open tickets most like it (`SIMILAR_SIMILARITY`), so an agent can link
or undo it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, NamedTuple, Protocol, TypeVar

from tickets_mcp.domain.models import Ticket
from tickets_mcp.domain.signature import Signature, signature
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
# How alike an open ticket must be to be named beside a new one. At 0.4 titles of four or five words must
# share three of them (3 of 5 distinct words is 0.6, 3 of 7 is 0.43): "Export fails for archived
# customers" and "Export of archived customers crashes", the same subject. Two words in common (0.25 to
# 0.33) are often incidental ("login", "fails") and would name unrelated tickets in every reply.
SIMILAR_SIMILARITY = 0.4
SIMILAR_SHOWN = 3


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


class Likeness(NamedTuple):
    """How alike two tickets are: their words' score, and the trace they share (`KeyError at app/x.py:9`)."""

    score: float
    trace: str | None = None

    @property
    def duplicate(self) -> bool:
        return self.trace is not None or self.score >= DUPLICATE_SIMILARITY


@dataclass(frozen=True, slots=True)
class _Words:
    numbers: tuple[str, ...]
    title: frozenset[str]
    description: frozenset[str]
    signature: Signature | None

    @classmethod
    def of(cls, title: str, description: str) -> _Words:
        return cls(_numbers(title), words(title), words(description), signature(description))

    def likeness(self, title: str, description: str) -> Likeness:
        """How alike another ticket is; its description's words and trace are read only when they count
        (two thirds of a create's comparing time went to descriptions of titles too different to matter)."""
        numbers = _numbers(title)
        if self.numbers and numbers and self.numbers != numbers:
            return Likeness(0.0)
        alike = _overlap(self.title, words(title))
        if alike >= TITLE_SIMILARITY and self.description and (theirs := words(description)):
            alike = (1 - DESCRIPTION_WEIGHT) * alike + DESCRIPTION_WEIGHT * _overlap(self.description, theirs)
        if self.signature and (trace := signature(description)):
            if self.signature.matches(trace):
                return Likeness(alike, self.signature.shown)
            if self.signature.related(trace):
                return Likeness(max(alike, SIMILAR_SIMILARITY))
        return Likeness(alike)


def similarity(title: str, description: str, other_title: str, other_description: str) -> float:
    """From 0 (nothing in common) to 1 (the same words)."""
    return _Words.of(title, description).likeness(other_title, other_description).score


class Match(NamedTuple, Generic[C]):
    candidate: C
    likeness: Likeness


def _rank(match: Match[C]) -> tuple[bool, float, int]:
    """Duplicates first, then the most alike; ties go to the oldest."""
    return (match.likeness.duplicate, match.likeness.score, -match.candidate.id)


def likeness_to(title: str, description: str, candidates: Iterable[C]) -> list[Match[C]]:
    """The candidates at least SIMILAR_SIMILARITY alike (or sharing the trace), most alike first."""
    new = _Words.of(title, description)
    found = [Match(c, new.likeness(c.title, c.description)) for c in candidates]
    return sorted(
        (m for m in found if m.likeness.duplicate or m.likeness.score >= SIMILAR_SIMILARITY), key=_rank, reverse=True
    )


def likely_duplicate(title: str, description: str, candidates: Iterable[C]) -> Match[C] | None:
    """The most alike of `candidates`, if alike enough to be the same ticket; ties go to the oldest."""
    alike = likeness_to(title, description, candidates)
    return alike[0] if alike and alike[0].likeness.duplicate else None


@dataclass(frozen=True, slots=True)
class Filed:
    """A ticket just filed, and the slugs of the open tickets most like it (at most SIMILAR_SHOWN)."""

    ticket: Ticket
    similar: tuple[str, ...] = ()


def look_alike(ticket: Ticket, likeness: Likeness) -> LikelyDuplicate:
    """The refusal to file a ticket that looks like `ticket`, an open one."""
    why = f"same «{likeness.trace}»" if likeness.trace else f"{likeness.score:.0%} alike"
    return LikelyDuplicate(
        f"Not filed: it looks like {ticket.slug} ({ticket.status.value}, {why}).",
        hint=f"If it is the same, comment on {ticket.slug}; if not, file it again with not_duplicate=true.",
        current=ticket.model_dump(mode="json"),
        similarity=likeness.score,
        trace=likeness.trace,
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
