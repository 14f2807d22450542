"""Users, organizations, memberships, tokens and board sessions: the scripts every engine runs alike."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from types import MappingProxyType

from tickets_mcp.domain import Member, Organization, Project, Role, Token, User, audit
from tickets_mcp.domain.clock import utc_now
from tickets_mcp.domain.rules import slugify
from tickets_mcp.errors import Conflict, NotFound
from tickets_mcp.stores.port import Actor, BoardSession, Identified, NewToken, Reach
from tickets_mcp.stores.sql.connection import Connection, Row
from tickets_mcp.stores.sql.events import record
from tickets_mcp.stores.sql.identity_version import VERSION_SELECT
from tickets_mcp.stores.sql.records import (
    FILL_DEFAULT_PROJECT,
    KEY_REVOKED_AT,
    KEYS_SELECT,
    PROJECT_SELECT_NO_COUNTS,
    SESSION_SELECT,
    row_to_project,
    row_to_session,
    row_to_token,
    scopes_column,
    toolsets_column,
    toolsets_of,
)

# The key writers take turns on to create the local workspace: the ASCII of "trackws".
WORKSPACE_LOCK = 0x747261636B7773


def _user(row: Row) -> User:
    return User(id=row[0], username=row[1], name=row[2])


def organizations(rows: Sequence[Row]) -> list[Organization]:
    return [Organization(id=r[0], name=r[1], slug=r[2]) for r in rows]


def find_user(conn: Connection, username: str) -> User | None:
    row = conn.optional("SELECT id, username, name FROM users WHERE " + conn.dialect.same_name("username"), (username,))
    return _user(row) if row else None


def ensure_user(conn: Connection, username: str, name: str) -> User:
    conn.execute(
        "INSERT INTO users (username, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (username, name, utc_now()),
    )
    found = find_user(conn, username)
    assert found is not None  # inserted, or there already
    return found


def find_users(conn: Connection, usernames: Sequence[str]) -> list[User]:
    where, params = conn.dialect.any_name("username", usernames)
    return [_user(row) for row in conn.all(f"SELECT id, username, name FROM users WHERE {where}", params)]


def memberships(conn: Connection, user_id: int) -> dict[str, Role]:
    rows = conn.all("SELECT organization_id, role FROM memberships WHERE user_id = ?", (user_id,))
    return {str(org): Role(role) for org, role in rows}


def version(conn: Connection) -> int:
    """The identity version (identity_version.py): what a cached token or reach was read at."""
    return int(conn.one(VERSION_SELECT)[0])


def reach(conn: Connection, user_id: int, organization_id: str | None) -> Reach:
    """Read-only once made: a store may hand the same one to every request of its identity version."""
    if organization_id is None:
        roles = memberships(conn, user_id)
        ids: Sequence[str] = list(roles)
    else:
        roles, ids = {}, [organization_id]
    dialect = conn.dialect
    where, params = dialect.any_of("id", ids)
    found = conn.all(
        f"SELECT id, name, slug, default_project_id FROM organizations WHERE {where} ORDER BY name", params
    )
    where, params = dialect.any_of("p.organization_id", ids)
    projects = conn.all(f"{PROJECT_SELECT_NO_COUNTS} WHERE {where} ORDER BY {dialect.by_name('p.name')}", params)
    return Reach(
        roles=MappingProxyType(roles),
        organizations=tuple(organizations(found)),
        projects=tuple(row_to_project(row) for row in projects),
        defaults=MappingProxyType({r[0]: r[3] for r in found if r[3] is not None}),
    )


def members(conn: Connection, organization_id: str) -> list[Member]:
    rows = conn.all(
        f"""SELECT u.id, u.username, u.name, m.role FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.organization_id = ? ORDER BY {conn.dialect.by_name("u.username")}""",
        (organization_id,),
    )
    return [Member(user=_user(r), role=Role(r[3])) for r in rows]


def ensure_local_workspace(conn: Connection, owner: User, organization: str, project: str, code: str) -> None:
    """Give the local user a workspace: on an empty database, a new organization with one project.

    Whoever can write the database anyway (the SQLite file; PostgreSQL as its owner) may as well be an
    owner, so a local user who belongs to no organization (another login) becomes an owner of the first one.
    """
    # Processes starting at once on an empty database must create one workspace, not two.
    conn.dialect.serialize(conn, WORKSPACE_LOCK)
    if conn.optional("SELECT 1 FROM memberships WHERE user_id = ?", (owner.id,)):
        return
    actor = Actor(user_id=owner.id)
    first = conn.optional("SELECT id FROM organizations ORDER BY created_at, id LIMIT 1")
    if first:
        _add_owner(conn, str(first[0]), owner)
        record(conn, audit.member_added_as_owner(str(first[0]), owner.username), actor)
        return
    now = utc_now()
    org_id, project_id = str(uuid.uuid4()), str(uuid.uuid4())
    conn.execute(
        "INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)",
        (org_id, organization, slugify(organization), now),
    )
    _add_owner(conn, org_id, owner)
    conn.execute(
        "INSERT INTO projects (id, organization_id, name, code, description, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (project_id, org_id, project, code, "Default project for new tickets.", now),
    )
    conn.execute(FILL_DEFAULT_PROJECT + " AND id = ?", (org_id,))
    record(conn, audit.organization_created(org_id, organization), actor)
    record(conn, audit.project_created(org_id, project_id, code, None), actor)


def _add_owner(conn: Connection, organization_id: str, owner: User) -> None:
    conn.execute(
        "INSERT INTO memberships (organization_id, user_id, role) VALUES (?, ?, 'owner')", (organization_id, owner.id)
    )


def create_organization(conn: Connection, name: str, owner: User, actor: Actor) -> Organization:
    slug = slugify(name)
    if conn.optional("SELECT 1 FROM organizations WHERE slug = ?", (slug,)):
        raise Conflict(f"An organization with the slug {slug!r} already exists.", hint="Choose another name.")
    org_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", (org_id, name, slug, utc_now())
    )
    _add_owner(conn, org_id, owner)
    record(conn, audit.organization_created(org_id, slug), actor)
    return Organization(id=org_id, name=name, slug=slug)


def set_default_project(conn: Connection, project: Project, actor: Actor) -> None:
    changed = conn.execute(
        """UPDATE organizations SET default_project_id = ? WHERE id = ?
           AND EXISTS (SELECT 1 FROM projects WHERE id = ? AND organization_id = ?)""",
        (project.id, project.organization_id, project.id, project.organization_id),
    )
    if not changed:
        raise NotFound("The project no longer exists.", hint="List projects again.")
    record(conn, audit.project_made_default(project), actor)


def set_member(conn: Connection, organization_id: str, user: User, role: Role, actor: Actor) -> Member:
    conn.execute(
        """INSERT INTO memberships (organization_id, user_id, role) VALUES (?, ?, ?)
           ON CONFLICT (organization_id, user_id) DO UPDATE SET role = excluded.role""",
        (organization_id, user.id, role.value),
    )
    record(conn, audit.member_set(organization_id, user.username, role), actor)
    return Member(user=user, role=role)


def remove_member(conn: Connection, organization_id: str, user: User, actor: Actor) -> None:
    removed = conn.execute(
        "DELETE FROM memberships WHERE organization_id = ? AND user_id = ?", (organization_id, user.id)
    )
    if not removed:
        raise NotFound(f"{user.username} is not a member.")
    record(conn, audit.member_removed(organization_id, user.username), actor)


def create_token(conn: Connection, token: NewToken, actor: Actor) -> Token:
    row = conn.one(
        """INSERT INTO tokens (kind, name, hash, prefix, user_id, organization_id, project_id, scopes, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
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
    event = audit.token_created(token.prefix, token.kind, token.name, token.organization_id, token.project_id)
    record(conn, event, actor)
    return row_to_token(conn.one(KEYS_SELECT + " WHERE t.id = ?", (row[0],)))


def list_tokens(conn: Connection) -> list[Token]:
    return [row_to_token(row) for row in conn.all(KEYS_SELECT + " ORDER BY t.id")]


def revoke_token(conn: Connection, token_id: int, actor: Actor) -> Token:
    row = conn.optional(KEYS_SELECT + " WHERE t.id = ?" + conn.dialect.locking("FOR NO KEY UPDATE OF t"), (token_id,))
    if row is None:
        raise NotFound(f"No token with id {token_id}.", hint="List tokens with: tickets-mcp token list")
    if row[KEY_REVOKED_AT] is None:
        conn.execute("UPDATE tokens SET revoked_at = ? WHERE id = ?", (utc_now(), token_id))
        conn.execute("DELETE FROM token_toolsets WHERE token_id = ?", (token_id,))  # never listed again
        record(conn, audit.token_revoked(row[3], row[5], row[6]), actor)
    return row_to_token(conn.one(KEYS_SELECT + " WHERE t.id = ?", (token_id,)))


def switch_on_toolsets(conn: Connection, token_id: int, toolsets: frozenset[str]) -> frozenset[str]:
    """Add `toolsets` to those the token's callers switched on: one atomic upsert of its one row, so sets
    switched on at once through two replicas are both kept. NotFound for a token unknown or revoked."""
    row = conn.optional(
        """INSERT INTO token_toolsets (token_id, toolsets)
           SELECT id, ? FROM tokens WHERE id = ? AND revoked_at IS NULL
           ON CONFLICT (token_id) DO UPDATE SET toolsets = token_toolsets.toolsets | excluded.toolsets
           RETURNING toolsets""",
        (toolsets_column(toolsets), token_id),
    )
    if row is None:
        raise NotFound(f"No token with id {token_id}, or it was revoked.")
    return toolsets_of(row[0])


def token_by_hash(conn: Connection, digest: str) -> Identified | None:
    row = conn.optional(KEYS_SELECT + " WHERE t.hash = ?", (digest,))
    if row is None:
        return None
    user = _user(conn.one("SELECT id, username, name FROM users WHERE id = ?", (row[11],)))
    return Identified(row_to_token(row), user, version(conn))


def touch_token(conn: Connection, token_id: int, now: str, not_since: str) -> None:
    """Record a use unless one since `not_since` is recorded (by a concurrent request, say)."""
    conn.execute(
        "UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
        (now, token_id, not_since),
    )


def start_session(conn: Connection, session_digest: str, token_id: int, expires_at: str) -> None:
    now = utc_now()
    conn.execute("DELETE FROM board_sessions WHERE expires_at < ?", (now,))
    conn.execute(
        "INSERT INTO board_sessions (hash, token_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (session_digest, token_id, now, expires_at),
    )


def board_session(conn: Connection, session_digest: str) -> BoardSession | None:
    row = conn.optional(SESSION_SELECT + " WHERE s.hash = ? AND s.expires_at > ?", (session_digest, utc_now()))
    return row_to_session(row) if row is not None else None


def end_session(conn: Connection, session_digest: str) -> None:
    conn.execute("DELETE FROM board_sessions WHERE hash = ?", (session_digest,))
