"""Organizations, memberships and tokens in SQLite."""

from __future__ import annotations

import sqlite3
import uuid

from tickets_mcp.domain import Member, Organization, Project, Role, Token, User
from tickets_mcp.domain.rules import slugify
from tickets_mcp.errors import Conflict, NotFound
from tickets_mcp.stores.port import Actor, BoardSession, NewToken
from tickets_mcp.stores.records import (
    KEY_REVOKED_AT,
    KEYS_SELECT,
    SESSION_SELECT,
    row_to_session,
    row_to_token,
    scopes_column,
)
from tickets_mcp.stores.rules import utc_now
from tickets_mcp.stores.sqlite.tickets import record_event


def create_organization(conn: sqlite3.Connection, name: str, owner: User, actor: Actor) -> Organization:
    slug = slugify(name)
    if conn.execute("SELECT 1 FROM organizations WHERE slug = ?", (slug,)).fetchone():
        raise Conflict(f"An organization with the slug {slug!r} already exists.", hint="Choose another name.")
    org_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", (org_id, name, slug, utc_now())
    )
    conn.execute("INSERT INTO memberships (organization_id, user_id, role) VALUES (?, ?, 'owner')", (org_id, owner.id))
    record_event(
        conn, action="organization.created", subject=slug, actor=actor, organization_id=org_id, project_id=None
    )
    return Organization(id=org_id, name=name, slug=slug)


def set_default_project(conn: sqlite3.Connection, project: Project, actor: Actor) -> None:
    changed = conn.execute(
        """UPDATE organizations SET default_project_id = ? WHERE id = ?
           AND EXISTS (SELECT 1 FROM projects WHERE id = ? AND organization_id = ?)""",
        (project.id, project.organization_id, project.id, project.organization_id),
    ).rowcount
    if not changed:
        raise NotFound("The project no longer exists.", hint="List projects again.")
    record_event(
        conn, action="project.made_default", subject=project.code, actor=actor,
        organization_id=project.organization_id, project_id=project.id,
    )  # fmt: skip


def set_member(conn: sqlite3.Connection, organization_id: str, user: User, role: Role, actor: Actor) -> Member:
    conn.execute(
        """INSERT INTO memberships (organization_id, user_id, role) VALUES (?, ?, ?)
           ON CONFLICT (organization_id, user_id) DO UPDATE SET role = excluded.role""",
        (organization_id, user.id, role.value),
    )
    record_event(
        conn, action="member.set", subject=user.username, actor=actor, organization_id=organization_id,
        project_id=None, changes={"role": role.value},
    )  # fmt: skip
    return Member(user=user, role=role)


def remove_member(conn: sqlite3.Connection, organization_id: str, user: User, actor: Actor) -> None:
    removed = conn.execute(
        "DELETE FROM memberships WHERE organization_id = ? AND user_id = ?", (organization_id, user.id)
    ).rowcount
    if not removed:
        raise NotFound(f"{user.username} is not a member.")
    record_event(
        conn, action="member.removed", subject=user.username, actor=actor, organization_id=organization_id,
        project_id=None,
    )  # fmt: skip


def create_token(conn: sqlite3.Connection, token: NewToken, actor: Actor) -> Token:
    cursor = conn.execute(
        """INSERT INTO tokens (kind, name, hash, prefix, user_id, organization_id, project_id, scopes, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            token.kind.value,
            token.name,
            token.hash,
            token.prefix,
            token.user_id,
            token.organization_id,
            token.project_id,
            scopes_column(token.scopes),
            utc_now(),
        ),
    )
    token_id = int(cursor.lastrowid or 0)
    record_event(
        conn, action="token.created", subject=token.prefix, actor=actor, organization_id=token.organization_id,
        project_id=token.project_id, changes={"kind": token.kind.value, "name": token.name},
    )  # fmt: skip
    return row_to_token(conn.execute(KEYS_SELECT + " WHERE t.id = ?", (token_id,)).fetchone())


def list_tokens(conn: sqlite3.Connection) -> list[Token]:
    return [row_to_token(row) for row in conn.execute(KEYS_SELECT + " ORDER BY t.id")]


def revoke_token(conn: sqlite3.Connection, token_id: int, actor: Actor) -> Token:
    row = conn.execute(KEYS_SELECT + " WHERE t.id = ?", (token_id,)).fetchone()
    if row is None:
        raise NotFound(f"No token with id {token_id}.", hint="List tokens with: tickets-mcp token list")
    if row[KEY_REVOKED_AT] is None:
        conn.execute("UPDATE tokens SET revoked_at = ? WHERE id = ?", (utc_now(), token_id))
        record_event(
            conn, action="token.revoked", subject=row[3], actor=actor, organization_id=row[5], project_id=row[6]
        )
    return row_to_token(conn.execute(KEYS_SELECT + " WHERE t.id = ?", (token_id,)).fetchone())


def token_by_hash(conn: sqlite3.Connection, digest: str) -> tuple[Token, User] | None:
    row = conn.execute(KEYS_SELECT + " WHERE t.hash = ?", (digest,)).fetchone()
    if row is None:
        return None
    user = conn.execute("SELECT id, username, name FROM users WHERE id = ?", (row[11],)).fetchone()
    return row_to_token(row), User(id=user[0], username=user[1], name=user[2])


def touch_token(conn: sqlite3.Connection, token_id: int, now: str, not_since: str) -> None:
    """Record a use, at most once per interval, so authentication does not turn every read into a write."""
    conn.execute(
        "UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
        (now, token_id, not_since),
    )


def start_session(conn: sqlite3.Connection, session_digest: str, token_id: int, expires_at: str) -> None:
    now = utc_now()
    conn.execute("DELETE FROM board_sessions WHERE expires_at < ?", (now,))
    conn.execute(
        "INSERT INTO board_sessions (hash, token_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (session_digest, token_id, now, expires_at),
    )


def board_session(conn: sqlite3.Connection, session_digest: str) -> BoardSession | None:
    row = conn.execute(
        SESSION_SELECT + " WHERE s.hash = ? AND s.expires_at > ?", (session_digest, utc_now())
    ).fetchone()
    return row_to_session(row) if row is not None else None


def end_session(conn: sqlite3.Connection, session_digest: str) -> None:
    conn.execute("DELETE FROM board_sessions WHERE hash = ?", (session_digest,))
