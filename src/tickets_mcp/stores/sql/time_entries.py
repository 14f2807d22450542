"""Time spent on tickets: each entry a row of `time_entries`, their sum the ticket's `spent`."""

from __future__ import annotations

from tickets_mcp.domain import Ticket, TimeEntry, audit
from tickets_mcp.domain.clock import utc_now
from tickets_mcp.errors import Invalid
from tickets_mcp.stores.port import Actor, NewTimeEntry
from tickets_mcp.stores.sql.connection import Connection, Row
from tickets_mcp.stores.sql.events import record
from tickets_mcp.stores.sql.tickets import lock_ticket

_SELECT = """SELECT e.id, u.username, e.hours, e.spent_on, e.note, e.created_at FROM time_entries e
               LEFT JOIN users u ON u.id = e.user_id WHERE e.ticket_id = ?"""
# A ticket's time entries, the earliest day's first, then in the order they were logged (one parameter: the
# ticket's id); rows for `entry_of`, whose `order` sorts them so again.
OF_TICKET = _SELECT + " ORDER BY e.spent_on, e.id"


def entry_of(row: Row, ticket: Ticket) -> TimeEntry:
    return TimeEntry(
        id=row[0], ticket_slug=ticket.slug, user=row[1], hours=row[2], spent_on=row[3], note=row[4], created_at=row[5]
    )


def order(row: Row) -> tuple[str, int]:
    return row[3], row[0]


def _entry(conn: Connection, ticket: Ticket, entry_id: int) -> TimeEntry:
    return entry_of(conn.one(_SELECT + " AND e.id = ?", (ticket.id, entry_id)), ticket)


def log_time(conn: Connection, ticket_id: int, entry: NewTimeEntry, actor: Actor) -> TimeEntry:
    """Record the entry and add it to the ticket's `spent`: time is no edit of the ticket, so its version stays."""
    if not entry.hours > 0:
        raise Invalid("hours", f"Time spent is a positive number of hours, not {entry.hours:g}.", hint="E.g. 1.5.")
    ticket, organization_id = lock_ticket(conn, ticket_id)
    now = utc_now()
    row = conn.one(
        "INSERT INTO time_entries (ticket_id, user_id, hours, spent_on, note, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (ticket_id, actor.user_id, entry.hours, entry.spent_on, entry.note, now),
    )
    conn.execute("UPDATE tickets SET spent = spent + ?, updated_at = ? WHERE id = ?", (entry.hours, now, ticket_id))
    entry_id = int(row[0])
    record(conn, audit.time_logged(ticket, organization_id, entry_id, entry.hours, entry.spent_on), actor)
    return _entry(conn, ticket, entry_id)
