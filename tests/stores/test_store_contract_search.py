"""The Store contract for full-text search and duplicate detection, proved by SQLite and PostgreSQL alike:
words of titles, descriptions and comments, prefixes and phrases, ranking, paging by relevance, an
index kept in step with every change, and look-alike tickets refused inside the filing transaction.
"""

from __future__ import annotations

from dataclasses import replace

import anyio
import pytest

from tests.fixtures.store_contract import World, draft, walk
from tests.fixtures.traces import EXPORT_KEY_ERROR_OWN_FRAMES
from tickets_mcp.domain import Status, TicketSort
from tickets_mcp.errors import LikelyDuplicate
from tickets_mcp.stores import NewProject, NewTicket, Placement, Store, TicketPatch, TicketQuery
from tickets_mcp.stores.search import COMPLETIONS_MAX

pytestmark = pytest.mark.anyio


async def found(store: Store, world: World, text: str, **options: object) -> list[int]:
    query = replace(TicketQuery(project_ids=[world.inbox.id], text=text, limit=100), **options)  # pyright: ignore[reportArgumentType]
    page = await store.list_tickets(query)
    assert page.total == len(page.tickets)
    return [t.number for t in page.tickets]


async def test_words_are_found_in_titles_descriptions_and_comments(store: Store, world: World) -> None:
    one = (await store.create_ticket(draft(world, "Login fails on Safari"), world.actor)).ticket
    await store.create_ticket(
        draft(world, "Export as CSV", description="The exporter crashes on big files"), world.actor
    )
    three = (await store.create_ticket(draft(world, "Slow board"), world.actor)).ticket
    await store.add_comment(three.id, "Seen with the kraken theme on Safari", world.actor)
    await store.add_comment(three.id, "Also on Firefox", world.actor)

    assert await found(store, world, "kraken") == [3]
    assert await found(store, world, "FIREFOX") == [3]  # any comment, any case
    assert await found(store, world, "crashes") == [2]
    assert await found(store, world, "crash") == [2]  # a word's start finds it
    assert await found(store, world, "rash") == []  # the middle of a word does not
    assert await found(store, world, "safari") == [3, 1]
    assert await found(store, world, "safari kraken") == [3]  # every word, from any field
    assert await found(store, world, "login kraken") == []
    assert await found(store, world, "login-fails!") == [1]  # punctuation separates words
    assert one.number == 1


async def test_a_words_start_finds_every_word_it_starts_however_many(store: Store, world: World) -> None:
    many = " ".join(f"zebra{i}" for i in range(COMPLETIONS_MAX + 6))  # more than a query names one by one
    await store.create_ticket(draft(world, "Stripes", description=many), world.actor)
    fish = (await store.create_ticket(draft(world, "Zebrafish"), world.actor)).ticket
    await store.add_comment(fish.id, "zebroid seen", world.actor)
    assert await found(store, world, "zebr") == [2, 1]
    assert await found(store, world, "zebra6") == [1]
    assert await found(store, world, "zebro") == [2]  # a comment's word
    await store.update_ticket(fish.id, TicketPatch(values={"title": "Okapi"}), expected_version=None, actor=world.actor)
    assert await found(store, world, "okap") == [2]  # an edited title's
    assert await found(store, world, "zebraf") == []


async def test_a_quoted_phrase_needs_its_words_together_and_in_order(store: Store, world: World) -> None:
    await store.create_ticket(draft(world, "Login fails on Safari"), world.actor)
    await store.create_ticket(draft(world, "Safari fails at login"), world.actor)
    assert await found(store, world, '"fails on"') == [1]
    assert await found(store, world, '"login fails" safari') == [1]
    assert await found(store, world, '"fails login"') == []
    assert await found(store, world, "fails login") == [2, 1]


