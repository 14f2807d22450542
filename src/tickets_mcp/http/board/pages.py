"""The board's pages, rendered on the server: project list, Kanban board, ticket page, login, errors.

Each page is plain HTML that works without script; board.js adds dragging, keyboard moves and live
updates. The parts that refresh themselves (`#live`) are rendered by the same functions the full page
uses, so a refresh shows exactly what a reload would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from tickets_mcp import __version__
from tickets_mcp.core.tracker import Principal
from tickets_mcp.domain import (
    Attachment,
    Board,
    BoardColumn,
    Change,
    Comment,
    Milestone,
    Organization,
    Project,
    Status,
    Ticket,
    TicketDetail,
)
from tickets_mcp.domain.dates import today_utc
from tickets_mcp.domain.files import size_text
from tickets_mcp.domain.wording import actor, change_summary, label_names, status_name, when
from tickets_mcp.http.board.html import Child, Html, el
from tickets_mcp.http.board.planning import card_plan, late, links_section, milestone_bar, plan_facts, time_section
from tickets_mcp.http.board.urls import STATIC, attachment_url, board_url, columns_url, ticket_url

STATUSES = tuple(Status)


@dataclass(frozen=True, slots=True)
class Frame:
    """What every page shows around its content: who is looking and how they got in."""

    principal: Principal | None
    local: bool = False


def page(title: str, frame: Frame, *content: Child, crumbs: Sequence[tuple[str, str]] = ()) -> Html:
    trail = [el("a", "tickets-mcp", href="/board/", class_="home")]
    for text, url in crumbs:
        trail += [Html(" / "), el("a", text, href=url)]
    document = el(
        "html",
        el(
            "head",
            el("meta", charset="utf-8"),
            el("meta", name="viewport", content="width=device-width, initial-scale=1"),
            el("meta", name="color-scheme", content="light dark"),
            el("link", rel="icon", href="data:,"),  # no favicon request
            el("title", f"{title} · tickets-mcp"),
            el("link", rel="stylesheet", href=f"{STATIC}/board.css?v={__version__}"),
            el("script", src=f"{STATIC}/board.js?v={__version__}", defer=True),
        ),
        el(
            "body",
            el("a", "Skip to content", href="#main", class_="skip"),
            el("header", el("nav", trail, aria_label="Breadcrumbs"), _who(frame), class_="top"),
            el("main", content, id="main", tabindex=-1),
        ),
        lang="en",
    )
    return Html("<!doctype html>" + document)


def _who(frame: Frame) -> Html:
    if frame.principal is None:
        return Html("")
    apps = el("a", "Connected apps", href="/board/grants")
    if frame.local:
        return el("span", frame.principal.username, " (local) ", apps, class_="who")
    logout = el("form", el("button", "Log out", type="submit", class_="link"), method="post", action="/board/logout")
    return el("span", frame.principal.username, " ", apps, " ", logout, class_="who")


def notice(text: str | None, *, alert: bool = False) -> Html:
    """The message line under a page's heading; read out by screen readers when it changes."""
    return el(
        "p", text, id="notice", class_="notice alert" if alert and text else "notice", role="status", aria_live="polite"
    )


def live(url: str, etag: str, content: Html) -> Html:
    """A region board.js re-fetches every few seconds (If-None-Match: nothing is sent unless it changed)."""
    return el("div", content, id="live", data_live=url, data_etag=etag)


# Projects


def project_list(
    frame: Frame, groups: Iterable[tuple[Organization, Sequence[Project]]], references: Mapping[str, str]
) -> Html:
    """`references`: project id -> how the viewer names it in a URL (acme:WEB where WEB is not enough)."""
    sections: list[Html] = []
    for organization, projects in groups:
        rows = [
            el(
                "li",
                el(
                    "a",
                    el("span", project.code, class_="slug"),
                    " ",
                    project.name,
                    href=board_url(references.get(project.id, project.code)),
                ),
                el("span", _counts(project), class_="muted"),
            )
            for project in projects
        ]
        body = el("ul", rows, class_="projects") if rows else el("p", "No projects yet.", class_="muted")
        sections.append(el("section", el("h2", organization.name), body))
    if not sections:
        sections.append(el("p", "You can see no organization yet. Ask an owner to add you."))
    return page("Projects", frame, el("h1", "Projects"), sections)


def _counts(project: Project) -> str:
    if project.tickets_count is None:
        return ""
    return f"{project.open_tickets_count or 0} open of {project.tickets_count}"


# The board


@dataclass(frozen=True, slots=True)
class BoardView:
    """A board as one viewer sees it: its columns, the project's open milestones, and what the viewer may do.

    `reference`: how the viewer names the project in a URL, acme:WEB where WEB alone is not enough."""

    board: Board
    milestones: Sequence[Milestone]
    reference: str
    writable: bool
    today: date


