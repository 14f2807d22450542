"""Ticket queries for SQLite: plain functions over a connection, called inside a transaction."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Generator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from tickets_mcp.domain import CLOSED_STATUSES, Status, Ticket, TicketDeletion, TicketPage, TicketSort
from tickets_mcp.domain.rules import check_version, label_color
from tickets_mcp.domain.similarity import likely_duplicate, look_alike
from tickets_mcp.errors import Invalid, NotFound
from tickets_mcp.stores.port import Actor, NewTicket, Placement, TicketPatch, TicketQuery
from tickets_mcp.stores.rules import (
    PATCH_COLUMNS,
    POSITION_STEP,
    audit_diff,
    changed_columns,
    cursor_after,
    key_expiry,
    key_owner,
    labels_changed,
    like_pattern,
    page_cursor,
    ranked_or_newest,
    relevance_start,
    replayed,
    request_digest,
    status_columns,
    utc_now,
)
from tickets_mcp.stores.search import (
    BM25_WEIGHTS,
    DUPLICATE_CANDIDATES,
    DUPLICATE_MATCHES,
    RANKED_MAX,
    Text,
    candidate_groups,
    fts5_match,
    fts5_title_match,
    search_terms,
)
from tickets_mcp.stores.sqlite.board import end_of_column, position_next_to
from tickets_mcp.stores.sqlite.rows import TICKET_SELECT, load_ticket, row_to_ticket

_PROGRESS_STEPS = 1000  # virtual-machine steps between two looks at the clock: some microseconds
_SORT_COLUMN = {
    TicketSort.CREATED: "t.id",
    TicketSort.UPDATED: "t.updated_at",
    TicketSort.PRIORITY: "t.priority",
}


def record_event(
    conn: sqlite3.Connection,
    *,
    action: str,
    subject: str,
    actor: Actor,
    organization_id: str | None,
    project_id: str | None,
    ticket_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
) -> None:
    conn.execute(
        """INSERT INTO events (at, organization_id, project_id, ticket_id, subject, action,
                               actor_id, token_id, client, changes)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            utc_now(),
            organization_id,
            project_id,
            ticket_id,
            subject,
            action,
            actor.user_id,
            actor.token_id,
            actor.client,
            json.dumps(changes or {}, separators=(",", ":"), ensure_ascii=False),
        ),
    )


def organization_of(conn: sqlite3.Connection, project_id: str) -> str:
    row = conn.execute("SELECT organization_id FROM projects WHERE id = ?", (project_id,)).fetchone()
    if row is None:
        raise NotFound("The project no longer exists.", hint="List projects again.")
    return str(row[0])


def _set_labels(conn: sqlite3.Connection, ticket_id: int, project_id: str, labels: Sequence[str]) -> None:
    conn.execute("DELETE FROM ticket_labels WHERE ticket_id = ?", (ticket_id,))
    for name in labels:
        conn.execute(
            "INSERT INTO labels (project_id, name, color) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (project_id, name, label_color(name)),
        )
        conn.execute(
            """INSERT OR IGNORE INTO ticket_labels (ticket_id, label_id)
               SELECT ?, id FROM labels WHERE project_id = ? AND name = ?""",
            (ticket_id, project_id, name),
        )


def create_ticket(conn: sqlite3.Connection, new: NewTicket, actor: Actor) -> Ticket:
    if new.idempotency_key is None:
        return _create_ticket(conn, new, actor)
    owner = key_owner(actor)
    conn.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (key_expiry(),))
    found = conn.execute(
        "SELECT request, ticket FROM idempotency_keys WHERE owner = ? AND key = ?", (owner, new.idempotency_key)
    ).fetchone()
    if found is not None:  # writers are serialised (BEGIN IMMEDIATE), so a concurrent twin sees this row
        return replayed(found[0], found[1], new)
    ticket = _create_ticket(conn, new, actor)
    conn.execute(
        "INSERT INTO idempotency_keys (owner, key, request, ticket, created_at) VALUES (?, ?, ?, ?, ?)",
        (owner, new.idempotency_key, request_digest(new), ticket.model_dump_json(), ticket.created_at),
    )
    return ticket