async def test_a_text_without_words_matches_anywhere_in_title_or_description(store: Store, world: World) -> None:
    await store.create_ticket(draft(world, "Progress", description="100%_done"), world.actor)
    await store.create_ticket(draft(world, "Plain"), world.actor)
    assert await found(store, world, "%_") == [1]
    assert await found(store, world, "%", sort=TicketSort.RELEVANCE) == [1]  # nothing to rank by: newest first


async def test_relevance_puts_title_words_before_description_words_before_comment_words(
    store: Store, world: World
) -> None:
    in_comment = (await store.create_ticket(draft(world, "First"), world.actor)).ticket
    await store.add_comment(in_comment.id, "the zeppelin again", world.actor)
    await store.create_ticket(draft(world, "Second", description="a zeppelin over the board"), world.actor)
    await store.create_ticket(draft(world, "Zeppelin lands"), world.actor)
    await store.create_ticket(draft(world, "Fourth"), world.actor)

    assert await found(store, world, "zeppelin", sort=TicketSort.RELEVANCE) == [3, 2, 1]
    assert await found(store, world, "zeppelin") == [3, 2, 1]  # newest first, by coincidence here
    assert await found(store, world, "zeppelin", sort=TicketSort.CREATED, descending=False) == [1, 2, 3]


async def test_relevance_pages_walk_every_match_once(store: Store, world: World) -> None:
    for i in range(7):
        await store.create_ticket(
            draft(world, f"Walrus {i}" if i % 2 else f"Other {i}", description="walrus"), world.actor
        )
    await store.create_ticket(draft(world, "Unrelated"), world.actor)
    query = TicketQuery(project_ids=[world.inbox.id], text="walrus", sort=TicketSort.RELEVANCE, limit=3)
    everything = [t.number for t in (await store.list_tickets(replace(query, limit=100))).tickets]
    walked = await walk(store, query, 7)
    assert walked == everything
    assert sorted(walked) == [1, 2, 3, 4, 5, 6, 7]
    assert set(everything[:3]) == {2, 4, 6}  # the title matches come first


