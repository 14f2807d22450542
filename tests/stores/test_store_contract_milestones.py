"""The Store contract for planning, proved by SQLite and PostgreSQL alike: milestones and their progress,
closing one that holds open tickets, due dates, estimates and their unit, and time spent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.store_contract import World, draft
from tests.fixtures.stores import Location, events, snapshot
from tickets_mcp.domain import EstimateUnit, Milestone, Status
from tickets_mcp.errors import Conflict, Invalid, NotFound
from tickets_mcp.stores import NewProject, Store, TicketPatch, TicketQuery
from tickets_mcp.stores.port import MilestoneFields, NewTimeEntry, OpenTickets

pytestmark = pytest.mark.anyio


def day(offset: int) -> str:
    """The date `offset` days from today (UTC), as stores compare due dates with."""
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


async def milestone(store: Store, world: World, name: str, **fields: object) -> Milestone:
    return await store.create_milestone(world.inbox.id, MilestoneFields(name=name, **fields), world.actor)  # pyright: ignore[reportArgumentType]


async def test_milestones_are_listed_open_first_by_due_date_then_name_and_found_ignoring_case(
    store: Store, world: World
) -> None:
    await milestone(store, world, "Someday")
    await milestone(store, world, "beta", due_date="2026-03-01")
    await milestone(store, world, "Alpha", start_date="2026-01-01", due_date="2026-02-01")
    await milestone(store, world, "Archive", closed=True)
    await milestone(store, world, "Also", due_date="2026-03-01")
    listed = await store.list_milestones(world.inbox.id)
    assert [m.name for m in listed] == ["Alpha", "Also", "beta", "Someday"]
    everything = await store.list_milestones(world.inbox.id, closed=True)
    assert [m.name for m in everything] == ["Alpha", "Also", "beta", "Someday", "Archive"]
    found = await store.find_milestone(world.inbox.id, "ALPHA")
    assert found is not None
    assert (found.name, found.start_date, found.due_date, found.closed) == ("Alpha", "2026-01-01", "2026-02-01", False)
    assert await store.find_milestone(world.inbox.id, "Gamma") is None


async def test_a_milestone_found_without_its_progress_reads_none_of_its_tickets(store: Store, world: World) -> None:
    sprint = await milestone(store, world, "Sprint")
    await store.create_ticket(draft(world, "in it", milestone_id=sprint.id), world.actor)
    counted = await store.find_milestone(world.inbox.id, "sprint")
    plain = await store.find_milestone(world.inbox.id, "SPRINT", progress=False)
    assert counted is not None and (counted.total_tickets, counted.open_tickets) == (1, 1)
    assert plain == counted.model_copy(update={"total_tickets": 0, "open_tickets": 0})
    assert await store.find_milestone(world.inbox.id, "Gamma", progress=False) is None


async def test_a_milestone_name_taken_in_its_project_is_a_conflict_whatever_its_case(
    store: Store, world: World
) -> None:
    first = await milestone(store, world, "Sprint 1")
    with pytest.raises(Conflict, match="INBOX has a milestone named 'Sprint 1' already"):
        await milestone(store, world, "SPRINT 1")
    second = await milestone(store, world, "Sprint 2")
    with pytest.raises(Conflict):
        await store.update_milestone(second.id, MilestoneFields(name="sprint 1"), world.actor)
    renamed = await store.update_milestone(first.id, MilestoneFields(name="SPRINT 1"), world.actor)  # its own
    assert renamed.name == "SPRINT 1"
    other = await store.create_project(NewProject(world.organization.id, "Web", "WEB", ""), world.actor)
    assert (await store.create_milestone(other.id, MilestoneFields(name="Sprint 2"), world.actor)).name == "Sprint 2"


async def test_a_milestone_is_renamed_redated_cleared_closed_and_reopened_each_recorded_on_its_project(
    store: Store, world: World
) -> None:
    created = await milestone(store, world, "v1", start_date="2026-01-01", due_date="2026-02-01")
    edit = store.update_milestone
    await edit(created.id, MilestoneFields(name="v1.0", due_date="2026-02-15"), world.actor)
    await edit(created.id, MilestoneFields(clear_start=True), world.actor)
    await edit(created.id, MilestoneFields(closed=True), world.actor)
    reopened = await edit(created.id, MilestoneFields(closed=False), world.actor)
    unchanged = await edit(created.id, MilestoneFields(name="v1.0"), world.actor)
    assert (reopened.name, reopened.start_date, reopened.due_date, reopened.closed) == (
        "v1.0",
        None,
        "2026-02-15",
        False,
    )
    assert unchanged == reopened
    activity = [(c.action, c.subject, c.changes) for c in reversed(await store.project_activity(world.inbox.id, 5))]
    assert activity == [
        ("milestone.created", "INBOX", {"milestone": "v1", "start_date": "2026-01-01", "due_date": "2026-02-01"}),
        ("milestone.updated", "INBOX",
         {"milestone": "v1.0", "name": ["v1", "v1.0"], "due_date": ["2026-02-01", "2026-02-15"]}),
        ("milestone.updated", "INBOX", {"milestone": "v1.0", "start_date": ["2026-01-01", None]}),
        ("milestone.updated", "INBOX", {"milestone": "v1.0", "closed": [False, True]}),
        ("milestone.updated", "INBOX", {"milestone": "v1.0", "closed": [True, False]}),
    ]  # fmt: skip


async def test_a_milestone_due_before_it_starts_or_without_a_name_is_invalid(store: Store, world: World) -> None:
    with pytest.raises(Invalid, match="before the start date"):
        await milestone(store, world, "Backwards", start_date="2026-02-01", due_date="2026-01-01")
    with pytest.raises(Invalid, match="needs a name"):
        await milestone(store, world, "")
    created = await milestone(store, world, "Ok", start_date="2026-02-01")
    with pytest.raises(Invalid, match="before the start date"):
        await store.update_milestone(created.id, MilestoneFields(due_date="2026-01-31"), world.actor)


async def test_milestone_progress_counts_open_done_and_all_tickets_and_the_overdue_ones(
    store: Store, world: World
) -> None:
    late = await milestone(store, world, "Late", due_date=day(-3))
    add = store.create_ticket
    await add(draft(world, "open, undated: late with its milestone", milestone_id=late.id), world.actor)
    await add(draft(world, "open, due yesterday", due_date=day(-1), milestone_id=late.id), world.actor)
    await add(draft(world, "open, due later: not late", due_date=day(5), milestone_id=late.id), world.actor)
    await add(draft(world, "done", status=Status.DONE, due_date=day(-9), milestone_id=late.id), world.actor)
    await add(draft(world, "canceled", status=Status.CANCELED, milestone_id=late.id), world.actor)
    await add(draft(world, "in none", due_date=day(-9)), world.actor)
    (found,) = await store.list_milestones(world.inbox.id)
    progress = (found.open_tickets, found.done_tickets, found.total_tickets, found.overdue_tickets)
    assert progress == (3, 1, 5, 2)
    empty = await milestone(store, world, "Empty", due_date=day(-1))
    assert (empty.open_tickets, empty.done_tickets, empty.total_tickets, empty.overdue_tickets) == (0, 0, 0, 0)


async def three_open_and_one_done(store: Store, world: World, sprint: Milestone) -> None:
    for title in ("One", "Two", "Three"):
        await store.create_ticket(draft(world, title, milestone_id=sprint.id), world.actor)
    await store.create_ticket(draft(world, "Done", status=Status.DONE, milestone_id=sprint.id), world.actor)


async def test_closing_a_milestone_with_open_tickets_is_refused_naming_their_count_and_the_choices(
    store: Store, world: World, location: Location
) -> None:
    sprint = await milestone(store, world, "Sprint 1")
    await three_open_and_one_done(store, world, sprint)
    before = snapshot(location, ["milestones", "tickets", "events"])
    with pytest.raises(Invalid) as refused:
        await store.update_milestone(sprint.id, MilestoneFields(closed=True, name="Sprint one"), world.actor)
    assert refused.value.field == "open_tickets" and "3 open tickets" in refused.value.message
    hint = refused.value.hint or ""
    assert "keep them" in hint and "take them out" in hint and "move them to another" in hint
    assert snapshot(location, ["milestones", "tickets", "events"]) == before


async def test_closing_a_milestone_can_keep_its_open_tickets_in_it(store: Store, world: World) -> None:
    sprint = await milestone(store, world, "Sprint 1")
    await three_open_and_one_done(store, world, sprint)
    closed = await store.update_milestone(sprint.id, MilestoneFields(closed=True), world.actor,
                                          open_tickets=OpenTickets(keep=True))  # fmt: skip
    assert (closed.closed, closed.open_tickets, closed.total_tickets) == (True, 3, 4)
    (change,) = await store.project_activity(world.inbox.id, 1)
    assert change.changes == {"milestone": "Sprint 1", "closed": [False, True], "open_tickets": "kept"}


async def test_closing_a_milestone_can_take_its_open_tickets_out_of_any_as_an_edit_of_each(
    store: Store, world: World, location: Location
) -> None:
    sprint = await milestone(store, world, "Sprint 1")
    await three_open_and_one_done(store, world, sprint)
    closed = await store.update_milestone(sprint.id, MilestoneFields(closed=True), world.actor,
                                          open_tickets=OpenTickets())  # fmt: skip
    assert (closed.open_tickets, closed.done_tickets, closed.total_tickets) == (0, 1, 1)
    page = await store.list_tickets(TicketQuery(project_ids=[world.inbox.id], descending=False))
    assert [(t.title, t.milestone, t.version) for t in page.tickets] == [
        ("One", None, 2), ("Two", None, 2), ("Three", None, 2), ("Done", "Sprint 1", 1),
    ]  # fmt: skip
    moved = [(s, c) for a, s, c in events(location) if a == "ticket.updated"]
    assert moved == [(f"INBOX-{n}", {"milestone": ["Sprint 1", None]}) for n in (1, 2, 3)]
    assert events(location)[-1][2]["open_tickets"] == "3 open tickets taken out of it"


async def test_closing_a_milestone_can_move_its_open_tickets_to_another_open_one_of_its_project(
    store: Store, world: World
) -> None:
    sprint, next_one = await milestone(store, world, "Sprint 1"), await milestone(store, world, "Sprint 2")
    shut = await milestone(store, world, "Shut", closed=True)
    web = await store.create_project(NewProject(world.organization.id, "Web", "WEB", ""), world.actor)
    elsewhere = await store.create_milestone(web.id, MilestoneFields(name="Web 1"), world.actor)
    await three_open_and_one_done(store, world, sprint)
    close = MilestoneFields(closed=True)
    for wrong in (shut.id, elsewhere.id, sprint.id):
        with pytest.raises(Invalid, match="only to another open milestone of its project"):
            await store.update_milestone(sprint.id, close, world.actor, open_tickets=OpenTickets(to=wrong))
    await store.update_milestone(sprint.id, close, world.actor, open_tickets=OpenTickets(to=next_one.id))
    counts = {
        m.name: (m.open_tickets, m.total_tickets) for m in await store.list_milestones(world.inbox.id, closed=True)
    }
    assert counts == {"Sprint 2": (3, 3), "Sprint 1": (0, 1), "Shut": (0, 0)}
    (change,) = await store.project_activity(world.inbox.id, 1)
    assert change.changes["open_tickets"] == "3 open tickets moved to Sprint 2"


async def test_a_ticket_takes_only_a_milestone_of_its_own_project(store: Store, world: World) -> None:
    web = await store.create_project(NewProject(world.organization.id, "Web", "WEB", ""), world.actor)
    elsewhere = await store.create_milestone(web.id, MilestoneFields(name="Web 1"), world.actor)
    with pytest.raises(NotFound, match="milestone"):
        await store.create_ticket(draft(world, "Wrong", milestone_id=elsewhere.id), world.actor)
    ticket = (await store.create_ticket(draft(world, "Right"), world.actor)).ticket
    with pytest.raises(NotFound, match="milestone"):
        await store.update_ticket(ticket.id, TicketPatch({"milestone_id": elsewhere.id}), expected_version=None,
                                  actor=world.actor)  # fmt: skip


async def test_due_date_estimate_and_milestone_are_filed_and_edited_as_any_field(
    store: Store, world: World, location: Location
) -> None:
    sprint, later = await milestone(store, world, "Sprint 1"), await milestone(store, world, "Sprint 2")
    new = draft(world, "Plan", due_date="2026-05-01", estimate=3, milestone_id=sprint.id)
    filed = (await store.create_ticket(new, world.actor)).ticket
    assert (filed.due_date, filed.estimate, filed.milestone, filed.spent) == ("2026-05-01", 3, "Sprint 1", 0)
    patch = TicketPatch({"due_date": "2026-06-01", "estimate": 5.5, "milestone_id": later.id})
    edited = await store.update_ticket(filed.id, patch, expected_version=1, actor=world.actor)
    assert (edited.due_date, edited.estimate, edited.milestone, edited.version) == ("2026-06-01", 5.5, "Sprint 2", 2)
    assert events(location)[-1] == ("ticket.updated", "INBOX-1", {
        "due_date": ["2026-05-01", "2026-06-01"], "estimate": [3, 5.5], "milestone": ["Sprint 1", "Sprint 2"],
    })  # fmt: skip
    cleared = TicketPatch({"due_date": None, "estimate": None, "milestone_id": None})
    edited = await store.update_ticket(filed.id, cleared, expected_version=2, actor=world.actor)
    assert (edited.due_date, edited.estimate, edited.milestone) == (None, None, None)
    same = await store.update_ticket(filed.id, cleared, expected_version=3, actor=world.actor)
    assert same.version == 3


async def test_the_estimate_unit_is_set_per_project_and_recorded_once_changed(store: Store, world: World) -> None:
    assert world.inbox.estimate_unit is EstimateUnit.HOURS
    project = await store.set_estimate_unit(world.inbox.id, EstimateUnit.POINTS, world.actor)
    assert project.estimate_unit is EstimateUnit.POINTS
    await store.set_estimate_unit(world.inbox.id, EstimateUnit.POINTS, world.actor)
    (listed,) = await store.list_projects([world.organization.id])
    assert listed.estimate_unit is EstimateUnit.POINTS
    activity = await store.project_activity(world.inbox.id, 5)
    assert [(c.action, c.changes) for c in activity[:2]] == [
        ("project.updated", {"estimate_unit": ["hours", "points"]}), ("project.created", {}),
    ]  # fmt: skip


async def test_logging_time_grows_what_was_spent_without_changing_the_version(
    store: Store, world: World, location: Location
) -> None:
    ticket = (await store.create_ticket(draft(world, "Work"), world.actor)).ticket
    first = await store.log_time(ticket.id, NewTimeEntry(hours=1.5, spent_on="2026-03-02", note="review"), world.actor)
    await store.log_time(ticket.id, NewTimeEntry(hours=2, spent_on="2026-03-01"), world.actor)
    assert (first.ticket_slug, first.user, first.hours, first.note) == ("INBOX-1", "alice", 1.5, "review")
    detail = await store.ticket_detail(ticket.id)
    assert (detail.ticket.spent, detail.ticket.version) == (3.5, 1)
    assert [(e.spent_on, e.hours) for e in detail.time_entries] == [("2026-03-01", 2), ("2026-03-02", 1.5)]
    assert events(location)[-2][:2] == ("time.logged", "INBOX-1")
    assert events(location)[-2][2] == {"entry_id": first.id, "hours": 1.5, "spent_on": "2026-03-02"}
    with pytest.raises(Invalid, match="positive number of hours"):
        await store.log_time(ticket.id, NewTimeEntry(hours=0, spent_on="2026-03-01"), world.actor)
