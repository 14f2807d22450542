"""Files on GitLab issues, and moving an issue to another project, which copies its files (docs/gitlab.md).

GitLab keeps no list of an issue's files: a file is a project upload (doc/api/project_markdown_uploads.md),
shown on an issue where its description or a note links it as `/uploads/<32 hex secret>/<filename>`. So:

- Attaching checks the local rules before anything is sent (the size limit, the name cleaned, the type read
  from the bytes: remotes/file_checks.py), uploads the bytes (POST /projects/:id/uploads, multipart `file`; every
  GitLab the API v4 serves, the answer's `id` since 17.3) and adds a note carrying the upload's Markdown (POST
  /projects/:id/issues/:iid/notes), as dropping a file into a comment does in GitLab. GitLab may rename the
  file (a space becomes `_`); the name shown is GitLab's. A 413 (GitLab's own maximum attachment size) is
  TooLarge saying so.
- Listing (get_ticket) reads the links in the description and in the notes get_ticket reads anyway: each
  upload once, in the order first linked, with the uploader and time of the text that first links it. GitLab
  tells neither a linked file's size nor its type: the size is unknown until the file is read, the type is
  what its name says (Python's own table) and no digest is given.
- An attachment's id is the first 8 hex digits of its upload's secret, read as a number: stable for as long
  as the link is, and found again among the issue's links only. GitLab's own upload id cannot serve: a link
  does not carry it, and the list of uploads that has it (GET /projects/:id/uploads, 17.2+) shows no secrets
  and only to maintainers.
- Reading finds the id among the issue's links, then GET /projects/:id/uploads/:secret/:filename (GitLab
  17.4+, anyone who can read the project), refused past the file limit as it streams; the type reported is
  the one sniffed from the bytes. An instance that keeps uploads in object storage with direct download
  answers with a redirect there, which the shared client refuses (the token never leaves GitLab's origin).
- Deleting is DELETE /projects/:id/uploads/:secret/:filename (GitLab 17.4+, Maintainer or Owner; anyone
  else gets an error saying so, and nothing changes), then every link to it is taken out: a note that held
  only the link is deleted, other text keeps `name (deleted)` in its place (Maintainers may edit anyone's
  comments). GitLab's DELETE by upload id (17.2+) needs that id, which a link does not carry.

Moving is POST /projects/:id/issues/:iid/move with to_project_id (GitLab 8.7+; Reporter or more in both
projects). The target is looked for in the ticket's namespace first, then among all the user's projects:
GitLab moves issues across namespaces. GitLab answers with the new issue (a new iid; the old one is closed
and points to it) and keeps only the labels whose names the target project has, so the adapter puts the
others back (status, type and priority are labels), creating them there. It keeps the milestone only where
the target or a group above it has one of that title; the move says which milestone was left otherwise.
Notes and linked uploads are copied, the uploads under new secrets: their attachment ids change.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import quote, unquote

import httpx2

from tickets_mcp.domain import Attachment, Relocation
from tickets_mcp.domain.files import OCTET_STREAM, file_limits, file_name, size_text
from tickets_mcp.domain.rules import check_version
from tickets_mcp.errors import BackendUnavailable, Invalid, NotFound, PermissionDenied, TooLarge
from tickets_mcp.remotes.client import Ambiguous, TokenRejected
from tickets_mcp.remotes.file_checks import check_upload, no_attachment, read_too_large, typed
from tickets_mcp.remotes.gitlab_directory import API, BACKEND, Directory
from tickets_mcp.remotes.gitlab_mapping import Place, username_of
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.wire.gitlab import GitLabIssue, GitLabNote, GitLabUpload, Issues
from tickets_mcp.wire.values import stored

log = logging.getLogger(__name__)

# An upload as GitLab links it: `/uploads/<secret>/<filename>`, alone or after a host and project path (the
# first group, checked to be this GitLab's and this project's: a link elsewhere is none of the issue's files).
UPLOAD_LINK: Final = re.compile(r"([^\s()\[\]<>\"'`]*?)/uploads/([0-9a-f]{32})/([^\s()\[\]<>\"'`]+)")
TRAILING: Final = ".,;:!?"  # punctuation after a bare link, not part of its name
NAME_TYPES: Final = mimetypes.MimeTypes(filenames=())  # Python's own table only: the same on every machine
MOVE_RECOVERY: Final = 20  # newest issues of the target searched for a move whose answer was lost


@dataclass(frozen=True, slots=True)
class Link:
    """An upload an issue's text links: its secret and file name (as in the link), who wrote it there, when."""

    secret: str
    filename: str
    author: str | None
    created_at: datetime

    @property
    def id(self) -> int:
        return attachment_id(self.secret)

    @property
    def name(self) -> str:
        return file_name(unquote(self.filename))


