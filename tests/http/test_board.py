"""The board's pages and writes over HTTP, against a real `tickets-mcp serve` on each store.

The browser half (dragging, keys, live updates, screenshots) is tests/processes/test_board_browser.py.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.fixtures.board_support import Board
from tests.fixtures.http_server import ServerProcess, running_server
from tests.fixtures.stores import Location
from tickets_mcp import __version__
from tickets_mcp.config import Settings
from tickets_mcp.http.board.access import local_access_allowed
from tickets_mcp.http.settings import ServeSettings

pytestmark = pytest.mark.slow

SCRIPT_TITLE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=1"> & "quotes"'


@pytest.fixture(scope="module")
def server(module_store_location: Location) -> Iterator[ServerProcess]:
    with running_server(module_store_location) as process:
        yield process


@pytest.fixture(scope="module")
def board(server: ServerProcess) -> Iterator[Board]:
    with Board(server) as seeded:
        yield seeded


@pytest.fixture(scope="module")
def login_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A loopback server whose board still asks for a token (TICKETS_BOARD_LOCAL=0), on SQLite."""
    db = tmp_path_factory.mktemp("login") / "tracker.db"
    with running_server(db, env={"TICKETS_BOARD_LOCAL": "0"}) as process:
        yield process


@pytest.fixture
def browser(server: ServerProcess) -> Iterator[httpx2.Client]:
    """What a browser on this machine sends: no token, the page's own Origin on writes."""
    with httpx2.Client(base_url=server.url, verify=False, timeout=10, headers={"Origin": server.url}) as client:
        yield client


def card_version(page: str, slug: str) -> int:
    found = re.search(rf'id="card-{slug}"[^>]*data-version="(\d+)"', page)
    assert found is not None, page
    return int(found.group(1))


# Reading


def test_root_leads_to_the_project_list_which_a_loopback_visitor_reads_without_logging_in(
    browser: httpx2.Client,
) -> None:
    home = browser.get("/")
    assert home.status_code == 307 and home.headers["location"] == "/board/"
    page = browser.get("/board/")
    assert page.status_code == 200
    assert "alice (local)" in page.text
    assert 'href="/board/INBOX"' in page.text


def test_the_board_shows_columns_in_workflow_order_with_each_cards_facts(board: Board, browser: httpx2.Client) -> None:
    slug = board.file(
        "Columns show cards",
        type="bug",
        priority="urgent",
        assignee="alice",
        labels=["ui", "login"],
        status="in_review",
    )["slug"]
    page = browser.get("/board/INBOX")
    assert page.status_code == 200
    headings = re.findall(r'<h2 id="column-([a-z_]+)">', page.text)
    assert headings == ["backlog", "todo", "in_progress", "in_review", "done", "canceled"]
    in_review = page.text.split('id="column-in_review"')[1].split('id="column-done"')[0]
    card = in_review.split(f'id="card-{slug}"')[1].split('class="card"')[0]
    for fact in (slug, "Columns show cards", "bug", "urgent", "alice", "<li>ui</li>", "<li>login</li>"):
        assert fact in card
    assert page.headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")


def test_a_ticket_titled_with_script_renders_inert_on_the_board_and_its_page(
    board: Board, browser: httpx2.Client
) -> None:
    slug = board.file(SCRIPT_TITLE, description="<b>bold?</b>\n</div><script>alert(1)</script>")["slug"]
    board.rest.post(f"/api/v1/native/tickets/{slug}/comments", json={"body": "<iframe src=//evil.example>"})
    for path in ("/board/INBOX", f"/board/tickets/{slug}", "/board/INBOX/columns"):
        text = browser.get(path).text
        assert "<script>window.pwned" not in text and "<img src=x" not in text and "<iframe" not in text
        assert "<script>alert(1)" not in text
    ticket_page = browser.get(f"/board/tickets/{slug}").text
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;" in (
        ticket_page
    )
    assert "&lt;iframe src=//evil.example&gt;" in ticket_page
    # The only script a page loads is the board's own file.
    assert re.findall(r"<script[^>]*>", ticket_page) == [f'<script src="/board/static/board.js?v={__version__}" defer>']


def test_the_ticket_page_shows_description_sub_tasks_comments_and_history(board: Board, browser: httpx2.Client) -> None:
    parent = board.file("Parent ticket", description="Steps:\n1. open\n2. look")["slug"]
    child = board.file("Child ticket", parent=parent)["slug"]
    board.rest.post(f"/api/v1/native/tickets/{parent}/comments", json={"body": "Seen it too"})
    board.move(parent, "in_progress")
    page = browser.get(f"/board/tickets/{parent}").text
    assert "Steps:\n1. open\n2. look" in page
    assert f'href="/board/tickets/{child}"' in page and "Child ticket" in page
    assert "Seen it too" in page
    assert "status Backlog → In progress" in page
    assert "created the ticket" in page


