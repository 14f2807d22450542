"""Planning on the board's pages (issue 20): due days, blockers and milestones on cards, the milestone filter
with its progress, a ticket's links, estimate, time and files, each said in text and escaped, each file downloaded
through the board as the native API serves it; the serve app in process on each store. The browser half is in
tests/processes/test_board_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx2
import pytest

from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.board_support import Board, text_of
from tests.fixtures.stores import Location
from tickets_mcp.core import admin
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketDraft
from tickets_mcp.domain.dates import today_utc
from tickets_mcp.stores import Store

HOSTILE = '<script>window.pwned=1</script><img src=x onerror="alert(1)"> & "Q3"'
# No "/": the REST API names a milestone in its path, where %2F is a separator by the time it is routed.
HOSTILE_NAME = '<img src=x onerror="alert(1)"><svg onload=alert(2)> & "Q3" #1 ?x=1'
PAGE = b"<!doctype html><script>window.pwned=1</script>"


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[AppServer]:
    with serving_app(module_store_location) as app:
        yield app


@pytest.fixture(scope="module")
def board(server: AppServer) -> Iterator[Board]:
    with Board(server) as seeded:
        yield seeded


@pytest.fixture
def browser(server: AppServer) -> Iterator[httpx2.Client]:
    """What a browser on this machine sends (the app sees a loopback client): no token, its own Origin."""
    with server.client(headers={"Origin": server.url}) as client:
        yield client


def day(offset: int) -> str:
    return (today_utc() + timedelta(days=offset)).isoformat()


def cards_in(page: str) -> list[str]:
    return re.findall(r'id="card-([A-Z0-9]+-\d+)"', page)


def test_a_card_says_overdue_due_blocked_by_and_its_milestone_in_words(board: Board, browser: httpx2.Client) -> None:
    board.milestone("Card sprint")
    blocker = board.file("Blocks the others", status="in_progress")["slug"]
    blocked = board.file("Waits on it", status="todo")["slug"]
    board.link(blocked, "blocked_by", blocker)
    late = board.file("Late one", status="todo", due_date="yesterday")["slug"]
    due_today = board.file("Due today", due_date="today")["slug"]
    later = board.file("Due later", due_date="+3d", milestone="Card sprint")["slug"]
    finished = board.file("Finished late", status="done", due_date="-2d")["slug"]
    page = browser.get("/board/INBOX").text
    assert f"Blocked by {blocker}" in text_of(page, f"card-{blocked}")
    assert f'href="/board/tickets/{blocker}"' in page.split(f'id="card-{blocked}"')[1].split("</li>")[0]
    assert f"Overdue: due {day(-1)}" in text_of(page, f"card-{late}")
    assert re.search(rf'class="card overdue" id="card-{late}"', page)
    assert f"Due today, {day(0)}" in text_of(page, f"card-{due_today}")
    assert f"Due {day(3)}" in text_of(page, f"card-{later}") and "Overdue" not in text_of(page, f"card-{later}")
    assert "Milestone Card sprint" in text_of(page, f"card-{later}")
    assert f"Due {day(-2)}" in text_of(page, f"card-{finished}")  # closed: its day passed, but it is not late
    assert "Overdue" not in text_of(page, f"card-{finished}")
    board.move(blocker, "done")  # a closed blocker blocks nothing
    assert "Blocked by" not in text_of(browser.get("/board/INBOX").text, f"card-{blocked}")


def test_the_milestone_bar_lists_open_milestones_with_progress_and_each_narrows_the_board(
    board: Board, browser: httpx2.Client
) -> None:
    board.project("PLAN", "Planned")
    board.milestone("Sprint 1", project="PLAN", due_date="yesterday")
    board.milestone("Sprint 2", project="PLAN", due_date="+14d")
    board.milestone("Long gone", project="PLAN", closed=True)
    late = board.file("Sprint 1, late", project="PLAN", status="todo", milestone="Sprint 1")["slug"]
    shipped = board.file("Sprint 1, shipped", project="PLAN", status="done", milestone="Sprint 1")["slug"]
    next_one = board.file("Sprint 2 work", project="PLAN", status="in_progress", milestone="Sprint 2")["slug"]
    loose = board.file("In no milestone", project="PLAN")["slug"]

    whole = browser.get("/board/PLAN").text
    bar = text_of(whole, "milestone-bar")
    assert f"Sprint 1 1 open, 1 done of 2; 1 overdue; past due {day(-1)}" in bar
    assert f"Sprint 2 1 open, 0 done of 1; due {day(14)}" in bar
    assert "Long gone" not in bar
    assert 'href="/board/PLAN?milestone=Sprint+1"' in whole
    assert re.search(r'<a href="/board/PLAN" id="milestone-all" aria-current="page">All tickets</a>', whole)
    assert sorted(cards_in(whole)) == sorted([late, shipped, next_one, loose])

    sprint = browser.get("/board/PLAN", params={"milestone": "Sprint 1"})
    assert sprint.status_code == 200
    assert sorted(cards_in(sprint.text)) == sorted([late, shipped])
    assert re.search(r'id="milestone-\d+" aria-current="page">Sprint 1</a>', sprint.text)
    assert "Showing only the tickets of milestone Sprint 1." in text_of(sprint.text, "milestone-bar")
    assert "Milestone Sprint 1" not in text_of(sprint.text, f"card-{late}")  # the board says it once
    assert 'data-live="/board/PLAN/columns?milestone=Sprint+1"' in sprint.text
    assert '<span class="count">1</span>' in sprint.text.split('id="column-done"')[1].split("</h2>")[0]
    live = browser.get("/board/PLAN/columns", params={"milestone": "Sprint 1"})
    assert sorted(cards_in(live.text)) == sorted([late, shipped])

    closed = browser.get("/board/PLAN", params={"milestone": "Long gone"})
    assert closed.status_code == 200 and "Long gone closed" in text_of(closed.text, "milestone-bar")
    unknown = browser.get("/board/PLAN", params={"milestone": "Sprint 9"})
    assert unknown.status_code == 404 and "PLAN has no milestone" in unknown.text
    assert sorted(cards_in(browser.get("/board/PLAN", params={"milestone": ""}).text)) == sorted(cards_in(whole))


def test_a_project_without_milestones_shows_no_bar(board: Board, browser: httpx2.Client) -> None:
    board.project("BARE", "No milestones")
    board.file("Plain", project="BARE")
    page = browser.get("/board/BARE").text
    assert 'id="milestone-bar"' not in page and "Milestones" not in page


def test_hostile_milestone_names_and_linked_titles_are_shown_as_text(board: Board, browser: httpx2.Client) -> None:
    board.project("EVIL", "Hostile names")
    board.milestone(HOSTILE_NAME, project="EVIL")
    other = board.file(HOSTILE, project="EVIL")["slug"]
    slug = board.file("Plain title", project="EVIL", milestone=HOSTILE_NAME, due_date="+1d")["slug"]
    board.link(slug, "relates_to", other)
    board.log_time(slug, 1, note=HOSTILE)
    board_page = browser.get("/board/EVIL").text
    filtered_href = re.search(r'href="(/board/EVIL\?milestone=[^"]+)"', board_page)
    assert filtered_href is not None
    filtered = browser.get(filtered_href.group(1).replace("&amp;", "&"))
    assert filtered.status_code == 200 and cards_in(filtered.text) == [slug]  # the name survives the round trip
    ticket_page = browser.get(f"/board/tickets/{slug}").text
    for page in (board_page, filtered.text, browser.get("/board/EVIL/columns").text, ticket_page):
        assert "<script>window" not in page and "<img" not in page and "<svg" not in page
    assert HOSTILE_NAME in text_of(board_page, "milestone-bar")
    assert HOSTILE_NAME in text_of(board_page, f"card-{slug}")
    assert f"Relates to {other} {HOSTILE} Backlog" in text_of(ticket_page, "links")
    assert HOSTILE in text_of(ticket_page, "time") and HOSTILE_NAME in text_of(ticket_page, "facts")


def test_the_ticket_page_shows_milestone_due_day_blockers_estimate_time_and_links(
    board: Board, browser: httpx2.Client
) -> None:
    board.milestone("Page sprint")
    slug = board.file("Planned work", estimate=5, due_date="yesterday", milestone="Page sprint")["slug"]
    first = board.file("Comes first", status="in_progress")["slug"]
    later = board.file("Comes after")["slug"]
    board.link(slug, "blocked_by", first)
    board.link(slug, "blocks", later)
    board.log_time(slug, 1.5, note="pairing")
    board.log_time(slug, 2)
    page = browser.get(f"/board/tickets/{slug}").text
    facts = text_of(page, "facts")
    for fact in (
        "Milestone Page sprint",
        f"Due Overdue: due {day(-1)}",
        f"Blocked by {first}",
        "Estimate 5 hours",
        "Time spent 3.5 hours",
    ):
        assert fact in facts
    assert 'href="/board/INBOX?milestone=Page+sprint"' in page
    links = text_of(page, "links")
    assert f"Blocked by {first} Comes first In progress" in links and f"Blocks {later} Comes after Backlog" in links
    time = text_of(page, "time")
    assert time.startswith("Time logged (2, newest first; 3.5 hours in all)")
    assert time.index("2 hours") < time.index("1.5 hours: pairing")
    assert f"linked: blocked by {first}" in page and f"logged 1.5 hours on {day(0)}" in page  # the history
    assert f"linked: blocks {slug}" in browser.get(f"/board/tickets/{first}").text
    plain = board.file("Not planned")["slug"]
    bare = browser.get(f"/board/tickets/{plain}").text
    assert "Estimate" not in bare and 'id="links"' not in bare and 'id="time"' not in bare


def test_estimates_read_in_the_projects_unit(board: Board, browser: httpx2.Client) -> None:
    board.project("PTS", "Pointed")
    changed = board.rest.patch("/api/v1/native/projects/PTS", json={"estimate_unit": "points"})
    assert changed.status_code == 200, changed.text
    slug = board.file("Sized in points", project="PTS", estimate=1)["slug"]
    facts = text_of(browser.get(f"/board/tickets/{slug}").text, "facts")
    assert "Estimate 1 point" in facts and "Time spent 0 hours" in facts


def test_live_parts_change_their_etag_when_a_blocker_elsewhere_closes_or_time_is_logged(
    board: Board, browser: httpx2.Client
) -> None:
    board.project("FAR", "Elsewhere")
    blocker = board.file("In another project", project="FAR")["slug"]
    blocked = board.file("Waits across projects")["slug"]
    board.link(blocked, "blocked_by", blocker)
    columns = browser.get("/board/INBOX/columns")
    board.move(blocker, "done")  # nothing on INBOX's board changed version: only its blocker closed
    after = browser.get("/board/INBOX/columns", headers={"If-None-Match": columns.headers["etag"]})
    assert after.status_code == 200 and "Blocked by" not in text_of(after.text, f"card-{blocked}")
    fragment = {"Accept": "text/html-fragment"}
    ticket = browser.get(f"/board/tickets/{blocked}", headers=fragment)
    board.log_time(blocked, 0.5)
    logged = browser.get(f"/board/tickets/{blocked}", headers={**fragment, "If-None-Match": ticket.headers["etag"]})
    assert logged.status_code == 200 and "0.5 hours" in text_of(logged.text, "time")


def test_a_card_moved_on_a_milestones_board_stays_in_that_milestone(board: Board, browser: httpx2.Client) -> None:
    board.milestone("Move sprint")
    slug = board.file("Moved within a sprint", milestone="Move sprint")["slug"]
    board.file("Outside the sprint")
    moved = browser.post(f"/board/tickets/{slug}/move", json={"status": "in_review", "version": 1})
    assert moved.status_code == 200, moved.text
    live = browser.get("/board/INBOX/columns", params={"milestone": "Move sprint"}).text
    assert cards_in(live) == [slug]
    assert f'id="card-{slug}"' in live.split('data-status="in_review"')[1].split("</ol>")[0]
    assert board.ticket(slug)["milestone"] == "Move sprint"


# Files


def file_links(page: str) -> list[str]:
    return re.findall(r'href="(/board/tickets/[^"]+/attachments/\d+)"', page)


def test_the_ticket_page_lists_its_files_with_hostile_names_as_text(board: Board, browser: httpx2.Client) -> None:
    slug = board.file("Has files")["slug"]
    notes = board.attach(slug, "notes.txt", b"x" * 2048)
    hostile = board.attach(slug, f"{HOSTILE_NAME}.txt", b"plain words")
    page = browser.get(f"/board/tickets/{slug}").text
    assert "<img" not in page and "<svg" not in page
    files = text_of(page, "files")
    assert files.startswith("Files (2)")
    assert "notes.txt 2 KiB, text/plain, by alice, " in files
    assert f"{hostile['name']} 11 bytes, text/plain, by alice" in files
    assert file_links(page) == [
        f"/board/tickets/{slug}/attachments/{notes['id']}",
        f"/board/tickets/{slug}/attachments/{hostile['id']}",
    ]
    assert 'id="files"' not in browser.get(f"/board/tickets/{board.file('No files')['slug']}").text


def test_a_file_downloads_through_the_board_as_the_native_api_serves_it(board: Board, browser: httpx2.Client) -> None:
    slug = board.file("Has a page attached")["slug"]
    attached = board.attach(slug, "page.html", PAGE)
    url = f"/board/tickets/{slug}/attachments/{attached['id']}"
    assert file_links(browser.get(f"/board/tickets/{slug}").text) == [url]
    served = browser.get(url)
    native = board.rest.get(f"/api/v1/native/tickets/{slug}/attachments/{attached['id']}")
    assert served.status_code == 200 and served.content == PAGE
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"].startswith('attachment; filename="page.html"')
    assert served.headers["content-type"].startswith("text/html")
    for header in ("content-type", "content-disposition", "etag", "cache-control"):
        assert served.headers[header] == native.headers[header]


def test_the_ticket_pages_live_part_changes_when_a_file_is_attached(board: Board, browser: httpx2.Client) -> None:
    slug = board.file("Gets a file later")["slug"]
    fragment = {"Accept": "text/html-fragment"}
    before = browser.get(f"/board/tickets/{slug}", headers=fragment)
    board.attach(slug, "later.txt", b"later")
    after = browser.get(f"/board/tickets/{slug}", headers={**fragment, "If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and "later.txt" in text_of(after.text, "files")


def test_another_organizations_file_and_an_unknown_one_are_404(
    server: AppServer, board: Board, browser: httpx2.Client
) -> None:
    async def elsewhere(store: Store) -> tuple[str, int]:
        owner = await admin.add_user(store, "files-rival")
        organization = await admin.add_organization(store, "Files rivals", owner.username)
        rival = LocalTracker(store, Principal(user_id=owner.id, username=owner.username))
        project = await rival.create_project("Secret", code="SECRET", organization=organization.slug)
        slug = (await rival.create_ticket(TicketDraft(title="Theirs", project=project.code))).ticket.slug
        return slug, (await rival.attach_file(slug, "secret.txt", b"secret")).id

    slug, attachment_id = server.seed(elsewhere)
    theirs = browser.get(f"/board/tickets/{slug}/attachments/{attachment_id}")
    assert theirs.status_code == 404 and b"secret" not in theirs.content
    mine = board.file("Mine, without that file")["slug"]
    assert browser.get(f"/board/tickets/{mine}/attachments/{attachment_id}").status_code == 404


def test_a_download_without_a_login_goes_to_the_login_page_like_any_board_page(board: Board, server: AppServer) -> None:
    slug = board.file("Logged out")["slug"]
    attached = board.attach(slug, "private.txt", b"private")
    url = f"/board/tickets/{slug}/attachments/{attached['id']}"
    with server.client(headers={"X-Forwarded-For": "203.0.113.9"}) as relayed:  # not local: asks for a login
        refused = relayed.get(url)
    assert refused.status_code == 303 and refused.headers["location"] == f"/board/login?next={url}"
    assert b"private" not in refused.content
