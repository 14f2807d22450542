"""The board in a real headless Chromium (Debian's `chromium`, driven by Playwright), against a real `serve`.

Screenshots land in tests/artifacts/ (git-ignored): board-light.png after a drag, board-keyboard.png,
board-conflict.png, board-narrow-dark.png, ticket-light.png, login.png, board-milestone.png, ticket-planning.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx2
import pytest

from tests.fixtures.board_support import Board
from tests.fixtures.chromium import launched, require
from tests.fixtures.http_server import ServerProcess, running_server
from tickets_mcp.domain.dates import today_utc

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
SCRIPT_TITLE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=1">'
MILESTONE_SCRIPT = '<img src=x onerror="window.pwned=4"> & "Q3" #1'
WAIT_MS = 15_000  # live updates poll every 3 s

playwright_api = require("playwright.sync_api")

if TYPE_CHECKING:
    from playwright._impl._sync_base import EventContextManager
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, Route

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched(playwright_api) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("browser") / "tracker.db") as process:
        yield process


@pytest.fixture(scope="module")
def board(server: ServerProcess) -> Iterator[Board]:
    with Board(server) as seeded:
        yield seeded


# Chromium logs every 4xx answer to a fetch; a refused stale move is the board working as meant.
EXPECTED_CONSOLE = "Failed to load resource: the server responded with a status of 409"


class Watched:
    """A page whose script errors, console errors (a CSP refusal, say) and dialogs are recorded: each one
    fails the test."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self.console)
        page.on("dialog", lambda dialog: self.problems.append(f"dialog: {dialog.message}"))

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith(EXPECTED_CONSOLE):
            self.problems.append(message.text)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme="light")
    opened = context.new_page()
    watched = Watched(opened)
    yield opened
    context.close()
    assert watched.problems == []


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def column(status: str) -> str:
    return f'ol.cards[data-status="{status}"]'


def wait_in_column(page: Page, status: str, slug: str) -> None:
    """Until the page shows the card in that column (live updates poll every 3 s)."""
    page.wait_for_selector(f"{column(status)} #card-{slug}", timeout=WAIT_MS)


def wait_for_notice(page: Page, text: str) -> None:
    page.wait_for_selector(f"#notice:has-text('{text}')", timeout=WAIT_MS)


def saved_move(page: Page) -> EventContextManager[Response]:
    """Wait for the page's move request to be answered: the card moves on screen before the server has it."""
    return page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/move"), timeout=WAIT_MS)


def test_dragging_a_card_to_another_column_is_saved_and_survives_a_reload(
    board: Board, server: ServerProcess, page: Page
) -> None:
    slug = board.file("Drag me across", type="bug", priority="high", labels=["ui"], assignee="alice")["slug"]
    board.file("Already in progress", status="in_progress")
    page.goto(f"{server.url}/board/INBOX")
    page.drag_and_drop(f"#card-{slug}", column("in_progress"))
    wait_for_notice(page, f"Moved {slug}.")
    assert board.ticket(slug)["status"] == "in_progress"
    page.reload()
    wait_in_column(page, "in_progress", slug)
    shot(page, "board-light.png")


def test_a_card_moves_with_the_keyboard_and_its_buttons_and_focus_is_visible(
    board: Board, server: ServerProcess, page: Page
) -> None:
    slug = board.file("Move me by keys", status="todo")["slug"]
    page.goto(f"{server.url}/board/INBOX")
    card = page.locator(f"#card-{slug}")
    card.focus()
    page.keyboard.press("Tab")  # to its link, then back: what a keyboard user does
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == f"card-{slug}"
    outline = card.evaluate("card => getComputedStyle(card).outlineStyle")
    assert outline == "solid"
    with saved_move(page):
        page.keyboard.press("ArrowRight")
    wait_for_notice(page, f"Moved {slug}.")
    assert board.ticket(slug)["status"] == "in_progress"
    wait_in_column(page, "in_progress", slug)
    assert page.evaluate("document.activeElement.id") == f"card-{slug}"  # focus stays with the card
    with saved_move(page):
        page.click(f"#card-{slug} button[data-move='right']")
    wait_in_column(page, "in_review", slug)
    assert board.ticket(slug)["status"] == "in_review"
    shot(page, "board-keyboard.png")


