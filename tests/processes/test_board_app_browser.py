"""The board's MCP App in a real headless Chromium (Debian's `chromium`, driven by Playwright), in a host page
built on the official @modelcontextprotocol/ext-apps AppBridge (tests/fixtures/apps_host.py), against a real
`serve`: the host reads the app over MCP, shows it in a sandboxed frame, and passes the app's tool calls to the
server through its SDK client. The app never reaches the server by itself.

Screenshots land in tests/artifacts/ (git-ignored): board-app.png after a drag, board-app-conflict.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures.apps_host import HOST_ORIGIN, HOST_PAGE, SANDBOX_ORIGIN, AppsHost, sandbox_policy
from tests.fixtures.board_support import Board
from tests.fixtures.chromium import launched, require
from tests.fixtures.http_server import ServerProcess, running_server
from tickets_mcp.mcp.board_app import BOARD_APP_URI

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
WAIT_MS = 15_000

playwright_api = require("playwright.sync_api")

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Frame, FrameLocator, Page, Request

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched(playwright_api) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("apps") / "tracker.db") as process:
        yield process


@pytest.fixture(scope="module")
def board(server: ServerProcess) -> Iterator[Board]:
    with Board(server) as seeded:
        yield seeded


class Session:
    """One host page and what it saw: every request any of its frames made, console errors and page errors."""

    def __init__(self, page: Page, host: AppsHost) -> None:
        self.page, self.host = page, host
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.allowed: tuple[str, ...] = ()  # console errors a test provokes on purpose
        page.on("request", self.request)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self.console)

    def request(self, request: Request) -> None:
        self.requests.append(request.url)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith(self.allowed):
            self.problems.append(message.text)

    def show_board(self, **arguments: Any) -> FrameLocator:
        """The host shows get_board's app as if the model had called it with `arguments`; the app's frame."""
        self.page.goto(HOST_PAGE)
        self.page.evaluate("([name, args]) => showTool(name, args)", ["get_board", arguments])
        return self.page.frame_locator("#app-frame").frame_locator("#view")

    def view(self) -> Frame:
        """The app's own frame (the inner one, inside the sandbox proxy)."""
        proxy = self.page.locator("#app-frame").element_handle().content_frame()
        assert proxy is not None
        view = proxy.locator("#view").element_handle().content_frame()
        assert view is not None
        return view


@pytest.fixture
def session(browser: Browser, server: ServerProcess, board: Board) -> Iterator[Session]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme="light")
    with AppsHost.connected(server, board.token) as host:
        host.serve(context)
        opened = Session(context.new_page(), host)
        yield opened
        context.close()
    assert opened.problems == []
    # Everything the page loaded came from the host's two origins: the app reached the server only through
    # the host's tool calls, never by itself.
    assert [url for url in opened.requests if not url.startswith((HOST_ORIGIN, SANDBOX_ORIGIN, "about:"))] == []


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def cards(app: FrameLocator, status: str) -> list[str]:
    return app.locator(f'ol.cards[data-status="{status}"] .card .slug').all_inner_texts()


def wait_for_notice(app: FrameLocator, text: str) -> None:
    app.locator("#notice", has_text=text).wait_for(timeout=WAIT_MS)


def server_columns(board: Board) -> dict[str, list[str]]:
    reply = board.rest.get("/api/v1/native/board", params={"project": "INBOX", "per_column": 100})
    return {column["status"]: [t["slug"] for t in column["tickets"]] for column in reply.json()["columns"]}


def test_the_app_shows_the_boards_cards_as_the_server_has_them(board: Board, session: Session) -> None:
    first = board.file("Draw me", priority="high", labels=["ui"], assignee="alice")["slug"]
    second = board.file("Already started", status="in_progress")["slug"]
    app = session.show_board(project="INBOX", per_column=100)
    app.locator(f"#card-{first}").wait_for(timeout=WAIT_MS)
    shown = {status: cards(app, status) for status in server_columns(board)}
    assert shown == server_columns(board)
    assert second in shown["in_progress"]
    assert app.locator(f"#card-{first} .facts").inner_text() == "high · task · @alice · ui"
    assert app.locator("#title").inner_text().startswith("INBOX ")
    assert session.host.tool_calls() == [("get_board", {"project": "INBOX", "per_column": 100})]


