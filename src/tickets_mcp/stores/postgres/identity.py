"""Organizations, memberships and tokens in PostgreSQL."""

from __future__ import annotations

import uuid

from tickets_mcp.domain import Member, Organization, Project, Role, Token, User
from tickets_mcp.domain.rules import slugify
from tickets_mcp.errors import Conflict, NotFound
from tickets_mcp.stores.port import Actor, BoardSession, NewToken
from tickets_mcp.stores.postgres.db import Connection, execute, fetch_all, fetch_one, fetch_optional
from tickets_mcp.stores.postgres.events import record_event
from tickets_mcp.stores.records import (
    KEY_REVOKED_AT,
    KEYS_SELECT,
    SESSION_SELECT,
    row_to_session,
    row_to_token,
    scopes_column,
)
from tickets_mcp.stores.rules import utc_now


async def create_organization(conn: Connection, name: str, owner: User, actor: Actor) -> Organization:
    slug = slugify(name)
    if await fetch_optional(conn, "SELECT 1 FROM organizations WHERE slug = %s", (slug,)):
        raise Conflict(f"An organization with the slug {slug!r} already exists.", hint="Choose another name.")
    org_id = str(uuid.uuid4())
    await execute(
        conn,
        "INSERT INTO organizations (id, name, slug, created_at) VALUES (%s, %s, %s, %s)",
        (org_id, name, slug, utc_now()),
    )
    await execute(
        conn,
        "INSERT INTO memberships (organization_id, user_id, role) VALUES (%s, %s, 'owner')",
        (org_id, owner.id),
    )
    await record_event(
        conn, action="organization.created", subject=slug, actor=actor, organization_id=org_id, project_id=None
    )
    return Organization(id=org_id, name=name, slug=slug)


async def set_default_project(conn: Connection, project: Project, actor: Actor) -> None:
    changed = await execute(
        conn,
        """UPDATE organizations SET default_project_id = %s WHERE id = %s
           AND EXISTS (SELECT 1 FROM projects WHERE id = %s AND organization_id = %s)""",
        (project.id, project.organization_id, project.id, project.organization_id),
    )
    if not changed:
        raise NotFound("The project no longer exists.", hint="List projects again.")
    await record_event(
        conn, action="project.made_default", subject=project.code, actor=actor,
        organization_id=project.organization_id, project_id=project.id,
    )  # fmt: skip


async def set_member(conn: Connection, organization_id: str, user: User, role: Role, actor: Actor) -> Member:
    await execute(
        conn,
        """INSERT INTO memberships (organization_id, user_id, role) VALUES (%s, %s, %s)
           ON CONFLICT (organization_id, user_id) DO UPDATE SET role = excluded.role""",
        (organization_id, user.id, role.value),
    )
    await record_event(
        conn, action="member.set", subject=user.username, actor=actor, organization_id=organization_id,
        project_id=None, changes={"role": role.value},
    )  # fmt: skip
    return Member(user=user, role=role)


async def remove_member(conn: Connection, organization_id: str, user: User, actor: Actor) -> None:
    removed = await execute(
        conn, "DELETE FROM memberships WHERE organization_id = %s AND user_id = %s", (organization_id, user.id)
    )
    if not removed:
        raise NotFound(f"{user.username} is not a member.")
    await record_event(
        conn, action="member.removed", subject=user.username, actor=actor, organization_id=organization_id,
        project_id=None,
    )  # fmt: skip


async def create_token(conn: Connection, token: NewToken, actor: Actor) -> Token:
    row = await fetch_one(
        conn,
        """INSERT INTO tokens (kind, name, hash, prefix, user_id, organization_id, project_id, scopes, created_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
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
    await record_event(
        conn, action="token.created", subject=token.prefix, actor=actor, organization_id=token.organization_id,
        project_id=token.project_id, changes={"kind": token.kind.value, "name": token.name},
    )  # fmt: skip
    return row_to_token(await fetch_one(conn, KEYS_SELECT + " WHERE t.id = %s", (row[0],)))


async def list_tokens(conn: Connection) -> list[Token]:
    return [row_to_token(row) for row in await fetch_all(conn, KEYS_SELECT + " ORDER BY t.id")]


async def revoke_token(conn: Connection, token_id: int, actor: Actor) -> Token:
    row = await fetch_optional(conn, KEYS_SELECT + " WHERE t.id = %s FOR NO KEY UPDATE OF t", (token_id,))
    if row is None:
        raise NotFound(f"No token with id {token_id}.", hint="List tokens with: tickets-mcp token list")
    if row[KEY_REVOKED_AT] is None:
        await execute(conn, "UPDATE tokens SET revoked_at = %s WHERE id = %s", (utc_now(), token_id))
        await record_event(
            conn, action="token.revoked", subject=row[3], actor=actor, organization_id=row[5], project_id=row[6]
        )
    return row_to_token(await fetch_one(conn, KEYS_SELECT + " WHERE t.id = %s", (token_id,)))


async def token_by_hash(conn: Connection, digest: str) -> tuple[Token, User] | None:
    row = await fetch_optional(conn, KEYS_SELECT + " WHERE t.hash = %s", (digest,))
    if row is None:
        return None
    user = await fetch_one(conn, "SELECT id, username, name FROM users WHERE id = %s", (row[11],))
    return row_to_token(row), User(id=user[0], username=user[1], name=user[2])


async def touch_token(conn: Connection, token_id: int, now: str, not_since: str) -> None:
    """Record a use, at most once per interval, so authentication does not turn every read into a write."""
    await execute(
        conn,
        "UPDATE tokens SET last_used_at = %s WHERE id = %s AND (last_used_at IS NULL OR last_used_at < %s)",
        (now, token_id, not_since),
    )


async def start_session(conn: Connection, session_digest: str, token_id: int, expires_at: str) -> None:
    now = utc_now()
    await execute(conn, "DELETE FROM board_sessions WHERE expires_at < %s", (now,))
    await execute(
        conn,
        "INSERT INTO board_sessions (hash, token_id, created_at, expires_at) VALUES (%s, %s, %s, %s)",
        (session_digest, token_id, now, expires_at),
    )


async def board_session(conn: Connection, session_digest: str) -> BoardSession | None:
    row = await fetch_optional(
        conn, SESSION_SELECT + " WHERE s.hash = %s AND s.expires_at > %s", (session_digest, utc_now())
    )
    return row_to_session(row) if row is not None else None


async def end_session(conn: Connection, session_digest: str) -> None:
    await execute(conn, "DELETE FROM board_sessions WHERE hash = %s", (session_digest,))
