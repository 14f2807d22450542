"""Ticket writes for PostgreSQL: plain functions over a connection, called inside a write transaction.

Every write on a project's tickets first locks the project's row (`FOR NO KEY UPDATE`, the lock the
ticket counter's UPDATE takes too), so writers on one project queue as they do on SQLite's single
writer: a version check, a column's positions and the next number stay true until the commit.
`NO KEY` leaves foreign-key checks that point at the project (a ticket inserted elsewhere) unblocked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import sql

from tickets_mcp.domain import Status, Ticket, TicketDeletion
from tickets_mcp.domain.rules import check_version, label_color
from tickets_mcp.domain.similarity import likely_duplicate, look_alike
from tickets_mcp.errors import Invalid, NotFound
from tickets_mcp.stores.port import Actor, NewTicket, Placement, TicketPatch
from tickets_mcp.stores.postgres.board import end_of_column, position_next_to
from tickets_mcp.stores.postgres.db import Connection, execute, fetch_all, fetch_one, fetch_optional
from tickets_mcp.stores.postgres.events import record_event
from tickets_mcp.stores.postgres.listing import look_alikes
from tickets_mcp.stores.postgres.rows import load_ticket
from tickets_mcp.stores.rules import (
    PATCH_COLUMNS,
    POSITION_STEP,
    audit_diff,
    changed_columns,
    key_expiry,
    key_owner,
    labels_changed,
    replayed,
    request_digest,
    status_columns,
    utc_now,
)


async def lock_ticket(conn: Connection, ticket_id: int) -> tuple[Ticket, str]:
    """Lock the ticket's project, then read the ticket; returns it with its organization id."""
    row = await fetch_optional(
        conn,
        """SELECT organization_id FROM projects WHERE id = (SELECT project_id FROM tickets WHERE id = %s)
           FOR NO KEY UPDATE""",
        (ticket_id,),
    )
    if row is None:
        raise NotFound("The ticket no longer exists.", hint="It may have just been deleted; list tickets again.")
    return await load_ticket(conn, ticket_id), str(row[0])


async def _set_labels(conn: Connection, ticket_id: int, project_id: str, labels: Sequence[str]) -> None:
    """Replace the ticket's labels, creating the project's labels it lacks (matched case-insensitively)."""
    await execute(conn, "DELETE FROM ticket_labels WHERE ticket_id = %s", (ticket_id,))
    if not labels:
        return
    await execute(
        conn,
        """INSERT INTO labels (project_id, name, color)
           SELECT %s, name, color FROM unnest(%s::text[], %s::text[]) AS new(name, color)
           ON CONFLICT DO NOTHING""",
        (project_id, list(labels), [label_color(name) for name in labels]),
    )
    await execute(
        conn,
        """INSERT INTO ticket_labels (ticket_id, label_id)
           SELECT %s, id FROM labels
           WHERE project_id = %s
             AND lower(name) IN (SELECT lower(wanted COLLATE "C") FROM unnest(%s::text[]) AS wanted)
           ON CONFLICT DO NOTHING""",
        (ticket_id, project_id, list(labels)),
    )


async def create_ticket(conn: Connection, new: NewTicket, actor: Actor) -> Ticket:
    if new.idempotency_key is None:
        return await _create_ticket(conn, new, actor)
    owner = key_owner(actor)
    # Twins sent at once queue on this lock; the second then sees the first's committed row.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{owner}\x1f{new.idempotency_key}",))
    await conn.execute("DELETE FROM idempotency_keys WHERE created_at < %s", (key_expiry(),))
    found = await fetch_optional(
        conn, "SELECT request, ticket FROM idempotency_keys WHERE owner = %s AND key = %s", (owner, new.idempotency_key)
    )
    if found is not None:
        return replayed(found[0], found[1], new)
    ticket = await _create_ticket(conn, new, actor)
    await conn.execute(
        "INSERT INTO idempotency_keys (owner, key, request, ticket, created_at) VALUES (%s, %s, %s, %s, %s)",
        (owner, new.idempotency_key, request_digest(new), ticket.model_dump_json(), ticket.created_at),
    )
    return ticket


