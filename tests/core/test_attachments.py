"""LocalTracker's attachments: names cleaned, types read from the bytes, the limits, who may do what."""

from __future__ import annotations

import pytest

from tickets_mcp.core import admin
from tickets_mcp.core.access import Tier
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketDraft
from tickets_mcp.domain import Role
from tickets_mcp.domain.files import ENV_FILE_MAX, ENV_QUOTA, NAME_MAX
from tickets_mcp.errors import Conflict, Invalid, NotFound, PermissionDenied, TooLarge
from tickets_mcp.stores import Store

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture
async def store(local_store: Store) -> Store:
    for username in ("bob", "carol"):
        await admin.add_user(local_store, username)
    await admin.set_member(local_store, "local", "bob", Role.MEMBER)
    await admin.set_member(local_store, "local", "carol", Role.REPORTER)
    await admin.add_user(local_store, "mallory")  # in no organization
    return local_store


async def tracker_for(store: Store, username: str, tier: Tier = Tier.FULL) -> LocalTracker:
    user = await store.find_user(username)
    assert user is not None
    return LocalTracker(store, Principal(user_id=user.id, username=user.username), tier)


async def file(tracker: LocalTracker, title: str = "Crash on save") -> str:
    return (await tracker.create_ticket(TicketDraft(title=title))).ticket.slug


async def test_an_attached_file_is_listed_on_its_ticket_and_read_back(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    slug = await file(alice)
    attached = await alice.attach_file(slug, "trace.log", b"KeyError: 'x'\n")
    assert (attached.name, attached.mime, attached.size, attached.uploader) == ("trace.log", "text/plain", 14, "alice")
    assert (await alice.get_ticket(slug)).attachments == (attached,)
    assert await alice.attachment(slug, attached.id) == (attached, b"KeyError: 'x'\n")


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        ("screenshot.txt", PNG, "image/png"),  # PNG bytes named as text
        ("innocent.png", HTML, "text/html"),  # a page named as an image
        ("drawing.png", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        ("notes.pdf", "plain words, é and ü\n".encode(), "text/plain"),
        ("data.txt", b"\x00\x01\x02\xff binary", "application/octet-stream"),
        ("BMW.txt", b"BMW is a car maker", "text/plain"),  # two letters of a BMP signature do not make an image
    ],
)
async def test_the_type_is_read_from_the_bytes_never_from_the_name(
    store: Store, name: str, content: bytes, mime: str
) -> None:
    alice = await tracker_for(store, "alice")
    attached = await alice.attach_file(await file(alice), name, content)
    assert attached.mime == mime


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Desktop\\report.pdf", "report.pdf"),
        ("evil\r\nSet-Cookie: session=1.txt", "evil Set-Cookie: session=1.txt"),
        ("photo\u202egnp.exe", "photognp.exe"),  # a right-to-left override that would show it as exe.png
        ("..", "attachment"),
        ("   ", "attachment"),
    ],
)
async def test_hostile_file_names_are_cleaned(store: Store, given: str, kept: str) -> None:
    alice = await tracker_for(store, "alice")
    assert (await alice.attach_file(await file(alice), given, b"x")).name == kept


