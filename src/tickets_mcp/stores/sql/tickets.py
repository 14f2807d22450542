"""Ticket writes: plain functions over a connection, each called inside one write transaction.

Every write on a project's tickets first reads its project's row through `lock_ticket` or the ticket
counter's UPDATE. On PostgreSQL that read locks the row (`FOR NO KEY UPDATE`, the lock the counter's
UPDATE takes too), so writers on one project queue as they do behind SQLite's single writer: a version
check, a column's positions and the next number stay true until the commit. `NO KEY` leaves foreign-key
checks that point at the project (a ticket inserted elsewhere) unblocked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from tickets_mcp.domain import LinkKind, NewLabels, Status, Ticket, TicketDeletion, audit
from tickets_mcp.domain.clock import utc_now
from tickets_mcp.domain.closing import closing_columns
from tickets_mcp.domain.positions import after_last
from tickets_mcp.domain.rules import check_version
from tickets_mcp.domain.similarity import SIMILAR_SHOWN, Filed, likeness_to, look_alike
from tickets_mcp.errors import Invalid, LikelyDuplicate, NotFound
from tickets_mcp.stores.idempotency import key_expiry, key_owner, replayed, request_digest
from tickets_mcp.stores.patches import PATCH_COLUMNS, changed_columns, column_value, labels_changed
from tickets_mcp.stores.port import Actor, NewTicket, Placement, TicketPatch
from tickets_mcp.stores.search import Text, candidate_groups, trace_groups
from tickets_mcp.stores.sql.board import end_of_column, last_position, position_next_to
from tickets_mcp.stores.sql.connection import Connection
from tickets_mcp.stores.sql.events import latest_changes, record
from tickets_mcp.stores.sql.projects import label_uses
from tickets_mcp.stores.sql.ticket_reads import load_ticket

# The NewTicket fields that are no column of its ticket (labels are rows of ticket_labels; the others steer
# the filing); every other field is inserted into the column of its name, so a new one needs no edit here.
_NOT_COLUMNS = frozenset({"labels", "idempotency_key", "check_duplicates"})
_NEW_TICKET_COLUMNS = tuple(f.name for f in dataclasses.fields(NewTicket) if f.name not in _NOT_COLUMNS)

# How a change to a ticket is recorded: audit.ticket_updated or audit.ticket_moved.
Change = Callable[[Ticket, Ticket, str], audit.Event]


def lock_ticket(conn: Connection, ticket_id: int) -> tuple[Ticket, str]:
    """Lock the ticket's project (where the engine locks rows), then read the ticket; with its organization id."""
    row = conn.optional(
        "SELECT organization_id FROM projects WHERE id = (SELECT project_id FROM tickets WHERE id = ?)"
        + conn.dialect.locking("FOR NO KEY UPDATE"),
        (ticket_id,),
    )
    if row is None:
        raise NotFound("The ticket no longer exists.", hint="It may have just been deleted; list tickets again.")
    return load_ticket(conn, ticket_id), str(row[0])


def create_ticket(conn: Connection, new: NewTicket, actor: Actor, *, name_similar: bool = True) -> Filed:
    """File `new`; `name_similar`: look for the open tickets most like it even when not checking for one
    to refuse it by (a bulk filing names none, so it need not pay the index read)."""
    if new.idempotency_key is None:
        return _create_ticket(conn, new, actor, name_similar)
    owner = key_owner(actor)
    # Twins sent at once queue here; the second then sees the first's committed row.
    conn.dialect.serialize(conn, f"{owner}\x1f{new.idempotency_key}")
    conn.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (key_expiry(),))
    found = conn.optional(
        "SELECT request, ticket FROM idempotency_keys WHERE owner = ? AND key = ?", (owner, new.idempotency_key)
    )
    if found is not None:
        return Filed(replayed(found[0], found[1], new))
    filed = _create_ticket(conn, new, actor, name_similar)
    conn.execute(
        "INSERT INTO idempotency_keys (owner, key, request, ticket, created_at) VALUES (?, ?, ?, ?, ?)",
        (owner, new.idempotency_key, request_digest(new), filed.ticket.model_dump_json(), filed.ticket.created_at),
    )
    return filed