def _create_ticket(conn: sqlite3.Connection, new: NewTicket, actor: Actor) -> Ticket:
    counter = conn.execute(
        "UPDATE projects SET ticket_counter = ticket_counter + 1 WHERE id = ? "
        "RETURNING ticket_counter, code, organization_id",
        (new.project_id,),
    ).fetchone()
    if counter is None:
        raise NotFound("The project no longer exists.", hint="List projects again.")
    number, code, organization_id = int(counter[0]), str(counter[1]), str(counter[2])
    if new.check_duplicates and (found := likely_duplicate(new.title, new.description, look_alikes(conn, new))):
        raise look_alike(load_ticket(conn, found[0].id), found[1])
    if new.parent_id is not None:
        parent = conn.execute("SELECT project_id FROM tickets WHERE id = ?", (new.parent_id,)).fetchone()
        if parent is None or parent[0] != new.project_id:
            raise NotFound("The parent ticket no longer exists.", hint="It may have just been deleted.")
    now = utc_now()
    closing = status_columns(None, new.status, actor, now)
    cursor = conn.execute(
        # The id after migration 12's mark, not SQLite's max(rowid) + 1, which a deleted newest ticket frees.
        """INSERT INTO tickets (id, project_id, number, type, title, description, status, priority,
                                assignee_id, reporter_id, parent_id, position, version,
                                created_at, updated_at, closed_at, closed_by_id)
           VALUES ((SELECT MAX(last, (SELECT COALESCE(MAX(id), 0) FROM tickets)) + 1 FROM ticket_ids),
                   ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)""",
        (
            new.project_id,
            number,
            new.type.value,
            new.title,
            new.description,
            new.status.value,
            new.priority.rank,
            new.assignee_id,
            new.reporter_id,
            new.parent_id,
            end_of_column(conn, new.project_id, new.status),
            now,
            now,
            closing.get("closed_at"),
            closing.get("closed_by_id"),
        ),
    )
    ticket_id = int(cursor.lastrowid or 0)
    if new.labels:
        _set_labels(conn, ticket_id, new.project_id, new.labels)
    record_event(
        conn,
        action="ticket.created",
        subject=f"{code}-{number}",
        actor=actor,
        organization_id=organization_id,
        project_id=new.project_id,
        ticket_id=ticket_id,
        changes={"title": new.title, "status": new.status.value},
    )
    return load_ticket(conn, ticket_id)


def _commit_change(
    conn: sqlite3.Connection, current: Ticket, columns: Mapping[str, Any], action: str, actor: Actor
) -> Ticket:
    now = utc_now()
    assignments = "".join(f"{name} = ?, " for name in columns)
    conn.execute(
        f"UPDATE tickets SET {assignments}version = version + 1, updated_at = ? WHERE id = ?",
        (*columns.values(), now, current.id),
    )
    updated = load_ticket(conn, current.id)
    record_event(
        conn,
        action=action,
        subject=current.slug,
        actor=actor,
        organization_id=organization_of(conn, current.project_id),
        project_id=current.project_id,
        ticket_id=current.id,
        changes=audit_diff(current, updated),
    )
    return updated


def update_ticket(
    conn: sqlite3.Connection, ticket_id: int, patch: TicketPatch, expected_version: int | None, actor: Actor
) -> Ticket:
    """Apply the fields that differ; a patch that changes nothing leaves version and history alone."""
    current = load_ticket(conn, ticket_id)
    check_version(current, expected_version)
    stored = conn.execute(
        "SELECT title, type, description, status, priority, assignee_id, parent_id FROM tickets WHERE id = ?",
        (ticket_id,),
    ).fetchone()
    columns = changed_columns(dict(zip(PATCH_COLUMNS, stored, strict=True)), patch)
    if columns.get("parent_id") is not None:
        _check_parent(conn, current, int(columns["parent_id"]))
    if "status" in columns:
        status = Status(columns["status"])
        columns["position"] = end_of_column(conn, current.project_id, status)
        columns.update(status_columns(current, status, actor, utc_now()))
    labels_change = labels_changed(current, patch)
    if not columns and not labels_change:
        return current
    if labels_change and patch.labels is not None:
        _set_labels(conn, current.id, current.project_id, patch.labels)
    return _commit_change(conn, current, columns, "ticket.updated", actor)


