"""A ticket as get_ticket shows it, in one statement: the ticket and its sub-tasks as rows, and on the ticket's
row its history, attachments, comments, links, time entries and old slugs, each as one JSON array.

One statement is one snapshot without a transaction around it, and one round trip on PostgreSQL where
a query per part took ten. Each part is its module's own query (its OF_TICKET), wrapped by the dialect's
JSON aggregate and read back through the module's own row function; the order a JSON aggregate keeps is
not promised, so the rows are sorted here again as each query orders them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from tickets_mcp.domain import TicketDetail
from tickets_mcp.errors import NotFound
from tickets_mcp.stores.sql import attachments, comments, links, relocation, time_entries
from tickets_mcp.stores.sql.connection import Connection, Row
from tickets_mcp.stores.sql.dialect import Dialect
from tickets_mcp.stores.sql.records import HISTORY_FROM, TICKET_COLUMNS, TICKET_WIDTH, row_to_change, row_to_ticket

# The latest events first (the ticket's id, then how many: the dialect's `limited`), with their id to sort by.
_HISTORY = (
    "SELECT e.at, u.username, k.name, e.client, e.action, e.changes, e.subject, e.id"
    + HISTORY_FROM
    + "WHERE e.ticket_id = ? ORDER BY e.id DESC {limit}"
)
# Each part: its query, its width (columns), and how many times it takes the ticket's id.
_PARTS: tuple[tuple[str, int, int], ...] = (
    (_HISTORY, 8, 1),
    (attachments.OF_TICKET, 9, 1),
    (comments.OF_TICKET, 4, 1),
    (links.OF_TICKET, 6, 2),
    (time_entries.OF_TICKET, 6, 1),
    (relocation.OLD_SLUGS, 3, 1),
)
_statements: dict[tuple[int, int], tuple[str, list[Any]]] = {}
_ID = TICKET_COLUMNS.index("id")


def _statement(dialect: Dialect, history: int) -> tuple[str, list[Any]]:
    """The one statement, made once per dialect and length of history: each part only on the ticket's row
    (not a sub-task's); with the history's limit parameters, if its dialect binds them."""
    if (known := _statements.get((id(dialect), history))) is not None:
        return known
    limit, limit_params = dialect.limited(history)
    columns = ["CASE WHEN t.id = ? THEN (SELECT COUNT(*) FROM events WHERE ticket_id = ?) END"]
    for part, width, _ in _PARTS:
        query = part.format(limit=limit) if part is _HISTORY else part
        names = ", ".join(f"c{i}" for i in range(width))
        columns.append(
            f"CASE WHEN t.id = ? THEN (WITH s({names}) AS ({query}) SELECT {dialect.json_rows(names)} FROM s) END"
        )
    made = dialect.ticket_select_with("".join(f",\n       {c}" for c in columns)) + " WHERE t.id = ? OR t.parent_id = ?"
    _statements[id(dialect), history] = made, limit_params
    return made, limit_params


def _params(ticket_id: int, limit_params: list[Any]) -> list[Any]:
    params: list[Any] = [ticket_id, ticket_id]
    for part, _, uses in _PARTS:
        params += [ticket_id] * (1 + uses) + (limit_params if part is _HISTORY else [])
    return [*params, ticket_id, ticket_id]


def _rows(value: Any) -> list[Row]:
    """A part's JSON array as rows: text on SQLite, decoded already by psycopg on PostgreSQL."""
    decoded = cast(list[list[Any]], value if isinstance(value, list) else json.loads(value))
    return [tuple(row) for row in decoded]


def ticket_detail(conn: Connection, ticket_id: int, history: int) -> TicketDetail:
    statement, limit_params = _statement(conn.dialect, history)
    found = conn.all(statement, _params(ticket_id, limit_params))
    own = next((row for row in found if row[_ID] == ticket_id), None)
    if own is None:
        raise NotFound("The ticket no longer exists.", hint="It may have just been deleted; list tickets again.")
    ticket = row_to_ticket(own)
    events, latest, files, said, linked, logged, moved = _parts(own[TICKET_WIDTH:])
    return TicketDetail(
        ticket=ticket,
        attachments=tuple(attachments.attachment_of(row) for row in sorted(files)),
        subtasks=tuple(sorted((row_to_ticket(row) for row in found if row is not own), key=lambda t: t.number)),
        comments=tuple(comments.comment_of(row, ticket) for row in sorted(said)),
        history=tuple(row_to_change(row) for row in sorted(latest, key=lambda row: row[7])),
        changes=int(events),
        links=links.links_from(linked),
        time_entries=tuple(time_entries.entry_of(row, ticket) for row in sorted(logged, key=time_entries.order)),
        moved_from=relocation.slugs_from(moved),
    )


def _parts(columns: Sequence[Any]) -> tuple[Any, list[Row], list[Row], list[Row], list[Row], list[Row], list[Row]]:
    events, *parts = columns
    history, files, said, linked, logged, moved = (_rows(part) for part in parts)
    return events, history, files, said, linked, logged, moved
