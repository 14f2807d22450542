"""`tickets-mcp tickets list|show|board`: the tracker in a terminal, as aligned tables or as JSON for scripts.

They act as the local user (`TICKETS_USER`) through the same Backend as the stdio server, on the
store `--db` or `TICKETS_DB` names (a SQLite file or a PostgreSQL URL); with `--backend` and `--url`
(and `TICKETS_TOKEN`) they read a remote tracker instead, e.g. a team's `serve`, as the token's owner.
Tables fit the terminal's width (`COLUMNS`, else the terminal's; piped output is never cut): the title
column takes what the others leave and is cut with an ellipsis, assignee and labels at most
CAPPED_COLUMNS wide; wide (CJK, emoji) characters count two columns. What people and agents wrote is
printed without control or invisible characters (an ESC in a title must not drive the terminal).
`--json` prints one compact line with sorted keys, the records exactly as the Tracker returns them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace

from pydantic import BaseModel

from tickets_mcp.config import Settings
from tickets_mcp.core.tracker import TicketFilter, Tracker
from tickets_mcp.domain import Board, Status, Ticket, TicketDetail, TicketPage
from tickets_mcp.domain.enums import STATUS_GROUPS, statuses_named
from tickets_mcp.domain.text import displayable
from tickets_mcp.domain.wording import actor, change_summary, display_width, label_names, one_line, status_name, when
from tickets_mcp.errors import Invalid

LIST_LIMIT_MAX = 100
MIN_TITLE = 12
GAP = "  "
CAPPED_COLUMNS = {"ASSIGNEE": 16, "LABELS": 24}


def parser() -> argparse.ArgumentParser:
    """`tickets-mcp tickets ...`'s own parser: cli.py hands it the rest of the line, so the stdio server
    never imports this module."""
    tickets = argparse.ArgumentParser(
        prog="tickets-mcp tickets", description="Read tickets in the terminal, as the local user (TICKETS_USER)."
    )
    actions = tickets.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="list tickets, newest first")
    listing.add_argument("--project", help="project code, id or name (default: every project you can see)")
    listing.add_argument(
        "--status",
        action="append",
        metavar="STATUS",
        help=f"repeatable or comma-separated: {', '.join([*Status, *STATUS_GROUPS])}",
    )
    listing.add_argument("--assignee", help='username, "me" or "none"')
    listing.add_argument("--limit", type=int, default=50, help=f"rows to show, 1-{LIST_LIMIT_MAX} (default 50)")
    listing.add_argument("--cursor", help="the next_cursor a previous page printed")
    show = actions.add_parser("show", help="one ticket with its sub-tasks, comments and history")
    show.add_argument("slug", help="e.g. INBOX-1")
    board = actions.add_parser("board", help="a project's Kanban board, columns in workflow order")
    board.add_argument("project", nargs="?", help="project code, id or name (may be left out if there is one)")
    board.add_argument("--per-column", type=int, default=20, help="cards shown per column (default 20)")
    for action in (listing, show, board):
        action.add_argument("--json", action="store_true", help="one line of JSON for scripts")
    return tickets


def run(settings: Settings, argv: Sequence[str]) -> int:
    import anyio

    args = parser().parse_args(argv)
    width = terminal_width()

    async def main() -> str:
        from tickets_mcp.cli.workspace import open_backend

        # With --backend native --url ...: a team's tracker, as the token's owner.
        async with open_backend(settings) as backend:
            tracker = backend.tracker(replace(backend.local_principal, client="tickets-mcp cli"))
            return await answer(tracker, args, width)

    print(anyio.run(main))
    return 0


def terminal_width() -> int | None:
    """The columns to fit: COLUMNS when set, else the terminal's; None for piped output, which is not cut."""
    if os.environ.get("COLUMNS", "").strip() or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


async def answer(tracker: Tracker, args: argparse.Namespace, width: int | None) -> str:
    """One line of JSON (exact data: json.dumps escapes control characters), or text for people without
    control or invisible characters."""
    record = await fetch(tracker, args)
    if args.json:
        return as_json(record)
    if isinstance(record, TicketPage):
        return displayable(ticket_list(record, width))
    if isinstance(record, TicketDetail):
        return displayable(ticket_detail(record, width))
    return displayable(board_text(record, width))


async def fetch(tracker: Tracker, args: argparse.Namespace) -> TicketPage | TicketDetail | Board:
    if args.action == "list":
        return await tracker.list_tickets(
            TicketFilter(
                project=args.project,
                statuses=parse_statuses(args.status or []),
                assignee=args.assignee,
                limit=args.limit,
                cursor=args.cursor,
            )
        )
    if args.action == "show":
        return await tracker.get_ticket(args.slug)
    return await tracker.get_board(args.project, per_column=args.per_column)


def parse_statuses(values: Sequence[str]) -> list[Status]:
    words = [part.strip() for value in values for part in value.split(",") if part.strip()]
    try:
        return statuses_named(words)
    except ValueError:
        wrong = next(word for word in words if word not in STATUS_GROUPS and word not in set(Status))
        names = ", ".join([*Status, *STATUS_GROUPS])
        raise Invalid("status", f"{wrong!r} is not a status.", hint=f"Use one of: {names}") from None