def test_an_unknown_project_or_ticket_is_a_404_page(browser: httpx2.Client) -> None:
    assert browser.get("/board/NOPE").status_code == 404
    missing = browser.get("/board/tickets/INBOX-9999")
    assert missing.status_code == 404 and "not found" in missing.text


def test_the_columns_answer_304_while_nothing_changed_and_the_new_state_once_something_did(
    board: Board, browser: httpx2.Client
) -> None:
    slug = board.file("Watched ticket")["slug"]
    first = browser.get("/board/INBOX/columns")
    etag = first.headers["etag"]
    again = browser.get("/board/INBOX/columns", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    board.move(slug, "done")
    changed = browser.get("/board/INBOX/columns", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    done = changed.text.split('data-status="done"')[1].split("</ol>")[0]
    assert f'id="card-{slug}"' in done


def test_the_static_files_are_served_from_the_package_and_nothing_else_is(browser: httpx2.Client) -> None:
    css = browser.get("/board/static/board.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "prefers-color-scheme: dark" in css.text and ":focus-visible" in css.text
    script = browser.get("/board/static/board.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    for other in ("access.py", "..%2Faccess.py", "board.css.map"):
        assert browser.get(f"/board/static/{other}").status_code == 404


# Writing from a loopback page


def test_a_move_with_the_rendered_version_is_made_and_a_stale_one_shows_the_current_state(
    board: Board, browser: httpx2.Client
) -> None:
    slug = board.file("Drag me")["slug"]
    version = card_version(browser.get("/board/INBOX").text, slug)
    moved = browser.post(f"/board/tickets/{slug}/move", json={"status": "todo", "version": version})
    assert moved.status_code == 200, moved.text
    assert board.ticket(slug)["status"] == "todo"
    stale = browser.post(f"/board/tickets/{slug}/move", json={"status": "done", "version": version})
    assert stale.status_code == 409
    assert stale.json()["current"]["status"] == "todo"
    assert f"{slug} is at version {version + 1}, not {version}" in stale.json()["message"]
    assert board.ticket(slug)["status"] == "todo"


def test_a_move_lands_before_the_card_it_was_dropped_on(board: Board, browser: httpx2.Client) -> None:
    first = board.file("First in review", status="in_review")["slug"]
    second = board.file("Second in review", status="in_review")["slug"]
    version = board.ticket(second)["version"]
    reply = browser.post(
        f"/board/tickets/{second}/move", json={"status": "in_review", "before": first, "version": version}
    )
    assert reply.status_code == 200, reply.text
    column = browser.get("/board/INBOX").text.split('data-status="in_review"')[1].split("</ol>")[0]
    assert column.index(f'id="card-{second}"') < column.index(f'id="card-{first}"')


def test_writes_are_refused_without_the_pages_own_origin(board: Board, server: ServerProcess) -> None:
    slug = board.file("Not from elsewhere")["slug"]
    with httpx2.Client(base_url=server.url, verify=False, timeout=10) as bare:
        no_origin = bare.post(f"/board/tickets/{slug}/move", json={"status": "done"})
        other_port = bare.post(
            f"/board/tickets/{slug}/move", json={"status": "done"}, headers={"Origin": "http://127.0.0.1:1"}
        )
        foreign = bare.post(
            f"/board/tickets/{slug}/comments", content=b"body=hi", headers={"Origin": "https://evil.example"}
        )
    assert (no_origin.status_code, other_port.status_code, foreign.status_code) == (403, 403, 403)
    assert board.ticket(slug)["status"] == "backlog"
    assert board.detail(slug)["comments"] == []


@pytest.mark.parametrize(
    "header",
    [
        ("Forwarded", "for=203.0.113.9;proto=https"),
        ("X-Forwarded-For", "203.0.113.9"),
        ("X-Forwarded-Host", "tracker.example"),
        ("X-Forwarded-Proto", "https"),
        ("X-Real-IP", "203.0.113.9"),
        ("Via", "1.1 proxy.example"),
        ("True-Client-IP", "203.0.113.9"),
        ("CF-Connecting-IP", "203.0.113.9"),
        ("X-Client-IP", "203.0.113.9"),
        ("X-Cluster-Client-IP", "203.0.113.9"),
        ("Fastly-Client-IP", "203.0.113.9"),
        ("X-Original-Forwarded-For", "203.0.113.9"),
        ("Forwarded-For", "203.0.113.9"),
        ("X-ProxyUser-Ip", "203.0.113.9"),  # any header naming a client's address: *-ip, *forwarded*
        ("Akamai-Client-IP", "203.0.113.9"),
        ("X-Forwarded-Client-Cert", "Hash=1"),
    ],
)
def test_a_request_that_came_through_a_proxy_is_not_local(server: ServerProcess, header: tuple[str, str]) -> None:
    with httpx2.Client(base_url=server.url, verify=False, timeout=10) as client:
        assert client.get("/board/INBOX").status_code == 200  # the same request without the header is local
        page = client.get("/board/INBOX", headers=dict([header]))
        move = client.post(
            "/board/tickets/INBOX-1/move", json={"status": "done"}, headers={"Origin": server.url, **dict([header])}
        )
    assert page.status_code == 303 and page.headers["location"].startswith("/board/login?next=/board/INBOX")
    assert move.status_code == 401


def test_serve_says_at_start_that_the_board_lets_this_machine_in_and_how_to_stop_it(server: ServerProcess) -> None:
    line = next(line for line in server.stderr.splitlines() if "without a login" in line)
    assert server.url in line and "as alice" in line and "TICKETS_BOARD_LOCAL=0" in line


def test_local_access_is_off_behind_a_public_url_and_says_nothing_at_start(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with running_server(
        tmp_path_factory.mktemp("public") / "tracker.db", "--public-url", "https://t.example"
    ) as proxied:
        with httpx2.Client(base_url=proxied.url, verify=False, timeout=10) as client:
            page = client.get("/board/INBOX")
        assert page.status_code == 303 and page.headers["location"] == "/board/login?next=/board/INBOX"
        assert "without a login" not in proxied.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7"])
def test_local_access_is_off_when_serve_listens_beyond_loopback(host: str, tmp_path: Path) -> None:
    # tests/fixtures/http_server.py waits on the announced URL, which a wildcard bind makes one no client may
    # use (its Host is refused), so this reads the decision itself; a loopback bind shows it differs.
    store = Settings(db=tmp_path / "tracker.db", username="alice")
    assert local_access_allowed(ServeSettings(store=store, host="127.0.0.1"))
    assert not local_access_allowed(ServeSettings(store=store, host=host))


def test_crafted_move_bodies_are_refused_with_a_400_never_a_500(board: Board, browser: httpx2.Client) -> None:
    slug = board.file("Crafted moves")["slug"]
    json_type = {"Content-Type": "application/json"}
    for body in (
        b"{not json",
        b"\xff\xfe",
        b'{"status": "todo", "version": "\xc2\xb2"}',
        b'{"status": "todo", "version": "3x"}',
    ):
        reply = browser.post(f"/board/tickets/{slug}/move", content=body, headers=json_type)
        assert reply.status_code == 400, (body, reply.status_code, reply.text)
        assert reply.json()["message"]
    assert "not valid JSON" in browser.post(f"/board/tickets/{slug}/move", content=b"{", headers=json_type).text
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    superscript = browser.post(f"/board/tickets/{slug}/status", content=b"status=done&version=%C2%B2", headers=form)
    assert superscript.status_code == 400
    assert board.ticket(slug)["status"] == "backlog"


def test_status_and_comment_forms_save_and_a_stale_status_form_shows_the_conflict(
    board: Board, browser: httpx2.Client
) -> None:
    slug = board.file("Formed")["slug"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    changed = browser.post(f"/board/tickets/{slug}/status", content=b"status=in_progress&version=1", headers=form)
    assert changed.status_code == 303 and changed.headers["location"] == f"/board/tickets/{slug}?saved=status"
    assert board.ticket(slug)["status"] == "in_progress"
    stale = browser.post(f"/board/tickets/{slug}/status", content=b"status=done&version=1", headers=form)
    assert stale.status_code == 409
    assert "Your change was not saved" in stale.text
    assert '<option value="in_progress" selected>' in stale.text
    assert board.ticket(slug)["status"] == "in_progress"
    said = browser.post(f"/board/tickets/{slug}/comments", content=b"body=Looks+good+%3Cb%3E", headers=form)
    assert said.status_code == 303
    comments = board.detail(slug)["comments"]
    assert [(c["body"], c["author"]) for c in comments] == [("Looks good <b>", "alice")]
    history = browser.get(f"/board/tickets/{slug}").text
    assert "alice (board): status Backlog → In progress" in history


# Logging in


def test_without_local_access_every_page_asks_for_a_token_and_nothing_is_readable(
    login_server: ServerProcess,
) -> None:
    with httpx2.Client(base_url=login_server.url, verify=False, timeout=10) as client:
        page = client.get("/board/INBOX")
        assert page.status_code == 303 and page.headers["location"] == "/board/login?next=/board/INBOX"
        assert client.get("/board/INBOX/columns").status_code == 401
        assert client.get("/board/tickets/INBOX-1", headers={"Accept": "text/html-fragment"}).status_code == 401
        move = client.post("/board/tickets/INBOX-1/move", json={"status": "done"}, headers={"Origin": login_server.url})
        assert move.status_code == 401
        form = {"Origin": login_server.url, "Content-Type": "application/x-www-form-urlencoded"}
        comment = client.post("/board/tickets/INBOX-1/comments", content=b"body=hi", headers=form)
        assert comment.status_code == 303
        assert comment.headers["location"] == "/board/login?next=/board/tickets/INBOX-1"
        login = client.get("/board/login")
        assert login.status_code == 200 and 'type="password" name="token"' in login.text


def test_logging_in_sets_an_httponly_lax_cookie_without_the_token_and_revoking_ends_the_session(
    login_server: ServerProcess,
) -> None:
    token = login_server.create_token("--user", "alice", "--name", "browser")
    origin = {"Origin": login_server.url}
    with httpx2.Client(base_url=login_server.url, verify=False, timeout=10) as client:
        wrong = client.post("/board/login", data={"token": "pk_" + "x" * 40, "next": "/board/"}, headers=origin)
        assert wrong.status_code == 401 and "unknown" in wrong.text
        login = client.post("/board/login", data={"token": token, "next": "/board/INBOX"}, headers=origin)
        assert login.status_code == 303 and login.headers["location"] == "/board/INBOX"
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/board" in cookie
        assert "Secure" not in cookie  # loaded from 127.0.0.1, where browsers keep it without HTTPS
        assert token not in cookie and token.split("_", 1)[1] not in cookie
        page = client.get("/board/INBOX")
        assert page.status_code == 200 and "alice" in page.text and "Log out" in page.text
        again = client.get("/board/login", params={"next": "/board/INBOX"})  # an old link to the login page
        assert again.status_code == 303 and again.headers["location"] == "/board/INBOX"
        elsewhere = client.get("/board/login", params={"next": "//evil.example/"})
        assert elsewhere.headers["location"] == "/board/"
        login_server.revoke_token(token)
        assert client.get("/board/INBOX").status_code == 303


def test_a_tampered_or_foreign_session_cookie_is_refused(login_server: ServerProcess) -> None:
    token = login_server.create_token("--user", "alice", "--name", "tamper")
    with httpx2.Client(base_url=login_server.url, verify=False, timeout=10) as client:
        client.post("/board/login", data={"token": token}, headers={"Origin": login_server.url})
        session = client.cookies["tracker_board"]
        client.cookies.clear()
        forgeries = [
            secrets.token_urlsafe(32),  # well formed, never started
            session[:-1] + ("A" if session[-1] != "A" else "B"),
            hashlib.sha256(session.encode()).hexdigest(),  # what the store keeps, sent as the cookie
            f"{hashlib.sha256(token.encode()).hexdigest()}.9999999999.{'A' * 43}",  # the old signed form
            "garbage",
            session[:-1] + "é",  # latin-1 bytes a browser could send
        ]
        for value in [session, *forgeries]:
            # latin-1: the bytes a browser could send, which the server reads back as these characters
            reply = client.get("/board/", headers={b"Cookie": f"tracker_board={value}".encode("latin-1")})
            assert reply.status_code == (200 if value == session else 303), (value, reply.status_code)


def test_login_and_logout_are_refused_from_another_site(login_server: ServerProcess) -> None:
    token = login_server.create_token("--user", "alice", "--name", "origin")
    with httpx2.Client(base_url=login_server.url, verify=False, timeout=10) as client:
        foreign = client.post("/board/login", data={"token": token}, headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403 and "set-cookie" not in foreign.headers
        bare = client.post("/board/login", data={"token": token})
        assert bare.status_code == 403 and "set-cookie" not in bare.headers
        assert (
            client.post("/board/login", data={"token": token}, headers={"Origin": login_server.url}).status_code == 303
        )
        for origin in ({"Origin": "https://evil.example"}, {}):
            refused = client.post("/board/logout", headers=origin)
            assert refused.status_code == 403 and "set-cookie" not in refused.headers
        assert client.get("/board/").status_code == 200  # still logged in
        out = client.post("/board/logout", headers={"Origin": login_server.url})
        assert out.status_code == 303 and 'tracker_board=""' in out.headers["set-cookie"]
        assert client.get("/board/").status_code == 303


def test_a_login_never_leads_to_another_site(login_server: ServerProcess) -> None:
    token = login_server.create_token("--user", "alice", "--name", "next")
    with httpx2.Client(base_url=login_server.url, verify=False, timeout=10) as client:
        for target in ("//evil.example/board/", "https://evil.example/", "/api/v1/issues.json"):
            reply = client.post(
                "/board/login", data={"token": token, "next": target}, headers={"Origin": login_server.url}
            )
            assert reply.headers["location"] == "/board/"


def test_a_read_only_key_sees_the_board_but_cannot_move_or_change(login_server: ServerProcess) -> None:
    key = login_server.create_token(
        "--kind", "organization", "--user", "alice", "--organization", "local", "--scopes", "tickets:read"
    )
    origin = {"Origin": login_server.url}
    form = {**origin, "Content-Type": "application/x-www-form-urlencoded"}
    with Board(login_server) as owner, httpx2.Client(base_url=login_server.url, verify=False, timeout=10) as client:
        slug = owner.file("Read me only")["slug"]
        assert client.post("/board/login", data={"token": key}, headers=origin).status_code == 303
        page = client.get("/board/INBOX").text
        assert f'id="card-{slug}"' in page
        assert 'draggable="true"' not in page and "data-move" not in page and "data-writable" not in page
        assert "Change status" not in client.get(f"/board/tickets/{slug}").text
        refused = client.post(f"/board/tickets/{slug}/move", json={"status": "done"}, headers=origin)
        assert refused.status_code == 403 and "scope" in refused.json()["message"]
        assert client.post(f"/board/tickets/{slug}/status", content=b"status=done", headers=form).status_code == 403
        assert owner.ticket(slug)["status"] == "backlog"


def test_a_project_token_cannot_log_in_to_the_board(login_server: ServerProcess) -> None:
    project_token = login_server.create_token("--kind", "project", "--user", "alice", "--project", "INBOX")
    with httpx2.Client(base_url=login_server.url, verify=False, timeout=10) as client:
        reply = client.post("/board/login", data={"token": project_token}, headers={"Origin": login_server.url})
    assert reply.status_code == 401


def test_the_cookie_is_secure_and_local_access_off_when_the_server_answers_another_name(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    db = tmp_path_factory.mktemp("named") / "tracker.db"
    with running_server(db, "--allow-host", "tracker.test") as named:
        token = named.create_token("--user", "alice")
        headers = {"Host": "tracker.test", "Origin": "http://tracker.test"}
        with httpx2.Client(base_url=named.url, verify=False, timeout=10, headers=headers) as client:
            assert client.get("/board/").status_code == 303  # loopback socket, but the server is not loopback-only
            login = client.get("/board/login")
            assert "plain HTTP" in login.text
            reply = client.post("/board/login", data={"token": token})
            assert reply.status_code == 303 and "Secure" in reply.headers["set-cookie"]


def test_move_and_status_controls_show_only_where_the_viewers_role_in_that_organization_allows(
    login_server: ServerProcess,
) -> None:
    login_server.cli("user", "add", "bob")
    login_server.cli("org", "add", "--owner", "alice", "Acme")
    login_server.cli("member", "set", "acme", "bob", "admin")
    login_server.cli("member", "set", "local", "bob", "reporter")
    token = login_server.create_token("--user", "bob", "--name", "two-orgs")
    with Board(login_server) as alice, httpx2.Client(base_url=login_server.url, verify=False, timeout=10) as client:
        created = alice.rest.post(
            "/api/v1/native/projects", json={"name": "Acme site", "code": "ACME", "organization": "acme"}
        )
        assert created.status_code == 201, created.text
        reply = alice.rest.post("/api/v1/native/tickets", json={"title": "Acme ticket", "project": "ACME"})
        acme_slug = reply.json()["slug"]
        inbox_slug = alice.file("Local ticket")["slug"]
        assert (
            client.post("/board/login", data={"token": token}, headers={"Origin": login_server.url}).status_code == 303
        )
        acme = client.get("/board/ACME").text
        assert 'draggable="true"' in acme and "data-move" in acme and 'data-writable="true"' in acme
        assert "Change status" in client.get(f"/board/tickets/{acme_slug}").text
        inbox = client.get("/board/INBOX").text
        assert f'id="card-{inbox_slug}"' in inbox
        assert 'draggable="true"' not in inbox and "data-move" not in inbox and "data-writable" not in inbox
        ticket = client.get(f"/board/tickets/{inbox_slug}").text
        assert "Change status" not in ticket and 'name="body"' in ticket  # a reporter may still comment
