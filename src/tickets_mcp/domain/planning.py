"""Planning rules every tracker words the same, local or remote: what closing a milestone that still holds open
tickets needs to be told, and which link calls no tracker can make."""

from __future__ import annotations

from tickets_mcp.domain.enums import LinkKind
from tickets_mcp.domain.rules import plural
from tickets_mcp.errors import Invalid

KEEP = "keep"  # open_tickets: leave them in the closed milestone


def closing_refused(milestone: str, open_tickets: int) -> Invalid:
    """Closing `milestone` while it holds `open_tickets` open tickets, without saying what becomes of them."""
    return Invalid(
        "open_tickets",
        f"Milestone {milestone!r} still holds {plural(open_tickets, 'open ticket')}, so closing it needs to know "
        "what becomes of them.",
        hint=f"Send open_tickets: {KEEP} (to keep them in it), none (to take them out of any milestone), or another "
        "open milestone's name (to move them to another milestone).",
    )


def self_link(slug: str) -> Invalid:
    """Linking a ticket to itself, however the two were spelt."""
    return Invalid("other", f"{slug} cannot be linked to itself.", hint="Name another ticket.")


def check_link(slug: str, kind: LinkKind, other: str, *, unlink: bool, close_as_duplicate: bool) -> None:
    """Refuse what no tracker links: a ticket to itself, or a close that does not come with a `duplicates` link."""
    if slug == other:
        raise self_link(slug)
    if close_as_duplicate and (kind is not LinkKind.DUPLICATES or unlink):
        raise Invalid(
            "close_as_duplicate",
            "Only linking a ticket as a duplicate of another (kind duplicates) closes it.",
            hint=f"Link {slug} duplicates {other} to close it, or leave the close out.",
        )
