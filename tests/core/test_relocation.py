"""LocalTracker moving a ticket to another project: who may, where to, and every call through an old slug,
on both stores."""

from __future__ import annotations

from typing import Any

import pytest

from tickets_mcp.core import admin
from tickets_mcp.core.access import Tier
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import LinkKind, Role, Scope, Status
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied, StaleVersion
from tickets_mcp.stores import Store

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(local_store: Store) -> Store:
    return local_store


async def tracker_for(store: Store, username: str, tier: Tier = Tier.FULL, **limits: Any) -> LocalTracker:
    user = await store.find_user(username)
    assert user is not None
    return LocalTracker(store, Principal(user_id=user.id, username=user.username, **limits), tier)


async def file(tracker: LocalTracker, title: str, **fields: Any) -> str:
    return (await tracker.create_ticket(TicketDraft(title=title, **fields))).ticket.slug


async def alice_with_web(store: Store) -> LocalTracker:
    alice = await tracker_for(store, "alice")
    await alice.create_project("Web", code="WEB")
    return alice


async def test_the_old_slug_reads_changes_and_comments_the_moved_ticket_and_answers_name_the_new_one(
    store: Store,
) -> None:
    alice = await alice_with_web(store)
    slug = await file(alice, "Misfiled", project="INBOX")
    moved = await alice.move_to_project(slug, "WEB")
    assert (moved.moved_from, moved.ticket.slug) == ("INBOX-1", "WEB-1")
    detail = await alice.get_ticket("INBOX-1")
    assert (detail.ticket.slug, detail.moved_from) == ("WEB-1", ("INBOX-1",))
    updated = await alice.update_ticket("inbox-1", TicketChanges(status=Status.TODO))
    assert (updated.slug, updated.status) == ("WEB-1", Status.TODO)
    comment = await alice.add_comment("INBOX-1", "Found it")
    assert comment.ticket_slug == "WEB-1"
    assert (await alice.move_ticket("INBOX-1", Status.IN_PROGRESS)).slug == "WEB-1"
    listed = await alice.list_tickets(TicketFilter(project="INBOX"))
    assert listed.total == 0
    assert [t.slug for t in (await alice.list_tickets(TicketFilter(project="WEB"))).tickets] == ["WEB-1"]
    assert await file(alice, "Next in the inbox", project="INBOX") == "INBOX-2"


async def test_a_ticket_moved_twice_answers_to_all_its_slugs(store: Store) -> None:
    alice = await alice_with_web(store)
    await alice.create_project("Operations", code="OPS")
    slug = await file(alice, "Wanders", project="INBOX")
    await alice.move_to_project(slug, "WEB")
    moved = await alice.move_to_project("INBOX-1", "Operations")
    assert (moved.moved_from, moved.ticket.slug) == ("WEB-1", "OPS-1")
    for old in ("INBOX-1", "WEB-1", "OPS-1"):
        detail = await alice.get_ticket(old)
        assert (detail.ticket.slug, detail.moved_from) == ("OPS-1", ("INBOX-1", "WEB-1"))


async def test_sub_tasks_move_along_and_a_parent_left_behind_is_cleared(store: Store) -> None:
    alice = await alice_with_web(store)
    epic = await file(alice, "Epic", project="INBOX")
    story = await file(alice, "Story", project="INBOX", parent=epic)
    task = await file(alice, "Task", project="INBOX", parent=story)
    moved = await alice.move_to_project(story, "WEB")
    assert (moved.ticket.slug, moved.parent, moved.ticket.parent) == ("WEB-1", epic, None)
    assert moved.subtasks == {task: "WEB-2"}
    assert (await alice.get_ticket(task)).ticket.parent == "WEB-1"
    assert (await alice.get_ticket(epic)).subtasks == ()


async def test_labels_are_carried_by_name_and_new_ones_reported(store: Store) -> None:
    alice = await alice_with_web(store)
    await file(alice, "Labelled", project="WEB", labels=["ui"])
    slug = await file(alice, "Moves", project="INBOX", labels=["ui", "flaky"])
    moved = await alice.move_to_project(slug, "WEB")
    assert [label.name for label in moved.ticket.labels] == ["flaky", "ui"]
    assert moved.ticket.new_labels is not None and moved.ticket.new_labels.names == ("flaky",)


async def test_moving_to_its_own_project_or_an_unknown_one_is_refused_with_what_to_do(store: Store) -> None:
    alice = await alice_with_web(store)
    slug = await file(alice, "Stays", project="INBOX")
    with pytest.raises(Invalid, match="already in INBOX"):
        await alice.move_to_project(slug, "INBOX")
    with pytest.raises(NotFound, match="WEBB") as unknown:
        await alice.move_to_project(slug, "WEBB")
    assert "WEB" in (unknown.value.hint or "")
    with pytest.raises(StaleVersion):
        await alice.move_to_project(slug, "WEB", version=7)


