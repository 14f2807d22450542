"""Planning on the board: a card's due day, open blockers and milestone; the milestone bar that filters the
board; a ticket's milestone, due day, estimate, time, links and time log.

Built with html.py like every page: milestone names, linked tickets' titles and time notes are `str`
children, so escaped. Lateness is said in words ("Overdue"), never by colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from tickets_mcp.domain import Link, Milestone, Ticket, TicketDetail, TimeEntry
from tickets_mcp.domain.dates import overdue
from tickets_mcp.domain.wording import LINK_NAMES, amount, status_name
from tickets_mcp.http.board.html import Child, Html, el
from tickets_mcp.http.board.urls import board_url, ticket_url

BLOCKERS_SHOWN = 3  # of a card's open blockers; the rest are counted
TIME_SHOWN = 20  # of a ticket's time entries, the latest


# A card


def late(ticket: Ticket, today: date) -> bool:
    return overdue(ticket.due_date, ticket.status, today)


def card_plan(ticket: Ticket, *, today: date, board_milestone: str | None) -> list[Html]:
    """What a card shows of its planning, when it has any: its due day (`Overdue` once past while open),
    its milestone (unless the board shows that milestone alone), and the open tickets blocking it."""
    chips: list[Html] = []
    if ticket.due_date:
        chips.append(_due(ticket, today))
    if ticket.milestone and ticket.milestone != board_milestone:
        chips.append(el("span", el("span", "Milestone ", class_="hidden-label"), ticket.milestone, class_="milestone"))
    parts = [el("div", chips, class_="plan")] if chips else []
    if ticket.blocked_by:
        shown = ticket.blocked_by[:BLOCKERS_SHOWN]
        blockers: list[Child] = []
        for index, slug in enumerate(shown):
            blockers += [", " if index else None, el("a", slug, href=ticket_url(slug))]
        if len(ticket.blocked_by) > len(shown):
            blockers.append(f" and {len(ticket.blocked_by) - len(shown)} more")
        parts.append(el("p", "Blocked by ", blockers, class_="blocked"))
    return parts


def _due(ticket: Ticket, today: date) -> Html:
    day = el("time", ticket.due_date, datetime=ticket.due_date)
    if late(ticket, today):
        return el("span", "Overdue: due ", day, class_="due overdue")
    if ticket.due_date == today.isoformat():
        return el("span", "Due today, ", day, class_="due today")
    return el("span", "Due ", day, class_="due")


# The milestone bar


def milestone_bar(reference: str, milestones: Sequence[Milestone], chosen: str | None, today: date) -> Html:
    """The project's open milestones with their progress, each a link to the board showing its tickets alone,
    and one back to all tickets; `chosen` is the milestone shown (a closed one is listed too, as closed)."""
    if not milestones and chosen is None:
        return Html("")
    items = [el("li", _choice("All tickets", board_url(reference), "milestone-all", current=chosen is None))]
    for milestone in milestones:
        link = _choice(
            milestone.name, board_url(reference, milestone.name), f"milestone-{milestone.id}",
            current=milestone.name == chosen,
        )  # fmt: skip
        items.append(el("li", link, " ", _progress(milestone, today)))
    if chosen is not None and all(milestone.name != chosen for milestone in milestones):
        link = _choice(chosen, board_url(reference, chosen), "milestone-chosen", current=True)
        items.append(el("li", link, " ", el("span", "closed", class_="muted")))
    shown = (
        el("p", "Showing only the tickets of milestone ", el("strong", chosen), ".", class_="muted")
        if chosen is not None
        else None
    )
    return el(
        "nav",
        el("h2", "Milestones", id="milestones-heading"),
        el("ul", items, class_="milestones"),
        shown,
        class_="milestone-bar",
        id="milestone-bar",
        aria_labelledby="milestones-heading",
    )


def _choice(name: str, url: str, id_: str, *, current: bool) -> Html:
    return el("a", name, href=url, id=id_, aria_current="page" if current else None)


def _progress(milestone: Milestone, today: date) -> Html:
    """`3 open, 5 done of 9; 2 overdue; due 2026-12-14` with a bar of the done share."""
    done, total = milestone.done_tickets, milestone.total_tickets
    words: list[Child] = [f"{milestone.open_tickets} open, {done} done of {total}"]
    if milestone.overdue_tickets:
        words += ["; ", el("span", f"{milestone.overdue_tickets} overdue", class_="overdue")]
    if milestone.due_date:
        past = milestone.due_date < today.isoformat() and milestone.open_tickets > 0
        words += ["; ", el("span", "past due ", class_="overdue") if past else "due ", milestone.due_date]
    bar = el("progress", value=done, max=max(total, 1), aria_hidden="true")  # the words say it for everyone
    return el("span", bar, " ", words, class_="progress")


# A ticket


def plan_facts(detail: TicketDetail, code: str, today: date) -> list[tuple[str, Child]]:
    """The ticket's planning among its facts, those it has: milestone, due day, open blockers, estimate, time."""
    ticket = detail.ticket
    facts: list[tuple[str, Child]] = []
    if ticket.milestone:
        facts.append(("Milestone", el("a", ticket.milestone, href=board_url(code, ticket.milestone))))
    if ticket.due_date:
        facts.append(("Due", _due(ticket, today)))
    if ticket.blocked_by:
        blockers: list[Child] = []
        for index, slug in enumerate(ticket.blocked_by):
            blockers += [", " if index else None, el("a", slug, href=ticket_url(slug), class_="slug")]
        facts.append(("Blocked by", el("span", blockers, class_="blocked")))
    if ticket.estimate is not None:
        facts.append(("Estimate", amount(ticket.estimate, detail.estimate_unit)))
    if ticket.spent or ticket.estimate is not None:
        facts.append(("Time spent", amount(ticket.spent)))
    return facts


def links_section(links: Sequence[Link]) -> Html:
    if not links:
        return Html("")
    rows = [
        el("li", el("span", LINK_NAMES[link.kind], class_="link-kind"), " ",
           el("a", link.slug, href=ticket_url(link.slug), class_="slug"), " ", link.title, " ",
           el("span", status_name(link.status), class_="muted"))
        for link in links
    ]  # fmt: skip
    return el("section", el("h2", f"Links ({len(links)})"), el("ul", rows, class_="links"), id="links")


def time_section(entries: Sequence[TimeEntry], spent: float) -> Html:
    if not entries:
        return Html("")
    shown = entries[-TIME_SHOWN:]
    count = f"latest {len(shown)} of {len(entries)}" if len(shown) < len(entries) else str(len(entries))
    rows = [
        el("li", el("time", entry.spent_on, datetime=entry.spent_on), " ", entry.user or "someone", " ",
           amount(entry.hours), (": ", entry.note) if entry.note else None)
        for entry in reversed(shown)
    ]  # fmt: skip
    heading = f"Time logged ({count}, newest first; {amount(spent)} in all)"
    return el("section", el("h2", heading), el("ul", rows, class_="time"), id="time")