def board_page(frame: Frame, view: BoardView, *, etag: str) -> Html:
    board, writable, reference = view.board, view.writable, view.reference
    project = board.project
    help_text = (
        "Drag a card to another column or place, or focus it and use the arrow keys "
        "(left and right: another column; up and down: its place); Enter opens it."
        if writable
        else "You may read this board but not move cards. Enter on a focused card opens it."
    )
    return page(
        f"{project.code} board" + (f" · {board.milestone}" if board.milestone else ""),
        frame,
        el("h1", el("span", project.code, class_="slug"), " ", project.name),
        el("p", help_text, class_="muted", id="board-help"),
        notice(None),
        live(columns_url(reference, board.milestone), etag, board_live(view)),
        crumbs=[(project.code, board_url(reference))],
    )


def board_live(view: BoardView) -> Html:
    """What the board refreshes: the milestone bar (its progress moves with the cards) and the columns."""
    board = view.board
    columns = el(
        "div",
        [_column(column, index, view) for index, column in enumerate(board.columns)],
        class_="columns",
        data_project=board.project.code,
        data_writable="true" if view.writable else None,
    )
    return Html(milestone_bar(view.reference, view.milestones, board.milestone, view.today) + columns)


def _column(column: BoardColumn, index: int, view: BoardView) -> Html:
    heading_id = f"column-{column.status.value}"
    shown = len(column.tickets)
    more = f"{column.total - shown} more not shown" if shown < column.total else None
    return el(
        "section",
        el("h2", status_name(column.status), " ", el("span", column.total, class_="count"), id=heading_id),
        el(
            "ol",
            [_card(ticket, index, view) for ticket in column.tickets],
            class_="cards",
            data_status=column.status.value,
            aria_labelledby=heading_id,
        ),
        el("p", more, class_="muted") if more else None,
        class_="column",
    )


def _card(ticket: Ticket, column: int, view: BoardView) -> Html:
    writable = view.writable
    moves: Html | None = None
    if writable:
        buttons: list[Html] = []
        if column > 0:
            left = status_name(STATUSES[column - 1])
            buttons.append(_move_button("◀", "left", f"Move {ticket.slug} to {left}"))
        if column < len(STATUSES) - 1:
            right = status_name(STATUSES[column + 1])
            buttons.append(_move_button("▶", "right", f"Move {ticket.slug} to {right}"))
        moves = el("div", buttons, class_="moves")
    return el(
        "li",
        el(
            "div",
            el("a", ticket.slug, href=ticket_url(ticket.slug), class_="slug"),
            el("span", ticket.type.value, class_=f"type type-{ticket.type.value}"),
            el("span", ticket.priority.value, class_=f"priority priority-{ticket.priority.value}"),
            class_="card-head",
        ),
        el("p", ticket.title, class_="title"),
        card_plan(ticket, today=view.today, board_milestone=view.board.milestone),
        _meta(ticket),
        moves,
        class_="card overdue" if late(ticket, view.today) else "card",
        id=f"card-{ticket.slug}",
        tabindex=0,
        draggable="true" if writable else None,
        data_slug=ticket.slug,
        data_version=ticket.version,
        aria_describedby="board-help",
    )


def _move_button(symbol: str, direction: str, label: str) -> Html:
    return el("button", symbol, type="button", data_move=direction, aria_label=label, title=label)


def _meta(ticket: Ticket) -> Html | None:
    parts: list[Html] = []
    if ticket.assignee:
        parts.append(el("span", "@", ticket.assignee, class_="assignee"))
    if ticket.labels:
        parts.append(el("ul", [el("li", label.name) for label in ticket.labels], class_="labels", aria_label="Labels"))
    return el("div", parts, class_="meta") if parts else None


# A ticket


def project_code(slug: str) -> str:
    """The project code a slug starts with (WEB of WEB-42): how the ticket page links back to its board."""
    return slug.rsplit("-", 1)[0]


def ticket_page(
    frame: Frame, detail: TicketDetail, *, writable: bool, commentable: bool, etag: str,
    message: str | None = None, alert: bool = False,
) -> Html:  # fmt: skip
    slug = detail.ticket.slug
    code = project_code(slug)
    comment_form = (
        el(
            "form",
            el("label", "Add a comment", for_="comment-body"),
            el("textarea", "", name="body", id="comment-body", rows=4, required=True),
            el("button", "Comment", type="submit"),
            method="post",
            action=f"{ticket_url(slug)}/comments",
            class_="comment-form",
        )
        if commentable
        else None
    )
    return page(
        f"{slug} {detail.ticket.title}",
        frame,
        notice(message, alert=alert),
        live(ticket_url(slug), etag, ticket_body(detail, writable=writable)),
        comment_form,
        crumbs=[(code, board_url(code)), (slug, ticket_url(slug))],
    )


def ticket_body(detail: TicketDetail, *, writable: bool) -> Html:
    ticket = detail.ticket
    return el(
        "article",
        el("h1", el("span", ticket.slug, class_="slug"), " ", ticket.title),
        _facts(detail),
        _status_form(ticket) if writable else None,
        el("section", el("h2", "Description"), _text(ticket.description) or el("p", "None.", class_="muted")),
        _subtasks(detail.subtasks),
        links_section(detail.links),
        _files(ticket.slug, detail.attachments),
        time_section(detail.time_entries, ticket.spent),
        _comments(detail.comments),
        _history(detail.history, detail.changes),
        class_="ticket",
    )