def test_the_app_runs_sandboxed_under_a_policy_that_lets_it_reach_nothing(board: Board, session: Session) -> None:
    board.file("Behind the sandbox")
    app = session.show_board(project="INBOX")
    app.locator(".card").first.wait_for(timeout=WAIT_MS)
    [(_, read)] = [call for call in session.host.calls if call[0] == "resources/read"]
    assert read == {"uri": BOARD_APP_URI}
    # The proxy: its own origin and scripts, as the spec requires of it; the View inside: scripts only, so an
    # opaque origin that can touch neither the proxy nor the host.
    assert session.page.get_attribute("#app-frame", "sandbox") == "allow-scripts allow-same-origin"
    proxy = session.page.frame_locator("#app-frame")
    assert proxy.locator("#view").get_attribute("sandbox") == "allow-scripts"
    view = session.view()
    assert view.evaluate("origin") == "null"
    assert (
        view.evaluate("() => { try { return parent.document && 'reached'; } catch { return 'refused'; } }") == "refused"
    )
    # The host's policy, built from the resource's _meta.ui.csp ({}: no domain of any kind).
    assert session.host.sandbox_policies == [sandbox_policy({})]
    # The app's own policy: no connection, and no script but its own (the host's lets any inline one run).
    session.allowed = ("Connecting to", "Fetch API cannot load", "Executing inline script violates")
    fetched = view.evaluate(
        "url => fetch(url).then(() => 'fetched', () => 'blocked')", f"{board.url}/api/v1/native/board"
    )
    assert fetched == "blocked"
    injected = view.evaluate(
        """() => new Promise(resolve => {
            document.addEventListener('securitypolicyviolation', e => resolve([e.violatedDirective, window.pwned]));
            const script = document.createElement('script');
            script.textContent = 'window.pwned = 1';
            document.body.append(script);  // an inline script that may run does so at once
            if (window.pwned) resolve(['ran', window.pwned]);
        })"""
    )
    assert injected == ["script-src-elem", None]


def test_dragging_a_card_moves_it_on_the_server_through_the_hosts_tool_call(board: Board, session: Session) -> None:
    slug = board.file("Drag me in the chat")["slug"]
    app = session.show_board(project="INBOX", per_column=100)
    app.locator(f"#card-{slug}").drag_to(app.locator('ol.cards[data-status="in_review"]'))
    wait_for_notice(app, f"Moved {slug} to in review.")
    assert board.ticket(slug)["status"] == "in_review"
    assert slug in server_columns(board)["in_review"] and slug in cards(app, "in_review")
    assert session.host.tool_calls()[-1] == ("move_ticket", {"slug": slug, "status": "in_review", "version": 1})
    fresh = session.host.request("tools/call", {"name": "get_board", "arguments": {"project": "INBOX"}})
    columns = {column["status"]: column for column in fresh["structuredContent"]["columns"]}
    assert [t["version"] for t in columns["in_review"]["tickets"] if t["slug"] == slug] == [2]
    # The card carries its new version: a second move is not refused as stale.
    app.locator(f"#card-{slug} button[data-move='right']").click()
    wait_for_notice(app, f"Moved {slug} to done.")
    assert board.ticket(slug)["status"] == "done"
    shot(session.page, "board-app.png")


def test_a_comment_written_in_the_app_lands_on_the_ticket(board: Board, session: Session) -> None:
    slug = board.file("Talk about me")["slug"]
    app = session.show_board(project="INBOX", per_column=100)
    app.locator(f"#card-{slug} button[data-move='comment']").click()
    app.locator("#comment-body").fill("Looks right <b>to me</b>")
    app.get_by_role("button", name="Add comment").click()
    wait_for_notice(app, f"Commented on {slug}")
    comments = board.detail(slug)["comments"]
    assert [comment["body"] for comment in comments] == ["Looks right <b>to me</b>"]
    assert session.host.tool_calls()[-1] == ("add_comment", {"slug": slug, "body": "Looks right <b>to me</b>"})


def test_a_move_from_a_stale_card_is_refused_visibly_and_the_app_shows_the_current_board(
    board: Board, session: Session
) -> None:
    slug = board.file("Changed under your feet")["slug"]
    app = session.show_board(project="INBOX", per_column=100)
    app.locator(f"#card-{slug}").wait_for(timeout=WAIT_MS)
    board.move(slug, "todo")  # someone else, meanwhile: version 2
    app.locator(f"#card-{slug}").drag_to(app.locator('ol.cards[data-status="done"]'))
    wait_for_notice(app, f"{slug} changed since version 1 (now 2)")
    assert "status backlog→todo" in app.locator("#notice").inner_text()  # who changed what: the tool's refusal
    assert app.locator("#notice").get_attribute("class") == "error"
    assert board.ticket(slug)["status"] == "todo"  # the move was not made
    app.locator(f'ol.cards[data-status="todo"] #card-{slug}').wait_for(timeout=WAIT_MS)  # redrawn from the server
    assert [name for name, _ in session.host.tool_calls()][-2:] == ["move_ticket", "get_board"]
    shot(session.page, "board-app-conflict.png")
