"""Files on Redmine issues as the tickets' attachments (docs/redmine.md).

The local rules apply before anything is sent: the size limit (domain/files.py), the name cleaned, the type
read from the bytes by our own code. Attaching uploads the bytes (POST /uploads.json, octet-stream) and puts
the upload's token on the issue (PUT /issues/{id}.json), sending the sniffed type as its content_type.
Listing reads the issue's own list (include=attachments, on the read get_ticket makes anyway); there a file
shows the content_type Redmine keeps, which is only what its uploader said (ours for files attached here),
and no sha256 (Redmine's API gives none). Reading one checks it is the issue's, then streams its bytes from
attachments/download/{id} under the base URL (never a content_url of another origin), stopping past the
file limit, and reports the type sniffed from them. Redmine enforces its own largest upload (Administration
→ Settings → Files) and who may add or delete files.
"""

from __future__ import annotations

import contextlib

from tickets_mcp.domain import Attachment
from tickets_mcp.domain.files import OCTET_STREAM, file_name
from tickets_mcp.errors import NotFound, PermissionDenied
from tickets_mcp.remotes.client import RemoteClient
from tickets_mcp.remotes.file_checks import check_download, check_upload, no_attachment, typed
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.remotes.redmine_mapping import BACKEND
from tickets_mcp.remotes.redmine_site import Site, display_name
from tickets_mcp.wire.redmine import Issue, IssueEnvelope, RedmineAttachment, UploadEnvelope
from tickets_mcp.wire.values import stored


def listed(issue: Issue, slug: str) -> tuple[Attachment, ...]:
    """The issue's files as get_ticket lists them, oldest first, as Redmine describes them."""
    return tuple(_described(row, slug) for row in sorted(issue.attachments or (), key=lambda row: row.id))


def _described(row: RedmineAttachment, slug: str) -> Attachment:
    """A file as Redmine describes it: the type its uploader said, no digest."""
    return _attachment(row, slug, mime=row.content_type or OCTET_STREAM, sha256="")


def _attachment(row: RedmineAttachment, slug: str, *, mime: str, sha256: str, size: int | None = None) -> Attachment:
    return Attachment(
        id=row.id, ticket_slug=slug, name=file_name(row.filename), mime=mime,
        size=row.filesize if size is None else size, sha256=sha256, uploader=display_name(row.author),
        created_at=stored(row.created_on),
    )  # fmt: skip


class Files:
    """Attaching, reading and deleting the files of the site's issues."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.client: RemoteClient = site.client

    async def attach(self, slug: str, name: str, content: bytes) -> Attachment:
        check_upload(content)
        cleaned = file_name(name)
        mime, sha256 = await typed(content)
        place, issue = await self.site.issue(slug, "attachments")
        before = {row.id for row in issue.attachments or ()}
        # An upload whose answer was lost only leaves bytes no issue holds (redmine:attachments:prune removes
        # them): safe to send again.
        reply = await self.client.request(
            "POST", "uploads.json", params={"filename": cleaned}, content=content, idempotent=True
        )
        token = parse(UploadEnvelope, reply.body, BACKEND, "the upload").upload.token
        upload = {"token": token, "filename": cleaned, "content_type": mime}
        await self.client.request("PUT", f"issues/{issue.id}.json", json_body={"issue": {"uploads": [upload]}})
        after = await self._issue(issue.id)
        ours = [
            row for row in after.attachments or ()
            if row.id not in before and row.filename == cleaned and row.filesize == len(content)
        ]  # fmt: skip
        code = place.project.code
        if not ours:
            raise PermissionDenied(
                f"Redmine did not keep {cleaned} on {code}-{issue.id}: {self.site.me.username} may not add files there."
            )
        return _attachment(ours[-1], f"{code}-{issue.id}", mime=mime, sha256=sha256, size=len(content))

    async def read(self, slug: str, attachment_id: int) -> tuple[Attachment, bytes]:
        place, issue = await self.site.issue(slug, "attachments")
        ticket_slug = f"{place.project.code}-{issue.id}"
        row = _find(issue, ticket_slug, attachment_id)
        file_max = check_download(row.filename, row.filesize, hint=f"Open it in Redmine itself (issue #{issue.id}).")
        # Its size as Redmine said it is checked again while it streams: never more than the limit is read.
        reply = await self.client.request("GET", f"attachments/download/{row.id}", raw_max=file_max)
        content: bytes = reply.body or b""
        mime, sha256 = await typed(content)
        return _attachment(row, ticket_slug, mime=mime, sha256=sha256, size=len(content)), content

    async def delete(self, slug: str, attachment_id: int) -> Attachment:
        place, issue = await self.site.issue(slug, "attachments")
        ticket_slug = f"{place.project.code}-{issue.id}"
        row = _find(issue, ticket_slug, attachment_id)
        with contextlib.suppress(NotFound):  # gone already: a retried DELETE whose first attempt landed
            await self.client.request("DELETE", f"attachments/{row.id}.json")
        return _described(row, ticket_slug)

    async def _issue(self, issue_id: int) -> Issue:
        body = await self.site.get(f"issues/{issue_id}.json", {"include": "attachments"})
        return parse(IssueEnvelope, body, BACKEND, "an issue").issue


def _find(issue: Issue, slug: str, attachment_id: int) -> RedmineAttachment:
    """The issue's own file `attachment_id`: an id of another issue's file names none of this one's."""
    found = next((row for row in issue.attachments or () if row.id == attachment_id), None)
    if found is None:
        raise no_attachment(slug, attachment_id)
    return found
