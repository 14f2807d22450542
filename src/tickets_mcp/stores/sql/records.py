"""Rows into domain records, for every SQL store: each mapper sits next to the column order it expects.

The SELECTs are plain SQL that SQLite and PostgreSQL read alike, but for how a ticket's labels and its
open blockers are aggregated into one column each, which each dialect passes to `ticket_select`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final, cast

from tickets_mcp.domain import (
    CLOSED_STATUSES,
    Change,
    EstimateUnit,
    Priority,
    Project,
    Role,
    Scope,
    Ticket,
    Token,
    TokenKind,
    User,
)
from tickets_mcp.errors import Invalid
from tickets_mcp.stores.port import BoardSession

# A ticket row's labels column holds them as `name<LABEL_SEP>color`, joined by LABELS_SEP, ordered by name.
# Both are control characters, which label names and colors never contain.
LABEL_SEP: Final = "\x1f"
LABELS_SEP: Final = "\x1e"
# The closed statuses as an SQL list, for `status NOT IN` (open) and `status IN` (closed).
CLOSED_SQL: Final = "(" + ", ".join(f"'{status.value}'" for status in sorted(CLOSED_STATUSES)) + ")"
# A ticket row's blocked_by column holds its open blockers' slugs joined by LABELS_SEP, by project code and
# number; BLOCKERS_OF is the FROM and WHERE each dialect aggregates them from.
BLOCKERS_OF: Final = (
    """ticket_links k JOIN tickets b ON b.id = k.from_id JOIN projects bp ON bp.id = b.project_id
    WHERE k.to_id = t.id AND k.kind = 'blocks' AND b.status NOT IN """
    + CLOSED_SQL
)

# The Ticket fields that the tickets table does not hold as they are under their name, each read through
# its own expression at the end of `ticket_select` (the slug from p.code, names for user ids, ...).
_DERIVED_FIELDS = frozenset({
    "slug", "priority", "assignee", "reporter", "labels", "parent", "closed_by", "project_number",
    "milestone", "blocked_by",
})  # fmt: skip
# Every other Ticket field is a column of its own name, read as it is: the SELECT and `row_to_ticket` are
# both built from this, so a new plain field of Ticket is read once its column exists. A field left out of
# dumps (new_labels: what a write did) is in no column.
TICKET_COLUMNS: Final = tuple(
    name for name, info in Ticket.model_fields.items() if name not in _DERIVED_FIELDS and not info.exclude
)
_PLAIN = len(TICKET_COLUMNS)
TICKET_WIDTH: Final = _PLAIN + 10  # with the derived columns: where a select's `extra` columns start
_NUMBER = TICKET_COLUMNS.index("number")  # the slug's


def ticket_select(labels: str, blocked_by: str, extra: str = "") -> str:
    """The SELECT every ticket read shares, in the layout `row_to_ticket` reads: TICKET_COLUMNS, then the
    derived ones; `labels` and `blocked_by` are the engine's expressions of those columns (each engine
    aggregates text its own way), and `extra` (", expression, ...") columns after them that a script reads
    itself. Then WHERE, or JOIN a page on `t.id`.

    The names of users, the parent's number and the milestone's name are scalar subqueries, not joins:
    each is one key lookup a row either way, but with five more tables joined PostgreSQL searched their join
    orders at every plan (2-3 ms of a list's page, and the custom plans it made ran slower than the page)."""
    return f"""
SELECT {", ".join(f"t.{name}" for name in TICKET_COLUMNS)},
       p.code, t.priority, {_name_of("t.assignee_id")}, {_name_of("t.reporter_id")},
       (SELECT pt.number FROM tickets pt WHERE pt.id = t.parent_id), {_name_of("t.closed_by_id")}, {labels},
       p.number, (SELECT ms.name FROM milestones ms WHERE ms.id = t.milestone_id),
       {blocked_by}{extra}
FROM tickets t
JOIN projects p ON p.id = t.project_id
"""


def _name_of(user_id: str) -> str:
    return f"(SELECT u.username FROM users u WHERE u.id = {user_id})"


# A project's counts are summed from ticket_counts, which triggers keep (six rows at most), not counted.
PROJECT_SELECT: Final = f"""
SELECT p.id, p.organization_id, p.name, p.code, p.description, p.created_at,
       (SELECT COALESCE(SUM(c.tickets), 0) FROM ticket_counts c WHERE c.project_id = p.id),
       (SELECT COALESCE(SUM(c.tickets), 0) FROM ticket_counts c
        WHERE c.project_id = p.id AND c.status NOT IN {CLOSED_SQL}),
       p.number, p.id IN (SELECT default_project_id FROM organizations WHERE id = p.organization_id),
       p.estimate_unit
FROM projects p
"""
PROJECT_SELECT_NO_COUNTS: Final = """
SELECT p.id, p.organization_id, p.name, p.code, p.description, p.created_at, NULL, NULL, p.number,
       p.id IN (SELECT default_project_id FROM organizations WHERE id = p.organization_id), p.estimate_unit
FROM projects p
"""
# An organization without a default project gets its oldest one (the lowest number: created_at may tie):
# its first project when created, the next oldest when the default is deleted (the column's ON DELETE SET
# NULL). Then AND id = ? (%s) names the organization.
FILL_DEFAULT_PROJECT: Final = """
UPDATE organizations SET default_project_id = (
    SELECT p.id FROM projects p WHERE p.organization_id = organizations.id ORDER BY p.number LIMIT 1
) WHERE default_project_id IS NULL"""
KEYS_SELECT: Final = """
SELECT t.id, t.kind, t.name, t.prefix, u.username, t.organization_id, t.project_id, t.scopes,
       t.created_at, t.last_used_at, t.revoked_at, t.user_id, m.role, x.toolsets
FROM tokens t JOIN users u ON u.id = t.user_id
LEFT JOIN memberships m ON m.organization_id = t.organization_id AND m.user_id = t.user_id
LEFT JOIN token_toolsets x ON x.token_id = t.id
"""  # m.role: whether the token's creator may still grant it (Token.ungranted_reason); x.toolsets: the sets
# its callers switched on. Both read with the token, so a request that authenticates learns them in that query.
SESSION_SELECT: Final = """
SELECT t.id, t.kind, t.name, t.prefix, u.username, t.organization_id, t.project_id, t.scopes,
       t.created_at, t.last_used_at, t.revoked_at, t.user_id, m.role, x.toolsets, u.name, t.hash
FROM board_sessions s JOIN tokens t ON t.id = s.token_id JOIN users u ON u.id = t.user_id
LEFT JOIN memberships m ON m.organization_id = t.organization_id AND m.user_id = t.user_id
LEFT JOIN token_toolsets x ON x.token_id = t.id
"""  # KEYS_SELECT's columns from a board session, then the user's name and the token's digest; WHERE s.hash = ?
HISTORY_FROM: Final = """
FROM events e LEFT JOIN users u ON u.id = e.actor_id LEFT JOIN tokens k ON k.id = e.token_id
"""
HISTORY_SELECT: Final = (
    "SELECT e.at, u.username, k.name, e.client, e.action, e.changes, e.subject" + HISTORY_FROM
)  # then WHERE e.ticket_id (or project_id) = ? ORDER BY e.id DESC LIMIT ?
KEY_REVOKED_AT = 10  # the column of KEYS_SELECT (tokens) that says whether a token is revoked


def changes_of(raw: Any) -> dict[str, Any]:
    """An event's `changes` column as a dict: JSONB on PostgreSQL, text on SQLite."""
    return cast(dict[str, Any], raw if isinstance(raw, dict) else json.loads(raw or "{}"))


def row_to_change(row: Sequence[Any]) -> Change:
    changes = changes_of(row[5])
    return Change(at=row[0], actor=row[1], token=row[2], client=row[3], action=row[4], changes=changes, subject=row[6])


def row_to_ticket(row: Sequence[Any]) -> Ticket:
    # model_validate, not model_construct: pydantic-core checks the row and builds the model in about
    # 2 µs, where model_construct's Python loop over the fields takes 5.
    code, rank, assignee, reporter, parent, closed_by, labels, project_number, milestone, blocked_by = row[
        _PLAIN:TICKET_WIDTH
    ]
    fields = dict(
        zip(TICKET_COLUMNS, row, strict=False),  # the derived columns follow
        slug=f"{code}-{row[_NUMBER]}",
        priority=Priority.from_rank(rank),
        assignee=assignee,
        reporter=reporter,
        labels=tuple(
            {"name": name, "color": color}
            for name, color in (item.split(LABEL_SEP) for item in labels.split(LABELS_SEP))
        ) if labels else (),
        parent=f"{code}-{parent}" if parent is not None else None,
        closed_by=closed_by,
        project_number=project_number,
        milestone=milestone,
        blocked_by=tuple(blocked_by.split(LABELS_SEP)) if blocked_by else (),
    )  # fmt: skip
    return Ticket.model_validate(fields)


def row_to_project(row: Sequence[Any]) -> Project:
    return Project(
        id=row[0],
        organization_id=row[1],
        name=row[2],
        code=row[3],
        description=row[4],
        created_at=row[5],
        tickets_count=row[6],
        open_tickets_count=row[7],
        number=row[8],
        default=bool(row[9]),
        estimate_unit=EstimateUnit(row[10]),
    )


def row_to_token(row: Sequence[Any]) -> Token:
    return Token(
        id=row[0],
        kind=TokenKind(row[1]),
        name=row[2],
        prefix=row[3],
        user=row[4],
        organization_id=row[5],
        project_id=row[6],
        scopes=frozenset(Scope(s) for s in row[7].split(",") if s),
        created_at=row[8],
        last_used_at=row[9],
        revoked_at=row[10],
        creator_role=Role(row[12]) if row[12] is not None else None,
        toolsets=toolsets_of(row[13]),
    )


def row_to_session(row: Sequence[Any]) -> BoardSession:
    return BoardSession(
        token=row_to_token(row), user=User(id=row[11], username=row[4], name=row[14]), token_digest=row[15]
    )


def scopes_column(scopes: frozenset[Scope]) -> str:
    """How a token's scopes are stored: sorted, comma-separated."""
    return ",".join(sorted(s.value for s in scopes))


# The bit each tool set a caller may switch on (exposure.ON_REQUEST) takes in token_toolsets.toolsets, whose
# CHECK admits these bits only. Never reuse a bit: stored rows keep its meaning (a new set takes the next
# bit, with a migration widening the CHECK).
TOOLSET_BITS: Final[dict[str, int]] = {"projects": 1, "bulk": 2, "planning": 4, "files": 8}


def toolsets_column(toolsets: frozenset[str]) -> int:
    """How the tool sets a token switched on are stored: a bit each; Invalid for none or an unknown one."""
    unknown = sorted(toolsets - TOOLSET_BITS.keys())
    if unknown or not toolsets:
        raise Invalid(
            "sets", f"Unknown tool set {', '.join(map(repr, unknown))}." if unknown else "No tool set to switch on.",
            hint=f"Use some of: {', '.join(TOOLSET_BITS)}.",
        )  # fmt: skip
    return sum(TOOLSET_BITS[name] for name in toolsets)


def toolsets_of(column: int | None) -> frozenset[str]:
    """The tool sets a stored `toolsets` column holds (None: the token has switched none on)."""
    return frozenset(name for name, bit in TOOLSET_BITS.items() if (column or 0) & bit)