def _facts(detail: TicketDetail) -> Html:
    ticket = detail.ticket
    facts: list[tuple[str, Child]] = [
        ("Status", status_name(ticket.status)),
        ("Type", ticket.type.value),
        ("Priority", el("span", ticket.priority.value, class_=f"priority priority-{ticket.priority.value}")),
        ("Assignee", ticket.assignee or "nobody"),
        ("Reporter", ticket.reporter or "unknown"),
        ("Labels", label_names(ticket.labels) or "none"),
    ]
    if ticket.parent:
        facts.append(("Parent", el("a", ticket.parent, href=ticket_url(ticket.parent))))
    facts += plan_facts(detail, project_code(ticket.slug), today_utc())
    facts += [("Created", when(ticket.created_at)), ("Updated", when(ticket.updated_at))]
    if ticket.closed_at:
        facts.append(("Closed", when(ticket.closed_at) + (f" by {ticket.closed_by}" if ticket.closed_by else "")))
    facts.append(("Version", ticket.version))
    return el("dl", [[el("dt", name), el("dd", value)] for name, value in facts], class_="facts", id="facts")


def _status_form(ticket: Ticket) -> Html:
    options = [
        el("option", status_name(status), value=status.value, selected=status is ticket.status) for status in STATUSES
    ]
    return el(
        "form",
        el("label", "Status ", el("select", options, name="status", id="status-select")),
        el("input", type="hidden", name="version", value=ticket.version),
        el("button", "Change status", type="submit"),
        method="post",
        action=f"{ticket_url(ticket.slug)}/status",
        class_="status-form",
    )


def _text(text: str) -> Html | None:
    """Markdown as people wrote it, shown as text: never interpreted, so it can hold no markup."""
    return el("div", text, class_="text") if text.strip() else None


def _subtasks(subtasks: Sequence[Ticket]) -> Html:
    if not subtasks:
        return Html("")
    rows = [
        el("li", el("a", sub.slug, href=ticket_url(sub.slug), class_="slug"), " ", sub.title, " ",
           el("span", status_name(sub.status), class_="muted"))
        for sub in subtasks
    ]  # fmt: skip
    return el("section", el("h2", f"Sub-tasks ({len(subtasks)})"), el("ul", rows, class_="subtasks"))


def _files(slug: str, attachments: Sequence[Attachment]) -> Html:
    """Each file's name (text, whatever it holds) linking to its download, then its size, type, uploader and day."""
    if not attachments:
        return Html("")
    rows = [
        el("li", el("a", file.name, href=attachment_url(slug, file.id)), " ",
           el("span", f"{size_text(file.size) + ', ' if file.size is not None else ''}{file.mime}, "
                      f"by {file.uploader or 'someone'}, ",
              el("time", when(file.created_at), datetime=file.created_at), class_="muted"))
        for file in attachments
    ]  # fmt: skip
    return el("section", el("h2", f"Files ({len(attachments)})"), el("ul", rows, class_="files"), id="files")


def _comments(comments: Sequence[Comment]) -> Html:
    items = [
        el(
            "li",
            el("p", el("strong", comment.author or "someone"), " ", el("time", when(comment.created_at)), class_="by"),
            _text(comment.body),
            class_="comment",
        )
        for comment in comments
    ]
    body = el("ol", items, class_="comments") if items else el("p", "No comments yet.", class_="muted")
    return el("section", el("h2", f"Comments ({len(comments)})"), body)


def _history(history: Sequence[Change], total: int) -> Html:
    if not history:
        return Html("")
    shown = f"latest {len(history)} of {total}" if total > len(history) else str(len(history))
    rows = [
        el("li", el("time", when(change.at)), " ", actor(change), ": ", change_summary(change))
        for change in reversed(history)
    ]
    return el("section", el("h2", f"History ({shown}, newest first)"), el("ul", rows, class_="history"))


# Login and errors


def login_page(next_url: str, *, error: str | None = None, plain_http: bool = False) -> Html:
    warning = (
        el("p", "This page came over plain HTTP: the session cookie is only sent over HTTPS, so log in through "
           "the server's https:// address.", class_="notice alert")
        if plain_http
        else None
    )  # fmt: skip
    return page(
        "Log in",
        Frame(None),
        el("h1", "Log in"),
        el("p", "Paste a token made with ", el("code", "tickets-mcp token create --user NAME"), "."),
        warning,
        notice(error, alert=True),
        el(
            "form",
            el("label", "Token", for_="token"),
            el("input", type="password", name="token", id="token", required=True, autocomplete="off", autofocus=True),
            el("input", type="hidden", name="next", value=next_url),
            el("button", "Log in", type="submit"),
            method="post",
            action="/board/login",
            class_="login",
        ),
    )


def error_page(frame: Frame, status: int, text: str, *more: Child) -> Html:
    """An error and what the person may do next (`more`: a way back to where they came from, say)."""
    return page(
        f"Error {status}",
        frame,
        el("h1", f"Error {status}"),
        el("p", text),
        *more,
        el("p", el("a", "All projects", href="/board/")),
    )