def _create_ticket(conn: Connection, new: NewTicket, actor: Actor, name_similar: bool) -> Filed:
    # With the end of the new ticket's column: the counter's lock keeps it the end until the commit.
    counter = conn.optional(
        "UPDATE projects SET ticket_counter = ticket_counter + 1 WHERE id = ? RETURNING ticket_counter, "
        "organization_id, code, (SELECT MAX(position) FROM tickets WHERE project_id = projects.id AND status = ?)",
        (new.project_id, new.status.value),
    )
    if counter is None:
        raise NotFound("The project no longer exists.", hint="List projects again.")
    number, organization_id, code = int(counter[0]), str(counter[1]), str(counter[2])
    position = after_last(None if counter[3] is None else int(counter[3]))
    # After the project's counter: a look-alike filed at the same moment has committed by now.
    looked = new.check_duplicates or name_similar
    alike = likeness_to(new.title, new.description, _look_alikes(conn, new)) if looked else []
    if new.check_duplicates and alike and alike[0].likeness.duplicate:
        raise look_alike(load_ticket(conn, alike[0].candidate.id), alike[0].likeness)
    if new.parent_id is not None:
        parent = conn.optional("SELECT project_id FROM tickets WHERE id = ?", (new.parent_id,))
        if parent is None or parent[0] != new.project_id:
            raise NotFound("The parent ticket no longer exists.", hint="It may have just been deleted.")
    if new.milestone_id is not None:
        _check_milestone(conn, new.project_id, new.milestone_id)
    now = utc_now()
    closing = closing_columns(None, new.status, actor.user_id, now)
    row = conn.one(
        f"""INSERT INTO tickets (id, {", ".join(_NEW_TICKET_COLUMNS)}, number, position, version,
                                 created_at, updated_at, closed_at, closed_by_id)
            VALUES ({conn.dialect.next_ticket_id}, {"?, " * len(_NEW_TICKET_COLUMNS)}?, ?, 1, ?, ?, ?, ?)
            RETURNING id""",
        (
            *(column_value(getattr(new, name)) for name in _NEW_TICKET_COLUMNS),
            number,
            position,
            now,
            now,
            closing.get("closed_at"),
            closing.get("closed_by_id"),
        ),
    )
    ticket_id = int(row[0])
    created = conn.dialect.attach_labels(conn, ticket_id, new.project_id, new.labels) if new.labels else []
    ticket = load_ticket(conn, ticket_id)
    record(conn, audit.ticket_created(ticket, organization_id), actor)
    ticket = _with_new_labels(conn, ticket, created)
    return Filed(ticket, tuple(f"{code}-{match.candidate.number}" for match in alike[:SIMILAR_SHOWN]))


def _with_new_labels(conn: Connection, ticket: Ticket, created: Sequence[str]) -> Ticket:
    """The ticket as its write returns it: with the labels it created and those its project had, if any."""
    if not created:
        return ticket
    had = [use for use in label_uses(conn, [ticket.project_id]).get(ticket.project_id, []) if use.name not in created]
    return ticket.model_copy(update={"new_labels": NewLabels(names=tuple(created), had=tuple(had))})


def batch_look_alike(refusal: LikelyDuplicate, number: int, total: int, filed: Sequence[Ticket]) -> LikelyDuplicate:
    """A look-alike refused in a batch, naming its item. When it looks like an item filed earlier in the same
    batch, that ticket is rolled back with the rest: the refusal names the item, never the slug it had."""
    earlier = refusal.current["id"] if refusal.current is not None else None
    twin = next((n for n, ticket in enumerate(filed, start=1) if ticket.id == earlier), None)
    if twin is None:
        refusal.item = f"Item {number} of {total}: "
        refusal.message = refusal.item + refusal.message
        return refusal
    return LikelyDuplicate(
        f"Item {number} of {total} looks like item {twin} of the same call ({refusal.similarity:.0%} alike).",
        hint=f"Drop one, or send item {number} with not_duplicate=true.",
        current=None,
        similarity=refusal.similarity,
    )


