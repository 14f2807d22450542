"""The board's routes under /board: pages for people, and the few writes their browser makes.

| route                                   | what                                                       |
|-----------------------------------------|------------------------------------------------------------|
| GET  /board/                            | the projects the viewer can see                            |
| GET  /board/{CODE}?milestone=NAME       | a project's Kanban board, of one milestone or all          |
| GET  /board/{CODE}/columns?milestone=   | its live part alone (milestones, columns; ETag, 304)       |
| GET  /board/tickets/{SLUG}              | a ticket (`Accept: text/html-fragment`: its live part)    |
| GET /board/tickets/{SLUG}/attachments/N | a ticket's file, answered as the native download answers   |
| POST /board/tickets/{SLUG}/move         | JSON {status, before, after, version}: drag and drop, keys |
| POST /board/tickets/{SLUG}/status       | form: status, version                                      |
| POST /board/tickets/{SLUG}/comments     | form: body                                                 |
| GET/POST /board/login, POST /logout     | token login, a session in the store and its cookie         |
| GET  /board/static/{board.css,board.js} | the one stylesheet and script                              |

Every read and write goes through the viewer's Tracker, so the board allows exactly what MCP
and REST allow that principal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from tickets_mcp.core.access import Action
from tickets_mcp.core.tokens import digest
from tickets_mcp.core.tracker import TicketChanges, Tracker
from tickets_mcp.domain import Status, TicketDetail
from tickets_mcp.domain.dates import today_utc
from tickets_mcp.errors import Conflict, Invalid, RateLimited, TrackerError
from tickets_mcp.http.auth import backend_of
from tickets_mcp.http.board import pages
from tickets_mcp.http.board.access import SESSION_COOKIE, SESSION_SECONDS, BoardAccess, Viewer
from tickets_mcp.http.board.access import login as login_principal
from tickets_mcp.http.board.html import Html
from tickets_mcp.http.board.urls import BOARD_PATH, ticket_url
from tickets_mcp.http.errors import status_of
from tickets_mcp.http.rest.native_files import served_file

PER_COLUMN = 100  # cards a column shows; the rest are counted under it
FRAGMENT = "text/html-fragment"  # what board.js asks for when it refreshes a page's live part
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
STATIC_TYPES = {"board.css": "text/css; charset=utf-8", "board.js": "text/javascript; charset=utf-8"}


def login_then(target: str) -> Response:
    """To the login page, then on to `target` (a path on the board)."""
    return secured(RedirectResponse(f"{BOARD_PATH}/login?next={quote(target, safe='/')}", status_code=303))


def secured(response: Response, *, cache: str = "no-store") -> Response:
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = cache
    return response


def html(content: Html, status: int = 200, **headers: str) -> Response:
    return secured(HTMLResponse(content, status_code=status, headers=headers or None))


def etag_of(*parts: object) -> str:
    """A weak validator of what a live region shows: it changes when any part does."""
    text = json.dumps(parts, default=str, separators=(",", ":"))
    return 'W/"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def board_router(access: BoardAccess) -> APIRouter:
    router = APIRouter(prefix=BOARD_PATH, include_in_schema=False)

    def to_login(request: Request) -> Response:
        """To the login page, and back afterwards: to this page, or for a form's POST to the page it was on."""
        if request.method == "POST":
            return login_then(request.url.path.rsplit("/", 1)[0])
        return login_then(request.url.path + (f"?{request.url.query}" if request.url.query else ""))

    async def guarded(
        request: Request, render: Callable[[Viewer, Tracker], Awaitable[Response]], *, json_errors: bool = False
    ) -> Response:
        """Run a route for its viewer: to the login page without one, its errors as a page (or JSON)."""
        json_errors = json_errors or fragment_wanted(request)
        viewer = await access.viewer(request)
        if viewer is None:
            if json_errors:
                return secured(JSONResponse({"message": "401 Unauthorized: log in again."}, status_code=401))
            return to_login(request)
        try:
            access.admit(request, viewer.token_digest)
            if request.method == "POST":
                access.check_origin(request)
            tracker = backend_of(request).tracker(viewer.principal)
            return await render(viewer, tracker)
        except TrackerError as exc:
            status = status_of(exc)
            wait = {"Retry-After": str(int(exc.retry_after))} if isinstance(exc, RateLimited) else {}
            if json_errors:
                return secured(JSONResponse({"message": str(exc)}, status_code=status, headers=wait))
            return html(pages.error_page(frame(viewer), status, exc.message), status, **wait)

    def frame(viewer: Viewer) -> pages.Frame:
        return pages.Frame(viewer.principal, local=viewer.local)

    def fragment_wanted(request: Request) -> bool:
        return FRAGMENT in request.headers.get("accept", "")

    def unchanged(request: Request, etag: str) -> bool:
        return request.headers.get("if-none-match") == etag

    # Static files and the entry points

    @router.get("/static/{name}")
    async def static(name: str) -> Response:  # pyright: ignore[reportUnusedFunction]
        if name not in STATIC_TYPES:
            return secured(Response("Not found", status_code=404, media_type="text/plain"))
        return secured(Response(static_file(name), media_type=STATIC_TYPES[name]), cache="public, max-age=3600")

    @router.get("")
    async def board_root() -> Response:  # pyright: ignore[reportUnusedFunction]
        return secured(RedirectResponse(f"{BOARD_PATH}/", status_code=308))

    @router.get("/")
    async def projects(request: Request) -> Response:  # pyright: ignore[reportUnusedFunction]
        async def render(viewer: Viewer, tracker: Tracker) -> Response:
            organizations = await tracker.list_organizations()
            listed = await tracker.list_projects()
            groups = [(org, [p for p in listed if p.organization_id == org.id]) for org in organizations]
            references = {p.id: await tracker.project_reference(p) for p in listed}
            return html(pages.project_list(frame(viewer), groups, references))

        return await guarded(request, render)

    # Login

    @router.get("/login")
    async def login_form(request: Request, next: str = "/board/") -> Response:  # pyright: ignore[reportUnusedFunction]
        if await access.viewer(request) is not None:  # already in: a bookmark or an old link to the login page
            return secured(RedirectResponse(safe_next(next), status_code=303))
        return html(pages.login_page(safe_next(next), plain_http=plain_http(request)))

    @router.post("/login")
    async def login(request: Request) -> Response:  # pyright: ignore[reportUnusedFunction]
        form = await form_of(request)
        next_url = safe_next(form.get("next", "/board/"))
        try:
            access.check_origin(request)
        except TrackerError as exc:
            return html(pages.login_page(next_url, error=exc.message), 403)
        principal = await login_principal(backend_of(request), form.get("token", ""))
        if principal is None or principal.token_id is None:
            error = "That token is unknown, revoked or not one that can read the board (a project token cannot)."
            return html(pages.login_page(next_url, error=error, plain_http=plain_http(request)), 401)
        try:
            access.admit(request, digest(form["token"].strip()))  # a login writes a session: it counts too
            session = await access.start_session(backend_of(request), principal.token_id)
        except TrackerError as exc:  # over the limit, or a read-only database, which keeps no session
            wait = {"Retry-After": str(int(exc.retry_after))} if isinstance(exc, RateLimited) else {}
            page = pages.login_page(next_url, error=exc.message, plain_http=plain_http(request))
            return html(page, status_of(exc), **wait)
        response = secured(RedirectResponse(next_url, status_code=303))
        response.set_cookie(
            SESSION_COOKIE, session, max_age=SESSION_SECONDS, path=BOARD_PATH,
            httponly=True, samesite="lax", secure=access.cookie_secure(request),
        )  # fmt: skip
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:  # pyright: ignore[reportUnusedFunction]
        try:
            access.check_origin(request)  # another site must not log the visitor out either
        except TrackerError as exc:
            return secured(JSONResponse({"message": exc.message}, status_code=403))
        await access.end_session(request)  # in the store: a copy of the cookie is out on every replica too
        response = secured(RedirectResponse(f"{BOARD_PATH}/login", status_code=303))
        response.delete_cookie(
            SESSION_COOKIE, path=BOARD_PATH, httponly=True, samesite="lax", secure=access.cookie_secure(request)
        )
        return response

    def plain_http(request: Request) -> bool:
        return request.url.scheme == "http" and access.cookie_secure(request)

    # Tickets (declared before /{code}, which would otherwise take "tickets" for a project code)

    @router.get("/tickets/{slug}")
    async def ticket(request: Request, slug: str, saved: str | None = None) -> Response:  # pyright: ignore[reportUnusedFunction]
        async def render(viewer: Viewer, tracker: Tracker) -> Response:
            message = {"status": "Status changed.", "comment": "Comment added."}.get(saved or "")
            return await ticket_response(request, viewer, tracker, slug, message=message)

        return await guarded(request, render)

    async def ticket_response(
        request: Request, viewer: Viewer, tracker: Tracker, slug: str, *,
        message: str | None = None, alert: bool = False, status: int = 200,
    ) -> Response:  # fmt: skip
        detail = await tracker.get_ticket(slug)
        actions = await tracker.permitted_actions(detail.ticket.project_id)
        writable = Action.EDIT in actions
        etag = ticket_etag(detail, writable)
        if fragment_wanted(request):
            if unchanged(request, etag):
                return secured(Response(status_code=304, headers={"ETag": etag}))
            return html(pages.ticket_body(detail, writable=writable), ETag=etag)
        content = pages.ticket_page(
            frame(viewer), detail, writable=writable, commentable=Action.COMMENT in actions, etag=etag,
            message=message, alert=alert,
        )  # fmt: skip
        return html(content, status)

    @router.get("/tickets/{slug}/attachments/{attachment_id}")
    async def attachment(request: Request, slug: str, attachment_id: int) -> Response:  # pyright: ignore[reportUnusedFunction]
        async def render(_: Viewer, tracker: Tracker) -> Response:
            # Exactly the native download: nosniff, and a download unless the type runs nothing in a browser.
            return served_file(*await tracker.attachment(slug, attachment_id))

        return await guarded(request, render)

    @router.post("/tickets/{slug}/move")
    async def move(request: Request, slug: str) -> Response:  # pyright: ignore[reportUnusedFunction]
        async def render(_: Viewer, tracker: Tracker) -> Response:
            if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
                raise Invalid("body", "Send the move as application/json.")
            try:
                body = json.loads(await request.body())
            except ValueError:  # malformed JSON or not UTF-8
                raise Invalid("body", "The move is not valid JSON.") from None
            if not isinstance(body, dict):
                raise Invalid("body", "Send a JSON object: {status, version, before or after}.")
            move = MoveRequest.of(body)  # pyright: ignore[reportUnknownArgumentType]
            try:
                moved = await tracker.move_ticket(
                    slug, move.status, before=move.before, after=move.after, version=move.version
                )
            except Conflict as exc:
                return secured(JSONResponse({"message": exc.message, "current": exc.current}, status_code=409))
            return secured(JSONResponse({"slug": moved.slug, "status": moved.status.value, "version": moved.version}))

        return await guarded(request, render, json_errors=True)

    @router.post("/tickets/{slug}/status")
    async def change_status(request: Request, slug: str) -> Response:  # pyright: ignore[reportUnusedFunction]
        async def render(viewer: Viewer, tracker: Tracker) -> Response:
            form = await form_of(request)
            status = parse_status(form.get("status", ""))
            version = parse_version(form.get("version"))
            try:
                await tracker.update_ticket(slug, TicketChanges(status=status), version=version)
            except Conflict as exc:
                message = f"{exc.message} Your change was not saved; this is the ticket as it is now."
                return await ticket_response(request, viewer, tracker, slug, message=message, alert=True, status=409)
            return secured(RedirectResponse(f"{ticket_url(slug)}?saved=status", status_code=303))

        return await guarded(request, render)

    @router.post("/tickets/{slug}/comments")
    async def comment(request: Request, slug: str) -> Response:  # pyright: ignore[reportUnusedFunction]
        async def render(_: Viewer, tracker: Tracker) -> Response:
            form = await form_of(request)
            await tracker.add_comment(slug, form.get("body", "").replace("\r\n", "\n"))
            return secured(RedirectResponse(f"{ticket_url(slug)}?saved=comment", status_code=303))

        return await guarded(request, render)

    # A project's board

    async def board_of(tracker: Tracker, code: str, milestone: str | None) -> tuple[pages.BoardView, str]:
        """The board (of one milestone, or all) as the viewer sees it, and the ETag of what it shows."""
        found = await tracker.get_board(code, per_column=PER_COLUMN, milestone=milestone or None)
        milestones = await tracker.list_milestones(code)
        actions = await tracker.permitted_actions(found.project.id)
        reference = await tracker.project_reference(found.project)
        view = pages.BoardView(found, milestones, reference, Action.EDIT in actions, today_utc())
        return view, board_etag(view)

    @router.get("/{code}")
    async def board(request: Request, code: str, milestone: str | None = None) -> Response:  # pyright: ignore[reportUnusedFunction]
        async def render(viewer: Viewer, tracker: Tracker) -> Response:
            view, etag = await board_of(tracker, code, milestone)
            return html(pages.board_page(frame(viewer), view, etag=etag))

        return await guarded(request, render)

    @router.get("/{code}/columns")
    async def columns(request: Request, code: str, milestone: str | None = None) -> Response:  # pyright: ignore[reportUnusedFunction]
        async def render(viewer: Viewer, tracker: Tracker) -> Response:
            view, etag = await board_of(tracker, code, milestone)
            if unchanged(request, etag):
                return secured(Response(status_code=304, headers={"ETag": etag}))
            return html(pages.board_live(view), ETag=etag)

        return await guarded(request, render, json_errors=True)

    return router