async def _create_ticket(conn: Connection, new: NewTicket, actor: Actor) -> Ticket:
    counter = await fetch_optional(
        conn,
        "UPDATE projects SET ticket_counter = ticket_counter + 1 WHERE id = %s "
        "RETURNING ticket_counter, code, organization_id",
        (new.project_id,),
    )
    if counter is None:
        raise NotFound("The project no longer exists.", hint="List projects again.")
    number, code, organization_id = int(counter[0]), str(counter[1]), str(counter[2])
    # After the project's counter: a look-alike filed at the same moment has committed by now.
    if new.check_duplicates and (found := likely_duplicate(new.title, new.description, await look_alikes(conn, new))):
        raise look_alike(await load_ticket(conn, found[0].id), found[1])
    if new.parent_id is not None:
        parent = await fetch_optional(conn, "SELECT project_id FROM tickets WHERE id = %s", (new.parent_id,))
        if parent is None or parent[0] != new.project_id:
            raise NotFound("The parent ticket no longer exists.", hint="It may have just been deleted.")
    now = utc_now()
    closing = status_columns(None, new.status, actor, now)
    row = await fetch_one(
        conn,
        """INSERT INTO tickets (project_id, number, type, title, description, status, priority,
                                assignee_id, reporter_id, parent_id, position, version,
                                created_at, updated_at, closed_at, closed_by_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s, %s, %s, %s)
           RETURNING id""",
        (
            new.project_id,
            number,
            new.type.value,
            new.title,
            new.description,
            new.status.value,
            new.priority.rank,
            new.assignee_id,
            new.reporter_id,
            new.parent_id,
            await end_of_column(conn, new.project_id, new.status),
            now,
            now,
            closing.get("closed_at"),
            closing.get("closed_by_id"),
        ),
    )
    ticket_id = int(row[0])
    await _set_labels(conn, ticket_id, new.project_id, new.labels)
    await record_event(
        conn,
        action="ticket.created",
        subject=f"{code}-{number}",
        actor=actor,
        organization_id=organization_id,
        project_id=new.project_id,
        ticket_id=ticket_id,
        changes={"title": new.title, "status": new.status.value},
    )
    return await load_ticket(conn, ticket_id)


async def _commit_change(
    conn: Connection, current: Ticket, organization_id: str, columns: Mapping[str, Any], action: str, actor: Actor
) -> Ticket:
    assignments = sql.SQL("").join(sql.SQL("{} = %s, ").format(sql.Identifier(name)) for name in columns)
    await execute(
        conn,
        sql.SQL("UPDATE tickets SET {}version = version + 1, updated_at = %s WHERE id = %s").format(assignments),
        (*columns.values(), utc_now(), current.id),
    )
    updated = await load_ticket(conn, current.id)
    await record_event(
        conn,
        action=action,
        subject=current.slug,
        actor=actor,
        organization_id=organization_id,
        project_id=current.project_id,
        ticket_id=current.id,
        changes=audit_diff(current, updated),
    )
    return updated


async def update_ticket(
    conn: Connection, ticket_id: int, patch: TicketPatch, expected_version: int | None, actor: Actor
) -> Ticket:
    """Apply the fields that differ; a patch that changes nothing leaves version and history alone."""
    current, organization_id = await lock_ticket(conn, ticket_id)
    check_version(current, expected_version)
    stored = await fetch_one(
        conn,
        "SELECT title, type, description, status, priority, assignee_id, parent_id FROM tickets WHERE id = %s",
        (ticket_id,),
    )
    columns = changed_columns(dict(zip(PATCH_COLUMNS, stored, strict=True)), patch)
    if columns.get("parent_id") is not None:
        await _check_parent(conn, current, int(columns["parent_id"]))
    if "status" in columns:
        status = Status(columns["status"])
        columns["position"] = await end_of_column(conn, current.project_id, status)
        columns.update(status_columns(current, status, actor, utc_now()))
    labels_change = labels_changed(current, patch)
    if not columns and not labels_change:
        return current
    if labels_change and patch.labels is not None:
        await _set_labels(conn, current.id, current.project_id, patch.labels)
    return await _commit_change(conn, current, organization_id, columns, "ticket.updated", actor)


