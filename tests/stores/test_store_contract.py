"""The Store contract, proved by SQLite and PostgreSQL alike: identity, organizations, tokens, projects,
tickets, comments, deletion, the audit trail and optimistic locking. Listing and the board are in
test_store_contract_listing.py; fixtures in store_contract.py.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.fixtures.store_contract import World, draft
from tests.fixtures.stores import events
from tickets_mcp.domain import Label, LabelUse, NewLabels, Priority, Role, Scope, Status, TicketType, TokenKind
from tickets_mcp.errors import BackendUnavailable, Conflict, Invalid, NotFound, StaleVersion
from tickets_mcp.stores import Actor, NewProject, NewToken, Placement, Store, TicketPatch
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.location import PostgresUrl

pytestmark = pytest.mark.anyio


# Operations


async def test_a_store_answers_pings_until_it_is_closed(location: Path | PostgresUrl) -> None:
    store = await open_store(location)
    await store.ping()
    usage = store.pool_usage()
    assert usage.in_use == 0 and usage.waiting == 0 and usage.max_size >= 1
    await store.close()
    with pytest.raises(BackendUnavailable, match="closed"):
        await store.ping()


# Users and the local workspace


async def test_a_new_database_gives_the_first_local_user_a_workspace(store: Store) -> None:
    alice = await store.ensure_user("alice", "Alice")
    await store.ensure_local_workspace(alice, "Local", "Inbox", "INBOX")
    await store.ensure_local_workspace(alice, "Local", "Inbox", "INBOX")
    (organization,) = await store.all_organizations()
    assert (organization.name, organization.slug) == ("Local", "local")
    assert await store.memberships(alice.id) == {organization.id: Role.OWNER}
    (inbox,) = await store.list_projects([organization.id])
    assert (inbox.name, inbox.code, inbox.tickets_count, inbox.open_tickets_count) == ("Inbox", "INBOX", 0, 0)


async def test_another_local_user_joins_the_first_organization_as_owner(store: Store, world: World) -> None:
    carol = await store.ensure_user("carol", "Carol")
    await store.ensure_local_workspace(carol, "Elsewhere", "Other", "OTHER")
    assert await store.memberships(carol.id) == {world.organization.id: Role.OWNER}
    assert [o.slug for o in await store.all_organizations()] == ["local"]


async def test_usernames_are_unique_and_found_regardless_of_ascii_case(store: Store, world: World) -> None:
    assert await store.ensure_user("ALICE", "someone else") == world.alice
    assert await store.find_user("Alice") == world.alice
    assert await store.find_user("nobody") is None


async def test_members_are_listed_by_username_and_reach_shows_what_a_user_can_see(store: Store, world: World) -> None:
    members = await store.members(world.organization.id)
    assert [(m.user.username, m.role) for m in members] == [("alice", Role.OWNER), ("bob", Role.MEMBER)]
    reach = await store.reach(world.bob.id)
    assert dict(reach.roles) == {world.organization.id: Role.MEMBER}
    assert [o.id for o in reach.organizations] == [world.organization.id]
    assert [(p.code, p.tickets_count) for p in reach.projects] == [("INBOX", None)]
    by_organization = await store.reach(world.bob.id, world.organization.id)
    assert dict(by_organization.roles) == {}
    assert [p.code for p in by_organization.projects] == ["INBOX"]


# Organizations and members


async def test_organizations_are_created_with_an_owner_and_a_unique_slug(store: Store, world: World) -> None:
    acme = await store.create_organization("Acme Corp", world.bob, world.actor)
    assert acme.slug == "acme-corp"
    assert (await store.memberships(world.bob.id))[acme.id] == Role.OWNER
    with pytest.raises(Conflict, match="acme-corp"):
        await store.create_organization("ACME corp", world.alice, world.actor)
    assert [o.name for o in await store.list_organizations([acme.id])] == ["Acme Corp"]


async def test_organizations_are_listed_in_byte_order_of_their_names(store: Store, world: World) -> None:
    for name in ("beta", "Zed", "alpha"):
        await store.create_organization(name, world.alice, world.actor)
    assert [o.name for o in await store.all_organizations()] == ["Local", "Zed", "alpha", "beta"]


async def test_a_member_role_is_set_changed_and_removed(store: Store, world: World) -> None:
    carol = await store.ensure_user("carol", "Carol")
    organization = world.organization.id
    assert (await store.set_member(organization, carol, Role.REPORTER, world.actor)).role == Role.REPORTER
    await store.set_member(organization, carol, Role.ADMIN, world.actor)
    assert (await store.memberships(carol.id))[organization] == Role.ADMIN
    await store.remove_member(organization, carol, world.actor)
    assert await store.memberships(carol.id) == {}
    with pytest.raises(NotFound):
        await store.remove_member(organization, carol, world.actor)


# Tokens


def new_token(world: World, digest: str = "d" * 64, **overrides: object) -> NewToken:
    fields: dict[str, object] = {
        "kind": TokenKind.PERSONAL, "name": "laptop", "hash": digest, "prefix": "pk_abcdef", "user_id": world.bob.id,
    }  # fmt: skip
    return NewToken(**(fields | overrides))  # pyright: ignore[reportArgumentType]


async def test_a_token_is_stored_listed_and_authenticates_its_user(store: Store, world: World) -> None:
    await store.set_member(world.organization.id, world.bob, Role.ADMIN, world.actor)
    key = await store.create_token(
        new_token(
            world, kind=TokenKind.ORGANIZATION, prefix="amk_abcdef", organization_id=world.organization.id,
            scopes=frozenset({Scope.TICKETS_WRITE, Scope.TICKETS_READ}),
        ),
        world.actor,
    )  # fmt: skip
    assert (key.kind, key.user, key.scopes) == (
        TokenKind.ORGANIZATION,
        "bob",
        {Scope.TICKETS_READ, Scope.TICKETS_WRITE},
    )
    assert key.last_used_at is None and key.revoked_at is None
    assert [t.id for t in await store.list_tokens()] == [key.id]
    found = await store.authenticate("d" * 64)
    assert found is not None and found.token.id == key.id and found.user == world.bob
    (listed,) = await store.list_tokens()
    assert listed.last_used_at is not None
    assert await store.authenticate("e" * 64) is None


async def test_a_key_is_read_with_its_creators_current_role_and_lapses_without_owner_or_admin(
    store: Store, world: World
) -> None:
    await store.set_member(world.organization.id, world.bob, Role.ADMIN, world.actor)
    await store.create_token(
        new_token(
            world, kind=TokenKind.ORGANIZATION, prefix="amk_abcdef", organization_id=world.organization.id,
            scopes=frozenset({Scope.TICKETS_WRITE}),
        ),
        world.actor,
    )  # fmt: skip
    await store.create_token(
        new_token(
            world, "p" * 64, kind=TokenKind.PROJECT, prefix="proj_abcdef",
            organization_id=world.organization.id, project_id=world.inbox.id,
        ),
        world.actor,
    )  # fmt: skip
    await store.create_token(new_token(world, "q" * 64, organization_id=world.organization.id), world.actor)

    async def states() -> dict[str, tuple[Role | None, str | None]]:
        found = [await store.authenticate(d * 64) for d in "dpq"]
        return {f.token.kind.value: (f.token.creator_role, f.token.ungranted_reason) for f in filter(None, found)}

    assert await states() == {"amk": (Role.ADMIN, None), "proj": (Role.ADMIN, None), "pk": (Role.ADMIN, None)}
    await store.set_member(world.organization.id, world.bob, Role.MEMBER, world.actor)
    demoted = await states()
    assert demoted["amk"][1] is not None and "no longer an owner or admin" in demoted["amk"][1]
    assert demoted["proj"] == demoted["amk"] == (Role.MEMBER, demoted["amk"][1]) and demoted["pk"][1] is None
    await store.remove_member(world.organization.id, world.bob, world.actor)
    removed = await states()
    assert removed["amk"][0] is None and removed["amk"][1] and removed["proj"][1] and removed["pk"][1] is None
    listed = {t.kind.value: t for t in await store.list_tokens()}
    assert listed["amk"].ungranted_reason and listed["proj"].ungranted_reason and not listed["pk"].ungranted_reason
    await store.set_member(world.organization.id, world.bob, Role.OWNER, world.actor)
    assert await states() == {"amk": (Role.OWNER, None), "proj": (Role.OWNER, None), "pk": (Role.OWNER, None)}


async def test_a_revoked_token_stays_listed_and_revoking_again_changes_nothing(store: Store, world: World) -> None:
    token = await store.create_token(new_token(world), world.actor)
    revoked = await store.revoke_token(token.id, world.actor)
    assert revoked.revoked_at is not None
    assert (await store.revoke_token(token.id, world.actor)).revoked_at == revoked.revoked_at
    found = await store.authenticate("d" * 64)
    assert found is not None and found.token.revoked_at is not None
    with pytest.raises(NotFound):
        await store.revoke_token(token.id + 100, world.actor)


async def test_a_token_hash_stored_twice_is_a_conflict(store: Store, world: World) -> None:
    await store.create_token(new_token(world), world.actor)
    with pytest.raises(Conflict):
        await store.create_token(new_token(world, name="again"), world.actor)
    assert len(await store.list_tokens()) == 1


# Projects


def new_project(world: World, name: str, code: str, organization_id: str | None = None) -> NewProject:
    return NewProject(organization_id or world.organization.id, name, code, "")


async def test_projects_are_created_listed_by_name_and_counted(store: Store, world: World) -> None:
    web = await store.create_project(new_project(world, "web app", "WEB"), world.actor)
    assert (web.code, web.tickets_count) == ("WEB", 0)
    await store.create_ticket(draft(world, "open", project=web), world.actor)
    await store.create_ticket(draft(world, "closed", project=web, status=Status.DONE), world.actor)
    listed = await store.list_projects([world.organization.id])
    assert [(p.name, p.tickets_count, p.open_tickets_count) for p in listed] == [("Inbox", 0, 0), ("web app", 2, 1)]
    assert [p.tickets_count for p in await store.list_projects([world.organization.id], counts=False)] == [None, None]
    assert await store.project_codes(world.organization.id) == {"INBOX", "WEB"}


async def test_project_names_are_unique_per_organization_ignoring_case_and_codes_everywhere(
    store: Store, world: World
) -> None:
    with pytest.raises(Conflict, match="named 'Inbox'"):
        await store.create_project(new_project(world, "INBOX", "IN2"), world.actor)
    with pytest.raises(Conflict, match="code 'INBOX'"):
        await store.create_project(new_project(world, "Other", "INBOX"), world.actor)
    acme = await store.create_organization("Acme", world.alice, world.actor)
    other_inbox = await store.create_project(new_project(world, "Inbox", "ACME", acme.id), world.actor)
    assert other_inbox.name == "Inbox"


async def test_a_project_is_renamed_and_described_and_an_empty_update_changes_nothing(
    store: Store, world: World
) -> None:
    web = await store.create_project(new_project(world, "Web", "WEB"), world.actor)
    renamed = await store.update_project(web.id, name="Website", description="The site", actor=world.actor)
    assert (renamed.name, renamed.description) == ("Website", "The site")
    assert await store.update_project(web.id, name="Website", description=None, actor=world.actor) == renamed
    with pytest.raises(Conflict):
        await store.update_project(web.id, name="inbox", description=None, actor=world.actor)


async def test_a_project_holding_tickets_is_never_deleted(store: Store, world: World) -> None:
    web = await store.create_project(new_project(world, "Web", "WEB"), world.actor)
    ticket = (await store.create_ticket(draft(world, "t", project=web, labels=("ui", "bug")), world.actor)).ticket
    preview = await store.project_deletion(web.id)
    assert (preview.tickets, preview.labels) == (1, 2)
    with pytest.raises(Conflict, match="still holds 1 ticket"):
        await store.delete_project(web.id, world.actor)
    await store.delete_ticket(ticket.id, world.actor)
    assert (await store.delete_project(web.id, world.actor)).labels == 2
    assert [p.code for p in await store.list_projects([world.organization.id])] == ["INBOX"]
    with pytest.raises(NotFound):
        await store.project_deletion(web.id)


# Tickets


async def test_a_created_ticket_holds_every_field(store: Store, world: World) -> None:
    parent = (await store.create_ticket(draft(world, "parent"), world.actor)).ticket
    ticket = (await store.create_ticket(
        draft(
            world, "Login fails", type=TicketType.BUG, description="On **Safari**", status=Status.TODO,
            priority=Priority.URGENT, assignee=world.bob, labels=("ui", "Bug"), parent=parent,
        ),
        world.actor,
    )).ticket  # fmt: skip
    assert (ticket.slug, ticket.number, ticket.type, ticket.title, ticket.description) == (
        "INBOX-2", 2, TicketType.BUG, "Login fails", "On **Safari**",
    )  # fmt: skip
    assert (ticket.status, ticket.priority, ticket.assignee, ticket.reporter) == (
        Status.TODO, Priority.URGENT, "bob", "alice",
    )  # fmt: skip
    assert [label.name for label in ticket.labels] == ["Bug", "ui"]
    assert ticket.parent == "INBOX-1"
    assert (ticket.version, ticket.closed_at, ticket.closed_by) == (1, None, None)
    assert ticket.created_at == ticket.updated_at and ticket.created_at.endswith("Z")
    read = await store.find_ticket(world.inbox.id, 2)
    assert read == ticket.model_copy(update={"new_labels": None})  # a read says nothing of what the write did
    assert await store.find_ticket(world.inbox.id, 3) is None


async def test_numbers_count_per_project_and_are_never_reused(store: Store, world: World) -> None:
    web = await store.create_project(new_project(world, "Web", "WEB"), world.actor)
    slugs = [(await store.create_ticket(draft(world, f"t{i}"), world.actor)).ticket.slug for i in range(3)]
    assert slugs == ["INBOX-1", "INBOX-2", "INBOX-3"]
    assert (await store.create_ticket(draft(world, "w", project=web), world.actor)).ticket.slug == "WEB-1"
    last = await store.find_ticket(world.inbox.id, 3)
    assert last is not None
    await store.delete_ticket(last.id, world.actor)
    assert (await store.create_ticket(draft(world, "next"), world.actor)).ticket.slug == "INBOX-4"


async def test_a_ticket_created_closed_records_who_closed_it(store: Store, world: World) -> None:
    ticket = (await store.create_ticket(draft(world, "done already", status=Status.DONE), world.actor)).ticket
    assert ticket.closed_at is not None and ticket.closed_by == "alice"


async def test_labels_are_shared_per_project_ignoring_ascii_case_and_keep_their_first_spelling(
    store: Store, world: World
) -> None:
    first = (await store.create_ticket(draft(world, "a", labels=("Bug",)), world.actor)).ticket
    second = (await store.create_ticket(draft(world, "b", labels=("bug", "zeta", "Alpha")), world.actor)).ticket
    assert [label.name for label in second.labels] == ["Alpha", "Bug", "zeta"]
    assert first.labels[0] == second.labels[1]
    assert isinstance(first.labels[0], Label) and len(first.labels[0].color) == 6


async def test_a_write_that_creates_labels_names_them_with_what_the_project_had_most_used_first(
    store: Store, world: World
) -> None:
    web = await store.create_project(new_project(world, "Web", "WEB"), world.actor)
    first = (await store.create_ticket(draft(world, "a", labels=("ui", "Bug")), world.actor)).ticket
    assert first.new_labels == NewLabels(names=("ui", "Bug"), had=())
    again = (await store.create_ticket(draft(world, "b", labels=("BUG", "ui")), world.actor)).ticket
    assert again.new_labels is None
    assert again == await store.find_ticket(world.inbox.id, again.number)
    elsewhere = (await store.create_ticket(draft(world, "w", project=web, labels=("ui",)), world.actor)).ticket
    assert elsewhere.new_labels == NewLabels(names=("ui",), had=())  # labels belong to their project
    updated = await store.update_ticket(
        first.id, TicketPatch(labels=("bug", "perf", "a11y")), expected_version=None, actor=world.actor
    )
    assert updated.new_labels == NewLabels(
        names=("perf", "a11y"), had=(LabelUse(name="Bug", tickets=2), LabelUse(name="ui", tickets=1))
    )
    (batch,) = await store.create_tickets([draft(world, "c", labels=("ui",))], world.actor)
    assert batch.new_labels is None
    assert (await store.ticket_detail(first.id)).ticket.new_labels is None
    assert "new_labels" not in first.model_dump()  # what this write did, not what the ticket is


async def test_projects_are_listed_with_their_labels_by_use_only_when_asked(store: Store, world: World) -> None:
    web = await store.create_project(new_project(world, "Web", "WEB"), world.actor)
    await store.create_ticket(draft(world, "a", project=web, labels=("ui", "bug")), world.actor)
    await store.create_ticket(draft(world, "b", project=web, labels=("UI",), status=Status.DONE), world.actor)
    unused = (await store.create_ticket(draft(world, "c", project=web, labels=("gone", "Alpha")), world.actor)).ticket
    await store.update_ticket(unused.id, TicketPatch(labels=("alpha",)), expected_version=None, actor=world.actor)
    listed = await store.list_projects([world.organization.id], labels=True)
    assert [(p.code, p.labels) for p in listed] == [
        ("INBOX", ()),
        ("WEB", (LabelUse(name="ui", tickets=2), LabelUse(name="Alpha", tickets=1), LabelUse(name="bug", tickets=1))),
    ]  # a label no ticket carries any more is not in use
    assert [p.labels for p in await store.list_projects([world.organization.id])] == [None, None]


async def test_a_parent_must_exist_in_the_same_project(store: Store, world: World) -> None:
    web = await store.create_project(new_project(world, "Web", "WEB"), world.actor)
    elsewhere = (await store.create_ticket(draft(world, "in web", project=web), world.actor)).ticket
    with pytest.raises(NotFound, match="parent"):
        await store.create_ticket(draft(world, "child", parent=elsewhere), world.actor)
    assert (await store.list_projects([world.organization.id]))[0].tickets_count == 0


async def test_an_update_changes_the_given_fields_bumps_the_version_and_records_the_diff(
    store: Store, world: World, location: Path | PostgresUrl
) -> None:
    ticket = (await store.create_ticket(draft(world, "Old", labels=("ui",)), world.actor)).ticket
    updated = await store.update_ticket(
        ticket.id,
        TicketPatch(values={"title": "New", "priority": Priority.HIGH, "assignee_id": world.bob.id}, labels=("api",)),
        expected_version=1,
        actor=world.actor,
    )
    assert (updated.title, updated.priority, updated.assignee, updated.version) == ("New", Priority.HIGH, "bob", 2)
    assert [label.name for label in updated.labels] == ["api"]
    assert updated.updated_at >= ticket.updated_at
    assert events(location)[-1] == (
        "ticket.updated",
        "INBOX-1",
        {"title": ["Old", "New"], "priority": ["medium", "high"], "assignee": [None, "bob"],
         "labels": [["ui"], ["api"]]},
    )  # fmt: skip


async def test_an_update_that_changes_nothing_leaves_version_and_history_alone(
    store: Store, world: World, location: Path | PostgresUrl
) -> None:
    ticket = (await store.create_ticket(draft(world, "Same", labels=("UI",)), world.actor)).ticket
    before = events(location)
    same = await store.update_ticket(
        ticket.id, TicketPatch(values={"title": "Same"}, labels=("ui",)), expected_version=None, actor=world.actor
    )
    assert same == ticket.model_copy(update={"new_labels": None})  # it created the label, the update none
    assert events(location) == before


async def test_closing_sets_closed_at_and_reopening_clears_it(store: Store, world: World) -> None:
    ticket = (await store.create_ticket(draft(world, "t"), world.actor)).ticket
    other = (await store.create_ticket(draft(world, "already done", status=Status.DONE), world.actor)).ticket
    done = await store.update_ticket(
        ticket.id, TicketPatch(values={"status": Status.DONE}), expected_version=None, actor=world.actor
    )
    assert (done.closed_by, done.closed_at is not None) == ("alice", True)
    assert done.position > other.position, "a status change places the ticket last in its new column"
    reopened = await store.move_ticket(
        ticket.id, Status.TODO, Placement(), expected_version=done.version, actor=world.actor
    )
    assert (reopened.closed_at, reopened.closed_by, reopened.version) == (None, None, 3)


async def test_a_ticket_cannot_be_its_own_ancestor(store: Store, world: World) -> None:
    parent = (await store.create_ticket(draft(world, "parent"), world.actor)).ticket
    child = (await store.create_ticket(draft(world, "child", parent=parent), world.actor)).ticket
    grandchild = (await store.create_ticket(draft(world, "grandchild", parent=child), world.actor)).ticket
    for new_parent in (parent, grandchild):
        with pytest.raises(Invalid, match="sub-task of itself"):
            await store.update_ticket(
                parent.id, TicketPatch(values={"parent_id": new_parent.id}), expected_version=None, actor=world.actor
            )
    moved = await store.update_ticket(
        grandchild.id, TicketPatch(values={"parent_id": parent.id}), expected_version=None, actor=world.actor
    )
    assert moved.parent == "INBOX-1"
    detail = await store.ticket_detail(parent.id)
    assert [t.slug for t in detail.subtasks] == ["INBOX-2", "INBOX-3"]


async def test_an_unknown_user_as_assignee_is_a_conflict_not_a_crash(store: Store, world: World) -> None:
    ticket = (await store.create_ticket(draft(world, "t"), world.actor)).ticket
    with pytest.raises(Conflict):
        await store.update_ticket(
            ticket.id, TicketPatch(values={"assignee_id": 999_999}), expected_version=None, actor=world.actor
        )
    assert (await store.ticket_detail(ticket.id)).ticket == ticket


# Optimistic locking


async def test_a_stale_version_is_refused_with_the_current_ticket_and_nothing_changes(
    store: Store, world: World
) -> None:
    ticket = (await store.create_ticket(draft(world, "First"), world.actor)).ticket
    first = await store.update_ticket(
        ticket.id, TicketPatch(values={"title": "First writer"}), expected_version=1, actor=world.actor
    )
    with pytest.raises(Conflict, match="at version 2, not 1") as refused:
        await store.update_ticket(
            ticket.id, TicketPatch(values={"title": "Second writer"}), expected_version=1, actor=world.actor
        )
    assert refused.value.current is not None and refused.value.current["title"] == "First writer"
    with pytest.raises(Conflict, match="at version 2"):
        await store.move_ticket(ticket.id, Status.DONE, Placement(), expected_version=1, actor=world.actor)
    assert (await store.ticket_detail(ticket.id)).ticket == first


async def test_a_stale_version_carries_the_changes_since_it_newest_last_not_comments(
    store: Store, world: World
) -> None:
    ticket = (await store.create_ticket(draft(world, "First"), world.actor)).ticket
    await store.update_ticket(ticket.id, TicketPatch(values={"title": "Second"}), expected_version=1, actor=world.actor)
    await store.add_comment(ticket.id, "a comment bumps no version", world.actor)
    await store.move_ticket(ticket.id, Status.TODO, Placement(), expected_version=2, actor=world.actor)
    with pytest.raises(StaleVersion) as refused:
        await store.update_ticket(
            ticket.id, TicketPatch(values={"title": "Mine"}), expected_version=1, actor=world.actor
        )
    assert (refused.value.expected, refused.value.version, refused.value.changed) == (1, 3, 2)
    assert [(c["action"], c["changes"]) for c in refused.value.changes] == [
        ("ticket.updated", {"title": ["First", "Second"]}),
        ("ticket.moved", {"status": ["backlog", "todo"]}),
    ]
    with pytest.raises(StaleVersion) as refused:
        await store.move_ticket(ticket.id, Status.DONE, Placement(), expected_version=2, actor=world.actor)
    assert [c["action"] for c in refused.value.changes] == ["ticket.moved"]
    for n in range(3, 10):
        await store.update_ticket(
            ticket.id, TicketPatch(values={"title": f"T{n}"}), expected_version=n, actor=world.actor
        )
    with pytest.raises(StaleVersion) as refused:
        await store.update_ticket(
            ticket.id, TicketPatch(values={"title": "Late"}), expected_version=1, actor=world.actor
        )
    assert refused.value.changed == 9
    assert [c["changes"]["title"] for c in refused.value.changes] == [[f"T{n - 1}", f"T{n}"] for n in range(5, 10)]


# Moving on the board


async def test_a_move_places_a_ticket_before_or_after_another_or_last(store: Store, world: World) -> None:
    a, b, c, d = [(await store.create_ticket(draft(world, t, status=Status.TODO), world.actor)).ticket for t in "abcd"]

    async def todo() -> list[str]:
        board = await store.board(world.inbox, 10)
        return [t.title for t in board.columns[1].tickets]

    await store.move_ticket(d.id, Status.TODO, Placement(before_id=a.id), expected_version=None, actor=world.actor)
    await store.move_ticket(b.id, Status.TODO, Placement(after_id=c.id), expected_version=None, actor=world.actor)
    assert await todo() == ["d", "a", "c", "b"]
    moved = await store.move_ticket(a.id, Status.IN_PROGRESS, Placement(), expected_version=1, actor=world.actor)
    assert (moved.status, moved.version) == (Status.IN_PROGRESS, 2)
    assert await todo() == ["d", "c", "b"]
    with pytest.raises(Invalid, match="not in the done column"):
        await store.move_ticket(c.id, Status.DONE, Placement(before_id=b.id), expected_version=None, actor=world.actor)
    with pytest.raises(Invalid, match="next to itself"):
        await store.move_ticket(c.id, Status.TODO, Placement(after_id=c.id), expected_version=None, actor=world.actor)


async def test_a_move_to_where_the_ticket_already_is_changes_nothing(store: Store, world: World) -> None:
    a = (await store.create_ticket(draft(world, "a"), world.actor)).ticket
    b = (await store.create_ticket(draft(world, "b"), world.actor)).ticket
    assert await store.move_ticket(b.id, Status.BACKLOG, Placement(), expected_version=None, actor=world.actor) == b
    stay = await store.move_ticket(
        b.id, Status.BACKLOG, Placement(after_id=a.id), expected_version=None, actor=world.actor
    )
    assert stay == b


async def test_many_moves_to_one_spot_respace_the_column_and_keep_the_order(store: Store, world: World) -> None:
    first = (await store.create_ticket(draft(world, "first", status=Status.TODO), world.actor)).ticket
    last = (await store.create_ticket(draft(world, "last", status=Status.TODO), world.actor)).ticket
    inserted: list[str] = []
    for i in range(14):  # more halvings than the gap between two positions allows
        ticket = (await store.create_ticket(draft(world, f"n{i}"), world.actor)).ticket
        await store.move_ticket(
            ticket.id, Status.TODO, Placement(after_id=first.id), expected_version=None, actor=world.actor
        )
        inserted.insert(0, ticket.title)
    column = (await store.board(world.inbox, 50)).columns[1]
    assert [t.title for t in column.tickets] == ["first", *inserted, "last"]
    assert (await store.ticket_detail(last.id)).ticket.version == 1, "respacing is not a change of content"


# Comments, details and deletion


async def test_comments_are_added_in_order_and_touch_the_ticket(store: Store, world: World) -> None:
    ticket = (await store.create_ticket(draft(world, "t"), world.actor)).ticket
    first = await store.add_comment(ticket.id, "first", world.actor)
    second = await store.add_comment(ticket.id, "second", Actor(user_id=world.bob.id))
    assert (first.ticket_slug, first.author, first.body) == ("INBOX-1", "alice", "first")
    detail = await store.ticket_detail(ticket.id)
    assert [(c.id, c.author, c.body) for c in detail.comments] == [
        (first.id, "alice", "first"),
        (second.id, "bob", "second"),
    ]
    assert detail.ticket.updated_at == second.created_at and detail.ticket.version == 1
    with pytest.raises(NotFound):
        await store.add_comment(ticket.id + 100, "nowhere", world.actor)


async def test_deleting_a_ticket_takes_its_subtasks_and_comments_and_says_so_first(store: Store, world: World) -> None:
    parent = (await store.create_ticket(draft(world, "parent"), world.actor)).ticket
    child = (await store.create_ticket(draft(world, "child", parent=parent), world.actor)).ticket
    grandchild = (await store.create_ticket(draft(world, "grandchild", parent=child), world.actor)).ticket
    keep = (await store.create_ticket(draft(world, "keep"), world.actor)).ticket
    for ticket in (parent, child, grandchild):
        await store.add_comment(ticket.id, "c", world.actor)
    preview = await store.ticket_deletion(parent.id)
    assert (preview.slug, preview.subtasks, preview.comments) == ("INBOX-1", ("INBOX-2", "INBOX-3"), 3)
    assert await store.delete_ticket(parent.id, world.actor) == preview
    assert [await store.find_ticket(world.inbox.id, n) for n in (1, 2, 3)] == [None, None, None]
    assert (await store.ticket_detail(keep.id)).ticket == keep
    with pytest.raises(NotFound):
        await store.ticket_detail(parent.id)
    with pytest.raises(NotFound):
        await store.delete_ticket(parent.id, world.actor)


async def test_a_deleted_ticket_is_found_in_the_trail_by_slug_with_who_deleted_it(store: Store, world: World) -> None:
    parent = (await store.create_ticket(draft(world, "parent"), world.actor)).ticket
    await store.create_ticket(draft(world, "child", parent=parent), world.actor)
    await store.delete_ticket(parent.id, world.actor)
    deletion = await store.ticket_deleted(world.inbox.id, "INBOX-1")
    assert deletion is not None
    assert (deletion.action, deletion.actor, deletion.subject) == ("ticket.deleted", "alice", "INBOX-1")
    along = await store.ticket_deleted(world.inbox.id, "INBOX-2")  # went with its parent: the parent's event
    assert along is not None and along.subject == "INBOX-1" and along.changes["subtasks"] == ["INBOX-2"]
    assert await store.ticket_deleted(world.inbox.id, "INBOX-3") is None  # never filed


# The audit trail


async def test_every_mutation_writes_its_audit_event(store: Store, world: World, location: Path | PostgresUrl) -> None:
    at_start = len(events(location))
    web = await store.create_project(new_project(world, "Web", "WEB"), world.actor)
    ticket = (await store.create_ticket(draft(world, "t", project=web), world.actor)).ticket
    await store.update_ticket(
        ticket.id, TicketPatch(values={"priority": Priority.HIGH}), expected_version=1, actor=world.actor
    )
    await store.move_ticket(ticket.id, Status.TODO, Placement(), expected_version=2, actor=world.actor)
    await store.add_comment(ticket.id, "c", world.actor)
    await store.delete_ticket(ticket.id, world.actor)
    await store.update_project(web.id, name=None, description="d", actor=world.actor)
    await store.delete_project(web.id, world.actor)
    acme = await store.create_organization("Acme", world.alice, world.actor)
    await store.set_member(acme.id, world.bob, Role.ADMIN, world.actor)
    await store.remove_member(acme.id, world.bob, world.actor)
    token = await store.create_token(new_token(world), world.actor)
    await store.revoke_token(token.id, world.actor)
    recorded = [(action, subject) for action, subject, _ in events(location)[at_start:]]
    assert recorded == [
        ("project.created", "WEB"), ("ticket.created", "WEB-1"), ("ticket.updated", "WEB-1"),
        ("ticket.moved", "WEB-1"), ("comment.added", "WEB-1"), ("ticket.deleted", "WEB-1"),
        ("project.updated", "WEB"), ("project.deleted", "WEB"), ("organization.created", "acme"),
        ("member.set", "bob"), ("member.removed", "bob"), ("token.created", "pk_abcdef"),
        ("token.revoked", "pk_abcdef"),
    ]  # fmt: skip
    changes = {action: change for action, _, change in events(location)[at_start:]}
    assert changes["ticket.moved"] == {"status": ["backlog", "todo"]}
    assert changes["ticket.deleted"] == {"title": "t", "subtasks": [], "comments": 1}


async def test_a_refused_change_leaves_no_trace(store: Store, world: World, location: Path | PostgresUrl) -> None:
    ticket = (await store.create_ticket(draft(world, "t"), world.actor)).ticket
    before = events(location)
    with pytest.raises(Conflict):
        await store.update_ticket(ticket.id, TicketPatch(values={"title": "x"}), expected_version=7, actor=world.actor)
    with pytest.raises(Conflict):
        await store.create_project(new_project(world, "inbox", "NEW"), world.actor)
    assert events(location) == before
    assert await store.project_codes(world.organization.id) == {"INBOX"}


async def test_tickets_filed_together_are_numbered_in_order_or_none_is_filed(
    store: Store, world: World, location: Path | PostgresUrl
) -> None:
    first = (await store.create_ticket(draft(world, "before"), world.actor)).ticket
    filed = await store.create_tickets([draft(world, f"bulk {n}", labels=("bulk",)) for n in range(3)], world.actor)
    assert [(t.number, t.title, [label.name for label in t.labels]) for t in filed] == [
        (first.number + n + 1, f"bulk {n}", ["bulk"]) for n in range(3)
    ]
    gone = replace(draft(world, "orphan"), parent_id=10_000_000)  # the last one fails inside the transaction
    with pytest.raises(NotFound):
        await store.create_tickets([draft(world, "kept?"), gone], world.actor)
    after = (await store.create_ticket(draft(world, "after"), world.actor)).ticket
    assert after.number == first.number + 4  # the failed batch took no number and left no ticket
    assert [action for action, _, _ in events(location)].count("ticket.created") == 5
