"""The native API's attachments: upload a file to a ticket (multipart/form-data), download one, delete one.
GET /api/v1/native/tickets/{slug} lists a ticket's attachments (TicketDetail.attachments).

An upload is read as it comes (http/security.py's TransportGuard streams this one route), after the token
is checked and never past the file limit plus room for the multipart framing: a larger body is refused with
413 without being read. A download is served as the type read from the file's bytes when it was attached,
with `X-Content-Type-Options: nosniff`, and as a download (`Content-Disposition: attachment`) unless a
browser shows that type without running anything in it: an uploaded page or SVG never runs on this origin.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote

from fastapi import APIRouter, Request, Response, status
from starlette.datastructures import UploadFile
from starlette.types import Scope

from tickets_mcp.domain import Attachment
from tickets_mcp.domain.files import file_limits, shown_inline, size_text
from tickets_mcp.errors import Invalid
from tickets_mcp.http.rest.native import PREFIX
from tickets_mcp.http.rest.support import TrackerDep, error_responses, operation_ids
from tickets_mcp.http.security import StreamedBody

router = APIRouter(
    prefix=PREFIX,
    tags=["native"],
    responses=error_responses(),
    generate_unique_id_function=operation_ids("native"),
)

FIELD: Final = "file"
MULTIPART_ROOM: Final = 64 * 1024  # bytes of an upload that are no file: boundaries, part headers, a name
_UPLOAD_PATH: Final = re.compile(re.escape(PREFIX) + r"/tickets/[^/]+/attachments/?")
_UPLOAD_SCHEMA: Final = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD],
                    "properties": {
                        FIELD: {"type": "string", "format": "binary", "description": "The file"},
                        "name": {"type": "string", "description": "Its name, if not the file part's filename"},
                    },
                }
            }
        },
    }
}


def streamed_upload(scope: Scope) -> StreamedBody | None:
    """The body limit of an upload to this router (TransportGuard reads it as it comes), or None for any
    other request."""
    if scope["method"] != "POST" or not _UPLOAD_PATH.fullmatch(scope["path"]):
        return None
    file_max = file_limits().file_max
    return StreamedBody(
        file_max + MULTIPART_ROOM,
        f"this server takes files up to {size_text(file_max)}; attach a smaller file, or a compressed copy.",
    )


@router.post(
    "/tickets/{slug}/attachments",
    status_code=status.HTTP_201_CREATED,
    summary="Attach a file to a ticket: multipart/form-data with the file in the field `file`",
    openapi_extra=_UPLOAD_SCHEMA,
)
async def attach_file(slug: str, request: Request, tracker: TrackerDep) -> Attachment:
    limits = file_limits()
    async with request.form(max_files=1, max_fields=4, max_part_size=4096) as form:
        upload = form.get(FIELD)
        if not isinstance(upload, UploadFile):
            raise Invalid(
                FIELD,
                f"Send the file as the multipart/form-data field named {FIELD}.",
                hint=f"curl -F {FIELD}=@screenshot.png …/tickets/{slug}/attachments",
            )
        named = form.get("name")
        name = named if isinstance(named, str) and named.strip() else upload.filename or ""
        content = await upload.read(limits.file_max + 1)
    return await tracker.attach_file(slug, name, content)


@router.get(
    "/tickets/{slug}/attachments/{attachment_id}",
    summary="A ticket's attachment: its bytes, as the type read from them",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file's bytes"}},
)
async def download(slug: str, attachment_id: int, tracker: TrackerDep) -> Response:
    return served_file(*await tracker.attachment(slug, attachment_id))


@router.delete("/tickets/{slug}/attachments/{attachment_id}", summary="Delete a ticket's attachment")
async def delete_attachment(slug: str, attachment_id: int, tracker: TrackerDep) -> Attachment:
    return await tracker.delete_attachment(slug, attachment_id)


def served_file(attachment: Attachment, content: bytes) -> Response:
    """A file's bytes as every download route answers them (this API's and the board's): as its type, with
    served_headers."""
    return Response(content, media_type=attachment.mime, headers=served_headers(attachment))


def served_headers(attachment: Attachment) -> dict[str, str]:
    """How a file is served: never sniffed by the browser, shown in place only when that runs nothing."""
    disposition = "inline" if shown_inline(attachment.mime) else "attachment"
    plain = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in attachment.name)
    return {
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f"{disposition}; filename=\"{plain}\"; filename*=UTF-8''{quote(attachment.name)}",
        "ETag": f'"{attachment.sha256}"',
        "Cache-Control": "private, no-cache",
    }