async def test_only_the_newest_matches_are_ranked_and_older_ones_follow_them_newest_first(
    store: Store, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("tickets_mcp.stores.sqlite.dialect", "tickets_mcp.stores.postgres.dialect"):
        monkeypatch.setattr(f"{module}.RANKED_MAX", 3)
    for i in range(1, 8):  # odd numbers say it in the title, even ones in the description
        title, description = (f"Walrus {i}", "seen") if i % 2 else (f"Sighting {i}", "a walrus")
        await store.create_ticket(draft(world, title, description=description), world.actor)
    query = TicketQuery(project_ids=[world.inbox.id], text="walrus", sort=TicketSort.RELEVANCE, limit=2)
    expected = [7, 5, 6, 4, 3, 2, 1]  # 5-7 ranked, title matches first; then the rest, newest first
    assert [t.number for t in (await store.list_tickets(replace(query, limit=100))).tickets] == expected
    assert await walk(store, query, 7) == expected


async def test_the_index_follows_edits_and_deletions(store: Store, world: World) -> None:
    ticket = (await store.create_ticket(draft(world, "Old title"), world.actor)).ticket
    await store.add_comment(ticket.id, "a comment about quokkas", world.actor)
    await store.update_ticket(
        ticket.id, TicketPatch(values={"title": "New heading", "description": "now with ocelots"}),
        expected_version=None, actor=world.actor,
    )  # fmt: skip
    assert await found(store, world, "old") == []
    assert await found(store, world, "heading ocelots quokkas") == [1]
    await store.delete_ticket(ticket.id, world.actor)
    assert await found(store, world, "quokkas") == []
    assert await found(store, world, "heading") == []


# Duplicate detection


async def test_a_look_alike_open_ticket_is_returned_instead_of_filing(store: Store, world: World) -> None:
    first = (
        await store.create_ticket(
            draft(world, "Login fails on Safari", description="The login button does nothing on Safari 17"), world.actor
        )
    ).ticket
    retry = replace(
        draft(world, "Login fails in Safari", description="Login button does nothing in Safari 17"),
        check_duplicates=True,
    )
    with pytest.raises(LikelyDuplicate) as refused:
        await store.create_ticket(retry, world.actor)
    assert refused.value.current is not None and refused.value.current["slug"] == first.slug
    assert refused.value.similarity >= 0.75
    assert first.slug in refused.value.message and "not_duplicate" in (refused.value.hint or "")
    # Nothing was filed, and the number was not used up.
    page = await store.list_tickets(TicketQuery(project_ids=[world.inbox.id]))
    assert page.total == 1
    assert (await store.create_ticket(draft(world, "Next"), world.actor)).ticket.number == 2
    # Without the check, the same draft is filed.
    assert (await store.create_ticket(replace(retry, check_duplicates=False), world.actor)).ticket.number == 3


@pytest.mark.parametrize(
    "title",
    [
        "Login fails on Chrome",  # one word in three differs
        "Bench ticket 2",  # numbered siblings
        "Crash after saving",
    ],
)
async def test_tickets_that_only_resemble_each_other_are_filed(store: Store, world: World, title: str) -> None:
    await store.create_ticket(draft(world, "Login fails on Safari"), world.actor)
    await store.create_ticket(draft(world, "Bench ticket 1"), world.actor)
    await store.create_ticket(draft(world, "Crash when opening a file"), world.actor)
    filed = (await store.create_ticket(replace(draft(world, title), check_duplicates=True), world.actor)).ticket
    assert filed.number == 4


async def test_closed_tickets_and_other_projects_are_not_duplicates(store: Store, world: World) -> None:
    other = await store.create_project(NewProject(world.organization.id, "Other", "OTH", ""), world.actor)
    await store.create_ticket(draft(world, "Dark mode toggle", status=Status.DONE), world.actor)
    await store.create_ticket(draft(world, "Dark mode toggle", project=other), world.actor)
    again = replace(draft(world, "Dark mode toggle"), check_duplicates=True)
    assert (await store.create_ticket(again, world.actor)).ticket.slug == "INBOX-2"
    with pytest.raises(LikelyDuplicate, match="INBOX-2"):
        await store.create_ticket(again, world.actor)


async def test_an_old_open_look_alike_is_found_behind_newer_closed_ones(store: Store, world: World) -> None:
    first = (await store.create_ticket(draft(world, "Dark mode toggle flickers"), world.actor)).ticket
    closed = [draft(world, "Dark mode toggle flickers", status=Status.DONE) for _ in range(120)]
    await store.create_tickets(closed, world.actor)
    again = replace(draft(world, "Dark mode toggle flickers"), check_duplicates=True)
    with pytest.raises(LikelyDuplicate, match=first.slug):
        await store.create_ticket(again, world.actor)


async def test_a_look_alike_follows_its_tickets_status_title_project_and_deletion(store: Store, world: World) -> None:
    other = await store.create_project(NewProject(world.organization.id, "Other", "OTH", ""), world.actor)
    ticket = (await store.create_ticket(draft(world, "Export fails for archived customers"), world.actor)).ticket
    retry = replace(draft(world, "Export fails for archived customers"), check_duplicates=True)
    elsewhere = replace(retry, project_id=other.id)

    async def refused(new: NewTicket) -> bool:
        try:
            filed = await store.create_ticket(new, world.actor)
        except LikelyDuplicate:
            return True
        await store.delete_ticket(filed.ticket.id, world.actor)
        return False

    closed = await store.move_ticket(ticket.id, Status.DONE, Placement(), expected_version=None, actor=world.actor)
    assert not await refused(retry)
    moved = await store.move_ticket(ticket.id, Status.TODO, Placement(), expected_version=None, actor=world.actor)
    assert closed.status is Status.DONE and await refused(retry)  # reopened
    await store.move_ticket(ticket.id, Status.IN_PROGRESS, Placement(), expected_version=None, actor=world.actor)
    assert await refused(retry)  # from one open column to another
    patch = TicketPatch(values={"title": "Import drops archived customers"})
    await store.update_ticket(ticket.id, patch, expected_version=moved.version + 1, actor=world.actor)
    assert not await refused(retry)
    renamed = replace(retry, title="Import drops archived customers")
    assert await refused(renamed)
    await store.move_to_project(ticket.id, other.id, world.actor)
    assert not await refused(renamed)
    assert await refused(replace(renamed, project_id=other.id)) and not await refused(elsewhere)
    moved_away = await store.moved_ticket(world.inbox.id, ticket.number)
    assert moved_away is not None
    await store.delete_ticket(moved_away.id, world.actor)
    assert not await refused(replace(renamed, project_id=other.id))


async def test_look_alikes_filed_at_the_same_moment_yield_one_ticket(store: Store, world: World) -> None:
    outcomes: list[str] = []

    async def file() -> None:
        try:
            ticket = (
                await store.create_ticket(
                    replace(
                        draft(world, "Checkout page times out", description="504 after 30 s"), check_duplicates=True
                    ),
                    world.actor,
                )
            ).ticket
            outcomes.append(ticket.slug)
        except LikelyDuplicate as refused:
            outcomes.append("duplicate of " + str((refused.current or {}).get("slug")))

    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(file)
    assert sorted(outcomes) == ["INBOX-1"] + ["duplicate of INBOX-1"] * 7


TRACE = EXPORT_KEY_ERROR_OWN_FRAMES


async def test_a_reworded_bug_with_the_same_stack_trace_is_refused_as_a_look_alike(store: Store, world: World) -> None:
    first = (
        await store.create_ticket(
            draft(world, "CSV export crashes with KeyError", description="Exporting customers fails:\n" + TRACE),
            world.actor,
        )
    ).ticket
    await store.create_ticket(draft(world, "Unrelated", description="Traceback:\nValueError: x"), world.actor)
    reworded = replace(
        draft(world, "Customer download blows up", description="Support reports downloads dying.\n\n" + TRACE),
        check_duplicates=True,
    )
    with pytest.raises(LikelyDuplicate) as refused:
        await store.create_ticket(reworded, world.actor)
    assert refused.value.current is not None and refused.value.current["slug"] == first.slug
    assert refused.value.trace == "KeyError at app/export.py:142"
    assert "same «KeyError at app/export.py:142»" in refused.value.message
    other_place = replace(reworded, description=TRACE.replace("142, in export_rows", "9, in totals"))
    assert (await store.create_ticket(other_place, world.actor)).ticket.number == 3


async def test_a_ticket_filed_names_the_open_tickets_most_like_it(store: Store, world: World) -> None:
    other = await store.create_project(NewProject(world.organization.id, "Other", "OTH", ""), world.actor)
    await store.create_ticket(draft(world, "Export fails for archived customers"), world.actor)  # INBOX-1
    await store.create_ticket(draft(world, "Export of archived customers", status=Status.DONE), world.actor)
    await store.create_ticket(draft(world, "Export fails for archived customers", project=other), world.actor)
    await store.create_ticket(draft(world, "Login fails on Safari"), world.actor)  # INBOX-3
    await store.create_ticket(draft(world, "Totals wrong", description=TRACE.replace("142", "9")), world.actor)
    first = await store.create_ticket(
        draft(world, "Export of archived customers crashes", description=TRACE), world.actor
    )
    assert first.similar == ("INBOX-4", "INBOX-1")  # the same trace moved by a line, then half the title words
    filed = await store.create_ticket(draft(world, "Dark mode toggle"), world.actor)
    assert filed.similar == ()
    many = [await store.create_ticket(draft(world, "Dark mode toggle"), world.actor) for _ in range(4)]
    assert many[-1].similar == ("INBOX-6", "INBOX-7", "INBOX-8")  # the same words: the oldest three