async def test_a_ticket_moves_within_its_organization_only(store: Store) -> None:
    alice = await alice_with_web(store)
    await admin.add_organization(store, "Second", "alice")
    await alice.create_project("Elsewhere", code="ELS", organization="second")
    await alice.create_project("Web too", code="WEB", organization="second")
    slug = await file(alice, "Mine", project="INBOX")
    for elsewhere in ("ELS", "second:WEB", "second:ELS"):
        with pytest.raises(Invalid, match="another organization") as refused:
            await alice.move_to_project(slug, elsewhere)
        assert "within its organization" in (refused.value.hint or "")
    moved = await alice.move_to_project(slug, "WEB")  # WEB of its own organization, though alice sees two
    assert moved.ticket.slug == "local:WEB-1"
    assert moved.moved_from == "INBOX-1"


async def test_only_who_may_change_the_ticket_and_file_in_the_target_may_move_it(store: Store) -> None:
    alice = await alice_with_web(store)
    slug = await file(alice, "Guarded", project="INBOX")
    for username, role in (("rita", Role.REPORTER), ("mark", Role.MEMBER)):
        await admin.add_user(store, username)
        await admin.set_member(store, "local", username, role)
    organization = (await alice.list_organizations())[0].id
    inbox = next(p for p in await alice.list_projects() if p.code == "INBOX")
    refused = [
        await tracker_for(store, "rita"),
        await tracker_for(store, "alice", Tier.READ_ONLY),
        await tracker_for(store, "alice", token_id=1, organization_id=organization, project_id=inbox.id),
        await tracker_for(
            store, "alice", token_id=2, organization_id=organization, scopes=frozenset({Scope.TICKETS_READ})
        ),
    ]
    for tracker in refused:
        with pytest.raises(PermissionDenied):
            await tracker.move_to_project(slug, "WEB")
    assert (await alice.get_ticket(slug)).ticket.slug == "INBOX-1"
    key = await tracker_for(
        store, "alice", token_id=3, organization_id=organization, scopes=frozenset({Scope.TICKETS_WRITE})
    )
    mark = await tracker_for(store, "mark")
    assert (await mark.move_to_project(slug, "WEB")).ticket.slug == "WEB-1"
    assert (await key.move_to_project("WEB-1", "INBOX")).ticket.slug == "INBOX-2"


async def test_an_old_slug_of_a_ticket_the_caller_may_not_see_is_not_found(store: Store) -> None:
    alice = await alice_with_web(store)
    slug = await file(alice, "Private", project="INBOX")
    await alice.move_to_project(slug, "WEB")
    await admin.add_user(store, "mallory")
    await admin.add_organization(store, "Other", "mallory")
    mallory = await tracker_for(store, "mallory")
    with pytest.raises(NotFound):
        await mallory.get_ticket("INBOX-1")


async def test_deleting_a_moved_ticket_leaves_its_old_slug_naming_nothing(store: Store) -> None:
    alice = await alice_with_web(store)
    slug = await file(alice, "Short-lived", project="INBOX")
    await alice.move_to_project(slug, "WEB")
    await alice.delete_ticket("INBOX-1")
    for gone in ("INBOX-1", "WEB-1"):
        with pytest.raises(NotFound):
            await alice.get_ticket(gone)


async def test_links_time_and_the_milestone_on_a_move(store: Store) -> None:
    alice = await alice_with_web(store)
    await alice.save_milestone("INBOX", "Sprint 1")
    slug = await file(alice, "Planned", project="INBOX", milestone="Sprint 1")
    blocker = await file(alice, "Blocker", project="INBOX")
    await alice.link_tickets(slug, LinkKind.BLOCKED_BY, blocker)
    await alice.log_time(slug, 2)
    moved = await alice.move_to_project(slug, "WEB")
    assert (moved.milestone, moved.ticket.milestone, moved.ticket.spent) == ("Sprint 1", None, 2)
    detail = await alice.get_ticket("INBOX-1")
    assert [(link.kind, link.slug) for link in detail.links] == [(LinkKind.BLOCKED_BY, blocker)]
    assert [entry.hours for entry in detail.time_entries] == [2]


async def test_attachments_follow_and_are_read_through_the_old_slug(store: Store) -> None:
    alice = await alice_with_web(store)
    slug = await file(alice, "With a log", project="INBOX")
    attached = await alice.attach_file(slug, "trace.txt", b"Traceback: boom\n")
    await alice.move_to_project(slug, "WEB")
    (listed,) = (await alice.get_ticket(slug)).attachments
    assert (listed.id, listed.ticket_slug, listed.name) == (attached.id, "WEB-1", "trace.txt")
    found, content = await alice.attachment(slug, attached.id)
    assert (found.ticket_slug, content) == ("WEB-1", b"Traceback: boom\n")
