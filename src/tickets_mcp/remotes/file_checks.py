"""What every adapter that attaches files does itself, before and after its API: the local rules of
domain/files.py applied to a remote tracker's files.

A file is checked before anything is sent (not empty, not past the limit); its type and digest are read from
its bytes by our own code, never taken from the remote (on a worker thread when it is large, so the event loop
keeps serving); a file the remote lists as larger than the limit is refused before it is downloaded, and one
that streams past it (its size untold, or told wrong) as soon as it does; and an attachment id of another
ticket names none of this one's.
"""

from __future__ import annotations

import hashlib
from typing import Final

import anyio.to_thread

from tickets_mcp.domain.files import file_limits, size_text, sniff, too_large
from tickets_mcp.errors import Invalid, NotFound, TooLarge

OFF_LOOP_BYTES: Final = 256 * 1024  # typing and hashing a file this large runs on a worker thread


def check_upload(content: bytes) -> None:
    """Refuse an empty file, or one past the server's limit, before any request."""
    if not content:
        raise Invalid("content", "The file is empty.", hint="Send the file's text or its bytes in base64.")
    file_max = file_limits().file_max
    if len(content) > file_max:
        raise too_large("content", len(content), file_max)


def check_download(name: str, size: int, *, hint: str) -> int:
    """The most bytes a download of a file the remote says is `size` bytes may read: the server's limit;
    or, when the file is larger, a refusal whose `hint` says where to open it instead."""
    file_max = file_limits().file_max
    if size > file_max:
        raise TooLarge(
            "attachment_id",
            f"{name} is {size_text(size)}; this server reads files up to {size_text(file_max)}.",
            hint=hint,
        )
    return file_max


def read_too_large(name: str, file_max: int, *, hint: str) -> TooLarge:
    """The refusal of a file found larger than the limit as it streamed, where the remote did not say its size
    (GitLab's linked uploads) or said less: the client stopped reading at `file_max` bytes."""
    return TooLarge("attachment_id", f"{name} is larger than this server reads ({size_text(file_max)}).", hint=hint)


def _typed(content: bytes) -> tuple[str, str]:
    return sniff(content), hashlib.sha256(content).hexdigest()


async def typed(content: bytes) -> tuple[str, str]:
    """The MIME type read from `content` and its sha256 in hex."""
    if len(content) < OFF_LOOP_BYTES:
        return _typed(content)
    return await anyio.to_thread.run_sync(_typed, content)


def no_attachment(slug: str, attachment_id: int) -> NotFound:
    """The refusal of an id that names none of the ticket's files (another ticket's, or none at all)."""
    return NotFound(f"{slug} has no attachment {attachment_id}.", hint="get_ticket lists its attachments.")