async def test_a_very_long_name_is_cut_before_its_extension(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    attached = await alice.attach_file(await file(alice), "a" * 1000 + ".tar.gz", b"x")
    assert len(attached.name) == NAME_MAX and attached.name.endswith("a….gz")


async def test_a_file_past_the_limit_is_refused_naming_the_limit(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_FILE_MAX, "1KiB")
    alice = await tracker_for(store, "alice")
    slug = await file(alice)
    with pytest.raises(
        TooLarge, match=r"1\.1 KiB \(1,100 bytes\); this server takes files up to 1 KiB \(1,024 bytes\)"
    ):
        await alice.attach_file(slug, "big.log", b"x" * 1100)
    assert (await alice.attach_file(slug, "fits.log", b"x" * 1024)).size == 1024
    with pytest.raises(Invalid, match="empty"):
        await alice.attach_file(slug, "empty.log", b"")


async def test_the_organization_quota_is_stated_when_a_file_does_not_fit(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_QUOTA, "100")
    alice = await tracker_for(store, "alice")
    slug = await file(alice)
    await alice.attach_file(slug, "a.log", b"a" * 80)
    with pytest.raises(Conflict, match=r"use 80 bytes of their 100 bytes quota") as refused:
        await alice.attach_file(slug, "b.log", b"b" * 30)
    assert "TICKETS_ATTACHMENT_QUOTA" in str(refused.value)


async def test_a_reporter_attaches_and_deletes_their_own_file_but_not_anothers(store: Store) -> None:
    alice, carol = await tracker_for(store, "alice"), await tracker_for(store, "carol")
    slug = await file(carol, "My screenshot shows it")
    mine = await carol.attach_file(slug, "screen.png", PNG)
    theirs = await alice.attach_file(slug, "logs.txt", b"log")
    with pytest.raises(PermissionDenied, match="reporter"):
        await carol.delete_attachment(slug, theirs.id)
    assert await carol.delete_attachment(slug, mine.id) == mine
    bob = await tracker_for(store, "bob")
    assert (await bob.delete_attachment(slug, theirs.id)).id == theirs.id  # a member changes any ticket


async def test_an_outsider_can_neither_read_nor_attach(store: Store) -> None:
    alice, mallory = await tracker_for(store, "alice"), await tracker_for(store, "mallory")
    slug = await file(alice)
    attached = await alice.attach_file(slug, "secret.txt", b"secret")
    with pytest.raises((NotFound, PermissionDenied)):
        await mallory.attachment(slug, attached.id)
    with pytest.raises((NotFound, PermissionDenied)):
        await mallory.attach_file(slug, "x.txt", b"x")


async def test_the_server_tier_bounds_attaching_and_deleting(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    slug = await file(alice)
    attached = await alice.attach_file(slug, "a.txt", b"a")
    no_delete = await tracker_for(store, "alice", Tier.NO_DELETE)
    assert (await no_delete.attach_file(slug, "b.txt", b"b")).name == "b.txt"
    with pytest.raises(PermissionDenied, match="no-delete"):
        await no_delete.delete_attachment(slug, attached.id)
    read_only = await tracker_for(store, "alice", Tier.READ_ONLY)
    with pytest.raises(PermissionDenied, match="read-only"):
        await read_only.attach_file(slug, "c.txt", b"c")
    assert (await read_only.attachment(slug, attached.id))[1] == b"a"


async def test_an_unknown_attachment_is_not_found_on_the_ticket(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    slug = await file(alice)
    with pytest.raises(NotFound, match="no attachment 9"):
        await alice.attachment(slug, 9)
    with pytest.raises(NotFound, match=f"{slug} has no attachment 9"):
        await alice.delete_attachment(slug, 9)


async def test_deleting_a_ticket_says_how_many_attachments_go_with_it(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    slug = await file(alice)
    await alice.attach_file(slug, "a.txt", b"a")
    await alice.attach_file(slug, "b.txt", b"b")
    assert (await alice.ticket_deletion(slug)).attachments == 2
    assert (await alice.delete_ticket(slug)).attachments == 2


@pytest.mark.parametrize("attachment_id", [0, -1, 2**63, 10**23])
async def test_an_id_no_store_can_hold_is_an_attachment_not_found(store: Store, attachment_id: int) -> None:
    alice = await tracker_for(store, "alice")
    slug = await file(alice)
    with pytest.raises(NotFound, match=f"has no attachment {attachment_id}"):
        await alice.attachment(slug, attachment_id)
    with pytest.raises(NotFound, match=f"has no attachment {attachment_id}"):
        await alice.delete_attachment(slug, attachment_id)