def _check_parent(conn: sqlite3.Connection, ticket: Ticket, parent_id: int) -> None:
    """A parent lives in the same project and is not the ticket itself or one of its sub-tasks."""
    row = conn.execute(
        """WITH RECURSIVE ancestors(id) AS (
               SELECT ? UNION ALL
               SELECT t.parent_id FROM tickets t JOIN ancestors a ON t.id = a.id WHERE t.parent_id IS NOT NULL)
           SELECT 1 FROM ancestors WHERE id = ?""",
        (parent_id, ticket.id),
    ).fetchone()
    if row is not None:
        raise Invalid(
            "parent",
            f"{ticket.slug} cannot be a sub-task of itself or of its own sub-task.",
            hint="Choose a parent outside its sub-task tree.",
        )


def move_ticket(
    conn: sqlite3.Connection,
    ticket_id: int,
    status: Status,
    placement: Placement,
    expected_version: int | None,
    actor: Actor,
) -> Ticket:
    current = load_ticket(conn, ticket_id)
    check_version(current, expected_version)
    anchor_id = placement.before_id if placement.before_id is not None else placement.after_id
    if anchor_id is None:
        last = conn.execute(
            "SELECT MAX(position) FROM tickets WHERE project_id = ? AND status = ?",
            (current.project_id, status.value),
        ).fetchone()[0]
        if status == current.status and last == current.position:
            return current
        position = int(last or 0) + POSITION_STEP
    else:
        position = position_next_to(conn, current, status, anchor_id, before=placement.before_id is not None)
        if status == current.status and position == current.position:
            return current
    columns: dict[str, Any] = {"status": status.value, "position": position}
    columns.update(status_columns(current, status, actor, utc_now()))
    return _commit_change(conn, current, columns, "ticket.moved", actor)


def ticket_deletion(conn: sqlite3.Connection, ticket_id: int) -> TicketDeletion:
    ticket = load_ticket(conn, ticket_id)
    rows = conn.execute(
        """WITH RECURSIVE tree(id) AS (
               SELECT id FROM tickets WHERE parent_id = ?
               UNION ALL SELECT t.id FROM tickets t JOIN tree ON t.parent_id = tree.id)
           SELECT t.number FROM tree JOIN tickets t ON t.id = tree.id ORDER BY t.number""",
        (ticket_id,),
    ).fetchall()
    code = ticket.slug.rsplit("-", 1)[0]
    comments = conn.execute(
        """WITH RECURSIVE tree(id) AS (
               SELECT ? UNION ALL SELECT t.id FROM tickets t JOIN tree ON t.parent_id = tree.id)
           SELECT COUNT(*) FROM comments WHERE ticket_id IN (SELECT id FROM tree)""",
        (ticket_id,),
    ).fetchone()[0]
    return TicketDeletion(slug=ticket.slug, subtasks=tuple(f"{code}-{row[0]}" for row in rows), comments=int(comments))


def delete_ticket(conn: sqlite3.Connection, ticket_id: int, actor: Actor) -> TicketDeletion:
    ticket = load_ticket(conn, ticket_id)
    impact = ticket_deletion(conn, ticket_id)
    conn.execute("DELETE FROM tickets WHERE id = ?", (ticket_id,))
    record_event(
        conn,
        action="ticket.deleted",
        subject=ticket.slug,
        actor=actor,
        organization_id=organization_of(conn, ticket.project_id),
        project_id=ticket.project_id,
        ticket_id=ticket_id,
        changes={"title": ticket.title, "subtasks": list(impact.subtasks), "comments": impact.comments},
    )
    return impact


