"""LocalTracker rules that need more than one user or organization."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tickets_mcp.core import admin
from tickets_mcp.core.access import Action
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketDraft, TicketFilter
from tickets_mcp.domain import Role, Status
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied
from tickets_mcp.mcp import render
from tickets_mcp.stores import Store

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(local_store: Store) -> Store:
    return local_store


async def add_member(store: Store, username: str, role: Role, organization: str = "local") -> None:
    await admin.add_user(store, username)
    await admin.set_member(store, organization, username, role)


async def tracker_for(store: Store, username: str) -> LocalTracker:
    user = await store.find_user(username)
    assert user is not None
    return LocalTracker(store, Principal(user_id=user.id, username=user.username))


async def test_a_reporter_files_and_comments_but_may_not_change_or_delete(store: Store) -> None:
    await add_member(store, "rita", Role.REPORTER)
    rita = await tracker_for(store, "rita")
    ticket = (await rita.create_ticket(TicketDraft(title="From a reporter"))).ticket
    await rita.add_comment(ticket.slug, "more detail")
    with pytest.raises(PermissionDenied, match="reporter"):
        await rita.move_ticket(ticket.slug, Status.DONE)
    with pytest.raises(PermissionDenied):
        await rita.delete_ticket(ticket.slug)
    with pytest.raises(PermissionDenied):
        await rita.create_project("Not allowed")


async def test_tickets_of_another_organization_are_invisible(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    secret = (await alice.create_ticket(TicketDraft(title="Secret"))).ticket
    await admin.add_user(store, "mallory")
    await admin.add_organization(store, "Other", "mallory")
    mallory = await tracker_for(store, "mallory")
    with pytest.raises(NotFound):
        await mallory.get_ticket(secret.slug)
    with pytest.raises(NotFound):
        await mallory.add_comment(secret.slug, "hi")
    assert (await mallory.list_projects()) == []
    with pytest.raises(NotFound):
        await mallory.list_tickets(TicketFilter(project="INBOX"))


async def test_a_name_shared_by_projects_of_two_organizations_is_refused_not_guessed(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    await admin.add_organization(store, "Second", "alice")
    await alice.create_project("Backend", code="BE1", organization="local")
    await alice.create_project("Backend", code="BE2", organization="second")
    with pytest.raises(Invalid, match="more than one project") as refused:
        await alice.create_ticket(TicketDraft(title="Where?", project="Backend"))
    assert "BE1 (Backend)" in str(refused.value)
    ticket = (await alice.create_ticket(TicketDraft(title="Here", project="Backend", organization="second"))).ticket
    assert ticket.slug == "BE2-1"


async def test_another_local_user_on_the_same_store_joins_the_first_organization(store: Store) -> None:
    bob = await store.ensure_user("bob", "bob")
    await store.ensure_local_workspace(bob, "Local", "Inbox", "INBOX")
    tracker = LocalTracker(store, Principal(user_id=bob.id, username="bob"))
    assert [o.slug for o in await tracker.list_organizations()] == ["local"]
    assert (await tracker.create_ticket(TicketDraft(title="Bob's"))).ticket.slug == "INBOX-1"


async def test_tickets_can_be_filtered_by_reporter_and_paged_by_offset(store: Store) -> None:
    await add_member(store, "rita", Role.REPORTER)
    alice = await tracker_for(store, "alice")
    rita = await tracker_for(store, "rita")
    for i in range(3):
        await alice.create_ticket(TicketDraft(title=f"alice {i}"))
    await rita.create_ticket(TicketDraft(title="rita's"))
    by_rita = await alice.list_tickets(TicketFilter(reporter="rita"))
    assert [t.title for t in by_rita.tickets] == ["rita's"]
    mine = await alice.list_tickets(TicketFilter(reporter="me", limit=2, offset=1, descending=False))
    assert mine.total == 3
    assert [t.title for t in mine.tickets] == ["alice 1", "alice 2"]
    with pytest.raises(Invalid, match="not both"):
        await alice.list_tickets(TicketFilter(offset=1, cursor="abc"))


async def test_a_count_limit_stops_counting_and_says_the_total_is_a_lower_bound(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    for n in range(5):
        await alice.create_ticket(TicketDraft(title=f"Ticket {n}"))
    unassigned = TicketFilter(limit=2, assignee="none")  # counted (a project's total alone is kept, not counted)
    capped = await alice.list_tickets(replace(unassigned, count_limit=3))
    assert (capped.total, capped.total_capped, len(capped.tickets)) == (3, True, 2)
    assert capped.next_cursor is not None
    just_enough = await alice.list_tickets(replace(unassigned, count_limit=5))
    assert (just_enough.total, just_enough.total_capped) == (5, False)
    exact = await alice.list_tickets(unassigned)
    assert (exact.total, exact.total_capped) == (5, False)
    assert render.ticket_page(capped).startswith("2 of 3+ tickets by created desc; more with cursor=")
    assert render.ticket_page(exact).startswith("2 of 5 tickets by created desc; more with cursor=")


async def test_permitted_actions_in_a_project_follow_the_role_in_its_own_organization(store: Store) -> None:
    await add_member(store, "rita", Role.REPORTER)  # a reporter in Local
    await admin.add_organization(store, "Rita's", "rita")  # and the owner of her own
    rita = await tracker_for(store, "rita")
    own = await rita.create_project("Garden", code="GDN", organization="rita-s")
    (inbox,) = [p for p in await rita.list_projects() if p.code == "INBOX"]
    assert Action.EDIT in await rita.permitted_actions()  # somewhere: the tools she is shown
    assert {Action.EDIT, Action.FILE} <= await rita.permitted_actions(own.id)
    in_inbox = await rita.permitted_actions(inbox.id)
    assert Action.FILE in in_inbox and Action.EDIT not in in_inbox
    await admin.add_user(store, "mallory")
    assert await (await tracker_for(store, "mallory")).permitted_actions(inbox.id) == frozenset()


async def test_a_history_length_out_of_range_is_refused_not_silently_cut(store: Store) -> None:
    alice = await tracker_for(store, "alice")
    ticket = (await alice.create_ticket(TicketDraft(title="Watched"))).ticket
    assert (await alice.get_ticket(ticket.slug, history=0)).history == ()
    for wrong in (-1, 501):
        with pytest.raises(Invalid, match="history must be 0-500"):
            await alice.get_ticket(ticket.slug, history=wrong)