def test_arrow_up_and_down_reorder_a_card_within_its_column(board: Board, server: ServerProcess, page: Page) -> None:
    first = board.file("First canceled", status="canceled")["slug"]
    second = board.file("Second canceled", status="canceled")["slug"]
    page.goto(f"{server.url}/board/INBOX")
    page.locator(f"#card-{second}").focus()
    with saved_move(page):
        page.keyboard.press("ArrowUp")
    wait_for_notice(page, f"Moved {second}.")
    assert canceled_order(board)[:2] == [second, first]
    with saved_move(page):
        page.keyboard.press("ArrowDown")
    page.wait_for_function(f"document.querySelector('{column('canceled')} .card').id === 'card-{first}'")
    assert canceled_order(board)[:2] == [first, second]
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/board/tickets/{second}")  # the focused card


def canceled_order(board: Board) -> list[str]:
    """The canceled column's slugs in order, as the server keeps them."""
    reply = board.rest.get("/api/v1/native/board", params={"project": "INBOX", "per_column": 100})
    columns = {column["status"]: column["tickets"] for column in reply.json()["columns"]}
    return [ticket["slug"] for ticket in columns["canceled"]]


def test_the_board_follows_changes_made_elsewhere_without_a_reload(
    board: Board, server: ServerProcess, page: Page
) -> None:
    slug = board.file("Moved by an agent")["slug"]
    page.goto(f"{server.url}/board/INBOX")
    wait_in_column(page, "backlog", slug)
    board.move(slug, "done")
    wait_in_column(page, "done", slug)
    filed = board.file("Filed by an agent")["slug"]
    wait_in_column(page, "backlog", filed)


def test_a_drag_with_a_stale_version_shows_the_conflict_and_the_current_state(
    board: Board, server: ServerProcess, page: Page
) -> None:
    slug = board.file("Changed under your feet")["slug"]

    def hold_polls(route: Route) -> None:
        # Keep the page on what it first rendered (a poll would bring the new version in) by answering
        # polls "nothing changed": only the refresh the page forces after its move, which sends no
        # If-None-Match, goes through.
        if "if-none-match" in route.request.headers:
            route.fulfill(status=304)
        else:
            route.continue_()

    page.route(re.compile(r".*/board/INBOX/columns$"), hold_polls)
    page.goto(f"{server.url}/board/INBOX")
    board.move(slug, "done")  # someone else moves it meanwhile
    page.drag_and_drop(f"#card-{slug}", column("in_review"))
    notice = page.wait_for_selector("#notice.alert", timeout=WAIT_MS)
    assert notice is not None
    assert "not made" in notice.inner_text() and slug in notice.inner_text()
    wait_in_column(page, "done", slug)
    assert board.ticket(slug)["status"] == "done"
    shot(page, "board-conflict.png")


def test_a_poll_asked_for_before_a_move_cannot_put_the_card_back(
    board: Board, server: ServerProcess, page: Page
) -> None:
    slug = board.file("Raced by a poll", status="in_review")["slug"]
    held: list[Route] = []
    page.route(re.compile(r".*/board/INBOX/columns$"), lambda route: polled(route, held))
    page.goto(f"{server.url}/board/INBOX")
    with httpx2.Client(base_url=server.url, timeout=10) as loopback:
        before_the_move = loopback.get("/board/INBOX/columns").text  # what a slow poll would bring back
    with page.expect_request(is_poll, timeout=WAIT_MS):
        pass  # a poll is on its way, held unanswered
    page.locator(f"#card-{slug}").focus()
    with saved_move(page), page.expect_response(forced_refresh, timeout=WAIT_MS):
        page.keyboard.press("ArrowRight")
    wait_in_column(page, "done", slug)
    version = board.ticket(slug)["version"]
    stale_poll = held[0]
    with page.expect_response(lambda response: response.request == stale_poll.request, timeout=WAIT_MS):
        stale_poll.fulfill(status=200, body=before_the_move, headers={"Content-Type": "text/html", "ETag": 'W/"old"'})
    with page.expect_request(is_poll, timeout=WAIT_MS):
        pass  # the next poll: the stale answer was handled long before
    wait_in_column(page, "done", slug)
    assert page.get_attribute(f"#card-{slug}", "data-version") == str(version)
    assert page.evaluate("document.getElementById('live').dataset.etag") != 'W/"old"'


