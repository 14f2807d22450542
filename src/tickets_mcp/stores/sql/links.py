"""Links between tickets: the scripts every engine runs alike.

A link is one row of `ticket_links`, kept in its stored direction (LinkKind.stored): `A blocked_by B` is
the row B blocks A, and relates_to, which has no direction, is kept from the lower id. Each ticket reads
the row from its own side. A `blocks` link that would close a cycle of blocks is refused in the
transaction that adds it, which holds its organization's link lock, so two links added at once cannot
close one together.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from tickets_mcp.domain import CLOSED_STATUSES, Link, Linked, LinkKind, Status, Ticket, audit
from tickets_mcp.domain.clock import utc_now
from tickets_mcp.errors import Invalid, NotFound
from tickets_mcp.stores.port import Actor, Placement
from tickets_mcp.stores.sql.connection import Connection, Row
from tickets_mcp.stores.sql.events import record
from tickets_mcp.stores.sql.ticket_reads import load_ticket
from tickets_mcp.stores.sql.tickets import lock_ticket, move_ticket

# How a ticket's links are listed: by kind in LinkKind's order, then by the other ticket's slug.
_KIND_ORDER = {kind: rank for rank, kind in enumerate(LinkKind)}


@dataclass(frozen=True, slots=True)
class _Row:
    """A link as its row keeps it."""

    from_id: int
    kind: LinkKind  # stored: blocks, duplicates or relates_to
    to_id: int

    @classmethod
    def of(cls, ticket_id: int, kind: LinkKind, other_id: int) -> _Row:
        if kind is LinkKind.RELATES_TO:
            return cls(min(ticket_id, other_id), kind, max(ticket_id, other_id))
        if kind.reversed:
            return cls(other_id, kind.stored, ticket_id)
        return cls(ticket_id, kind, other_id)

    @property
    def params(self) -> tuple[int, str, int]:
        return self.from_id, self.kind.value, self.to_id


_EXISTS = "SELECT 1 FROM ticket_links WHERE from_id = ? AND kind = ? AND to_id = ?"


def link_tickets(
    conn: Connection, ticket_id: int, kind: LinkKind, other_id: int, actor: Actor, close_as_duplicate: bool
) -> Linked:
    if close_as_duplicate and kind.stored is not LinkKind.DUPLICATES:
        raise Invalid(
            "close_as_duplicate",
            f"Only a duplicate is closed as one; this link is {kind.value}.",
            hint="Link it as duplicates, or leave close_as_duplicate out.",
        )
    ticket, other, organization_id = _lock_pair(conn, ticket_id, other_id)
    row = _Row.of(ticket.id, kind, other.id)
    conn.dialect.serialize(conn, f"links\x1f{organization_id}")
    if conn.optional(_EXISTS, row.params) is None:
        if row.kind is LinkKind.BLOCKS:
            _check_no_cycle(conn, row, ticket if row.from_id == ticket.id else other)
        conn.execute(
            "INSERT INTO ticket_links (from_id, kind, to_id, created_at) VALUES (?, ?, ?, ?)", (*row.params, utc_now())
        )
        record(conn, audit.link_added(ticket, kind, other.slug, organization_id), actor)
        record(conn, audit.link_added(other, kind.inverse, ticket.slug, organization_id), actor)
    if close_as_duplicate:
        duplicate = ticket if row.from_id == ticket.id else other
        if duplicate.status not in CLOSED_STATUSES:
            move_ticket(conn, duplicate.id, Status.CANCELED, Placement(), None, actor)
    return Linked(ticket=load_ticket(conn, ticket.id), links=links_of(conn, ticket.id))


def unlink_tickets(conn: Connection, ticket_id: int, kind: LinkKind, other_id: int, actor: Actor) -> Linked:
    ticket, other, organization_id = _lock_pair(conn, ticket_id, other_id)
    row = _Row.of(ticket.id, kind, other.id)
    removed = conn.optional(
        "DELETE FROM ticket_links WHERE from_id = ? AND kind = ? AND to_id = ? RETURNING from_id", row.params
    )
    if removed is None:
        raise NotFound(
            f"{ticket.slug} is not linked to {other.slug} as {kind.value}.",
            hint=f"See {ticket.slug}'s links for what it is linked to.",
        )
    record(conn, audit.link_removed(ticket, kind, other.slug, organization_id), actor)
    record(conn, audit.link_removed(other, kind.inverse, ticket.slug, organization_id), actor)
    return Linked(ticket=load_ticket(conn, ticket.id), links=links_of(conn, ticket.id))


def _lock_pair(conn: Connection, ticket_id: int, other_id: int) -> tuple[Ticket, Ticket, str]:
    """Both tickets, their projects locked (where the engine locks rows), and their organization's id."""
    if ticket_id == other_id:
        raise Invalid("other", "A ticket cannot be linked to itself.", hint="Name another ticket to link it to.")
    # In id order, so that two links between the same projects lock them in the same order.
    first, first_organization = lock_ticket(conn, min(ticket_id, other_id))
    second, second_organization = lock_ticket(conn, max(ticket_id, other_id))
    if first_organization != second_organization:
        raise Invalid(
            "other",
            f"{first.slug} and {second.slug} are in different organizations.",
            hint="Link tickets of one organization.",
        )
    ticket, other = (first, second) if first.id == ticket_id else (second, first)
    return ticket, other, first_organization


