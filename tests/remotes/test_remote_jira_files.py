"""Attachments on Jira, against the fake site behind Atlassian's OpenAPI document (tests/fixtures/fake_jira.py):
files uploaded to an issue as multipart, listed by get_ticket, read back with the type our own code reads from
their bytes, and deleted; a file too large, unknown or another issue's is refused, and the bytes never come
from another host. Every test ends with no request or answer outside the document."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator

import httpx2
import pytest

from tests.fixtures.fake_jira import MEDIA, SITE, SPEC
from tests.fixtures.jira_peer import JiraPeer
from tests.fixtures.remote_contract import LoseAnswers
from tickets_mcp.core.tracker import TicketDraft
from tickets_mcp.domain import Capability, Project
from tickets_mcp.errors import Invalid, NotFound, TooLarge, Unsupported
from tickets_mcp.mcp.render import ticket_detail
from tickets_mcp.remotes.client import Ambiguous
from tickets_mcp.remotes.jira import JiraTracker
from tickets_mcp.remotes.jira_files import NO_CHECK

pytestmark = pytest.mark.anyio

# A 1x1 PNG: binary, with bytes no text holds.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
CONTENT = re.compile(r"/rest/api/3/attachment/content/\d+")


class Recording(httpx2.AsyncBaseTransport):
    """The network between the adapter and the fake site, keeping every request the adapter sends."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[httpx2.Request] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent.append(request)
        return await self.inner.handle_async_request(request)

    def to(self, pattern: re.Pattern[str], method: str = "GET") -> list[httpx2.Request]:
        return [r for r in self.sent if r.method == method and pattern.fullmatch(r.url.path)]


class SameSiteDownloads(Recording):
    """A site that answers the content with a redirect to a download path of its own (as Jira Data Center's
    /secure/attachment/ID/NAME), which it then serves: the content request itself still goes to the referee."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        super().__init__(inner)
        self.files: dict[str, bytes] = {}

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent.append(request)
        if request.url.path.startswith("/secure/attachment/"):
            return httpx2.Response(200, content=self.files[request.url.path])
        response = await self.inner.handle_async_request(request)
        if not CONTENT.fullmatch(request.url.path) or response.status_code != 200:
            return response
        where = f"/secure/attachment/{request.url.path.rpartition('/')[2]}/file.bin"
        self.files[where] = await response.aread()
        return httpx2.Response(303, headers={"location": where})


@pytest.fixture
async def peer() -> AsyncIterator[JiraPeer]:
    jira = JiraPeer()
    yield jira
    assert jira.fake.referee.violations == []
    assert jira.fake.refused == []


@pytest.fixture
async def network(peer: JiraPeer) -> Recording:
    return Recording(peer.fake.transport())


@pytest.fixture
async def jira(peer: JiraPeer, network: Recording) -> AsyncIterator[JiraTracker]:
    tracker = await peer.open(transport=network)
    assert isinstance(tracker, JiraTracker)
    yield tracker
    await tracker.aclose()


@pytest.fixture
async def project(peer: JiraPeer) -> Project:
    return await peer.new_project()


def filed(peer: JiraPeer, project: Project, title: str = "Has files") -> str:
    """The key of an issue filed behind the adapter's back, so the requests a test counts are its own."""
    return peer.issue(project, TicketDraft(title=title, project=project.id)).key


async def test_files_are_uploaded_as_multipart_listed_on_the_ticket_and_read_back_byte_for_byte(
    peer: JiraPeer, jira: JiraTracker, network: Recording, project: Project
) -> None:
    ticket = filed(peer, project)
    text = await jira.attach_file(ticket, "../logs/trace.log", b"line one\nline two\n")
    image = await jira.attach_file(ticket, "café notes.txt", PNG)  # the name says text; the bytes say PNG
    assert (text.name, text.mime, text.size, text.ticket_slug, text.uploader) == (
        "trace.log", "text/plain", 18, ticket, "Alice Adams",
    )  # fmt: skip
    assert (image.name, image.mime, image.size, image.sha256) == (
        "café notes.txt", "image/png", len(PNG), hashlib.sha256(PNG).hexdigest(),
    )  # fmt: skip
    assert text.created_at.endswith("Z") and text.id != image.id

    upload = peer.fake.uploads[-1]
    assert upload.headers["x-atlassian-token"] == "no-check"
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    kept = peer.fake.issues[ticket].files
    assert [(f.name, f.mime, f.content) for f in kept] == [
        ("trace.log", "text/plain", b"line one\nline two\n"),
        ("café notes.txt", "image/png", PNG),
    ]  # fmt: skip  (each sent with the type read from its bytes, which Jira keeps)

    detail = await jira.get_ticket(ticket)
    assert [(a.id, a.name, a.mime, a.size, a.uploader, a.sha256) for a in detail.attachments] == [
        (text.id, "trace.log", "text/plain", 18, "Alice Adams", ""),
        (image.id, "café notes.txt", "image/png", len(PNG), "Alice Adams", ""),  # Jira keeps no digest
    ]
    shown = ticket_detail(detail)
    assert f"attachments (2; read one at tracker://tickets/{ticket}/attachments/ID):" in shown
    assert f"  [{text.id}] «trace.log» text/plain 18 bytes Alice Adams {text.created_at[:10]}" in shown

    described, content = await jira.attachment(ticket, image.id)
    assert content == PNG
    assert (described.mime, described.sha256, described.name) == ("image/png", image.sha256, "café notes.txt")
    assert (await jira.attachment(ticket, text.id))[1] == b"line one\nline two\n"
    downloads = network.to(CONTENT)
    assert [r.url.params["redirect"] for r in downloads] == ["false", "false"]  # the site serves the bytes itself
    assert all(r.headers["accept"] == "*/*" for r in downloads)
    assert {r.url.host for r in network.sent} == {"acme.atlassian.net"}
    assert Capability.ATTACHMENTS not in (await jira.workspace()).missing


