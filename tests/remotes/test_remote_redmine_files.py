"""Attachments on the live Redmine (tests/fixtures/redmine_peer.py): files uploaded to issues, listed by
get_ticket, read back with the type our own code reads from their bytes, and deleted."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.fixtures.redmine_peer import RedminePeer, needs_redmine
from tests.fixtures.remote_contract import Counting
from tickets_mcp.core.tracker import TicketDraft
from tickets_mcp.domain import Ticket
from tickets_mcp.errors import Invalid, NotFound, TooLarge
from tickets_mcp.remotes.redmine import RedmineTracker

pytestmark = [pytest.mark.anyio, needs_redmine]

# A 1x1 PNG: binary, with bytes no text holds.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def peer() -> Iterator[RedminePeer]:
    found = RedminePeer()
    yield found
    found.admin.http.close()


@pytest.fixture
async def tracker(peer: RedminePeer) -> AsyncIterator[RedmineTracker]:
    opened = await peer.open()
    assert isinstance(opened, RedmineTracker)
    yield opened
    await opened.aclose()


async def filed(peer: RedminePeer, tracker: RedmineTracker, title: str = "Has files") -> Ticket:
    project = await peer.new_project()
    return (await tracker.create_ticket(TicketDraft(title=title, project=project.id))).ticket


async def test_text_and_binary_files_are_listed_on_the_ticket_and_read_back_byte_for_byte(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    ticket = await filed(peer, tracker)
    text = await tracker.attach_file(ticket.slug, "../logs/trace.log", b"line one\nline two\n")
    image = await tracker.attach_file(ticket.slug, "notes.txt", PNG)  # the name says text; the bytes say PNG
    assert (text.name, text.mime, text.size, text.ticket_slug) == ("trace.log", "text/plain", 18, ticket.slug)
    assert (image.name, image.mime, image.size, image.uploader) == ("notes.txt", "image/png", len(PNG), "Alice Tester")

    detail = await tracker.get_ticket(ticket.slug)
    assert [(a.id, a.name, a.mime, a.size) for a in detail.attachments] == [
        (text.id, "trace.log", "text/plain", 18),
        (image.id, "notes.txt", "image/png", len(PNG)),  # the type we sent, as Redmine keeps it
    ]

    described, content = await tracker.attachment(ticket.slug, image.id)
    assert content == PNG
    assert (described.mime, described.sha256) == ("image/png", image.sha256)
    assert (await tracker.attachment(ticket.slug, text.id))[1] == b"line one\nline two\n"


async def test_reading_reports_the_type_sniffed_from_the_bytes_not_the_one_redmine_was_told(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    ticket = await filed(peer, tracker)
    issue_id = ticket.slug.rpartition("-")[2]
    token = peer.admin.http.post(
        "uploads.json", params={"filename": "page.png"}, content=b"<html><script>alert(1)</script>",
        headers={"Content-Type": "application/octet-stream"},
    ).json()["upload"]["token"]  # fmt: skip
    upload = {"token": token, "filename": "page.png", "content_type": "image/png"}
    peer.admin.call("PUT", f"issues/{issue_id}.json", {"issue": {"uploads": [upload]}})
    (listed,) = (await tracker.get_ticket(ticket.slug)).attachments
    assert listed.mime == "image/png"  # Redmine's claim, all a listing has
    described, _ = await tracker.attachment(ticket.slug, listed.id)
    assert described.mime == "text/html"


async def test_an_attachment_of_another_issue_is_not_found_on_this_one(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    ticket = await filed(peer, tracker)
    other = (await tracker.create_ticket(TicketDraft(title="Other", project=ticket.project_id))).ticket
    theirs = await tracker.attach_file(other.slug, "secret.txt", b"not yours")
    with pytest.raises(NotFound, match=f"{ticket.slug} has no attachment {theirs.id}"):
        await tracker.attachment(ticket.slug, theirs.id)
    with pytest.raises(NotFound):
        await tracker.delete_attachment(ticket.slug, theirs.id)
    assert (await tracker.attachment(other.slug, theirs.id))[1] == b"not yours"


async def test_a_deleted_attachment_leaves_the_ticket_and_cannot_be_read(
    peer: RedminePeer, tracker: RedmineTracker
) -> None:
    ticket = await filed(peer, tracker)
    kept = await tracker.attach_file(ticket.slug, "kept.txt", b"kept")
    gone = await tracker.attach_file(ticket.slug, "gone.txt", b"gone")
    deleted = await tracker.delete_attachment(ticket.slug, gone.id)
    assert (deleted.id, deleted.name) == (gone.id, "gone.txt")
    assert [a.id for a in (await tracker.get_ticket(ticket.slug)).attachments] == [kept.id]
    with pytest.raises(NotFound):
        await tracker.attachment(ticket.slug, gone.id)


@pytest.fixture
async def counted(peer: RedminePeer) -> AsyncIterator[tuple[RedmineTracker, Counting]]:
    """The adapter over a network that counts the requests it sends."""
    counting = Counting()
    opened = await peer.open(transport=counting)
    assert isinstance(opened, RedmineTracker)
    yield opened, counting
    await opened.aclose()


async def test_a_file_over_the_limit_or_empty_is_refused_before_any_request(
    peer: RedminePeer, counted: tuple[RedmineTracker, Counting], monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker, counting = counted
    ticket = await filed(peer, tracker, "Small files")
    monkeypatch.setenv("TICKETS_ATTACHMENT_MAX", "1KiB")
    sent = len(counting.paths)
    with pytest.raises(TooLarge, match="1 KiB"):
        await tracker.attach_file(ticket.slug, "big.bin", b"x" * 1025)
    with pytest.raises(Invalid, match="empty"):
        await tracker.attach_file(ticket.slug, "empty.txt", b"")
    assert len(counting.paths) == sent + 2  # each checked the key (users/current.json) and sent nothing more
    assert all(path.endswith("users/current.json") for path in counting.paths[sent:])


async def test_a_file_on_redmine_larger_than_our_limit_is_refused_without_downloading_it(
    peer: RedminePeer, counted: tuple[RedmineTracker, Counting], monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker, counting = counted
    ticket = await filed(peer, tracker, "Big file")
    big = await tracker.attach_file(ticket.slug, "big.txt", b"y" * 4096)
    monkeypatch.setenv("TICKETS_ATTACHMENT_MAX", "1KiB")
    with pytest.raises(TooLarge, match=r"big\.txt is 4 KiB"):
        await tracker.attachment(ticket.slug, big.id)
    assert not any("attachments/download" in path for path in counting.paths)