def list_tickets(conn: sqlite3.Connection, query: TicketQuery, budget_s: float | None = None) -> TicketPage:
    """A page of the query's tickets; a text query stops after `budget_s` and says so (`search_stopped`)."""
    where: list[str] = []
    params: list[Any] = []

    def any_of(column: str, values: Sequence[Any]) -> None:
        where.append(f"{column} IN ({', '.join('?' * len(values))})")
        params.extend(values)

    any_of("t.project_id", query.project_ids)
    if query.statuses:
        any_of("t.status", [s.value for s in query.statuses])
    if query.types:
        any_of("t.type", [t.value for t in query.types])
    if query.priorities:
        any_of("t.priority", [p.rank for p in query.priorities])
    if query.unassigned:
        where.append("t.assignee_id IS NULL")
    elif query.assigned:
        where.append("t.assignee_id IS NOT NULL")
    elif query.assignee_id is not None:
        where.append("t.assignee_id = ?")
        params.append(query.assignee_id)
    if query.reporter_id is not None:
        where.append("t.reporter_id = ?")
        params.append(query.reporter_id)
    for label in query.labels:
        # Driven from the label's index, not checked ticket by ticket.
        where.append(
            """t.id IN (SELECT tl.ticket_id FROM ticket_labels tl
                        WHERE tl.label_id IN (SELECT l.id FROM labels l WHERE l.name = ?))"""
        )
        params.append(label)
    if query.parent_id is not None:
        where.append("t.parent_id = ?")
        params.append(query.parent_id)
    if query.updated_since:
        where.append("t.updated_at >= ?")
        params.append(query.updated_since)
    terms = search_terms(query.text) if query.text else None
    query = ranked_or_newest(query, terms)
    if not query.project_ids:
        return TicketPage(tickets=(), total=0, next_cursor=None)
    # The caller's projects are part of the MATCH: the index reads their matches only.
    match = fts5_match(terms, query.project_ids) if terms is not None else None
    # Ranked, the page is read from the index's matches; the count still takes them as a filter.
    ranked = (" AND ".join(where), list(params), match) if query.sort is TicketSort.RELEVANCE and match else None
    if match is not None:
        where.append("t.id IN (SELECT rowid FROM ticket_search WHERE ticket_search MATCH ?)")
        params.append(match)
    elif query.text:  # no word in it (`%`, say): the text anywhere in the title or description
        where.append("(t.title LIKE ? ESCAPE '\\' OR t.description LIKE ? ESCAPE '\\')")
        params.extend([like_pattern(query.text)] * 2)

    filters = " AND ".join(where)
    rows: list[Any] = []
    total, total_capped, start, stopped = 0, True, 0, False
    with _budget(conn, budget_s if query.text else None):
        try:
            total, total_capped = _count(conn, filters, params, query.count_limit)
            if ranked is None:
                rows = _page_in_order(conn, query, filters, params)
            else:
                rows, start = _best_matches(conn, query, *ranked)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_INTERRUPT:
                raise
            stopped = True  # out of time: no page, and the total (if counted) says how many to narrow
    tickets = [row_to_ticket(row) for row in rows[: query.limit]]
    next_cursor = page_cursor(query, tickets[-1], start + query.limit) if len(rows) > query.limit else None
    return TicketPage(
        tickets=tuple(tickets),
        total=total,
        next_cursor=next_cursor,
        total_capped=total_capped,
        search_stopped=stopped,
    )


@contextmanager
def _budget(conn: sqlite3.Connection, seconds: float | None) -> Generator[None]:
    """Interrupt the connection's statements once `seconds` have passed (SQLITE_INTERRUPT). SQLite asks
    between virtual-machine steps, so one index read runs to its end: PREFIX_MIN bounds those."""
    if seconds is None:
        yield
        return
    deadline = time.monotonic() + seconds
    conn.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
    try:
        yield
    finally:
        conn.set_progress_handler(None, 0)


def _count(conn: sqlite3.Connection, filters: str, params: list[Any], limit: int | None) -> tuple[int, bool]:
    """How many tickets match, counting no further than `limit`; and whether the count stopped there."""
    if limit is None:
        return int(conn.execute(f"SELECT COUNT(*) FROM tickets t WHERE {filters}", params).fetchone()[0]), False
    # One match past the limit tells "more than" from "exactly".
    capped = f"SELECT COUNT(*) FROM (SELECT 1 FROM tickets t WHERE {filters} LIMIT ?)"
    counted = int(conn.execute(capped, (*params, limit + 1)).fetchone()[0])
    return min(counted, limit), counted > limit


def _page_in_order(conn: sqlite3.Connection, query: TicketQuery, filters: str, params: list[Any]) -> list[Any]:
    column = _SORT_COLUMN[query.sort]
    direction, op = ("DESC", "<") if query.descending else ("ASC", ">")
    page_where, page_params = filters, list(params)
    after = cursor_after(query)
    if after is not None:
        page_where += f" AND ({column} {op} ? OR ({column} = ? AND t.id {op} ?))"
        page_params.extend([after[0], after[0], after[1]])
    # The page's ids first, from the filter's index alone; the joins then run for those rows only.
    order = f"{column} {direction}" if column == "t.id" else f"{column} {direction}, t.id {direction}"
    return conn.execute(
        f"""WITH page AS (
                SELECT t.id, {column} AS k FROM tickets t WHERE {page_where} ORDER BY {order} LIMIT ? OFFSET ?)
            {TICKET_SELECT} JOIN page ON page.id = t.id ORDER BY page.k {direction}, t.id {direction}""",
        (*page_params, query.limit + 1, query.offset),
    ).fetchall()