async def test_reading_reports_the_type_sniffed_from_the_bytes_not_the_one_jira_keeps(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    ticket = filed(peer, project)
    issue = peer.fake.issues[ticket]
    peer.fake.attach(issue, peer.bob, "page.png", b"<html><script>alert(1)</script>", "image/png")
    (listed,) = (await jira.get_ticket(ticket)).attachments
    assert (listed.mime, listed.uploader) == ("image/png", "Bob Builder")  # Jira's claim, all a listing has
    described, _ = await jira.attachment(ticket, listed.id)
    assert described.mime == "text/html"


async def test_an_attachment_of_another_issue_or_of_none_is_not_found_and_not_touched(
    peer: JiraPeer, jira: JiraTracker, network: Recording, project: Project
) -> None:
    ticket, other = filed(peer, project), filed(peer, project, "Other")
    theirs = await jira.attach_file(other, "secret.txt", b"not yours")
    for attachment_id in (theirs.id, 999_999, 2**63):
        with pytest.raises(NotFound, match=f"{ticket} has no attachment {attachment_id}") as refused:
            await jira.attachment(ticket, attachment_id)
        assert refused.value.hint == "get_ticket lists its attachments."
        with pytest.raises(NotFound, match=f"{ticket} has no attachment {attachment_id}"):
            await jira.delete_attachment(ticket, attachment_id)
    assert network.to(CONTENT) == []
    assert network.to(re.compile(r"/rest/api/3/attachment/\d+"), "DELETE") == []
    assert (await jira.attachment(other, theirs.id))[1] == b"not yours"
    with pytest.raises(NotFound, match="KEY-404"):
        await jira.attach_file("KEY-404", "lost.txt", b"nowhere to go")


async def test_a_deleted_attachment_leaves_the_issue_and_cannot_be_read_or_deleted_again(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    ticket = filed(peer, project)
    kept = await jira.attach_file(ticket, "kept.txt", b"kept")
    gone = await jira.attach_file(ticket, "gone.txt", b"gone")
    deleted = await jira.delete_attachment(ticket, gone.id)
    assert (deleted.id, deleted.name, deleted.size, deleted.ticket_slug) == (gone.id, "gone.txt", 4, ticket)
    assert [a.id for a in (await jira.get_ticket(ticket)).attachments] == [kept.id]
    assert [f.name for f in peer.fake.issues[ticket].files] == ["kept.txt"]
    with pytest.raises(NotFound):
        await jira.attachment(ticket, gone.id)
    with pytest.raises(NotFound):
        await jira.delete_attachment(ticket, gone.id)


async def test_a_file_over_our_limit_or_empty_is_refused_before_any_request(
    peer: JiraPeer, jira: JiraTracker, network: Recording, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = filed(peer, project, "Small files")
    monkeypatch.setenv("TICKETS_ATTACHMENT_MAX", "1KiB")
    sent = len(network.sent)
    with pytest.raises(TooLarge, match="1 KiB"):
        await jira.attach_file(ticket, "big.bin", b"x" * 1025)
    with pytest.raises(Invalid, match="empty"):
        await jira.attach_file(ticket, "empty.txt", b"")
    assert len(network.sent) == sent
    assert (await jira.attach_file(ticket, "fits.bin", b"x" * 1024)).size == 1024


async def test_a_file_on_jira_larger_than_our_limit_is_refused_without_downloading_it(
    peer: JiraPeer, jira: JiraTracker, network: Recording, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = filed(peer, project, "Big file")
    big = await jira.attach_file(ticket, "big.txt", b"y" * 4096)
    monkeypatch.setenv("TICKETS_ATTACHMENT_MAX", "1KiB")
    with pytest.raises(TooLarge, match=r"big\.txt is 4 KiB; this server reads files up to 1 KiB") as refused:
        await jira.attachment(ticket, big.id)
    assert refused.value.hint == f"Open it in Jira: {SITE}/browse/{ticket}"
    assert network.to(CONTENT) == []


async def test_a_download_longer_than_jira_said_stops_at_our_limit(
    peer: JiraPeer, jira: JiraTracker, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = filed(peer, project, "Grew")
    stored = peer.fake.attach(peer.fake.issues[ticket], peer.alice, "grew.txt", b"z" * 4096, "text/plain")
    stored.size = 10  # the issue says 10 bytes; the content holds 4 KiB
    monkeypatch.setenv("TICKETS_ATTACHMENT_MAX", "1KiB")
    with pytest.raises(TooLarge, match=r"with more than 1 KB \(HTTP 200\), which was not read"):
        await jira.attachment(ticket, int(stored.id))


async def test_a_jira_that_sends_the_bytes_from_its_media_store_is_refused_and_the_token_stays_on_the_site(
    peer: JiraPeer, jira: JiraTracker, network: Recording, project: Project
) -> None:
    ticket = filed(peer, project, "Elsewhere")
    attached = await jira.attach_file(ticket, "trace.log", b"KeyError\n")
    peer.fake.always_redirects = True
    with pytest.raises(Unsupported) as refused:
        await jira.attachment(ticket, attached.id)
    said = str(refused.value)
    assert said.startswith(
        f"The jira backend cannot read {ticket}'s attachment {attached.id} (trace.log): Jira sends it from "
        f"another host ({MEDIA}), and this server sends the token to {SITE} only."
    )
    assert refused.value.hint == f"Open it in Jira: {SITE}/browse/{ticket}"
    assert "media-secret" not in said  # the media store's own token, in the redirect's query, is not repeated
    assert {r.url.host for r in network.sent} == {"acme.atlassian.net"}
    assert len(network.to(CONTENT)) == 1


async def test_a_redirect_to_a_download_on_the_same_site_is_followed(peer: JiraPeer, project: Project) -> None:
    ticket = filed(peer, project, "Same site")
    network = SameSiteDownloads(peer.fake.transport())
    jira = await peer.open(transport=network)
    try:
        attached = await jira.attach_file(ticket, "data.bin", PNG)
        described, content = await jira.attachment(ticket, attached.id)
    finally:
        await jira.aclose()
    assert (content, described.mime) == (PNG, "image/png")
    (followed,) = [r for r in network.sent if r.url.path.startswith("/secure/attachment/")]
    assert followed.url.host == "acme.atlassian.net"


async def test_a_file_jira_refuses_as_too_large_says_whose_limit_it_passed(
    peer: JiraPeer, jira: JiraTracker, project: Project
) -> None:
    ticket = filed(peer, project, "Site limit")
    peer.fake.attachment_max = 100
    with pytest.raises(TooLarge) as refused:
        await jira.attach_file(ticket, "report.txt", b"r" * 200)
    assert str(refused.value).startswith(
        f"Jira refused report.txt (200 bytes) on {ticket} as too large: The file is larger than the "
        "attachment size limit of 100 bytes."
    )
    assert refused.value.hint is not None and "Jira's attachment settings" in refused.value.hint
    assert peer.fake.issues[ticket].files == []


async def test_an_upload_whose_answer_was_lost_is_found_on_the_issue_not_sent_again(
    peer: JiraPeer, project: Project
) -> None:
    ticket = filed(peer, project, "Lost answer")
    jira = await peer.open(transport=LoseAnswers(deliver=True))
    try:
        found = await jira.attach_file(ticket, "trace.log", b"KeyError\n")
    finally:
        await jira.aclose()
    (kept,) = peer.fake.issues[ticket].files
    assert (found.id, found.name, found.size, found.mime) == (int(kept.id), "trace.log", 9, "text/plain")
    assert found.sha256 == hashlib.sha256(b"KeyError\n").hexdigest()
    assert len(peer.fake.uploads) == 1


async def test_an_upload_that_may_not_have_arrived_says_so(peer: JiraPeer, project: Project) -> None:
    ticket = filed(peer, project, "Maybe attached")
    jira = await peer.open(transport=LoseAnswers(deliver=False))
    try:
        with pytest.raises(Ambiguous, match="may or may not have been applied"):
            await jira.attach_file(ticket, "trace.log", b"KeyError\n")
    finally:
        await jira.aclose()
    assert peer.fake.issues[ticket].files == []


@pytest.mark.parametrize(
    ("files", "refused"),
    [
        ({"file": ("a.txt", b"a", "text/plain")}, None),
        ({"upload": ("a.txt", b"a", "text/plain")}, "[] should be non-empty"),
    ],
)
def test_the_referee_reads_an_upload_s_parts_and_wants_a_file_part(
    files: dict[str, tuple[str, bytes, str]], refused: str | None
) -> None:
    headers = {**NO_CHECK, "authorization": "Basic " + base64.b64encode(b"alice@example.com:token").decode()}
    request = httpx2.Request("POST", f"{SITE}/rest/api/3/issue/KEY-1/attachments", files=files, headers=headers)
    request.read()
    errors = SPEC.request_errors(request)
    assert (refused is None) == (errors == [])
    assert all(refused is not None and refused in error for error in errors)
    octets = httpx2.Request("POST", f"{SITE}/rest/api/3/issue/KEY-1/attachments", content=b"a", headers=headers)
    assert any("Valid mimetypes: ['multipart/form-data']" in e for e in SPEC.request_errors(octets))
