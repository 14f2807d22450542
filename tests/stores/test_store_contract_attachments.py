"""The Store contract for attachments, proved by SQLite and PostgreSQL alike: each content stored once, the
organization's quota checked in the attaching transaction, and blobs removed with their last attachment."""

from __future__ import annotations

import hashlib

import anyio
import pytest

from tests.fixtures.store_contract import World, draft
from tests.fixtures.stores import Location, events, table_rows
from tickets_mcp.domain import Ticket
from tickets_mcp.errors import Conflict, NotFound
from tickets_mcp.stores import NewAttachment, Store

pytestmark = pytest.mark.anyio

QUOTA = 1_000


def new_file(content: bytes, name: str = "notes.txt", quota: int = QUOTA) -> NewAttachment:
    return NewAttachment(
        name=name, mime="text/plain", content=content, sha256=hashlib.sha256(content).hexdigest(), quota=quota
    )


def blobs(location: Location) -> list[tuple[str, int]]:
    return [(str(digest), int(size)) for digest, size in table_rows(location, "SELECT digest, size FROM blobs")]


def usage(location: Location) -> list[int]:
    return [int(row[0]) for row in table_rows(location, "SELECT bytes FROM attachment_usage")]


async def ticket(store: Store, world: World, title: str, parent: Ticket | None = None) -> Ticket:
    return (await store.create_ticket(draft(world, title, parent=parent), world.actor)).ticket


async def test_an_attached_file_is_listed_on_its_ticket_and_read_back_byte_for_byte(
    store: Store, world: World, location: Location
) -> None:
    bug = await ticket(store, world, "Crash on save")
    content = b"Traceback (most recent call last):\n  KeyError: 'x'\n"
    attached = await store.attach_file(bug.id, new_file(content, "trace.txt"), world.actor)
    assert (attached.ticket_slug, attached.name, attached.mime, attached.size, attached.uploader) == (
        bug.slug, "trace.txt", "text/plain", len(content), "alice",
    )  # fmt: skip
    assert attached.sha256 == hashlib.sha256(content).hexdigest()
    assert await store.read_attachment(bug.id, attached.id) == (attached, content)
    assert await store.find_attachment(bug.id, attached.id) == attached
    assert (await store.ticket_detail(bug.id)).attachments == (attached,)
    assert events(location)[-1] == (
        "attachment.added",
        bug.slug,
        {"attachment_id": attached.id, "name": "trace.txt", "size": len(content)},
    )


async def test_the_same_bytes_attached_twice_add_a_row_but_not_a_blob(
    store: Store, world: World, location: Location
) -> None:
    first, second = await ticket(store, world, "First"), await ticket(store, world, "Second")
    one = await store.attach_file(first.id, new_file(b"same bytes", "a.txt"), world.actor)
    two = await store.attach_file(second.id, new_file(b"same bytes", "b.txt"), world.actor)
    assert one.id != two.id and one.sha256 == two.sha256
    assert blobs(location) == [(one.sha256, 10)]
    assert usage(location) == [20]  # each attachment counts its size against the quota
    assert (await store.read_attachment(second.id, two.id))[1] == b"same bytes"


async def test_an_attachment_is_found_only_on_its_own_ticket(store: Store, world: World) -> None:
    mine, other = await ticket(store, world, "Mine"), await ticket(store, world, "Other")
    attached = await store.attach_file(mine.id, new_file(b"x"), world.actor)
    assert await store.find_attachment(other.id, attached.id) is None
    with pytest.raises(NotFound, match="no attachment"):
        await store.read_attachment(other.id, attached.id)
    with pytest.raises(NotFound, match="no attachment"):
        await store.delete_attachment(other.id, attached.id, world.actor)


async def test_a_file_over_the_quota_is_refused_and_leaves_nothing_behind(
    store: Store, world: World, location: Location
) -> None:
    bug = await ticket(store, world, "Big logs")
    await store.attach_file(bug.id, new_file(b"a" * 600), world.actor)
    with pytest.raises(Conflict, match="quota") as refused:
        await store.attach_file(bug.id, new_file(b"b" * 500), world.actor)
    assert "600 bytes of their 1000 bytes quota" in str(refused.value)
    assert usage(location) == [600] and len(blobs(location)) == 1
    assert len((await store.ticket_detail(bug.id)).attachments) == 1
    fits = await store.attach_file(bug.id, new_file(b"c" * 400), world.actor)
    assert fits.size == 400 and usage(location) == [1000]


async def test_two_files_attached_at_once_cannot_both_pass_the_quota(
    store: Store, world: World, location: Location
) -> None:
    bugs = [await ticket(store, world, f"Ticket {n}") for n in range(2)]
    outcomes: list[str] = []

    async def attach(bug: Ticket, fill: bytes) -> None:
        try:
            await store.attach_file(bug.id, new_file(fill * 700), world.actor)
            outcomes.append("attached")
        except Conflict:
            outcomes.append("refused")

    async with anyio.create_task_group() as group:
        for bug, fill in zip(bugs, (b"x", b"y"), strict=True):
            group.start_soon(attach, bug, fill)
    assert sorted(outcomes) == ["attached", "refused"]
    assert usage(location) == [700] and len(blobs(location)) == 1


async def test_deleting_an_attachment_removes_its_blob_only_with_the_last_one(
    store: Store, world: World, location: Location
) -> None:
    bug = await ticket(store, world, "Screenshots")
    shared = [await store.attach_file(bug.id, new_file(b"png bytes", f"{n}.png"), world.actor) for n in range(2)]
    alone = await store.attach_file(bug.id, new_file(b"other bytes"), world.actor)
    gone = await store.delete_attachment(bug.id, shared[0].id, world.actor)
    assert gone == shared[0]
    assert sorted(size for _, size in blobs(location)) == [9, 11]
    await store.delete_attachment(bug.id, shared[1].id, world.actor)
    assert blobs(location) == [(alone.sha256, 11)]
    assert usage(location) == [11]
    assert [a.id for a in (await store.ticket_detail(bug.id)).attachments] == [alone.id]
    assert events(location)[-1][0] == "attachment.deleted"


async def test_deleting_a_ticket_takes_its_and_its_subtasks_attachments_and_only_their_unshared_blobs(
    store: Store, world: World, location: Location
) -> None:
    parent = await ticket(store, world, "Epic")
    child = await ticket(store, world, "Part", parent=parent)
    kept = await ticket(store, world, "Elsewhere")
    await store.attach_file(parent.id, new_file(b"only the epic's"), world.actor)
    await store.attach_file(child.id, new_file(b"shared bytes"), world.actor)
    survivor = await store.attach_file(kept.id, new_file(b"shared bytes"), world.actor)
    preview = await store.ticket_deletion(parent.id)
    assert preview.attachments == 2
    assert await store.delete_ticket(parent.id, world.actor) == preview
    assert blobs(location) == [(survivor.sha256, 12)]
    assert usage(location) == [12]
    assert await store.read_attachment(kept.id, survivor.id) == (survivor, b"shared bytes")
    assert table_rows(location, "SELECT COUNT(*) FROM attachments") == [(1,)]


async def test_an_attachment_id_is_never_used_again_after_a_deletion(store: Store, world: World) -> None:
    bug = await ticket(store, world, "Ids")
    first = await store.attach_file(bug.id, new_file(b"1"), world.actor)
    await store.delete_attachment(bug.id, first.id, world.actor)
    second = await store.attach_file(bug.id, new_file(b"2"), world.actor)
    assert second.id > first.id
