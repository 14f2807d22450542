"""The identity version: one number the database bumps whenever who may do what changes.

A request reads it (one indexed read of one row) and finds its token and its caller's reach in the
store's cache when the number is the one they were read at (stores/sql/identity_cache.py). Triggers
bump it, so every writer does (another replica, the command line, a migration), and a revocation or a
membership change reaches every process on its very next request. Migration 21 creates them on both
engines from `WATCHED`, frozen with it: a later migration that makes another column part of identity
adds its own trigger.
"""

from __future__ import annotations

from typing import Final, LiteralString

VERSION_SELECT: Final = "SELECT version FROM identity_version WHERE id = 1"

# The tables whose rows a token's lookup and reach() read, with the columns that matter (None: all).
# A project's ticket counter and a token's last use change on every filing and request: not identity.
WATCHED: Final[tuple[tuple[LiteralString, tuple[LiteralString, ...] | None], ...]] = (
    ("users", None),
    ("memberships", None),
    ("organizations", None),
    ("projects", ("organization_id", "name", "code", "description", "number", "estimate_unit")),
    (
        "tokens",
        ("kind", "name", "hash", "prefix", "user_id", "organization_id", "project_id", "scopes", "revoked_at"),
    ),
    ("token_toolsets", None),
)


def watched_events(columns: tuple[LiteralString, ...] | None) -> tuple[tuple[LiteralString, LiteralString], ...]:
    """(name, event) for each trigger a watched table needs: insert, delete, and update (of `columns`)."""
    update: LiteralString = "UPDATE OF " + ", ".join(columns) if columns else "UPDATE"
    return (("insert", "INSERT"), ("delete", "DELETE"), ("update", update))