def polled(route: Route, held: list[Route]) -> None:
    """Hold every poll (the test answers the first itself); let the page's own refreshes through."""
    if is_poll(route.request):
        held.append(route)
    else:
        route.continue_()


def is_poll(request: Request) -> bool:
    return request.url.endswith("/columns") and "if-none-match" in request.headers


def forced_refresh(response: Response) -> bool:
    return response.url.endswith("/columns") and "if-none-match" not in response.request.headers


def test_left_and_right_put_a_card_last_in_a_column_longer_than_the_board_shows(
    board: Board, server: ServerProcess, page: Page
) -> None:
    created = board.rest.post("/api/v1/native/projects", json={"name": "Long column", "code": "LONG"})
    assert created.status_code == 201, created.text
    todo = [file_in(board, "LONG", f"Queued number {n}", "todo") for n in range(101)]  # one more than shown
    slug = file_in(board, "LONG", "Moved to the end", "backlog")
    page.goto(f"{server.url}/board/LONG")
    assert page.locator(f"{column('todo')} .card").count() == 100
    page.locator(f"#card-{slug}").focus()
    with saved_move(page) as answered:
        page.keyboard.press("ArrowRight")
    assert answered.value.ok
    assert answered.value.request.post_data_json == {"status": "todo", "version": 1, "before": None, "after": None}
    for first in todo[:2]:  # make room so that the column's end is shown
        board.move(first, "done")
    reply = board.rest.get("/api/v1/native/board", params={"project": "LONG", "per_column": 100})
    columns = {column["status"]: column["tickets"] for column in reply.json()["columns"]}
    assert [ticket["slug"] for ticket in columns["todo"]][-2:] == [todo[-1], slug]


def file_in(board: Board, project: str, title: str, status: str) -> str:
    reply = board.rest.post("/api/v1/native/tickets", json={"title": title, "project": project, "status": status})
    assert reply.status_code == 201, reply.text
    return reply.json()["slug"]


def test_a_title_changed_to_markup_while_the_board_is_open_stays_text_after_the_live_refresh(
    board: Board, server: ServerProcess, page: Page
) -> None:
    slug = board.file("Harmless for now", status="in_progress")["slug"]
    page.goto(f"{server.url}/board/INBOX")
    changed = board.rest.patch(f"/api/v1/native/tickets/{slug}", json={"title": SCRIPT_TITLE})
    assert changed.status_code == 200, changed.text
    page.wait_for_function(
        "([id, title]) => document.querySelector(`#${id} .title`)?.textContent === title",
        arg=[f"card-{slug}", SCRIPT_TITLE],
        timeout=WAIT_MS,
    )  # the live refresh put the new title in with innerHTML
    assert page.evaluate("window.pwned") is None
    assert page.locator("#live img").count() == 0 and page.locator("#live script").count() == 0


def test_titles_and_comments_with_markup_stay_text_in_the_browser(
    board: Board, server: ServerProcess, page: Page
) -> None:
    slug = board.file(SCRIPT_TITLE, description='<img src=x onerror="window.pwned=2">')["slug"]
    board.rest.post(f"/api/v1/native/tickets/{slug}/comments", json={"body": "<script>window.pwned=3</script>"})
    page.goto(f"{server.url}/board/INBOX")
    assert page.inner_text(f"#card-{slug} .title") == SCRIPT_TITLE
    page.goto(f"{server.url}/board/tickets/{slug}")
    assert page.evaluate("window.pwned") is None
    assert page.locator("img").count() == 0 and page.locator("main script").count() == 0
    assert "<script>window.pwned=3</script>" in page.inner_text(".comments")


