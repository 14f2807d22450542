"""Planning as compact text: a ticket's due date and blockers on its row, its links, milestone, estimate and
time in get_ticket, and milestones with their progress."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from tickets_mcp.domain import CLOSED_STATUSES, EstimateUnit, Linked, Milestone, Ticket, TicketDetail
from tickets_mcp.domain.dates import today_utc
from tickets_mcp.mcp.markers import title, user_text

TIME_SHOWN = 5  # of a ticket's time entries in get_ticket, the latest
BLOCKERS_SHOWN = 3  # of a row's open blockers, by slug


def plan_marks(ticket: Ticket) -> list[str]:
    """What a ticket's row adds when it has them: its due date in days from today (`due:+3d`, `due:today`,
    `overdue:2d` once past and open; get_ticket shows the date) and `blocked:WEB-1,WEB-2`, each naming itself,
    so a row without them costs nothing. A closed ticket's row shows neither: they no longer plan anything."""
    marks: list[str] = []
    if ticket.status in CLOSED_STATUSES:
        return marks
    if ticket.due_date:
        marks.append(due_mark(ticket.due_date))
    if ticket.blocked_by:
        more = f"+{len(ticket.blocked_by) - BLOCKERS_SHOWN}" if len(ticket.blocked_by) > BLOCKERS_SHOWN else ""
        marks.append("blocked:" + ",".join(ticket.blocked_by[:BLOCKERS_SHOWN]) + more)
    return marks


def due_mark(due: str) -> str:
    try:
        days = (date.fromisoformat(due) - today_utc()).days
    except ValueError:
        return "due:" + due  # a remote tracker's odd date, as it is
    if days < 0:
        return f"overdue:{-days}d"
    return "due:today" if days == 0 else f"due:{days:+d}d"


def amount(value: float, unit: EstimateUnit) -> str:
    return f"{value:g}h" if unit is EstimateUnit.HOURS else f"{value:g}pt"


def planning_lines(detail: TicketDetail, unit: EstimateUnit) -> list[str]:
    """get_ticket's planning: one line of its fields, then its links and its latest time, when it has them."""
    t = detail.ticket
    fields: list[str] = []
    if t.milestone:
        fields.append("milestone=" + title(t.milestone))
    if t.due_date:
        fields.append(f"due={t.due_date}")
    if t.estimate is not None:
        fields.append("estimate=" + amount(t.estimate, unit))
    if t.spent:
        fields.append(f"spent={t.spent:g}h")
    lines = [" ".join(fields)] if fields else []
    if detail.links:
        lines.append(f"links ({len(detail.links)}):")
        lines.extend(
            f"  {link.kind.value} {link.slug} {link.status.value}: {title(link.title)}" for link in detail.links
        )
    if detail.time_entries:
        shown = detail.time_entries[-TIME_SHOWN:]
        count = len(detail.time_entries)
        head = f"time ({count} {'entry' if count == 1 else 'entries'}"
        lines.append(head + (f", the latest {len(shown)}):" if len(shown) < count else "):"))
        for entry in shown:
            note = ": " + user_text(entry.note) if entry.note else ""
            lines.append(f"  {entry.spent_on} {entry.user or 'unknown'} {entry.hours:g}h{note}")
    return lines


def linked(result: Linked) -> str:
    """link_tickets' answer: the ticket's links now (and its status, when marking it a duplicate closed it)."""
    t = result.ticket
    head = f"{t.slug} ({t.status.value}, version {t.version})"
    if not result.links:
        return head + " has no links."
    return head + " links: " + "; ".join(f"{link.kind} {link.slug}" for link in result.links) + "."


def milestone_line(m: Milestone) -> str:
    """`«Sprint 12» open 2026-12-01..2026-12-14: 3 open, 5 done of 9; 2 overdue`."""
    line = f"{title(m.name)} {'closed' if m.closed else 'open'}"
    if m.start_date and m.due_date:
        line += f" {m.start_date}..{m.due_date}"
    elif m.start_date or m.due_date:
        line += f" from {m.start_date}" if m.start_date else f" due {m.due_date}"
    line += f": {m.open_tickets} open, {m.done_tickets} done of {m.total_tickets}"
    if m.overdue_tickets:
        line += f"; {m.overdue_tickets} overdue"
    if not m.closed and m.due_date and m.due_date < today_utc().isoformat() and m.open_tickets:
        line += "; PAST DUE"
    return line


def milestones(items: Sequence[Milestone]) -> str:
    if not items:
        return "No milestones. save_milestone creates one."
    return "\n".join(milestone_line(m) for m in items)
