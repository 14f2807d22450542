"""SqliteStore: the embedded default store, one file, safe for several processes at once."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread

from tickets_mcp.config import search_budget
from tickets_mcp.domain import (
    HISTORY_SHOWN,
    Board,
    Change,
    Comment,
    Member,
    Organization,
    Project,
    ProjectDeletion,
    Role,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    Token,
    User,
)
from tickets_mcp.domain.rules import format_timestamp, plural, slugify
from tickets_mcp.errors import BackendUnavailable, Conflict, NotFound
from tickets_mcp.stores.port import (
    Actor,
    BoardSession,
    Move,
    NewProject,
    NewTicket,
    NewToken,
    Placement,
    PoolUsage,
    Reach,
    TicketPatch,
    TicketQuery,
)
from tickets_mcp.stores.records import (
    FILL_DEFAULT_PROJECT,
    HISTORY_SELECT,
    PROJECT_SELECT,
    PROJECT_SELECT_NO_COUNTS,
    row_to_change,
    row_to_project,
)
from tickets_mcp.stores.rules import utc_now
from tickets_mcp.stores.sqlite import board, identity, rows, tickets
from tickets_mcp.stores.sqlite.db import (
    Database,
    FileId,
    Synchronous,
    check_location,
    file_id,
    read_only_reason,
)
from tickets_mcp.stores.sqlite.migrations import LATEST, migrate, refuse_newer
from tickets_mcp.stores.sqlite.tickets import record_event

# A token's last use is written at most this often, so authenticating stays a read.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def _load_project(conn: sqlite3.Connection, project_id: str) -> Project:
    row = conn.execute(PROJECT_SELECT + " WHERE p.id = ?", (project_id,)).fetchone()
    if row is None:
        raise NotFound("The project no longer exists.", hint="List projects again.")
    return row_to_project(row)


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _check_writable(path: Path) -> str | None:
    """Why the existing database at `path` cannot be changed (None when it can); for a new one, make its
    folder, or refuse a place it cannot be made in. Nothing is created inside a folder named as `path`."""
    check_location(path)
    if path.exists():
        return read_only_reason(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackendUnavailable(
            f"Cannot create the folder {path.parent} for the database: {exc.strerror or exc}.",
            hint="Point --db or TICKETS_DB at a writable place.",
        ) from None
    if (reason := read_only_reason(path)) is not None:
        raise BackendUnavailable(
            f"Cannot create the database {path}: {reason}.", hint="Point --db or TICKETS_DB at a writable place."
        )
    return None


class SqliteStore:
    """The Store port on one SQLite file. Open it with `SqliteStore.open(path)`."""

    def __init__(self, db: Database, file: FileId) -> None:
        self._db = db
        self._file = file  # the file opened at start, which ping() checks is still the one at the path
        self._closed = False

    @classmethod
    async def open(cls, path: Path, *, synchronous: Synchronous = "full") -> SqliteStore:
        """Open (creating it and its folder if need be) and migrate the database at `path`.

        A database this process may not change opens read-only if its schema is current, and is
        refused, with what to do, if it would need a write first.
        """
        db = Database(path, synchronous=synchronous)

        def prepare() -> FileId:
            db.read_only = read_only = _check_writable(path)
            found = refuse_newer(path)
            if found == LATEST:
                return file_id(path)  # the usual start: nothing to migrate, no write lock taken
            if read_only is not None:
                needs = "holds no tracker yet" if found == 0 else f"has schema version {found}, not {LATEST}"
                raise BackendUnavailable(
                    f"The database {path} is read-only ({read_only}) and {needs}, so tickets-mcp cannot use it.",
                    hint="Make it writable for this user and run tickets-mcp migrate once, "
                    "or point --db or TICKETS_DB at another file.",
                )
            conn = db.connect()
            try:
                migrate(conn, str(path))
            finally:
                conn.close()
            return file_id(path)

        return cls(db, await anyio.to_thread.run_sync(prepare))

    @property
    def path(self) -> Path:
        return self._db.path

    async def close(self) -> None:
        self._closed = True
        await self._db.close()

    # Operations

    async def ping(self) -> None:
        if self._closed:
            raise BackendUnavailable("The database is closed: the server is shutting down.")

        def check(conn: sqlite3.Connection) -> None:
            conn.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchall()  # reads the header page: a real read
            # A connection keeps its file open after the file is deleted or replaced (a backup restored
            # over it), and SQLite goes on answering and even committing there: writes nobody will see.
            try:
                current = file_id(self._db.path)
            except FileNotFoundError:
                current = None
            except OSError as exc:
                raise BackendUnavailable(f"The database file cannot be checked: {exc.strerror or exc}.") from exc
            if current != self._file:
                raise BackendUnavailable(
                    "The database file was removed or replaced after the server opened it; writes would be lost.",
                    hint="Restart the server to open the file now at its path.",
                )

        await self._db.read(check)

    def pool_usage(self) -> PoolUsage:
        return self._db.usage()

    # Identity

    async def ensure_user(self, username: str, name: str) -> User:
        def run(conn: sqlite3.Connection) -> User:
            conn.execute(
                "INSERT INTO users (username, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (username, name, utc_now()),
            )
            row = conn.execute("SELECT id, username, name FROM users WHERE username = ?", (username,)).fetchone()
            return User(id=row[0], username=row[1], name=row[2])

        # Every start calls this: a read when the user exists spares a write and its fsync.
        return await self.find_user(username) or await self._db.write(run)

    async def find_user(self, username: str) -> User | None:
        def run(conn: sqlite3.Connection) -> User | None:
            row = conn.execute("SELECT id, username, name FROM users WHERE username = ?", (username,)).fetchone()
            return User(id=row[0], username=row[1], name=row[2]) if row else None

        return self._db.lookup(run)

    async def find_users(self, usernames: Sequence[str]) -> list[User]:
        def run(conn: sqlite3.Connection) -> list[User]:
            rows = conn.execute(
                "SELECT id, username, name FROM users WHERE username IN (SELECT value FROM json_each(?))",
                (json.dumps(list(usernames)),),
            )
            return [User(id=row[0], username=row[1], name=row[2]) for row in rows]

        return self._db.lookup(run)

    async def memberships(self, user_id: int) -> dict[str, Role]:
        def run(conn: sqlite3.Connection) -> dict[str, Role]:
            rows = conn.execute(
                "SELECT organization_id, role FROM memberships WHERE user_id = ?", (user_id,)
            ).fetchall()
            return {str(org): Role(role) for org, role in rows}

        return await self._db.read(run)

    async def reach(self, user_id: int, organization_id: str | None = None) -> Reach:
        def run(conn: sqlite3.Connection) -> Reach:
            if organization_id is None:
                rows = conn.execute("SELECT organization_id, role FROM memberships WHERE user_id = ?", (user_id,))
                roles = {str(org): Role(role) for org, role in rows}
                ids: Sequence[str] = list(roles)
            else:
                roles, ids = {}, [organization_id]
            organizations = conn.execute(
                f"SELECT id, name, slug, default_project_id FROM organizations WHERE id IN ({_placeholders(ids)}) "
                "ORDER BY name",
                ids,
            ).fetchall()
            projects = conn.execute(
                PROJECT_SELECT_NO_COUNTS + f" WHERE p.organization_id IN ({_placeholders(ids)}) ORDER BY p.name", ids
            ).fetchall()
            return Reach(
                roles=roles,
                organizations=[Organization(id=r[0], name=r[1], slug=r[2]) for r in organizations],
                projects=[row_to_project(row) for row in projects],
                defaults={r[0]: r[3] for r in organizations if r[3] is not None},
            )

        return self._db.lookup(run)

    async def members(self, organization_id: str) -> list[Member]:
        def run(conn: sqlite3.Connection) -> list[Member]:
            rows = conn.execute(
                """SELECT u.id, u.username, u.name, m.role FROM memberships m JOIN users u ON u.id = m.user_id
                   WHERE m.organization_id = ? ORDER BY u.username""",
                (organization_id,),
            ).fetchall()
            return [Member(user=User(id=r[0], username=r[1], name=r[2]), role=Role(r[3])) for r in rows]

        return await self._db.read(run)

    async def ensure_local_workspace(self, owner: User, organization: str, project: str, code: str) -> None:
        """Give the local user a workspace: on an empty database, a new organization with one project.

        Whoever runs the stdio server can write the database file anyway, so a local user who belongs
        to no organization (another login on a shared file) becomes an owner of the first one.
        """

        if await self.memberships(owner.id):
            return  # the usual start: nothing to write

        def run(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM memberships WHERE user_id = ?", (owner.id,)).fetchone():
                return
            first = conn.execute("SELECT id FROM organizations ORDER BY created_at, id LIMIT 1").fetchone()
            if first:
                conn.execute(
                    "INSERT INTO memberships (organization_id, user_id, role) VALUES (?, ?, 'owner')",
                    (first[0], owner.id),
                )
                record_event(
                    conn, action="member.added", subject=owner.username, actor=Actor(user_id=owner.id),
                    organization_id=str(first[0]), project_id=None, changes={"role": "owner"},
                )  # fmt: skip
                return
            now = utc_now()
            org_id, project_id = str(uuid.uuid4()), str(uuid.uuid4())
            conn.execute(
                "INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)",
                (org_id, organization, slugify(organization), now),
            )
            conn.execute(
                "INSERT INTO memberships (organization_id, user_id, role) VALUES (?, ?, 'owner')",
                (org_id, owner.id),
            )
            conn.execute(
                "INSERT INTO projects (id, organization_id, name, code, description, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (project_id, org_id, project, code, "Default project for new tickets.", now),
            )
            conn.execute(FILL_DEFAULT_PROJECT + " AND id = ?", (org_id,))
            actor = Actor(user_id=owner.id)
            record_event(
                conn, action="organization.created", subject=organization, actor=actor,
                organization_id=org_id, project_id=None,
            )  # fmt: skip
            record_event(
                conn, action="project.created", subject=code, actor=actor,
                organization_id=org_id, project_id=project_id,
            )  # fmt: skip

        await self._db.write(run)

    # Organizations, members and tokens

    async def all_organizations(self) -> list[Organization]:
        def run(conn: sqlite3.Connection) -> list[Organization]:
            rows = conn.execute("SELECT id, name, slug FROM organizations ORDER BY name").fetchall()
            return [Organization(id=r[0], name=r[1], slug=r[2]) for r in rows]

        return await self._db.read(run)

    async def create_organization(self, name: str, owner: User, actor: Actor) -> Organization:
        return await self._db.write(lambda conn: identity.create_organization(conn, name, owner, actor))

    async def set_member(self, organization_id: str, user: User, role: Role, actor: Actor) -> Member:
        return await self._db.write(lambda conn: identity.set_member(conn, organization_id, user, role, actor))

    async def set_default_project(self, project: Project, actor: Actor) -> None:
        await self._db.write(lambda conn: identity.set_default_project(conn, project, actor))

    async def remove_member(self, organization_id: str, user: User, actor: Actor) -> None:
        await self._db.write(lambda conn: identity.remove_member(conn, organization_id, user, actor))

    async def create_token(self, token: NewToken, actor: Actor) -> Token:
        return await self._db.write(lambda conn: identity.create_token(conn, token, actor))

    async def list_tokens(self) -> list[Token]:
        return await self._db.read(identity.list_tokens)

    async def revoke_token(self, token_id: int, actor: Actor) -> Token:
        return await self._db.write(lambda conn: identity.revoke_token(conn, token_id, actor))

    async def authenticate(self, digest: str) -> tuple[Token, User] | None:
        found = self._db.lookup(lambda conn: identity.token_by_hash(conn, digest))
        if found is not None:
            await self._touch(found[0])
        return found

    async def start_session(self, session_digest: str, token_id: int, expires_at: str) -> None:
        await self._db.write(lambda conn: identity.start_session(conn, session_digest, token_id, expires_at))

    async def board_session(self, session_digest: str) -> BoardSession | None:
        found = self._db.lookup(lambda conn: identity.board_session(conn, session_digest))
        if found is not None:
            await self._touch(found.token)
        return found

    async def end_session(self, session_digest: str) -> None:
        await self._db.write(lambda conn: identity.end_session(conn, session_digest))

    async def _touch(self, token: Token) -> None:
        """Record a token's use, at most once per TOKEN_TOUCH_INTERVAL. A token that no longer works is not
        "used": revoked, or its creator may no longer grant it."""
        if token.revoked_at is not None or token.ungranted_reason is not None:
            return
        now = datetime.now(UTC)
        stale = format_timestamp(now - TOKEN_TOUCH_INTERVAL)
        if self._db.read_only is None and (token.last_used_at is None or token.last_used_at < stale):
            await self._db.write(lambda conn: identity.touch_token(conn, token.id, format_timestamp(now), stale))

    # Projects

    async def list_organizations(self, ids: Sequence[str]) -> list[Organization]:
        def run(conn: sqlite3.Connection) -> list[Organization]:
            rows = conn.execute(
                f"SELECT id, name, slug FROM organizations WHERE id IN ({_placeholders(ids)}) ORDER BY name",
                tuple(ids),
            ).fetchall()
            return [Organization(id=r[0], name=r[1], slug=r[2]) for r in rows]

        return await self._db.read(run)

    async def project_codes(self, organization_id: str) -> set[str]:
        def run(conn: sqlite3.Connection) -> set[str]:
            rows = conn.execute("SELECT code FROM projects WHERE organization_id = ?", (organization_id,))
            return {str(row[0]) for row in rows}

        return await self._db.read(run)

    async def list_projects(self, organization_ids: Sequence[str], *, counts: bool = True) -> list[Project]:
        def run(conn: sqlite3.Connection) -> list[Project]:
            rows = conn.execute(
                (PROJECT_SELECT if counts else PROJECT_SELECT_NO_COUNTS)
                + f" WHERE p.organization_id IN ({_placeholders(organization_ids)}) ORDER BY p.name",
                tuple(organization_ids),
            ).fetchall()
            return [row_to_project(row) for row in rows]

        return await self._db.read(run)

    async def create_project(self, project: NewProject, actor: Actor) -> Project:
        def run(conn: sqlite3.Connection) -> Project:
            _check_project_unique(conn, project.organization_id, project.name, project.code, None)
            project_id = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO projects (id, organization_id, name, code, description, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    project_id,
                    project.organization_id,
                    project.name,
                    project.code,
                    project.description,
                    utc_now(),
                ),
            )
            conn.execute(FILL_DEFAULT_PROJECT + " AND id = ?", (project.organization_id,))
            record_event(
                conn, action="project.created", subject=project.code, actor=actor,
                organization_id=project.organization_id, project_id=project_id,
                changes={"name": project.name},
            )  # fmt: skip
            return _load_project(conn, project_id)

        return await self._db.write(run)

    async def update_project(
        self, project_id: str, *, name: str | None, description: str | None, actor: Actor
    ) -> Project:
        def run(conn: sqlite3.Connection) -> Project:
            current = _load_project(conn, project_id)
            changes: dict[str, Any] = {}
            if name is not None and name != current.name:
                _check_project_unique(conn, current.organization_id, name, None, project_id)
                changes["name"] = [current.name, name]
            if description is not None and description != current.description:
                changes["description"] = "edited"
            if not changes:
                return current
            conn.execute(
                "UPDATE projects SET name = ?, description = ? WHERE id = ?",
                (
                    name or current.name,
                    current.description if description is None else description,
                    project_id,
                ),
            )
            record_event(
                conn, action="project.updated", subject=current.code, actor=actor,
                organization_id=current.organization_id, project_id=project_id, changes=changes,
            )  # fmt: skip
            return _load_project(conn, project_id)

        return await self._db.write(run)

    async def project_deletion(self, project_id: str) -> ProjectDeletion:
        return await self._db.read(lambda conn: _project_deletion(conn, project_id))

    async def delete_project(self, project_id: str, actor: Actor) -> ProjectDeletion:
        def run(conn: sqlite3.Connection) -> ProjectDeletion:
            impact = _project_deletion(conn, project_id)
            if impact.tickets:
                raise Conflict(
                    f"Project {impact.project.code} still holds {plural(impact.tickets, 'ticket')} "
                    "and was not deleted.",
                    hint="Delete or move its tickets first.",
                )
            conn.execute("DELETE FROM projects WHERE id = ?", (project_id,))
            conn.execute(FILL_DEFAULT_PROJECT + " AND id = ?", (impact.project.organization_id,))
            record_event(
                conn, action="project.deleted", subject=impact.project.code, actor=actor,
                organization_id=impact.project.organization_id, project_id=project_id,
                changes={"name": impact.project.name},
            )  # fmt: skip
            return impact

        return await self._db.write(run)

    # Tickets

    async def find_ticket(self, project_id: str, number: int) -> Ticket | None:
        return self._db.lookup(lambda conn: rows.find_ticket(conn, project_id, number))

    async def list_tickets(self, query: TicketQuery) -> TicketPage:
        budget = search_budget()
        return await self._db.read(lambda conn: tickets.list_tickets(conn, query, budget))

    async def ticket_detail(self, ticket_id: int, history: int = HISTORY_SHOWN) -> TicketDetail:
        def run(conn: sqlite3.Connection) -> TicketDetail:
            ticket = rows.load_ticket(conn, ticket_id)
            latest = conn.execute(
                HISTORY_SELECT + " WHERE e.ticket_id = ? ORDER BY e.id DESC LIMIT ?", (ticket_id, history)
            ).fetchall()
            changes = conn.execute("SELECT COUNT(*) FROM events WHERE ticket_id = ?", (ticket_id,)).fetchone()[0]
            return TicketDetail(
                ticket=ticket,
                subtasks=tuple(tickets.subtasks(conn, ticket_id)),
                comments=tuple(_load_comments(conn, ticket, None)),
                history=tuple(row_to_change(row) for row in reversed(latest)),
                changes=int(changes),
            )

        return await self._db.read(run)

    async def create_ticket(self, ticket: NewTicket, actor: Actor) -> Ticket:
        return await self._db.write(lambda conn: tickets.create_ticket(conn, ticket, actor))

    async def create_tickets(self, new: Sequence[NewTicket], actor: Actor) -> list[Ticket]:
        return await self._db.write(lambda conn: [tickets.create_ticket(conn, ticket, actor) for ticket in new])

    async def update_ticket(
        self, ticket_id: int, patch: TicketPatch, *, expected_version: int | None, actor: Actor
    ) -> Ticket:
        return await self._db.write(lambda conn: tickets.update_ticket(conn, ticket_id, patch, expected_version, actor))

    async def move_ticket(
        self,
        ticket_id: int,
        status: Status,
        placement: Placement,
        *,
        expected_version: int | None,
        actor: Actor,
    ) -> Ticket:
        return await self._db.write(
            lambda conn: tickets.move_ticket(conn, ticket_id, status, placement, expected_version, actor)
        )

    async def move_tickets(self, moves: Sequence[Move], actor: Actor) -> list[Ticket]:
        def run(conn: sqlite3.Connection) -> list[Ticket]:
            return [
                tickets.move_ticket(conn, m.ticket_id, m.status, m.placement, m.expected_version, actor) for m in moves
            ]

        return await self._db.write(run)

    async def ticket_deletion(self, ticket_id: int) -> TicketDeletion:
        return await self._db.read(lambda conn: tickets.ticket_deletion(conn, ticket_id))

    async def delete_ticket(self, ticket_id: int, actor: Actor) -> TicketDeletion:
        return await self._db.write(lambda conn: tickets.delete_ticket(conn, ticket_id, actor))

    async def board(self, project: Project, per_column: int) -> Board:
        return await self._db.read(lambda conn: board.board(conn, project, per_column))

    async def project_activity(self, project_id: str, limit: int) -> list[Change]:
        sql = HISTORY_SELECT + " WHERE e.project_id = ? ORDER BY e.id DESC LIMIT ?"
        return await self._db.read(lambda conn: [row_to_change(r) for r in conn.execute(sql, (project_id, limit))])

    # Comments

    async def add_comment(self, ticket_id: int, body: str, actor: Actor) -> Comment:
        def run(conn: sqlite3.Connection) -> Comment:
            ticket = rows.load_ticket(conn, ticket_id)
            now = utc_now()
            cursor = conn.execute(
                "INSERT INTO comments (ticket_id, author_id, body, created_at) VALUES (?, ?, ?, ?)",
                (ticket_id, actor.user_id, body, now),
            )
            conn.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", (now, ticket_id))
            comment_id = int(cursor.lastrowid or 0)
            record_event(
                conn, action="comment.added", subject=ticket.slug, actor=actor,
                organization_id=tickets.organization_of(conn, ticket.project_id), project_id=ticket.project_id,
                ticket_id=ticket_id,
                changes={"comment_id": comment_id},
            )  # fmt: skip
            return _load_comments(conn, ticket, comment_id)[0]

        return await self._db.write(run)


def _load_comments(conn: sqlite3.Connection, ticket: Ticket, comment_id: int | None) -> list[Comment]:
    sql = """SELECT c.id, u.username, c.body, c.created_at FROM comments c
             LEFT JOIN users u ON u.id = c.author_id WHERE c.ticket_id = ?"""
    params: tuple[Any, ...] = (ticket.id,)
    if comment_id is not None:
        sql += " AND c.id = ?"
        params += (comment_id,)
    rows = conn.execute(sql + " ORDER BY c.id", params).fetchall()
    return [Comment(id=r[0], ticket_slug=ticket.slug, author=r[1], body=r[2], created_at=r[3]) for r in rows]


def _check_project_unique(
    conn: sqlite3.Connection, organization_id: str, name: str, code: str | None, exclude_id: str | None
) -> None:
    row = conn.execute(
        "SELECT name FROM projects WHERE organization_id = ? AND name = ? AND id IS NOT ?",
        (organization_id, name, exclude_id),
    ).fetchone()
    if row:
        raise Conflict(f"A project named {row[0]!r} already exists.", hint="Choose another name.")
    taken = "SELECT 1 FROM projects WHERE organization_id = ? AND code = ?"
    if code is not None and conn.execute(taken, (organization_id, code)).fetchone():
        raise Conflict(f"This organization has a project with the code {code!r}.", hint="Choose another code.")


def _project_deletion(conn: sqlite3.Connection, project_id: str) -> ProjectDeletion:
    project = _load_project(conn, project_id)
    labels = conn.execute("SELECT COUNT(*) FROM labels WHERE project_id = ?", (project_id,)).fetchone()[0]
    return ProjectDeletion(project=project, tickets=project.tickets_count or 0, labels=int(labels))
