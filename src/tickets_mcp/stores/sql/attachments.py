"""Files attached to tickets: the scripts every engine runs alike.

Each distinct content is one row of `blobs`, keyed by its SHA-256; an attachment names its blob. A blob no
attachment names any more is deleted in the transaction that dropped the last one (an attachment deleted,
a ticket deleted with its sub-tasks). `attachment_usage` holds what each organization's attachments add up
to: attaching adds the file's size there and compares the sum with the quota in the same statement's row,
and that row is locked until the commit (PostgreSQL), so two files attached at once cannot both pass it.

Writers to one blob take turns (`Dialect.serialize` on its digest): otherwise on PostgreSQL a file attached
while another organization drops the last attachment of the same bytes could find the blob, and then lose
it to that deletion before its own commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from tickets_mcp.domain import Attachment, audit
from tickets_mcp.domain.clock import utc_now
from tickets_mcp.domain.files import size_text
from tickets_mcp.errors import Conflict, NotFound
from tickets_mcp.stores.port import Actor, NewAttachment
from tickets_mcp.stores.sql.connection import Connection, Row
from tickets_mcp.stores.sql.events import record
from tickets_mcp.stores.sql.tickets import lock_ticket

_SELECT = """SELECT a.id, p.code, t.number, a.name, a.mime, a.size, a.digest, u.username, a.created_at
             FROM attachments a JOIN tickets t ON t.id = a.ticket_id JOIN projects p ON p.id = t.project_id
             LEFT JOIN users u ON u.id = a.uploader_id"""
# A ticket's attachments, oldest first (one parameter: the ticket's id); rows for `attachment_of`.
OF_TICKET = _SELECT + " WHERE a.ticket_id = ? ORDER BY a.id"
# The ticket and its sub-tasks, down every level: what deleting it takes along.
_TREE = """WITH RECURSIVE tree(id) AS (
               SELECT CAST(? AS BIGINT) UNION ALL SELECT t.id FROM tickets t JOIN tree ON t.parent_id = tree.id)"""

Held = list[tuple[str, int]]
"""Attachments about to go, as (digest, size): what `release` gives back."""


def attachment_of(row: Row) -> Attachment:
    return Attachment(
        id=int(row[0]),
        ticket_slug=f"{row[1]}-{row[2]}",
        name=row[3],
        mime=row[4],
        size=int(row[5]),
        sha256=row[6],
        uploader=row[7],
        created_at=row[8],
    )


def find(conn: Connection, ticket_id: int, attachment_id: int) -> Attachment | None:
    row = conn.optional(_SELECT + " WHERE a.id = ? AND a.ticket_id = ?", (attachment_id, ticket_id))
    return attachment_of(row) if row is not None else None


def read(conn: Connection, ticket_id: int, attachment_id: int) -> tuple[Attachment, bytes]:
    found = _existing(conn, ticket_id, attachment_id)
    return found, conn.dialect.blob(conn, found.sha256)


def _existing(conn: Connection, ticket_id: int, attachment_id: int) -> Attachment:
    found = find(conn, ticket_id, attachment_id)
    if found is None:
        raise NotFound(
            f"The ticket has no attachment {attachment_id}.", hint="get_ticket lists its attachments with their ids."
        )
    return found


def attach(conn: Connection, ticket_id: int, new: NewAttachment, actor: Actor) -> Attachment:
    ticket, organization_id = lock_ticket(conn, ticket_id)
    size = len(new.content)
    used = conn.one(
        """INSERT INTO attachment_usage (organization_id, bytes) VALUES (?, ?)
           ON CONFLICT (organization_id) DO UPDATE SET bytes = attachment_usage.bytes + excluded.bytes
           RETURNING bytes""",
        (organization_id, size),
    )
    if int(used[0]) > new.quota:
        before = int(used[0]) - size
        raise Conflict(
            f"The organization's attachments use {size_text(before)} of their {size_text(new.quota)} quota; "
            f"this file ({size_text(size)}) does not fit. Nothing was attached.",
            hint="Delete attachments no longer needed (delete_attachment), or ask the server's operator to raise "
            "TICKETS_ATTACHMENT_QUOTA.",
        )
    conn.dialect.serialize(conn, "blob:" + new.sha256)
    if conn.optional("SELECT 1 FROM blobs WHERE digest = ?", (new.sha256,)) is None:
        conn.execute("INSERT INTO blobs (digest, size, content) VALUES (?, ?, ?)", (new.sha256, size, new.content))
    now = utc_now()
    row = conn.one(
        """INSERT INTO attachments (ticket_id, digest, name, mime, size, uploader_id, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id""",
        (ticket_id, new.sha256, new.name, new.mime, size, actor.user_id, now),
    )
    conn.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", (now, ticket_id))
    attached = _existing(conn, ticket_id, int(row[0]))
    record(conn, audit.attachment_added(ticket, organization_id, attached), actor)
    return attached


def delete(conn: Connection, ticket_id: int, attachment_id: int, actor: Actor) -> Attachment:
    ticket, organization_id = lock_ticket(conn, ticket_id)
    gone = _existing(conn, ticket_id, attachment_id)
    conn.execute("DELETE FROM attachments WHERE id = ?", (attachment_id,))
    release(conn, organization_id, [(gone.sha256, gone.size or 0)])  # a stored file's size is always known
    conn.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", (utc_now(), ticket_id))
    record(conn, audit.attachment_deleted(ticket, organization_id, gone), actor)
    return gone


def in_tree(conn: Connection, ticket_id: int) -> Held:
    """The attachments of the ticket and its sub-tasks, which deleting it deletes (the caller holds its lock)."""
    rows = conn.all(
        _TREE + " SELECT digest, size FROM attachments WHERE ticket_id IN (SELECT id FROM tree)", (ticket_id,)
    )
    return [(str(row[0]), int(row[1])) for row in rows]


def count_in_tree(conn: Connection, ticket_id: int) -> int:
    return int(
        conn.one(_TREE + " SELECT COUNT(*) FROM attachments WHERE ticket_id IN (SELECT id FROM tree)", (ticket_id,))[0]
    )


def release(conn: Connection, organization_id: str, held: Sequence[tuple[str, int]]) -> None:
    """Give back what the attachments `held`, now deleted, took: their organization's use, and each blob no
    attachment names any more. Digests in order, so two releases lock shared blobs in the same order."""
    total = sum(size for _, size in held)
    if total:
        conn.execute(
            "UPDATE attachment_usage SET bytes = CASE WHEN bytes > ? THEN bytes - ? ELSE 0 END "
            "WHERE organization_id = ?",
            (total, total, organization_id),
        )
    for digest in sorted({digest for digest, _ in held}):
        conn.dialect.serialize(conn, "blob:" + digest)
        conn.execute(
            "DELETE FROM blobs WHERE digest = ? AND NOT EXISTS (SELECT 1 FROM attachments WHERE digest = ?)",
            (digest, digest),
        )
