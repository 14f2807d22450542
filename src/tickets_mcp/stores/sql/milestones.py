"""Milestones: a project's iterations, versions or sprints, with their tickets' progress.

A milestone's writes lock its project's row first (where the engine locks rows), as ticket writes do, so a
name checked free stays free and the open tickets counted when closing one are those it is closed with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tickets_mcp.domain import Milestone, Project, audit
from tickets_mcp.domain.clock import utc_now, utc_today
from tickets_mcp.domain.planning import closing_refused
from tickets_mcp.domain.rules import plural
from tickets_mcp.errors import Conflict, Invalid, NotFound
from tickets_mcp.stores.port import Actor, MilestoneFields, OpenTickets, TicketPatch
from tickets_mcp.stores.sql.connection import Connection
from tickets_mcp.stores.sql.events import record
from tickets_mcp.stores.sql.projects import load_project, lock_project
from tickets_mcp.stores.sql.records import CLOSED_SQL
from tickets_mcp.stores.sql.tickets import update_ticket

# Each milestone with its tickets' counts; the first parameter is today (YYYY-MM-DD), for overdue ones: open,
# and past their own due date or, without one, past the milestone's. Then WHERE, then _GROUPED.
_SELECT = f"""
SELECT m.id, m.project_id, m.name, m.start_date, m.due_date, m.closed,
       COALESCE(SUM(CASE WHEN t.status NOT IN {CLOSED_SQL} THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN t.status = 'done' THEN 1 ELSE 0 END), 0),
       COUNT(t.id),
       COALESCE(SUM(CASE WHEN t.status NOT IN {CLOSED_SQL} AND COALESCE(t.due_date, m.due_date) < ?
                         THEN 1 ELSE 0 END), 0)