async def _check_parent(conn: Connection, ticket: Ticket, parent_id: int) -> None:
    """A parent is not the ticket itself or one of its sub-tasks."""
    row = await fetch_optional(
        conn,
        """WITH RECURSIVE ancestors(id) AS (
               SELECT %s::bigint UNION ALL
               SELECT t.parent_id FROM tickets t JOIN ancestors a ON t.id = a.id WHERE t.parent_id IS NOT NULL)
           SELECT 1 FROM ancestors WHERE id = %s""",
        (parent_id, ticket.id),
    )
    if row is not None:
        raise Invalid(
            "parent",
            f"{ticket.slug} cannot be a sub-task of itself or of its own sub-task.",
            hint="Choose a parent outside its sub-task tree.",
        )


async def move_ticket(
    conn: Connection,
    ticket_id: int,
    status: Status,
    placement: Placement,
    expected_version: int | None,
    actor: Actor,
) -> Ticket:
    current, organization_id = await lock_ticket(conn, ticket_id)
    check_version(current, expected_version)
    anchor_id = placement.before_id if placement.before_id is not None else placement.after_id
    if anchor_id is None:
        last = (
            await fetch_one(
                conn,
                "SELECT MAX(position) FROM tickets WHERE project_id = %s AND status = %s",
                (current.project_id, status.value),
            )
        )[0]
        if status == current.status and last == current.position:
            return current
        position = int(last or 0) + POSITION_STEP
    else:
        position = await position_next_to(conn, current, status, anchor_id, before=placement.before_id is not None)
        if status == current.status and position == current.position:
            return current
    columns: dict[str, Any] = {"status": status.value, "position": position}
    columns.update(status_columns(current, status, actor, utc_now()))
    return await _commit_change(conn, current, organization_id, columns, "ticket.moved", actor)


async def ticket_deletion(conn: Connection, ticket: Ticket) -> TicketDeletion:
    rows = await fetch_all(
        conn,
        """WITH RECURSIVE tree(id) AS (
               SELECT id FROM tickets WHERE parent_id = %s
               UNION ALL SELECT t.id FROM tickets t JOIN tree ON t.parent_id = tree.id)
           SELECT t.number FROM tree JOIN tickets t ON t.id = tree.id ORDER BY t.number""",
        (ticket.id,),
    )
    code = ticket.slug.rsplit("-", 1)[0]
    comments = await fetch_one(
        conn,
        """WITH RECURSIVE tree(id) AS (
               SELECT %s::bigint UNION ALL SELECT t.id FROM tickets t JOIN tree ON t.parent_id = tree.id)
           SELECT COUNT(*) FROM comments WHERE ticket_id IN (SELECT id FROM tree)""",
        (ticket.id,),
    )
    return TicketDeletion(
        slug=ticket.slug, subtasks=tuple(f"{code}-{row[0]}" for row in rows), comments=int(comments[0])
    )


async def delete_ticket(conn: Connection, ticket_id: int, actor: Actor) -> TicketDeletion:
    ticket, organization_id = await lock_ticket(conn, ticket_id)
    impact = await ticket_deletion(conn, ticket)
    await execute(conn, "DELETE FROM tickets WHERE id = %s", (ticket_id,))
    await record_event(
        conn,
        action="ticket.deleted",
        subject=ticket.slug,
        actor=actor,
        organization_id=organization_id,
        project_id=ticket.project_id,
        ticket_id=ticket_id,
        changes={"title": ticket.title, "subtasks": list(impact.subtasks), "comments": impact.comments},
    )
    return impact
