"""The Store contract for reading many tickets, proved by SQLite and PostgreSQL alike: every filter and
sort of list_tickets, paging by cursor and by offset, capped counts, and the board.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

import pytest

from tests.fixtures.store_contract import World, draft, walk
from tickets_mcp.domain import Priority, Status, Ticket, TicketSort, TicketType
from tickets_mcp.domain.rules import decode_cursor, encode_cursor
from tickets_mcp.errors import Invalid
from tickets_mcp.stores import NewProject, Store, TicketPatch, TicketQuery
from tickets_mcp.stores.sql import labelled

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Listed:
    """A seeded INBOX: every ticket as stored, and a query over the project to narrow."""

    tickets: tuple[Ticket, ...]
    query: TicketQuery

    def slugs(self, *numbers: int) -> list[str]:
        return [f"INBOX-{n}" for n in numbers]


@pytest.fixture
async def listed(store: Store, world: World) -> Listed:
    """Six tickets of every kind; INBOX-6 was updated last, INBOX-5 is a sub-task of INBOX-1."""
    add = store.create_ticket
    one = (await add(draft(world, "Login fails on Safari", type=TicketType.BUG, priority=Priority.HIGH,
                          labels=("ui", "Bug"), assignee=world.bob), world.actor)).ticket  # fmt: skip
    await add(draft(world, "Export as CSV", type=TicketType.FEATURE, description="Progress: 100%_done",
                    status=Status.TODO, priority=Priority.LOW), world.actor)  # fmt: skip
    await add(draft(world, "Refactor the store", description="No more safari hacks", status=Status.IN_PROGRESS,
                    priority=Priority.URGENT, labels=("backend",), assignee=world.alice), world.actor)  # fmt: skip
    await add(draft(world, "Old bug", type=TicketType.BUG, status=Status.DONE, labels=("BUG",)), world.actor)
    await add(draft(world, "Sub-task of the login bug", parent=one, priority=Priority.HIGH), world.actor)
    six = (await add(draft(world, "Write the docs", type=TicketType.IMPROVEMENT), world.actor)).ticket
    await store.update_ticket(six.id, TicketPatch(values={"title": "Write the docs!"}), expected_version=None,
                              actor=world.actor)  # fmt: skip
    page = await store.list_tickets(TicketQuery(project_ids=[world.inbox.id], limit=100))
    return Listed(tickets=page.tickets, query=TicketQuery(project_ids=[world.inbox.id], limit=100))


async def numbers(store: Store, query: TicketQuery) -> list[int]:
    return [t.number for t in (await store.list_tickets(query)).tickets]


async def test_tickets_are_listed_newest_first_by_default_with_their_total(store: Store, listed: Listed) -> None:
    page = await store.list_tickets(listed.query)
    assert [t.number for t in page.tickets] == [6, 5, 4, 3, 2, 1]
    assert (page.total, page.next_cursor, page.total_capped) == (6, None, False)
    assert page.tickets[0].title == "Write the docs!"


@pytest.mark.parametrize(
    ("narrowing", "expected"),
    [
        ({"statuses": [Status.TODO, Status.IN_PROGRESS]}, [3, 2]),
        ({"types": [TicketType.BUG]}, [4, 1]),
        ({"priorities": [Priority.HIGH, Priority.URGENT]}, [5, 3, 1]),
        ({"unassigned": True}, [6, 5, 4, 2]),
        ({"labels": ["bug"]}, [4, 1]),
        ({"labels": ["BUG", "ui"]}, [1]),
        ({"labels": ["nothing"]}, []),
        ({"text": "SAFARI"}, [3, 1]),
        ({"text": "fails on"}, [1]),
        ({"text": "100%_don"}, [2]),  # a word of one or two characters matches only whole
        ({"text": "%"}, [2]),
        ({"text": "_"}, [2]),
        ({"text": "SAF"}, [3, 1]),  # a prefix of three letters or more, any case
        ({"text": "chrome"}, []),
        ({"statuses": [Status.BACKLOG], "types": [TicketType.BUG], "text": "log"}, [1]),
    ],
    ids=lambda value: repr(cast(object, value)) if isinstance(value, dict) else "",
)
async def test_every_filter_narrows_the_list(
    store: Store, listed: Listed, narrowing: dict[str, object], expected: list[int]
) -> None:
    query = replace(listed.query, **narrowing)  # pyright: ignore[reportArgumentType]
    page = await store.list_tickets(query)
    assert [t.number for t in page.tickets] == expected
    assert page.total == len(expected)


async def test_people_parents_and_projects_filter_by_id(store: Store, world: World, listed: Listed) -> None:
    assert await numbers(store, replace(listed.query, assignee_id=world.bob.id)) == [1]
    assert await numbers(store, replace(listed.query, reporter_id=world.alice.id)) == [6, 5, 4, 3, 2, 1]
    assert await numbers(store, replace(listed.query, reporter_id=world.bob.id)) == []
    assert await numbers(store, replace(listed.query, parent_id=listed.tickets[-1].id)) == [5]
    other = await store.create_project(NewProject(world.organization.id, "Other", "OTH", ""), world.actor)
    await store.create_ticket(draft(world, "elsewhere", project=other), world.actor)
    assert await numbers(store, replace(listed.query, project_ids=[other.id])) == [1]
    assert len(await numbers(store, replace(listed.query, project_ids=[world.inbox.id, other.id]))) == 7
    assert await numbers(store, replace(listed.query, project_ids=[])) == []


async def test_label_filters_page_count_and_combine_across_projects(store: Store, world: World) -> None:
    """A label names one label in each project; a ticket matches when it carries every label asked for."""
    other = await store.create_project(NewProject(world.organization.id, "Other", "OTH", ""), world.actor)
    ids: dict[str, int] = {}
    for n in range(12):
        project = other if n % 3 == 0 else world.inbox
        labels = ("ui", "db") if n % 2 else ("UI",) if n % 4 == 0 else ("db",)
        status = Status.DONE if n % 5 == 0 else Status.TODO
        filed = await store.create_ticket(
            draft(world, f"n{n}", project=project, labels=labels, status=status), world.actor
        )
        ids[f"n{n}"] = filed.ticket.id
    both = TicketQuery(project_ids=[world.inbox.id, other.id], limit=2)

    async def titles(query: TicketQuery, total: int) -> list[str]:
        walked: list[str] = []
        cursor: str | None = None
        while True:
            page = await store.list_tickets(replace(query, cursor=cursor))
            assert (page.total, page.total_capped) == (total, False)
            walked += [t.title for t in page.tickets]
            if (cursor := page.next_cursor) is None:
                return walked

    ui = [f"n{n}" for n in range(12) if n % 2 or n % 4 == 0]
    assert await titles(replace(both, labels=["ui"]), len(ui)) == ui[::-1]
    assert await titles(replace(both, labels=["Ui"], descending=False), len(ui)) == ui
    ui_db = [f"n{n}" for n in range(12) if n % 2]
    assert await titles(replace(both, labels=["DB", "ui"]), len(ui_db)) == ui_db[::-1]
    open_ui = [f"n{n}" for n in range(12) if (n % 2 or n % 4 == 0) and n % 5]
    assert await titles(replace(both, labels=["ui"], statuses=[Status.TODO]), len(open_ui)) == open_ui[::-1]
    by_update = await titles(replace(both, labels=["ui"], sort=TicketSort.UPDATED), len(ui))
    assert sorted(by_update) == sorted(ui)
    in_other = [f"n{n}" for n in range(12) if n % 3 == 0 and n % 2]
    assert await titles(replace(both, project_ids=[other.id], labels=["db", "ui"]), len(in_other)) == in_other[::-1]
    capped = await store.list_tickets(replace(both, labels=["ui"], count_limit=3))
    assert (capped.total, capped.total_capped, [t.id for t in capped.tickets]) == (3, True, [ids["n11"], ids["n9"]])
    exact = await store.list_tickets(replace(both, labels=["ui", "db"], count_limit=len(ui_db)))
    assert (exact.total, exact.total_capped) == (len(ui_db), False)
    assert (await store.list_tickets(replace(both, labels=["ui", "nothing"]))).total == 0


async def test_a_label_filter_counts_no_further_than_its_scan_and_says_the_total_is_a_lower_bound(
    store: Store, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(labelled, "LABEL_COUNT_SCAN", 4)
    for n in range(8):
        labels = ("ui", "db") if n in (1, 6) else ("ui",)
        await store.create_ticket(draft(world, f"n{n}", labels=labels), world.actor)
    query = TicketQuery(project_ids=[world.inbox.id], labels=["ui", "db"], count_limit=100)
    page = await store.list_tickets(query)
    assert [t.title for t in page.tickets] == ["n6", "n1"]
    assert (page.total, page.total_capped) in ((1, True), (2, True))  # one of the four checked, or both
    assert (await store.list_tickets(replace(query, count_limit=None))).total == 2
    alone = await store.list_tickets(replace(query, labels=["UI"], count_limit=5))
    assert (alone.total, alone.total_capped) == (5, True)  # the index entries alone are not bounded by the scan
    assert (await store.list_tickets(replace(query, labels=["UI"], count_limit=8))).total_capped is False


async def test_updated_since_keeps_tickets_updated_at_or_after_the_moment(store: Store, listed: Listed) -> None:
    latest = max(t.updated_at for t in listed.tickets)
    expected = sorted((t.number for t in listed.tickets if t.updated_at >= latest), reverse=True)
    assert 6 in expected
    assert await numbers(store, replace(listed.query, updated_since=latest)) == expected
    assert len(await numbers(store, replace(listed.query, updated_since="2000-01-01T00:00:00.000Z"))) == 6
    assert await numbers(store, replace(listed.query, updated_since="2999-01-01T00:00:00.000Z")) == []


@pytest.mark.parametrize("sort", [s for s in TicketSort if s is not TicketSort.RELEVANCE])  # see test_store_search
@pytest.mark.parametrize("descending", [True, False], ids=["descending", "ascending"])
async def test_every_sort_orders_by_its_key_then_by_id(
    store: Store, listed: Listed, sort: TicketSort, descending: bool
) -> None:
    def key(ticket: Ticket) -> tuple[object, int]:
        value = {TicketSort.CREATED: ticket.id, TicketSort.UPDATED: ticket.updated_at,
                 TicketSort.PRIORITY: ticket.priority.rank, TicketSort.DUE: ticket.due_date or "~"}[sort]  # fmt: skip
        return value, ticket.id

    expected = [t.number for t in sorted(listed.tickets, key=key, reverse=descending)]
    assert await numbers(store, replace(listed.query, sort=sort, descending=descending)) == expected


@pytest.mark.parametrize("sort", list(TicketSort))
async def test_a_cursor_walks_every_ticket_once_in_order(store: Store, listed: Listed, sort: TicketSort) -> None:
    query = replace(listed.query, sort=sort, limit=2)
    everything = await numbers(store, replace(query, limit=100))
    assert await walk(store, query, 6) == everything


async def test_a_cursor_of_another_query_or_a_forged_one_is_refused(store: Store, listed: Listed) -> None:
    page = await store.list_tickets(replace(listed.query, limit=2))
    assert page.next_cursor is not None
    with pytest.raises(Invalid, match="different query"):
        await store.list_tickets(replace(listed.query, limit=2, cursor=page.next_cursor, sort=TicketSort.PRIORITY))
    with pytest.raises(Invalid, match="not valid"):
        await store.list_tickets(replace(listed.query, cursor="!!!"))
    forged = encode_cursor(decode_cursor(page.next_cursor) | {"v": "not an id"})
    with pytest.raises(Invalid, match="different query"):
        await store.list_tickets(replace(listed.query, cursor=forged))


async def test_a_cursor_holding_what_no_database_compares_with_is_refused(store: Store, listed: Listed) -> None:
    page = await store.list_tickets(replace(listed.query, limit=2))
    assert page.next_cursor is not None
    real = decode_cursor(page.next_cursor)
    for bad in ({"i": 2**63}, {"v": 2**63}, {"v": -(2**63) - 1}):
        with pytest.raises(Invalid, match="different query"):
            await store.list_tickets(replace(listed.query, cursor=encode_cursor(real | bad)))
    updated = replace(listed.query, sort=TicketSort.UPDATED, limit=2)
    real = decode_cursor((await store.list_tickets(updated)).next_cursor or "")
    with pytest.raises(Invalid, match="different query"):
        await store.list_tickets(replace(updated, cursor=encode_cursor(real | {"v": "2026\x00"})))


async def test_offset_pages_skip_that_many_tickets(store: Store, listed: Listed) -> None:
    page = await store.list_tickets(replace(listed.query, limit=2, offset=1, descending=False))
    assert [t.number for t in page.tickets] == [2, 3]
    assert page.total == 6


async def test_a_count_limit_stops_counting_and_says_so(store: Store, listed: Listed) -> None:
    """A filter's matches are counted, so far and no further; a project's or a status's total is kept, not
    counted, and exact whatever the limit."""
    unassigned = replace(listed.query, limit=1, unassigned=True)
    capped = await store.list_tickets(replace(unassigned, count_limit=3))
    assert (capped.total, capped.total_capped) == (3, True)
    exact = await store.list_tickets(replace(unassigned, count_limit=4))
    assert (exact.total, exact.total_capped) == (4, False)
    kept = await store.list_tickets(replace(listed.query, limit=1, count_limit=4))
    assert (kept.total, kept.total_capped) == (6, False)
    open_ = await store.list_tickets(replace(listed.query, statuses=[Status.BACKLOG, Status.TODO], count_limit=1))
    assert (open_.total, open_.total_capped) == (4, False)


async def test_the_board_shows_each_column_in_order_capped_with_its_total(store: Store, world: World) -> None:
    for i in range(3):
        await store.create_ticket(draft(world, f"b{i}"), world.actor)
    await store.create_ticket(draft(world, "done", status=Status.DONE), world.actor)
    board = await store.board(world.inbox, 2)
    assert board.project == world.inbox
    assert [c.status for c in board.columns] == list(Status)
    assert [(c.total, [t.title for t in c.tickets]) for c in board.columns] == [
        (3, ["b0", "b1"]), (0, []), (0, []), (0, []), (1, ["done"]), (0, []),
    ]  # fmt: skip