FROM milestones m LEFT JOIN tickets t ON t.milestone_id = m.id
"""
_GROUPED = " GROUP BY m.id, m.project_id, m.name, m.start_date, m.due_date, m.closed"


def _milestone(row: Sequence[Any]) -> Milestone:
    return Milestone(
        id=row[0],
        project_id=row[1],
        name=row[2],
        start_date=row[3],
        due_date=row[4],
        closed=bool(row[5]),
        open_tickets=row[6],
        done_tickets=row[7],
        total_tickets=row[8],
        overdue_tickets=row[9],
    )


def load_milestone(conn: Connection, milestone_id: int) -> Milestone:
    row = conn.optional(_SELECT + " WHERE m.id = ?" + _GROUPED, (utc_today(), milestone_id))
    if row is None:
        raise NotFound("The milestone no longer exists.", hint="List the project's milestones again.")
    return _milestone(row)


def list_milestones(conn: Connection, project_id: str, *, closed: bool) -> list[Milestone]:
    """Open ones by due date (none last), then name; with `closed`, the closed ones after, in the same order."""
    where = "m.project_id = ?" if closed else "m.project_id = ? AND NOT m.closed"
    order = f"m.closed, CASE WHEN m.due_date IS NULL THEN 1 ELSE 0 END, m.due_date, {conn.dialect.by_name('m.name')}"
    rows = conn.all(f"{_SELECT} WHERE {where} {_GROUPED} ORDER BY {order}", (utc_today(), project_id))
    return [_milestone(row) for row in rows]


def find_milestone(conn: Connection, project_id: str, name: str, *, progress: bool = True) -> Milestone | None:
    where = f"m.project_id = ? AND {conn.dialect.same_name('m.name')}"
    if not progress:
        plain = f"SELECT m.id, m.project_id, m.name, m.start_date, m.due_date, m.closed FROM milestones m WHERE {where}"
        found = conn.optional(plain, (project_id, name))
        return _milestone((*found, 0, 0, 0, 0)) if found is not None else None
    row = conn.optional(f"{_SELECT} WHERE {where} {_GROUPED}", (utc_today(), project_id, name))
    return _milestone(row) if row is not None else None


def create_milestone(conn: Connection, project_id: str, fields: MilestoneFields, actor: Actor) -> Milestone:
    if not fields.name:
        raise Invalid("name", "A milestone needs a name.", hint="Name it, e.g. `Sprint 12` or `v2.0`.")
    lock_project(conn, project_id)
    project = load_project(conn, project_id, counts=False)
    _check_name_free(conn, project, fields.name, None)
    start, due = (None if fields.clear_start else fields.start_date), (None if fields.clear_due else fields.due_date)
    _check_dates(start, due)
    row = conn.one(
        """INSERT INTO milestones (project_id, name, start_date, due_date, closed, created_at)
           VALUES (?, ?, ?, ?, ?, ?) RETURNING id""",
        (project_id, fields.name, start, due, bool(fields.closed), utc_now()),
    )
    created = load_milestone(conn, int(row[0]))
    record(conn, audit.milestone_created(project, created), actor)
    return created


def update_milestone(
    conn: Connection, milestone_id: int, fields: MilestoneFields, actor: Actor, open_tickets: OpenTickets | None
) -> Milestone:
    project_id = load_milestone(conn, milestone_id).project_id
    lock_project(conn, project_id)
    current = load_milestone(conn, milestone_id)  # as of the lock
    project = load_project(conn, project_id, counts=False)
    name = fields.name or current.name
    if name != current.name:
        _check_name_free(conn, project, name, current.id)
    start = None if fields.clear_start else fields.start_date or current.start_date
    due = None if fields.clear_due else fields.due_date or current.due_date
    _check_dates(start, due)
    closed = current.closed if fields.closed is None else fields.closed
    became = None
    if closed and not current.closed and current.open_tickets:
        became = _close_with_open_tickets(conn, current, open_tickets, actor)
    conn.execute(
        "UPDATE milestones SET name = ?, start_date = ?, due_date = ?, closed = ? WHERE id = ?",
        (name, start, due, closed, milestone_id),
    )
    updated = load_milestone(conn, milestone_id)
    event = audit.milestone_updated(project, current, updated, became)
    if event is not None:
        record(conn, event, actor)
    return updated


def _close_with_open_tickets(conn: Connection, milestone: Milestone, choice: OpenTickets | None, actor: Actor) -> str:
    """Do with the open tickets of `milestone`, which is being closed, what `choice` says; what became of them."""
    if choice is None:
        raise closing_refused(milestone.name, milestone.open_tickets)
    if choice.keep:
        return "kept"
    target = None
    if choice.to is not None:
        target = load_milestone(conn, choice.to)
        if target.project_id != milestone.project_id or target.id == milestone.id or target.closed:
            raise Invalid(
                "open_tickets",
                f"The open tickets of {milestone.name!r} can move only to another open milestone of its project.",
                hint="List the project's milestones, and name an open one.",
            )
    moved = conn.all(
        f"SELECT id FROM tickets WHERE milestone_id = ? AND status NOT IN {CLOSED_SQL} ORDER BY id", (milestone.id,)
    )
    for (ticket_id,) in moved:
        # As an edit of each ticket: its version moves on and its history shows the milestone it left.
        update_ticket(conn, int(ticket_id), TicketPatch({"milestone_id": choice.to}), None, actor)
    count = plural(milestone.open_tickets, "open ticket")
    return f"{count} moved to {target.name}" if target is not None else f"{count} taken out of it"


def _check_name_free(conn: Connection, project: Project, name: str, exclude_id: int | None) -> None:
    row = conn.optional(
        f"SELECT name FROM milestones WHERE project_id = ? AND {conn.dialect.same_name('name')} "
        "AND id IS DISTINCT FROM ?",
        (project.id, name, exclude_id),
    )
    if row is not None:
        raise Conflict(
            f"Project {project.code} has a milestone named {row[0]!r} already.",
            hint="Choose another name, or update that milestone.",
        )


def _check_dates(start: str | None, due: str | None) -> None:
    if start is not None and due is not None and due < start:
        raise Invalid("due_date", f"The due date {due} is before the start date {start}.", hint="Swap or fix them.")
