"""The attachment tools (the `files` set): attach a file to a ticket, read one, delete one.

A model sends a file as text, or as base64 for bytes; the server reads its type from those bytes, whatever
its name says. The largest file the server takes is stated at the end of attach_file's description, by the
server that lists it (TrackerServer.notes): on HTTP it is also bounded by the request body limit.
"""

from __future__ import annotations

import base64 as b64
import binascii
import re
from typing import Annotated, Final

from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import BlobResourceContents, CallToolResult, EmbeddedResource, ImageContent, TextContent
from pydantic import Field

from tickets_mcp.domain import Attachment
from tickets_mcp.domain.files import FileLimits, file_limits, size_text, too_large
from tickets_mcp.errors import Invalid, NotFound
from tickets_mcp.mcp import arguments as a
from tickets_mcp.mcp import render_files as render
from tickets_mcp.mcp.consent import Consent, DeletionConfirmation, ask_user, confirmed, not_deleted
from tickets_mcp.mcp.context import Ctx, tracker_for
from tickets_mcp.mcp.tools.results import text as reply

# Images a client shows a model as an image; other bytes go back as a resource of their type.
SHOWN_IMAGES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_DATA_URL: Final = re.compile(r"data:[\w.+-]+/[\w.+-]+(?:;[\w.+-]+=[\w.+-]+)*;base64,", re.IGNORECASE)
_WHITESPACE: Final = re.compile(r"\s+")

FileName = Annotated[str, Field(min_length=1, max_length=1000), a.lean("File name, e.g. trace.log")]
AttachmentId = Annotated[int, Field(ge=1, description="The attachment's id, as get_ticket lists it")]


def stated_file_max(body_max: int | None = None) -> int:
    """The largest file attach_file takes: the server's limit, or less where a request body of `body_max`
    bytes cannot carry its base64 (4 characters for 3 bytes, and room for the call around it)."""
    limit = file_limits().file_max
    if body_max is None:
        return limit
    return max(0, min(limit, (body_max - 4096) // 4 * 3))


def attach_note(file_max: int) -> str:
    """The sentence attach_file's description ends with."""
    return f" Files up to {size_text(file_max)}."


def file_content(text: str | None, encoded: str | None, limits: FileLimits) -> bytes:
    """The file's bytes from exactly one of `text` (UTF-8) and `encoded` (base64, standard or URL-safe, line
    breaks and a data: URL prefix allowed); TooLarge before decoding what could not fit."""
    if (text is None) == (encoded is None):
        raise Invalid("text", "Send the file as text or as base64, exactly one of them.", hint="Binary files: base64.")
    if text is not None:
        return text.encode()
    assert encoded is not None
    compact = _WHITESPACE.sub("", _DATA_URL.sub("", encoded.strip(), count=1))
    if len(compact) // 4 * 3 > limits.file_max + 2:
        raise too_large("base64", len(compact) // 4 * 3, limits.file_max, about=True)
    alphabet = "-_" if "-" in compact or "_" in compact else "+/"
    try:
        return b64.b64decode(compact + "=" * (-len(compact) % 4), altchars=alphabet.encode(), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(
            "base64",
            "The base64 does not decode.",
            hint="Send the bytes in standard base64 (A-Z, a-z, 0-9, + and /), or a text file as text.",
        ) from None


def _attached(attachment: Attachment) -> str:
    return (
        f"Attached {render.attachment_line(attachment)} to {attachment.ticket_slug}; "
        f"read it at {render.attachment_uri(attachment)}."
    )


async def attach_file(
    ctx: Ctx,
    slug: a.Slug,
    name: FileName,
    text: Annotated[str | None, Field(description="The content of a text file")] = None,
    base64: Annotated[str | None, Field(description="The bytes of any file, in base64")] = None,
) -> CallToolResult:
    """Attach a file to a ticket, sent as text or as base64 (exactly one); its type is read from its bytes."""
    content = file_content(text, base64, file_limits())
    attached = await tracker_for(ctx).attach_file(slug, name, content)
    return reply(_attached(attached), {"attachment_id": attached.id, "uri": render.attachment_uri(attached)})


async def read_attachment(ctx: Ctx, slug: a.Slug, attachment: AttachmentId) -> CallToolResult:
    """Read a ticket's attachment: text as text, images as images, other files as a resource of their type."""
    found, content = await tracker_for(ctx).attachment(slug, attachment)
    head = TextContent(type="text", text=render.attachment_line(found))
    if render.shown_as_text(found):
        body = TextContent(type="text", text=render.file_text(found, content, render.TEXT_SHOWN))
        return CallToolResult(content=[head, body])
    encoded = b64.b64encode(content).decode()
    if found.mime in SHOWN_IMAGES:
        return CallToolResult(content=[head, ImageContent(type="image", data=encoded, mime_type=found.mime)])
    blob = BlobResourceContents(uri=render.attachment_uri(found), blob=encoded, mime_type=found.mime)
    return CallToolResult(content=[head, EmbeddedResource(type="resource", resource=blob)])


async def confirm_attachment_deletion(
    slug: str, attachment: int, confirm: bool, ctx: Ctx
) -> DeletionConfirmation | Elicit[DeletionConfirmation]:
    """delete_attachment's resolver (see consent.py): what to ask the user."""

    async def question() -> str | None:
        found = await _listed(ctx, slug, attachment)
        return f"Delete {render.attachment_line(found)} from {found.ticket_slug}? This cannot be undone."

    return await ask_user(ctx, confirm, question)


async def _listed(ctx: Ctx, slug: str, attachment_id: int) -> Attachment:
    """The ticket's attachment `attachment_id` as get_ticket lists it (no bytes read)."""
    detail = await tracker_for(ctx).get_ticket(slug, history=0)
    for found in detail.attachments:
        if found.id == attachment_id:
            return found
    listed = ", ".join(str(a.id) for a in detail.attachments) or "none"
    raise NotFound(f"{detail.ticket.slug} has no attachment {attachment_id} (it has: {listed}).")


async def delete_attachment(
    ctx: Ctx,
    slug: a.Slug,
    attachment: AttachmentId,
    confirmation: Annotated[Consent, Resolve(confirm_attachment_deletion)],
    confirm: a.Confirm = False,
) -> CallToolResult:
    """Delete a file attached to a ticket. The user is asked to confirm."""
    if not confirmed(confirmation):
        found = await _listed(ctx, slug, attachment)
        return reply(not_deleted(ctx, f"{render.attachment_line(found)} from {found.ticket_slug}"))
    gone = await tracker_for(ctx).delete_attachment(slug, attachment)
    return reply(f"Deleted {render.attachment_line(gone)} from {gone.ticket_slug}.", {"deleted": gone.id})