def _look_alikes(conn: Connection, new: NewTicket) -> list[Text]:
    titles, traces = candidate_groups(new.title), trace_groups(new.description)
    return conn.dialect.look_alikes(conn, new, titles, traces) if titles or traces else []


def _set_labels(conn: Connection, ticket_id: int, project_id: str, labels: Sequence[str]) -> list[str]:
    """Replace the ticket's labels; the project's labels this created."""
    conn.execute("DELETE FROM ticket_labels WHERE ticket_id = ?", (ticket_id,))
    return conn.dialect.attach_labels(conn, ticket_id, project_id, labels) if labels else []


def _commit_change(
    conn: Connection, current: Ticket, organization_id: str, columns: Mapping[str, Any], event: Change, actor: Actor
) -> Ticket:
    # The column names come from PATCH_COLUMNS and the scripts below, never from a caller.
    assignments = "".join(f"{name} = ?, " for name in columns)
    conn.execute(
        f"UPDATE tickets SET {assignments}version = version + 1, updated_at = ? WHERE id = ?",
        (*columns.values(), utc_now(), current.id),
    )
    updated = load_ticket(conn, current.id)
    record(conn, event(current, updated, organization_id), actor)
    return updated


def update_ticket(
    conn: Connection, ticket_id: int, patch: TicketPatch, expected_version: int | None, actor: Actor
) -> Ticket:
    """Apply the fields that differ; a patch that changes nothing leaves version and history alone."""
    current, organization_id = lock_ticket(conn, ticket_id)
    check_version(current, expected_version, partial(latest_changes, conn, ticket_id))
    stored = conn.one(f"SELECT {', '.join(PATCH_COLUMNS)} FROM tickets WHERE id = ?", (ticket_id,))
    columns = changed_columns(dict(zip(PATCH_COLUMNS, stored, strict=True)), patch)
    if columns.get("parent_id") is not None:
        _check_parent(conn, current, int(columns["parent_id"]))
    if columns.get("milestone_id") is not None:
        _check_milestone(conn, current.project_id, int(columns["milestone_id"]))
    if "status" in columns:
        status = Status(columns["status"])
        columns["position"] = end_of_column(conn, current.project_id, status)
        columns.update(closing_columns(current.status, status, actor.user_id, utc_now()))
    labels_change = labels_changed(current, patch)
    if not columns and not labels_change:
        return current
    created: list[str] = []
    if labels_change and patch.labels is not None:
        created = _set_labels(conn, current.id, current.project_id, patch.labels)
    updated = _commit_change(conn, current, organization_id, columns, audit.ticket_updated, actor)
    return _with_new_labels(conn, updated, created)


def _check_parent(conn: Connection, ticket: Ticket, parent_id: int) -> None:
    """A parent is not the ticket itself or one of its sub-tasks (LocalTracker checks it is in the same project)."""
    row = conn.optional(
        """WITH RECURSIVE ancestors(id) AS (
               SELECT CAST(? AS BIGINT) UNION ALL
               SELECT t.parent_id FROM tickets t JOIN ancestors a ON t.id = a.id WHERE t.parent_id IS NOT NULL)
           SELECT 1 FROM ancestors WHERE id = ?""",
        (parent_id, ticket.id),
    )
    if row is not None:
        raise Invalid(
            "parent",
            f"{ticket.slug} cannot be a sub-task of itself or of its own sub-task.",
            hint="Choose a parent outside its sub-task tree.",
        )


def _check_milestone(conn: Connection, project_id: str, milestone_id: int) -> None:
    """A ticket's milestone is one of its project's (LocalTracker resolves it by name; it may just have gone)."""
    row = conn.optional("SELECT project_id FROM milestones WHERE id = ?", (milestone_id,))
    if row is None or row[0] != project_id:
        raise NotFound("The milestone no longer exists.", hint="List the project's milestones again.")