def _best_matches(
    conn: sqlite3.Connection, query: TicketQuery, filters: str, params: list[Any], match: str
) -> tuple[list[Any], int]:
    """The page of a relevance sort, paged by offset: the newest RANKED_MAX matches best first (bm25,
    title words weighing most), then older ones, newest first. Ranking reads each ranked match's word
    positions; this keeps a common word's page as cheap as its newest matches, in one order for every
    page, so paging neither skips nor repeats a ticket."""
    start, wanted = relevance_start(query), query.limit + 1
    found = conn.execute(
        "SELECT rowid FROM ticket_search WHERE ticket_search MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
        (match, RANKED_MAX - 1),
    ).fetchone()
    oldest_ranked = int(found[0]) if found else 0
    ranked_matches = f"""matches AS MATERIALIZED (
        SELECT rowid AS id, bm25(ticket_search, {BM25_WEIGHTS}) AS k FROM ticket_search
        WHERE ticket_search MATCH ? AND rowid >= ?)"""
    rows = conn.execute(
        f"""WITH {ranked_matches},
            page AS (
                SELECT t.id, matches.k FROM matches JOIN tickets t ON t.id = matches.id
                WHERE {filters} ORDER BY matches.k, t.id DESC LIMIT ? OFFSET ?)
            {TICKET_SELECT} JOIN page ON page.id = t.id ORDER BY page.k, t.id DESC""",
        (match, oldest_ranked, *params, wanted, start),
    ).fetchall()
    if len(rows) == wanted or not oldest_ranked:
        return rows, start
    # The page runs past the ranked matches: the older ones follow.
    if rows:
        ranked = start + len(rows)
    else:  # the page starts past them: how many there are
        counted = f"WITH {ranked_matches} SELECT COUNT(*) FROM matches JOIN tickets t ON t.id = matches.id"
        ranked = int(conn.execute(f"{counted} WHERE {filters}", (match, oldest_ranked, *params)).fetchone()[0])
    older = conn.execute(
        f"""WITH page AS (
                SELECT t.id FROM tickets t
                WHERE {filters} AND t.id IN (
                    SELECT rowid FROM ticket_search WHERE ticket_search MATCH ? AND rowid < ?)
                ORDER BY t.id DESC LIMIT ? OFFSET ?)
            {TICKET_SELECT} JOIN page ON page.id = t.id ORDER BY t.id DESC""",
        (*params, match, oldest_ranked, wanted - len(rows), max(0, start - ranked)),
    ).fetchall()
    return rows + older, start


def look_alikes(conn: sqlite3.Connection, new: NewTicket) -> list[Text]:
    """The project's latest open tickets whose titles share enough words with the new one's to compare."""
    groups = candidate_groups(new.title)
    if not groups:
        return []
    # The index walks the project's matches newest first and stops: titles that many tickets share
    # ("Nightly build failed #N") must not make every create read all of them. The project is inside
    # the MATCH, so another organization's similar titles take none of these places.
    rows = conn.execute(
        f"""SELECT t.id, t.title, t.description FROM (
                SELECT rowid AS id FROM ticket_search WHERE ticket_search MATCH ? ORDER BY rowid DESC LIMIT ?
            ) latest JOIN tickets t ON t.id = latest.id
            WHERE t.project_id = ? AND t.status NOT IN ({", ".join("?" * len(CLOSED_STATUSES))})
            ORDER BY t.id DESC LIMIT {DUPLICATE_CANDIDATES}""",
        (
            fts5_title_match(groups, new.project_id),
            DUPLICATE_MATCHES,
            new.project_id,
            *(s.value for s in CLOSED_STATUSES),
        ),
    ).fetchall()
    return [Text(*row) for row in rows]


def subtasks(conn: sqlite3.Connection, ticket_id: int) -> list[Ticket]:
    rows = conn.execute(TICKET_SELECT + " WHERE t.parent_id = ? ORDER BY t.number", (ticket_id,)).fetchall()
    return [row_to_ticket(row) for row in rows]