def test_on_a_narrow_dark_screen_the_columns_stack_and_read_light_on_dark(
    board: Board, server: ServerProcess, browser: Browser
) -> None:
    board.file("Seen on a phone", status="todo", priority="urgent")
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark", is_mobile=True)
    try:
        phone = context.new_page()
        phone.goto(f"{server.url}/board/INBOX")
        boxes = [phone.locator(".column").nth(i).bounding_box() for i in range(2)]
        assert boxes[0] is not None and boxes[1] is not None
        assert boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"]  # one below the other
        assert boxes[0]["width"] <= 390
        background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
        text = phone.evaluate("getComputedStyle(document.body).color")
        assert luminance(background) < 0.2 < 0.8 < luminance(text)
        shot(phone, "board-narrow-dark.png")
    finally:
        context.close()


def luminance(css_color: str) -> float:
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", css_color)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_the_ticket_page_changes_status_and_takes_a_comment(board: Board, server: ServerProcess, page: Page) -> None:
    slug = board.file("Commented in the browser", description="Steps to reproduce:\n1. open the page")["slug"]
    page.goto(f"{server.url}/board/tickets/{slug}")
    page.select_option("#status-select", "in_review")
    page.click("text=Change status")
    wait_for_notice(page, "Status changed.")
    assert board.ticket(slug)["status"] == "in_review"
    page.fill("#comment-body", "Fixed in the browser, <b>really</b>.")
    page.click("button:has-text('Comment')")
    wait_for_notice(page, "Comment added.")
    assert "Fixed in the browser, <b>really</b>." in page.inner_text(".comments")
    assert [c["body"] for c in board.detail(slug)["comments"]] == ["Fixed in the browser, <b>really</b>."]
    shot(page, "ticket-light.png")