def move_ticket(
    conn: Connection,
    ticket_id: int,
    status: Status,
    placement: Placement,
    expected_version: int | None,
    actor: Actor,
) -> Ticket:
    current, organization_id = lock_ticket(conn, ticket_id)
    check_version(current, expected_version, partial(latest_changes, conn, ticket_id))
    anchor_id = placement.before_id if placement.before_id is not None else placement.after_id
    if anchor_id is None:
        last = last_position(conn, current.project_id, status)
        if status == current.status and last == current.position:
            return current
        position = after_last(last)
    else:
        position = position_next_to(conn, current, status, anchor_id, before=placement.before_id is not None)
        if status == current.status and position == current.position:
            return current
    columns: dict[str, Any] = {"status": status.value, "position": position}
    columns.update(closing_columns(current.status, status, actor.user_id, utc_now()))
    return _commit_change(conn, current, organization_id, columns, audit.ticket_moved, actor)


# The ticket's sub-task tree, itself included; then the statement that reads it.
_TREE = """WITH RECURSIVE tree(id) AS (
               SELECT CAST(? AS BIGINT) UNION ALL SELECT t.id FROM tickets t JOIN tree ON t.parent_id = tree.id)"""


def ticket_deletion(conn: Connection, ticket: Ticket) -> TicketDeletion:
    rows = conn.all(
        """WITH RECURSIVE tree(id) AS (
               SELECT id FROM tickets WHERE parent_id = ?
               UNION ALL SELECT t.id FROM tickets t JOIN tree ON t.parent_id = tree.id)
           SELECT t.number FROM tree JOIN tickets t ON t.id = tree.id ORDER BY t.number""",
        (ticket.id,),
    )
    code = ticket.slug.rsplit("-", 1)[0]
    comments = conn.one(f"{_TREE} SELECT COUNT(*) FROM comments WHERE ticket_id IN (SELECT id FROM tree)", (ticket.id,))
    return TicketDeletion(
        slug=ticket.slug,
        subtasks=tuple(f"{code}-{row[0]}" for row in rows),
        comments=int(comments[0]),
        links=len(_links_leaving(conn, ticket.id)),
    )


def _links_leaving(conn: Connection, ticket_id: int) -> list[tuple[int, LinkKind, int]]:
    """The links of the ticket's tree to tickets outside it (those inside go with it): each as the other
    ticket's id, the kind read from that ticket, and the id of the ticket of the tree it links to."""
    rows = conn.all(
        f"""{_TREE}
            SELECT k.to_id, k.kind, 1, k.from_id FROM tree JOIN ticket_links k ON k.from_id = tree.id
            WHERE k.to_id NOT IN (SELECT id FROM tree)
            UNION ALL
            SELECT k.from_id, k.kind, 0, k.to_id FROM tree JOIN ticket_links k ON k.to_id = tree.id
            WHERE k.from_id NOT IN (SELECT id FROM tree)
            ORDER BY 1, 2""",
        (ticket_id,),
    )
    return [
        (int(other), LinkKind(kind).inverse if reversed_ else LinkKind(kind), int(inside))
        for other, kind, reversed_, inside in rows
    ]


def delete_ticket(conn: Connection, ticket_id: int, actor: Actor) -> TicketDeletion:
    ticket, organization_id = lock_ticket(conn, ticket_id)
    impact = ticket_deletion(conn, ticket)
    # The tickets it was linked to keep a trail of the links that go with it.
    for other_id, kind, inside_id in _links_leaving(conn, ticket_id) if impact.links else ():
        other, inside = load_ticket(conn, other_id), load_ticket(conn, inside_id)
        record(conn, audit.link_removed(other, kind, inside.slug, organization_id), actor)
    conn.execute("DELETE FROM tickets WHERE id = ?", (ticket_id,))
    record(conn, audit.ticket_deleted(ticket, impact, organization_id), actor)
    return impact