def as_json(record: BaseModel) -> str:
    return json.dumps(record.model_dump(mode="json"), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int | None) -> list[str]:
    """Rows under headers, columns aligned by display width; the last column (a title) is cut to fit
    `width` (None: never cut), the CAPPED_COLUMNS to their caps, and narrower when the title would get
    less than MIN_TITLE."""
    if not rows:
        return []
    flat = [[one_line(cell, None) for cell in row[:-1]] for row in rows]
    natural = [
        max(display_width(header), *(display_width(row[i]) for row in flat)) for i, header in enumerate(headers[:-1])
    ]
    fixed = [min(size, CAPPED_COLUMNS.get(header, size)) for size, header in zip(natural, headers, strict=False)]
    room = None if width is None else width - sum(fixed) - len(GAP) * len(fixed)
    for i in reversed(range(len(fixed))):  # labels first, then assignee, give way to the title
        if room is not None and room < MIN_TITLE and headers[i] in CAPPED_COLUMNS:
            given = min(MIN_TITLE - room, fixed[i] - len(headers[i]))
            fixed[i], room = fixed[i] - given, room + given
    room = None if room is None else max(room, MIN_TITLE)

    def line(first: Sequence[str], last: str) -> str:
        cut = [one_line(cell, fixed[i]) for i, cell in enumerate(first)]
        padded = [cell + " " * (fixed[i] - display_width(cell)) for i, cell in enumerate(cut)]
        return GAP.join([*padded, one_line(last, room)]).rstrip()

    return [line(headers[:-1], headers[-1]), *(line(row, source[-1]) for row, source in zip(flat, rows, strict=True))]


def ticket_row(ticket: Ticket, *, status: bool = True) -> list[str]:
    cells = [ticket.slug]
    if status:
        cells.append(ticket.status.value)
    cells += [ticket.priority.value, ticket.type.value, ticket.assignee or "-", label_names(ticket.labels) or "-"]
    return [*cells, ticket.title]


def ticket_list(page: TicketPage, width: int | None) -> str:
    headers = ["SLUG", "STATUS", "PRIORITY", "TYPE", "ASSIGNEE", "LABELS", "TITLE"]
    lines = table(headers, [ticket_row(t) for t in page.tickets], width)
    total = f"{page.total}{'+' if page.total_capped else ''}"
    summary = f"{len(page.tickets)} of {total} tickets"
    if page.next_cursor:
        summary += f"; next page: --cursor {page.next_cursor}"
    return "\n".join([*lines, summary]) if lines else f"No tickets match ({total} in all)."


def ticket_detail(detail: TicketDetail, width: int | None) -> str:
    t = detail.ticket
    facts = [
        ("status", status_name(t.status)),
        ("type", t.type.value),
        ("priority", t.priority.value),
        ("assignee", t.assignee or "nobody"),
        ("reporter", t.reporter or "unknown"),
        ("labels", label_names(t.labels) or "none"),
        ("parent", t.parent or "none"),
        ("created", when(t.created_at)),
        ("updated", when(t.updated_at)),
        ("version", str(t.version)),
    ]
    if t.closed_at:
        facts.insert(-1, ("closed", when(t.closed_at) + (f" by {t.closed_by}" if t.closed_by else "")))
    room = None if width is None else max(width - len(t.slug) - 2, MIN_TITLE)
    lines = [f"{t.slug}  {one_line(t.title, room)}", ""]
    lines += [f"{name:<9} {value}" for name, value in facts]
    lines += ["", "Description:", *(indent(t.description) if t.description.strip() else ["  (none)"])]
    if detail.subtasks:
        lines += ["", f"Sub-tasks ({len(detail.subtasks)}):"]
        lines += ["  " + row for row in table(["SLUG", "STATUS", "TITLE"], [
            [s.slug, s.status.value, s.title] for s in detail.subtasks
        ], narrower(width))]  # fmt: skip
    lines += ["", f"Comments ({len(detail.comments)}):"]
    for comment in detail.comments:
        lines += [f"  {comment.author or 'someone'}, {when(comment.created_at)}:", *indent(comment.body, 4)]
    if detail.history:
        shown = len(detail.history)
        lines += ["", f"History ({shown if shown == detail.changes else f'latest {shown} of {detail.changes}'}):"]
        lines += [f"  {when(c.at)}  {actor(c)}: {change_summary(c)}" for c in detail.history]
    return "\n".join(lines)


def narrower(width: int | None) -> int | None:
    """The width left for a table indented by two spaces."""
    return None if width is None else width - 2


def indent(text: str, spaces: int = 2) -> list[str]:
    return [" " * spaces + line if line.strip() else "" for line in text.splitlines()]


def board_text(board: Board, width: int | None) -> str:
    project = board.project
    total = sum(column.total for column in board.columns)
    lines = [f"{project.code}  {project.name}: {total} tickets"]
    headers = ["SLUG", "PRIORITY", "TYPE", "ASSIGNEE", "LABELS", "TITLE"]
    for column in board.columns:
        shown = len(column.tickets)
        cut = f", showing {shown}" if shown < column.total else ""
        lines += ["", f"{status_name(column.status)} ({column.total}{cut})"]
        rows = table(headers, [ticket_row(t, status=False) for t in column.tickets], narrower(width))
        lines += ["  " + row for row in rows] if rows else ["  -"]
    return "\n".join(lines)
