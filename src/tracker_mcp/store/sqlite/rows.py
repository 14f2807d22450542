"""Reading tickets: the one SELECT every ticket query shares, and turning its rows into Tickets."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from tracker_mcp.domain import Priority, Ticket
from tracker_mcp.errors import NotFound

_LABEL_SEP = "\x1f"
_LABELS_SEP = "\x1e"

TICKET_SELECT = f"""
SELECT t.id, t.project_id, p.code, t.number, t.type, t.title, t.description, t.status, t.priority,
       a.username, r.username, pt.number, t.position, t.version, t.created_at, t.updated_at,
       t.closed_at, cb.username,
       (SELECT group_concat(name || '{_LABEL_SEP}' || color, '{_LABELS_SEP}')
          FROM (SELECT l.name AS name, l.color AS color FROM ticket_labels tl
                JOIN labels l ON l.id = tl.label_id WHERE tl.ticket_id = t.id ORDER BY l.name))
FROM tickets t
JOIN projects p ON p.id = t.project_id
LEFT JOIN users a ON a.id = t.assignee_id
LEFT JOIN users r ON r.id = t.reporter_id
LEFT JOIN users cb ON cb.id = t.closed_by_id
LEFT JOIN tickets pt ON pt.id = t.parent_id
"""


def row_to_ticket(row: Sequence[Any]) -> Ticket:
    # model_validate, not model_construct: pydantic-core checks the row and builds the model in about
    # 2 µs, where model_construct's Python loop over the fields takes 5.
    code = row[2]
    labels = tuple(
        {"name": name, "color": color}
        for name, color in (item.split(_LABEL_SEP) for item in row[18].split(_LABELS_SEP))
    ) if row[18] else ()  # fmt: skip
    return Ticket.model_validate({
        "id": row[0],
        "project_id": row[1],
        "number": row[3],
        "slug": f"{code}-{row[3]}",
        "type": row[4],
        "title": row[5],
        "description": row[6],
        "status": row[7],
        "priority": Priority.from_rank(row[8]),
        "assignee": row[9],
        "reporter": row[10],
        "labels": labels,
        "parent": f"{code}-{row[11]}" if row[11] is not None else None,
        "position": row[12],
        "version": row[13],
        "created_at": row[14],
        "updated_at": row[15],
        "closed_at": row[16],
        "closed_by": row[17],
    })  # fmt: skip


def load_ticket(conn: sqlite3.Connection, ticket_id: int) -> Ticket:
    row = conn.execute(TICKET_SELECT + " WHERE t.id = ?", (ticket_id,)).fetchone()
    if row is None:
        raise NotFound("The ticket no longer exists.", hint="It may have just been deleted; list tickets again.")
    return row_to_ticket(row)


def find_ticket(conn: sqlite3.Connection, code: str, number: int) -> Ticket | None:
    row = conn.execute(TICKET_SELECT + " WHERE p.code = ? AND t.number = ?", (code, number)).fetchone()
    return row_to_ticket(row) if row else None
