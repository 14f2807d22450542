"""Files on Jira issues as the tickets' attachments (docs/jira.md).

The local rules apply before anything is sent (remotes/file_checks.py): the size limit, the name cleaned,
the type read from the bytes by our own code. Attaching is one multipart/form-data POST to the issue's
`attachments`, the file in a part named `file` with the sniffed type, and `X-Atlassian-Token: no-check`,
without which Jira's XSRF check refuses it; an upload whose answer was lost is looked for among the issue's
files before it is called ambiguous. Listing reads the issue's `attachment` field on the read get_ticket
makes anyway: there a file shows the mimeType Jira keeps (its uploader's claim, ours for files attached
here) and no sha256 (Jira's API keeps no digest). Reading one checks it is the issue's and no larger than
the limit, then asks the site itself for the bytes (`redirect=false`: by default Jira Cloud redirects to its
media store, another host). A redirect on the same site is followed; one elsewhere is refused, as the token
goes to the site alone. The bytes stream up to the limit, and the type reported is the one sniffed from
them. Jira enforces its own largest file (a 413, passed on as TooLarge) and who may add or delete files.
"""

from __future__ import annotations

import contextlib
from typing import Final

from tickets_mcp.domain import Attachment
from tickets_mcp.domain.files import OCTET_STREAM, file_name, size_text
from tickets_mcp.errors import BackendUnavailable, NotFound, TooLarge, TrackerError, Unsupported
from tickets_mcp.remotes.client import Ambiguous, RedirectedAway, RemoteClient
from tickets_mcp.remotes.file_checks import check_download, check_upload, no_attachment, typed
from tickets_mcp.remotes.jira_mapping import BACKEND, parse_slug
from tickets_mcp.remotes.jira_site import API
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.wire.jira import Attachments, IssueFiles, JiraAttachment, JiraIssue, JiraUser
from tickets_mcp.wire.values import stored

NO_CHECK: Final = {"X-Atlassian-Token": "no-check"}  # the upload's pass through Jira's XSRF check
SETTINGS_HINT: Final = (
    "Attach a smaller file (or a compressed copy): Jira's attachment settings, which a Jira admin can change, "
    "set the largest file, and an issue holds only so many."
)


def listed(issue: JiraIssue) -> tuple[Attachment, ...]:
    """The issue's files as get_ticket lists them, oldest first, as Jira describes them."""
    return tuple(_described(row, issue.key) for row in sorted(issue.fields.attachment, key=lambda row: row.id))


def _described(row: JiraAttachment, key: str) -> Attachment:
    """A file as Jira describes it: the type Jira keeps, no digest."""
    return _attachment(row, key, mime=row.mimeType or OCTET_STREAM, sha256="")


def _attachment(row: JiraAttachment, key: str, *, mime: str, sha256: str, size: int | None = None) -> Attachment:
    return Attachment(
        id=row.id, ticket_slug=key, name=file_name(row.filename), mime=mime, size=row.size if size is None else size,
        sha256=sha256, uploader=row.author.displayName if row.author else None, created_at=stored(row.created),
    )  # fmt: skip


class JiraFiles:
    """Attaching, reading and deleting the files of the site's issues, as the token's user (`me`)."""

    def __init__(self, client: RemoteClient, me: JiraUser) -> None:
        self.client = client
        self.me = me

    def browse(self, key: str) -> str:
        return str(self.client.base_url.join(f"browse/{key}"))

    async def attach(self, slug: str, name: str, content: bytes) -> Attachment:
        check_upload(content)
        cleaned = file_name(name)
        mime, sha256 = await typed(content)
        issue = await self._files_of(slug)
        before = {row.id for row in issue.fields.attachment}
        try:
            upload = {"file": (cleaned, content, mime)}
            reply = await self.client.request(
                "POST", API + f"issue/{issue.key}/attachments", files=upload, headers=NO_CHECK
            )
            rows = parse(Attachments, reply.body, BACKEND, "the new attachment").root
        except Ambiguous as lost:
            rows = await self._recovered(lost, issue.key, before, cleaned, len(content))
        except TooLarge as refused:
            # Jira's own words, which the client's message gives after the status.
            said = refused.message.partition("(HTTP 413)")[2].removeprefix(":").strip().rstrip(".")
            raise TooLarge(
                "content",
                f"Jira refused {cleaned} ({size_text(len(content))}) on {issue.key} as too large"
                + (f": {said}." if said else "."),
                hint=SETTINGS_HINT,
            ) from None
        if not rows:
            raise BackendUnavailable(f"Jira answered the upload of {cleaned} to {issue.key} with no file.")
        return _attachment(rows[0], issue.key, mime=mime, sha256=sha256, size=len(content))

    async def _recovered(
        self, lost: Ambiguous, key: str, before: set[int], name: str, size: int
    ) -> list[JiraAttachment]:
        """The file a lost upload added, if the issue holds a new one of its name and size by this user; else the
        Ambiguous error itself, which says the file may or may not be there."""
        try:
            after = (await self._files_of(key)).fields.attachment
        except TrackerError:
            raise lost from None
        mine = [
            row for row in after
            if row.id not in before and row.filename == name and row.size == size
            and (row.author is None or row.author.accountId == self.me.accountId)
        ]  # fmt: skip
        if not mine:
            raise lost
        return mine[-1:]

    async def read(self, slug: str, attachment_id: int) -> tuple[Attachment, bytes]:
        issue = await self._files_of(slug)
        row = _find(issue, attachment_id)
        name, where = file_name(row.filename), f"Open it in Jira: {self.browse(issue.key)}"
        file_max = check_download(name, row.size, hint=where)
        # Its size as Jira said it is checked again while it streams: never more than the limit is read. The
        # client asks for JSON unless told otherwise; this answer is a file's bytes, of any type.
        try:
            reply = await self.client.request(
                "GET", API + f"attachment/content/{row.id}", params={"redirect": "false"}, headers={"accept": "*/*"},
                raw_max=file_max,
            )  # fmt: skip
        except RedirectedAway as away:
            site = str(self.client.base_url).rstrip("/")
            raise Unsupported(
                f"The jira backend cannot read {issue.key}'s attachment {row.id} ({name}): Jira sends it from "
                f"another host ({away.origin}), and this server sends the token to {site} only.",
                hint=where,
            ) from None
        content: bytes = reply.body or b""
        mime, sha256 = await typed(content)
        return _attachment(row, issue.key, mime=mime, sha256=sha256, size=len(content)), content

    async def delete(self, slug: str, attachment_id: int) -> Attachment:
        issue = await self._files_of(slug)
        row = _find(issue, attachment_id)
        with contextlib.suppress(NotFound):  # gone already: a retried DELETE whose first attempt landed
            await self.client.request("DELETE", API + f"attachment/{row.id}")
        return _described(row, issue.key)

    async def _files_of(self, slug: str) -> IssueFiles:
        reply = await self.client.request("GET", API + f"issue/{parse_slug(slug)}", params={"fields": "attachment"})
        return parse(IssueFiles, reply.body, BACKEND, "an issue's attachments")


def _find(issue: IssueFiles, attachment_id: int) -> JiraAttachment:
    """The issue's own file `attachment_id`: an id of another issue's file names none of this one's."""
    found = next((row for row in issue.fields.attachment if row.id == attachment_id), None)
    if found is None:
        raise no_attachment(issue.key, attachment_id)
    return found