def attachment_id(secret: str) -> int:
    """The id an upload is listed under: the first 8 hex digits of its secret as a number (never 0)."""
    return int(secret[:8], 16) or 1


def links_in(text: str, owners: frozenset[str] = frozenset({""})) -> list[tuple[str, str]]:
    """The (secret, file name) of each upload `text` links, in order: those whose link starts (before `/uploads/`)
    with one of `owners` (lower case; "" is a link relative to the project). A name that decodes to a path or a
    dot segment (`%2e%2e`) names no file: sent, it would name another path."""
    found: list[tuple[str, str]] = []
    for match in UPLOAD_LINK.finditer(text):
        filename = match.group(3).rstrip(TRAILING)
        name = unquote(filename)
        if match.group(1).casefold() in owners and name.strip(".") and "/" not in name and "\\" not in name:
            found.append((match.group(2), filename))
    return found


def owners(place: Place, site: str) -> frozenset[str]:
    """What may stand before `/uploads/` in a link to one of `place`'s uploads, in lower case: nothing (GitLab's
    own Markdown), or the project's path or `/-/project/<id>`, after this GitLab's address or its path."""
    base = httpx2.URL(site)
    root = base.path.rstrip("/")
    here = [f"/{place.path}", f"/-/project/{place.id}"]
    origin = f"{base.scheme}://{base.netloc.decode()}"
    return frozenset({"", *(f"{start}{path}".casefold() for start in ("", root, origin + root) for path in here)})


def linked(issue: GitLabIssue, notes: list[GitLabNote], place: Place, site: str) -> list[Link]:
    """Each of the project's uploads the description or a comment links, once, in the order first linked."""
    texts = [(issue.description, username_of(issue.author), issue.created_at)]
    texts += [(note.body, username_of(note.author), note.created_at) for note in notes if not note.system]
    seen: dict[int, Link] = {}
    ours = owners(place, site)
    for text, author, created_at in texts:
        for secret, filename in links_in(text, ours):
            link = Link(secret, filename, author, created_at)
            seen.setdefault(link.id, link)
    return list(seen.values())


def _described(link: Link, slug: str) -> Attachment:
    """A linked file as far as GitLab tells: the type its name says, no size, no digest."""
    name = link.name
    return Attachment(
        id=link.id, ticket_slug=slug, name=name, mime=NAME_TYPES.guess_type(name)[0] or OCTET_STREAM, size=None,
        sha256="", uploader=link.author, created_at=stored(link.created_at),
    )  # fmt: skip


def _unlinked(text: str, link: Link) -> str:
    """`text` with each link to `link`'s upload (Markdown or bare) replaced by `name (deleted)`."""
    upload = f"/uploads/{re.escape(link.secret)}/"
    markdown = rf"!?\[[^\]\n]*\]\([^)\s]*{upload}[^)\s]*\)(?:\{{[^}}\n]*\}})?"  # an image may have {width=...}
    bare = rf"[^\s(\[]*{upload}[^\s)\]]*"

    def replace(found: re.Match[str]) -> str:
        whole = found.group(0)
        kept = "" if whole.endswith((")", "}")) else whole[len(whole.rstrip(TRAILING)) :]
        return f"{link.name} (deleted){kept}"

    return re.sub(f"{markdown}|{bare}", replace, text)


