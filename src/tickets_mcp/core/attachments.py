"""The attachment use cases of the local tracker: attach a file to a ticket, read one, delete one.

Attaching takes what commenting takes (a reporter attaching a screenshot to the bug they filed is the
usual case); reading takes reading the ticket; deleting takes changing tickets, or being the one who
attached the file and allowed to comment, and a server tier that allows deletions. The file's name is
cleaned and its type read from its bytes here (domain/files.py), before the store keeps it once by content.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

import anyio.to_thread

from tickets_mcp.core.access import Access, Action, Roles
from tickets_mcp.core.names import Names
from tickets_mcp.domain import Attachment, Ticket
from tickets_mcp.domain.files import file_limits, file_name, sniff, too_large
from tickets_mcp.errors import Invalid, NotFound
from tickets_mcp.stores import Actor, NewAttachment, Store

# Hashing and typing a file this large or larger runs on a worker thread, so the event loop keeps serving.
OFF_LOOP_BYTES: Final = 256 * 1024


def _prepared(name: str, content: bytes, quota: int) -> NewAttachment:
    return NewAttachment(
        name=file_name(name), mime=sniff(content), content=content, sha256=hashlib.sha256(content).hexdigest(),
        quota=quota,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Attachments:
    """The attachment calls for one caller: the LocalTracker's store, access, names and actor."""

    store: Store
    access: Access
    names: Names
    actor: Actor

    async def attach(self, roles: Roles, slug: str, name: str, content: bytes) -> Attachment:
        ticket = await self.names.ticket(roles, slug, Action.COMMENT)
        limits = file_limits()
        if not content:
            raise Invalid("content", "The file is empty.", hint="Send the file's text or its bytes in base64.")
        if len(content) > limits.file_max:
            raise too_large("content", len(content), limits.file_max)
        if len(content) < OFF_LOOP_BYTES:
            new = _prepared(name, content, limits.quota)
        else:
            new = await anyio.to_thread.run_sync(_prepared, name, content, limits.quota)
        return await self.store.attach_file(ticket.id, new, self.actor)

    async def read(self, roles: Roles, slug: str, attachment_id: int) -> tuple[Attachment, bytes]:
        ticket = await self.names.ticket(roles, slug, Action.READ)
        if not 0 < attachment_id <= ID_MAX:
            raise _no_such(ticket, attachment_id)
        return await self.store.read_attachment(ticket.id, attachment_id)

    async def delete(self, roles: Roles, slug: str, attachment_id: int) -> Attachment:
        self.access.allow_deletion("delete attachments")
        ticket = await self.names.ticket(roles, slug, Action.READ)
        found = await self.store.find_attachment(ticket.id, attachment_id) if 0 < attachment_id <= ID_MAX else None
        if found is None:
            raise _no_such(ticket, attachment_id)
        await self._authorize_deletion(roles, ticket, found)
        return await self.store.delete_attachment(ticket.id, attachment_id, self.actor)

    async def _authorize_deletion(self, roles: Roles, ticket: Ticket, attachment: Attachment) -> None:
        """Whoever may change the ticket may delete its attachments; whoever attached one, if they may still
        comment, may delete that one (a reporter who attached the wrong file)."""
        organization_id = await self.names.ticket_organization(roles, ticket)
        refusal = self.access.refusal(roles, organization_id, Action.EDIT, ticket.project_id)
        if refusal is None:
            return
        uploader = (attachment.uploader or "").casefold()
        if uploader != self.access.principal.username.casefold():
            raise refusal
        self.access.authorize(roles, organization_id, Action.COMMENT, ticket.project_id)


ID_MAX = 2**63 - 1  # the largest id either store can hold: a larger one names no attachment, whatever the engine


def _no_such(ticket: Ticket, attachment_id: int) -> NotFound:
    return NotFound(f"{ticket.slug} has no attachment {attachment_id}.", hint="get_ticket lists its attachments.")
