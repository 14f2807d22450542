"""Moving a ticket to another project, and the old slugs that keep finding it: scripts every engine runs alike.

A move locks both projects' rows, in the order of their ids, so that two moves between the same projects in
opposite directions queue instead of deadlocking. The ticket and its sub-tasks then take the target's next
numbers from its counter, as filing does, so numbers stay gap-free; each (project, number) they leave is kept
in `old_slugs`. A project never reuses a number, so an old slug never names another ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from tickets_mcp.domain import NewLabels, Relocation, Ticket, audit
from tickets_mcp.domain.clock import utc_now
from tickets_mcp.domain.rules import check_version
from tickets_mcp.errors import Conflict, Invalid, NotFound
from tickets_mcp.stores.port import Actor
from tickets_mcp.stores.sql.board import end_of_column
from tickets_mcp.stores.sql.connection import Connection, Row
from tickets_mcp.stores.sql.events import latest_changes, record
from tickets_mcp.stores.sql.projects import label_uses
from tickets_mcp.stores.sql.records import row_to_ticket
from tickets_mcp.stores.sql.ticket_reads import load_ticket


def moved_ticket(conn: Connection, project_id: str, number: int) -> Ticket | None:
    """The ticket that was number `number` of the project, wherever it is now."""
    row = conn.optional(
        conn.dialect.ticket_select
        + " WHERE t.id = (SELECT ticket_id FROM old_slugs WHERE project_id = ? AND number = ?)",
        (project_id, number),
    )
    return row_to_ticket(row) if row else None


# The slugs a ticket had (one parameter: the ticket's id), oldest first; rows for `slugs_from`.
OLD_SLUGS = """SELECT o.id, p.code, o.number FROM old_slugs o JOIN projects p ON p.id = o.project_id
               WHERE o.ticket_id = ? ORDER BY o.id"""


def slugs_from(rows: Sequence[Row]) -> tuple[str, ...]:
    """The slugs the ticket had in other projects, oldest first (those of projects deleted since are gone)."""
    return tuple(f"{code}-{number}" for _, code, number in sorted(rows))


def move_to_project(
    conn: Connection, ticket_id: int, project_id: str, expected_version: int | None, actor: Actor
) -> Relocation:
    found = conn.optional("SELECT project_id FROM tickets WHERE id = ?", (ticket_id,))
    if found is None:
        raise NotFound("The ticket no longer exists.", hint="It may have just been deleted; list tickets again.")
    source = str(found[0])
    projects = _lock_projects(conn, source, project_id)
    if project_id not in projects:
        raise NotFound("The project no longer exists.", hint="List projects again.")
    current = load_ticket(conn, ticket_id)
    if current.project_id != source:  # moved by another writer between the read and the lock (PostgreSQL)
        raise Conflict(f"{current.slug} was just moved by someone else.", hint="Read it again, then decide.")
    if source == project_id:
        raise Invalid("project", f"{current.slug} is already in {projects[source][1]}.", hint="Name another project.")
    check_version(current, expected_version, partial(latest_changes, conn, ticket_id))
    tree = [current, *_subtasks(conn, ticket_id)]
    last = int(
        conn.one(
            "UPDATE projects SET ticket_counter = ticket_counter + ? WHERE id = ? RETURNING ticket_counter",
            (len(tree), project_id),
        )[0]
    )
    now = utc_now()
    created: list[str] = []
    for number, before in enumerate(tree, start=last - len(tree) + 1):
        conn.execute(
            "INSERT INTO old_slugs (project_id, number, ticket_id) VALUES (?, ?, ?)",
            (source, before.number, before.id),
        )
        columns: dict[str, Any] = {
            "project_id": project_id,
            "number": number,
            "position": end_of_column(conn, project_id, before.status),
            "milestone_id": None,  # milestones are one project's
        }
        if before is current:
            columns["parent_id"] = None  # its parent stays: a sub-task is in its parent's project
        assignments = "".join(f"{name} = ?, " for name in columns)  # names from this function, never a caller's
        conn.execute(
            f"UPDATE tickets SET {assignments}version = version + 1, updated_at = ? WHERE id = ?",
            (*columns.values(), now, before.id),
        )
        if before.labels:
            conn.execute("DELETE FROM ticket_labels WHERE ticket_id = ?", (before.id,))
            new = conn.dialect.attach_labels(conn, before.id, project_id, [label.name for label in before.labels])
            created += [name for name in new if name not in created]
    organization_id = projects[source][0]
    moved = [load_ticket(conn, before.id) for before in tree]  # after every update: sub-tasks name new parents
    for before, after in zip(tree, moved, strict=True):
        for event in audit.ticket_moved_project(before, after, organization_id):
            record(conn, event, actor)
    ticket = moved[0]
    if created:
        had = [use for use in label_uses(conn, [project_id]).get(project_id, []) if use.name not in created]
        ticket = ticket.model_copy(update={"new_labels": NewLabels(names=tuple(created), had=tuple(had))})
    return Relocation(
        ticket=ticket,
        moved_from=current.slug,
        subtasks={before.slug: after.slug for before, after in zip(tree[1:], moved[1:], strict=True)},
        parent=current.parent,
        milestone=current.milestone,
    )


def _lock_projects(conn: Connection, *ids: str) -> dict[str, tuple[str, str]]:
    """Lock the projects' rows in the order of their ids (where the engine locks rows); their organization
    ids and codes, by id. The lock is the one filing takes, so a number drawn here stays the next one."""
    rows = conn.all(
        "SELECT id, organization_id, code FROM projects WHERE id IN (?, ?) ORDER BY id"
        + conn.dialect.locking("FOR NO KEY UPDATE"),
        ids,
    )
    return {str(row[0]): (str(row[1]), str(row[2])) for row in rows}


def _subtasks(conn: Connection, ticket_id: int) -> list[Ticket]:
    """Every sub-task under the ticket, at any depth, by number: the order they take their new numbers in."""
    rows = conn.all(
        f"""WITH RECURSIVE tree(id) AS (
               SELECT id FROM tickets WHERE parent_id = ?
               UNION ALL SELECT t.id FROM tickets t JOIN tree ON t.parent_id = tree.id)
           {conn.dialect.ticket_select} WHERE t.id IN (SELECT id FROM tree) ORDER BY t.number""",
        (ticket_id,),
    )
    return [row_to_ticket(row) for row in rows]