@cache
def static_file(name: str) -> bytes:
    """One of the two static files, read from the installed package once per process."""
    return resources.files("tickets_mcp.http.board").joinpath("static", name).read_bytes()


def board_etag(view: pages.BoardView) -> str:
    """Of all the live region shows: a card's open blockers change with other tickets, its lateness with the day."""
    board = view.board
    columns = [
        (column.status.value, column.total, [(t.slug, t.version, t.blocked_by) for t in column.tickets])
        for column in board.columns
    ]
    return etag_of(
        board.project.id, board.project.name, view.writable, columns, board.milestone,
        [milestone.model_dump() for milestone in view.milestones], view.today,
    )  # fmt: skip


def ticket_etag(detail: TicketDetail, writable: bool) -> str:
    subtasks = [(t.slug, t.version) for t in detail.subtasks]
    links = [(link.kind, link.slug, link.status, link.title) for link in detail.links]
    files = [file.id for file in detail.attachments]
    return etag_of(
        detail.ticket.slug, detail.ticket.version, writable, len(detail.comments), detail.changes, subtasks,
        detail.ticket.blocked_by, links, len(detail.time_entries), files, today_utc(),
    )  # fmt: skip


class MoveRequest:
    """A move as board.js sends it."""

    def __init__(self, status: Status, before: str | None, after: str | None, version: int | None) -> None:
        self.status, self.before, self.after, self.version = status, before, after, version

    @classmethod
    def of(cls, body: dict[str, Any]) -> MoveRequest:
        before, after = body.get("before"), body.get("after")
        if not all(value is None or isinstance(value, str) for value in (before, after)):
            raise Invalid("before", "before and after are ticket slugs, e.g. WEB-42.")
        version = body.get("version")
        return cls(parse_status(str(body.get("status", ""))), before, after, parse_version(version))


def parse_status(value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise Invalid("status", f"{value!r} is not a status.", hint="One of: " + ", ".join(Status) + ".") from None


def parse_version(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise Invalid("version", "version is the number the ticket showed, e.g. 3.")


async def form_of(request: Request) -> dict[str, str]:
    """A urlencoded form's fields (the first value of each); the board's forms send nothing else."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}


def safe_next(target: str) -> str:
    """Where to go after logging in: a path on the board, never another site (`//evil.example`)."""
    if target.startswith(f"{BOARD_PATH}/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{BOARD_PATH}/"