def test_logging_in_with_a_token_opens_the_board_and_script_never_sees_the_session(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    db = tmp_path_factory.mktemp("login-browser") / "tracker.db"
    with running_server(db, env={"TICKETS_BOARD_LOCAL": "0"}) as server:
        token = server.create_token("--user", "alice", "--name", "chromium")
        context = browser.new_context(viewport={"width": 1000, "height": 700})
        try:
            page = context.new_page()
            page.goto(f"{server.url}/board/INBOX")
            assert page.url.startswith(f"{server.url}/board/login")
            shot(page, "login.png")
            page.fill("#token", token)
            page.click("button:has-text('Log in')")
            page.wait_for_selector("h1:has-text('Inbox')")
            assert page.url == f"{server.url}/board/INBOX"
            assert page.evaluate("document.cookie") == ""  # HttpOnly
            page.click("text=Log out")
            page.wait_for_selector("#token")
            page.goto(f"{server.url}/board/INBOX")
            assert "/board/login" in page.url
        finally:
            context.close()


# Planning (issue 20)


def test_cards_say_blocked_overdue_and_milestone_and_a_milestone_narrows_the_columns(
    board: Board, server: ServerProcess, page: Page
) -> None:
    board.project("SPR", "Sprints")
    board.milestone("Sprint 1", project="SPR", due_date="+7d")
    blocker = board.file("Unblock the others", project="SPR", status="in_progress")["slug"]
    blocked = board.file("Waiting on the blocker", project="SPR", status="todo", milestone="Sprint 1")["slug"]
    board.link(blocked, "blocked_by", blocker)
    late = board.file("Past its day", project="SPR", status="todo", due_date="yesterday", milestone="Sprint 1")["slug"]
    page.goto(f"{server.url}/board/SPR")
    yesterday = (today_utc() - timedelta(days=1)).isoformat()
    assert f"Blocked by {blocker}" in page.inner_text(f"#card-{blocked}")
    assert f"Overdue: due {yesterday}" in page.inner_text(f"#card-{late}")
    assert "Sprint 1" in page.inner_text(f"#card-{late}")
    assert "2 open, 0 done of 2; 1 overdue" in page.inner_text("#milestone-bar")
    assert page.locator(".card").count() == 3

    page.click("#milestone-bar a:has-text('Sprint 1')")
    page.wait_for_url(lambda url: url == f"{server.url}/board/SPR?milestone=Sprint+1")
    assert sorted(page.locator(".card").evaluate_all("cards => cards.map(card => card.dataset.slug)")) == sorted(
        [blocked, late]
    )
    assert page.get_attribute("#milestone-bar [aria-current=page]", "href") == "/board/SPR?milestone=Sprint+1"
    page.locator(f"#card-{late}").focus()  # a move on the milestone's board: the card stays on it
    with saved_move(page):
        page.keyboard.press("ArrowRight")
    wait_in_column(page, "in_progress", late)
    board.move(blocked, "done")  # elsewhere: the live refresh brings the progress and keeps the filter
    page.wait_for_selector("#milestone-bar :text('1 open, 1 done of 2')", timeout=WAIT_MS)
    wait_in_column(page, "done", blocked)
    assert page.locator(".card").count() == 2
    shot(page, "board-milestone.png")
    page.click("#milestone-bar a:has-text('All tickets')")
    page.wait_for_url(f"{server.url}/board/SPR")
    assert page.locator(".card").count() == 3


def test_a_hostile_milestone_name_and_linked_title_stay_text_in_the_browser(
    board: Board, server: ServerProcess, page: Page
) -> None:
    board.project("HOST", "Hostile")
    milestone = board.milestone(MILESTONE_SCRIPT, project="HOST")["id"]
    other = board.file(SCRIPT_TITLE, project="HOST")["slug"]
    slug = board.file("Linked to markup", project="HOST", milestone=MILESTONE_SCRIPT, estimate=3)["slug"]
    board.link(slug, "relates_to", other)
    board.log_time(slug, 1.5, note="<b>not bold</b>")
    page.goto(f"{server.url}/board/HOST")
    assert MILESTONE_SCRIPT in page.inner_text("#milestone-bar")
    assert MILESTONE_SCRIPT in page.inner_text(f"#card-{slug}")
    page.click(f"#milestone-{milestone}")
    page.wait_for_selector(f"#card-{slug}")
    assert page.locator(".card").count() == 1  # the name came back intact through the URL
    page.goto(f"{server.url}/board/tickets/{slug}")
    assert f"Relates to {other} {SCRIPT_TITLE}" in page.inner_text("#links")
    assert "1.5 hours: <b>not bold</b>" in page.inner_text("#time")
    assert "3 hours" in page.inner_text("#facts")
    assert page.evaluate("window.pwned") is None
    assert page.locator("main img").count() == 0 and page.locator("main script").count() == 0
    assert page.locator("#time b").count() == 0
    shot(page, "ticket-planning.png")


def test_the_ticket_page_names_its_files_and_a_link_downloads_one_that_never_runs(
    board: Board, server: ServerProcess, page: Page
) -> None:
    slug = board.file("Has a page attached")["slug"]
    attached = board.attach(slug, "<b>Q3 report & co.html", b"<!doctype html><script>window.pwned=5</script>")
    page.goto(f"{server.url}/board/tickets/{slug}")
    link = page.locator("#files a")
    assert link.get_attribute("href") == f"/board/tickets/{slug}/attachments/{attached['id']}"
    with page.expect_download(timeout=WAIT_MS) as downloading:
        link.click()
    download = downloading.value
    assert link.inner_text() == "<b>Q3 report & co.html"  # markup in a name is text on the page
    assert download.suggested_filename.endswith("Q3 report & co.html")  # Chromium swaps out the < and >
    assert Path(download.path()).read_bytes() == b"<!doctype html><script>window.pwned=5</script>"
    assert page.url == f"{server.url}/board/tickets/{slug}"  # still on the ticket: nothing of the file ran here
    assert page.evaluate("window.pwned") is None