class Files:
    """Attaching, reading and deleting the files GitLab issues link, and moving issues, over `gitlab`."""

    def __init__(self, gitlab: Directory) -> None:
        self.gitlab = gitlab
        self.client = gitlab.client

    # Attachments

    def listed(self, place: Place, issue: GitLabIssue, notes: list[GitLabNote]) -> tuple[Attachment, ...]:
        """The issue's files as get_ticket lists them."""
        slug = f"{place.project.code}-{issue.iid}"
        return tuple(_described(link, slug) for link in linked(issue, notes, place, str(self.client.base_url)))

    async def attach(self, slug: str, name: str, content: bytes) -> Attachment:
        check_upload(content)
        cleaned = file_name(name)
        mime, sha256 = await typed(content)
        place, issue = await self.gitlab.issue(slug)
        # An upload whose answer was lost only leaves bytes no issue links: safe to send again.
        try:
            reply = await self.client.request(
                "POST", API + f"projects/{place.id}/uploads", files={"file": (cleaned, content, mime)}, idempotent=True
            )
        except TooLarge:
            raise TooLarge(
                "content",
                f"GitLab refused {cleaned} as too large ({size_text(len(content))}). Nothing was attached.",
                hint="GitLab's own maximum attachment size (Admin area, Settings, General, Account and limit) is "
                "lower: attach a smaller file, or ask an administrator to raise it.",
            ) from None
        upload = parse(GitLabUpload, reply.body, BACKEND, "the upload")
        found = links_in(upload.url)
        if not found:
            raise BackendUnavailable(f"GitLab answered the upload of {cleaned} without an /uploads/ link.")
        secret, filename = found[0]
        reply = await self.client.request(
            "POST", API + f"projects/{place.id}/issues/{issue.iid}/notes", json_body={"body": upload.markdown}
        )
        note = parse(GitLabNote, reply.body, BACKEND, "the new note")
        return Attachment(
            id=attachment_id(secret), ticket_slug=f"{place.project.code}-{issue.iid}",
            name=file_name(unquote(filename)), mime=mime, size=len(content), sha256=sha256,
            uploader=username_of(note.author), created_at=stored(note.created_at),
        )  # fmt: skip

    async def read(self, slug: str, attachment_id: int) -> tuple[Attachment, bytes]:
        place, issue, _, link = await self._find(slug, attachment_id)
        file_max = file_limits().file_max
        try:
            reply = await self.client.request("GET", _path(place, link), raw_max=file_max)
        except TooLarge:  # GitLab does not say a linked file's size: the client stopped reading at the limit
            raise read_too_large(
                link.name, file_max, hint=f"Open it in GitLab, on issue {place.path}#{issue.iid}."
            ) from None
        except NotFound:
            raise NotFound(
                f"GitLab has no file {link.name} in {place.project.code} any more, or serves none to its API.",
                hint="The issue may link a deleted file; GitLab serves uploads to its API from version 17.4.",
            ) from None
        content: bytes = reply.body or b""
        mime, sha256 = await typed(content)
        described = _described(link, f"{place.project.code}-{issue.iid}")
        return described.model_copy(update={"mime": mime, "size": len(content), "sha256": sha256}), content

    async def delete(self, slug: str, attachment_id: int) -> Attachment:
        place, issue, notes, link = await self._find(slug, attachment_id)
        try:
            await self.client.request("DELETE", _path(place, link))
        except TokenRejected:
            raise
        except PermissionDenied:
            raise PermissionDenied(
                f"GitLab lets only maintainers and owners of {place.path} delete files; "
                f"{self.gitlab.me.username} is not one.",
                hint="Ask a maintainer to delete it; the file stays on GitLab until then.",
            ) from None
        except NotFound:
            pass  # gone already: a retried DELETE whose first attempt landed, or deleted in GitLab
        await self._unlink(place, issue, notes, link)
        return _described(link, f"{place.project.code}-{issue.iid}")

    async def _find(self, slug: str, attachment_id: int) -> tuple[Place, GitLabIssue, list[GitLabNote], Link]:
        """The issue's own link `attachment_id`: an id of another issue's file names none of this one's."""
        place, issue = await self.gitlab.issue(slug)
        notes = await self.gitlab.notes(place, issue.iid)
        links = linked(issue, notes, place, str(self.client.base_url))
        found = next((link for link in links if link.id == attachment_id), None)
        if found is None:
            raise no_attachment(f"{place.project.code}-{issue.iid}", attachment_id)
        return place, issue, notes, found

    async def _unlink(self, place: Place, issue: GitLabIssue, notes: list[GitLabNote], link: Link) -> None:
        """Take every link to a deleted upload out of the issue's text (best effort: the file is gone already)."""
        issue_path = API + f"projects/{place.id}/issues/{issue.iid}"
        writes: list[tuple[str, str, dict[str, str] | None]] = []
        if link.secret in issue.description:
            writes.append(("PUT", issue_path, {"description": _unlinked(issue.description, link)}))
        for note in notes:
            if note.system or link.secret not in note.body:
                continue
            body = _unlinked(note.body, link)
            if body.replace(f"{link.name} (deleted)", "").strip():
                writes.append(("PUT", f"{issue_path}/notes/{note.id}", {"body": body}))
            else:  # the note only carried the file
                writes.append(("DELETE", f"{issue_path}/notes/{note.id}", None))
        for method, path, body in writes:
            try:
                await self.client.request(method, path, json_body=body)
            except TokenRejected:
                raise
            except (PermissionDenied, NotFound) as refused:
                log.warning("GitLab: %s was deleted, but a link to it stays (%s)", link.name, refused.message)

    # Moving to another project

    async def move(self, slug: str, project: str, version: int | None) -> Relocation:
        place, issue = await self.gitlab.issue(slug)
        current = (await self.gitlab.tickets([issue]))[0]
        check_version(current, version)
        target = await self._target(place, project)
        if target.id == place.id:
            raise Invalid(
                "project", f"{current.slug} is already in {place.project.code}.",
                hint="Name another project; list_projects shows them.",
            )  # fmt: skip
        try:
            reply = await self.client.request(
                "POST", API + f"projects/{place.id}/issues/{issue.iid}/move", json_body={"to_project_id": target.id}
            )
            moved = parse(GitLabIssue, reply.body, BACKEND, "the moved issue")
        except Ambiguous:
            recovered = await self._moved(place, issue.iid, target)
            if recovered is None:
                raise
            moved = recovered
        except Invalid as refused:
            if "insufficient permissions" not in refused.message:
                raise
            raise PermissionDenied(
                f"GitLab did not let {self.gitlab.me.username} move {current.slug} to {target.project.code}.",
                hint="Moving an issue takes at least the Reporter role in both projects.",
            ) from None
        kept = {name.casefold() for name in moved.label_names}
        if lost := [name for name in issue.label_names if name.casefold() not in kept]:
            reply = await self.client.request(
                "PUT", API + f"projects/{moved.project_id}/issues/{moved.iid}", json_body={"add_labels": lost}
            )
            moved = parse(GitLabIssue, reply.body, BACKEND, "the moved issue")
        (ticket,) = await self.gitlab.tickets([moved])
        # GitLab keeps a milestone only where the target (or a group above it) has one of its title.
        left = issue.milestone.title if issue.milestone is not None and moved.milestone is None else None
        return Relocation(ticket=ticket, moved_from=current.slug, milestone=left)

    async def _target(self, place: Place, project: str) -> Place:
        """The project `project` names: in the ticket's namespace first, then among all the user's projects."""
        with contextlib.suppress(NotFound):
            return await self.gitlab.place(project, place.namespace.full_path)
        return await self.gitlab.place(project, None)

    async def _moved(self, place: Place, iid: int, target: Place) -> GitLabIssue | None:
        """The issue a move whose answer was lost made: the old one names it, among the target's newest."""
        reply = await self.gitlab.get(f"projects/{place.id}/issues/{iid}")
        moved_to = parse(GitLabIssue, reply.body, BACKEND, "an issue").moved_to_id
        if moved_to is None:
            return None
        reply = await self.gitlab.get(
            f"projects/{target.id}/issues",
            {"state": "all", "order_by": "updated_at", "sort": "desc", "per_page": MOVE_RECOVERY},
        )
        return next(
            (row for row in parse(Issues, reply.body, BACKEND, "a list of issues").root if row.id == moved_to), None
        )


def _path(place: Place, link: Link) -> str:
    """The API path of a linked upload, its name one path segment whatever the link held."""
    return API + f"projects/{place.id}/uploads/{link.secret}/{quote(unquote(link.filename), safe='')}"