def _check_no_cycle(conn: Connection, row: _Row, blocker: Ticket) -> None:
    """Refuse `row` (a `blocks` link) when its blocked ticket already blocks its blocker, directly or through
    others. The walk reads the blocks links out of each ticket it reaches, by the table's key."""
    reaches = conn.optional(
        """WITH RECURSIVE reached(id) AS (
               SELECT CAST(? AS BIGINT)
               UNION SELECT k.to_id FROM ticket_links k JOIN reached r ON k.from_id = r.id WHERE k.kind = 'blocks')
           SELECT 1 FROM reached WHERE id = ?""",
        (row.to_id, row.from_id),
    )
    if reaches is None:
        return
    path = _path(conn, row.to_id, row.from_id)
    raise Invalid(
        "other",
        f"{blocker.slug} cannot block {path[0]}: {' blocks '.join(path)} already, so the link would close "
        "a cycle of blocks.",
        hint="Remove one of the blocks links of that chain first, or link the two as relates_to.",
    )


def _path(conn: Connection, start: int, end: int) -> list[str]:
    """The slugs of a shortest chain of blocks links from `start` to `end` (one is known to exist)."""
    edges = conn.all(
        """WITH RECURSIVE reached(id) AS (
               SELECT CAST(? AS BIGINT)
               UNION SELECT k.to_id FROM ticket_links k JOIN reached r ON k.from_id = r.id WHERE k.kind = 'blocks')
           SELECT k.from_id, k.to_id FROM reached r JOIN ticket_links k ON k.from_id = r.id AND k.kind = 'blocks'""",
        (start,),
    )
    out: dict[int, list[int]] = {}
    for source, target in edges:
        out.setdefault(int(source), []).append(int(target))
    came_from: dict[int, int] = {start: start}
    queue = deque([start])
    while queue and end not in came_from:
        current = queue.popleft()
        for target in out.get(current, []):
            if target not in came_from:
                came_from[target] = current
                queue.append(target)
    chain = [end]
    while chain[-1] != start:
        chain.append(came_from[chain[-1]])
    return [load_ticket(conn, ticket_id).slug for ticket_id in reversed(chain)]


# A ticket's links, both ways (two parameters: the ticket's id, twice); rows for `links_from`.
OF_TICKET = """SELECT k.kind, 0, p.code, o.number, o.title, o.status FROM ticket_links k
                   JOIN tickets o ON o.id = k.to_id JOIN projects p ON p.id = o.project_id WHERE k.from_id = ?
               UNION ALL
               SELECT k.kind, 1, p.code, o.number, o.title, o.status FROM ticket_links k
                   JOIN tickets o ON o.id = k.from_id JOIN projects p ON p.id = o.project_id WHERE k.to_id = ?"""


def links_of(conn: Connection, ticket_id: int) -> tuple[Link, ...]:
    """The ticket's links read from its side, by kind (LinkKind's order), then by the other ticket's slug."""
    return links_from(conn.all(OF_TICKET, (ticket_id, ticket_id)))


def links_from(rows: Sequence[Row]) -> tuple[Link, ...]:
    """The links OF_TICKET's rows are, in the order `links_of` gives them."""
    found = [
        (LinkKind(kind).inverse if reversed_ else LinkKind(kind), str(code), int(number), title, Status(status))
        for kind, reversed_, code, number, title, status in rows
    ]
    found.sort(key=lambda link: (_KIND_ORDER[link[0]], link[1], link[2]))
    return tuple(
        Link(kind=kind, slug=f"{code}-{number}", title=title, status=status)
        for kind, code, number, title, status in found
    )
