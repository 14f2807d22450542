"""PostgresStore: the Store port on one PostgreSQL database, shared by any number of processes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tickets_mcp.config import PostgresUrl, search_budget
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
from tickets_mcp.stores.postgres import board, identity, listing, rows, tickets
from tickets_mcp.stores.postgres.db import (
    POOL_SIZE,
    Connection,
    Database,
    execute,
    fetch_all,
    fetch_one,
    fetch_optional,
)
from tickets_mcp.stores.postgres.events import record_event
from tickets_mcp.stores.postgres.migrations import migrate
from tickets_mcp.stores.records import (
    FILL_DEFAULT_PROJECT,
    HISTORY_SELECT,
    PROJECT_SELECT,
    PROJECT_SELECT_NO_COUNTS,
    row_to_change,
    row_to_project,
)
from tickets_mcp.stores.rules import utc_now

# A token's last use is written at most this often, so authenticating stays a read.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
# pg_advisory_xact_lock key for creating the local workspace: the ASCII of "trackws".
WORKSPACE_LOCK = 0x747261636B7773

_USER_BY_NAME = 'SELECT id, username, name FROM users WHERE lower(username) = lower(%s COLLATE "C")'
_USERS_BY_NAME = """SELECT id, username, name FROM users
WHERE lower(username) = ANY(SELECT lower(name COLLATE "C") FROM unnest(%s::text[]) AS name)"""


async def _load_project(conn: Connection, project_id: str) -> Project:
    row = await fetch_optional(conn, PROJECT_SELECT + " WHERE p.id = %s", (project_id,))
    if row is None:
        raise NotFound("The project no longer exists.", hint="List projects again.")
    return row_to_project(row)


def _organizations(rows: Sequence[Sequence[Any]]) -> list[Organization]:
    return [Organization(id=r[0], name=r[1], slug=r[2]) for r in rows]


class PostgresStore:
    """The Store port on PostgreSQL. Open it with `PostgresStore.open(url)`."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._closed = False

    @classmethod
    async def open(cls, url: PostgresUrl, *, pool_size: int = POOL_SIZE) -> PostgresStore:
        """Connect, refuse a newer schema, and migrate an older one (safe when several processes start at once)."""
        await migrate(url)
        return cls(await Database.open(url, max_size=pool_size))

    async def close(self) -> None:
        self._closed = True
        await self._db.close()

    # Operations

    async def ping(self) -> None:
        if self._closed:
            raise BackendUnavailable("The database is closed: the server is shutting down.")
        await self._db.read(lambda conn: fetch_one(conn, "SELECT 1"))

    def pool_usage(self) -> PoolUsage:
        return self._db.usage()

    # Identity

    async def ensure_user(self, username: str, name: str) -> User:
        async def run(conn: Connection) -> User:
            await execute(
                conn,
                "INSERT INTO users (username, name, created_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (username, name, utc_now()),
            )
            row = await fetch_one(conn, _USER_BY_NAME, (username,))
            return User(id=row[0], username=row[1], name=row[2])

        # Every start calls this: a read when the user exists spares a write.
        return await self.find_user(username) or await self._db.write(run)

    async def find_user(self, username: str) -> User | None:
        async def run(conn: Connection) -> User | None:
            row = await fetch_optional(conn, _USER_BY_NAME, (username,))
            return User(id=row[0], username=row[1], name=row[2]) if row else None

        return await self._db.read(run)

    async def find_users(self, usernames: Sequence[str]) -> list[User]:
        async def run(conn: Connection) -> list[User]:
            rows = await fetch_all(conn, _USERS_BY_NAME, (list(usernames),))
            return [User(id=row[0], username=row[1], name=row[2]) for row in rows]

        return await self._db.read(run)

    async def memberships(self, user_id: int) -> dict[str, Role]:
        async def run(conn: Connection) -> dict[str, Role]:
            found = await fetch_all(
                conn, "SELECT organization_id, role FROM memberships WHERE user_id = %s", (user_id,)
            )
            return {str(org): Role(role) for org, role in found}

        return await self._db.read(run)

    async def reach(self, user_id: int, organization_id: str | None = None) -> Reach:
        async def run(conn: Connection) -> Reach:
            if organization_id is None:
                found = await fetch_all(
                    conn, "SELECT organization_id, role FROM memberships WHERE user_id = %s", (user_id,)
                )
                roles = {str(org): Role(role) for org, role in found}
                ids = list(roles)
            else:
                roles, ids = {}, [organization_id]
            organizations = await fetch_all(
                conn,
                "SELECT id, name, slug, default_project_id FROM organizations WHERE id = ANY(%s) ORDER BY name",
                (ids,),
            )
            projects = await fetch_all(
                conn,
                PROJECT_SELECT_NO_COUNTS + " WHERE p.organization_id = ANY(%s) ORDER BY lower(p.name)",
                (ids,),
            )
            return Reach(
                roles=roles,
                organizations=_organizations(organizations),
                projects=[row_to_project(row) for row in projects],
                defaults={r[0]: r[3] for r in organizations if r[3] is not None},
            )

        return await self._db.read(run)

    async def members(self, organization_id: str) -> list[Member]:
        async def run(conn: Connection) -> list[Member]:
            found = await fetch_all(
                conn,
                """SELECT u.id, u.username, u.name, m.role FROM memberships m JOIN users u ON u.id = m.user_id
                   WHERE m.organization_id = %s ORDER BY lower(u.username)""",
                (organization_id,),
            )
            return [Member(user=User(id=r[0], username=r[1], name=r[2]), role=Role(r[3])) for r in found]

        return await self._db.read(run)

    async def ensure_local_workspace(self, owner: User, organization: str, project: str, code: str) -> None:
        """Give the local user a workspace: on an empty database, a new organization with one project.

        Whoever may connect as the database's owner could write it anyway, so a local user who belongs
        to no organization becomes an owner of the first one (as on a shared SQLite file).
        """

        if await self.memberships(owner.id):
            return  # the usual start: nothing to write

        async def run(conn: Connection) -> None:
            # Processes starting at once on an empty database must create one workspace, not two.
            await execute(conn, "SELECT pg_advisory_xact_lock(%s)", (WORKSPACE_LOCK,))
            if await fetch_optional(conn, "SELECT 1 FROM memberships WHERE user_id = %s", (owner.id,)):
                return
            actor = Actor(user_id=owner.id)
            first = await fetch_optional(conn, "SELECT id FROM organizations ORDER BY created_at, id LIMIT 1")
            if first:
                await execute(
                    conn,
                    "INSERT INTO memberships (organization_id, user_id, role) VALUES (%s, %s, 'owner')",
                    (first[0], owner.id),
                )
                await record_event(
                    conn, action="member.added", subject=owner.username, actor=actor,
                    organization_id=str(first[0]), project_id=None, changes={"role": "owner"},
                )  # fmt: skip
                return
            now = utc_now()
            org_id, project_id = str(uuid.uuid4()), str(uuid.uuid4())
            await execute(
                conn,
                "INSERT INTO organizations (id, name, slug, created_at) VALUES (%s, %s, %s, %s)",
                (org_id, organization, slugify(organization), now),
            )
            await execute(
                conn,
                "INSERT INTO memberships (organization_id, user_id, role) VALUES (%s, %s, 'owner')",
                (org_id, owner.id),
            )
            await execute(
                conn,
                "INSERT INTO projects (id, organization_id, name, code, description, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (project_id, org_id, project, code, "Default project for new tickets.", now),
            )
            await execute(conn, FILL_DEFAULT_PROJECT + " AND id = %s", (org_id,))
            await record_event(
                conn, action="organization.created", subject=organization, actor=actor,
                organization_id=org_id, project_id=None,
            )  # fmt: skip
            await record_event(
                conn, action="project.created", subject=code, actor=actor,
                organization_id=org_id, project_id=project_id,
            )  # fmt: skip

        await self._db.write(run)

    # Organizations, members and tokens

    async def all_organizations(self) -> list[Organization]:
        async def run(conn: Connection) -> list[Organization]:
            return _organizations(await fetch_all(conn, "SELECT id, name, slug FROM organizations ORDER BY name"))

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
        found = await self._db.read(lambda conn: identity.token_by_hash(conn, digest))
        if found is not None:
            await self._touch(found[0])
        return found

    async def start_session(self, session_digest: str, token_id: int, expires_at: str) -> None:
        await self._db.write(lambda conn: identity.start_session(conn, session_digest, token_id, expires_at))

    async def board_session(self, session_digest: str) -> BoardSession | None:
        found = await self._db.read(lambda conn: identity.board_session(conn, session_digest))
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
        if token.last_used_at is None or token.last_used_at < stale:
            await self._db.write(lambda conn: identity.touch_token(conn, token.id, format_timestamp(now), stale))

    # Projects

    async def list_organizations(self, ids: Sequence[str]) -> list[Organization]:
        async def run(conn: Connection) -> list[Organization]:
            found = await fetch_all(
                conn, "SELECT id, name, slug FROM organizations WHERE id = ANY(%s) ORDER BY name", (list(ids),)
            )
            return _organizations(found)

        return await self._db.read(run)

    async def project_codes(self, organization_id: str) -> set[str]:
        async def run(conn: Connection) -> set[str]:
            found = await fetch_all(conn, "SELECT code FROM projects WHERE organization_id = %s", (organization_id,))
            return {str(row[0]) for row in found}

        return await self._db.read(run)

    async def list_projects(self, organization_ids: Sequence[str], *, counts: bool = True) -> list[Project]:
        async def run(conn: Connection) -> list[Project]:
            found = await fetch_all(
                conn,
                (PROJECT_SELECT if counts else PROJECT_SELECT_NO_COUNTS)
                + " WHERE p.organization_id = ANY(%s) ORDER BY lower(p.name)",
                (list(organization_ids),),
            )
            return [row_to_project(row) for row in found]

        return await self._db.read(run)

    async def create_project(self, project: NewProject, actor: Actor) -> Project:
        async def run(conn: Connection) -> Project:
            await _check_project_unique(conn, project.organization_id, project.name, project.code, None)
            project_id = str(uuid.uuid4())
            await execute(
                conn,
                "INSERT INTO projects (id, organization_id, name, code, description, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (project_id, project.organization_id, project.name, project.code, project.description, utc_now()),
            )
            await execute(conn, FILL_DEFAULT_PROJECT + " AND id = %s", (project.organization_id,))
            await record_event(
                conn, action="project.created", subject=project.code, actor=actor,
                organization_id=project.organization_id, project_id=project_id,
                changes={"name": project.name},
            )  # fmt: skip
            return await _load_project(conn, project_id)

        return await self._db.write(run)

    async def update_project(
        self, project_id: str, *, name: str | None, description: str | None, actor: Actor
    ) -> Project:
        async def run(conn: Connection) -> Project:
            await _lock_project(conn, project_id)
            current = await _load_project(conn, project_id)
            changes: dict[str, Any] = {}
            if name is not None and name != current.name:
                await _check_project_unique(conn, current.organization_id, name, None, project_id)
                changes["name"] = [current.name, name]
            if description is not None and description != current.description:
                changes["description"] = "edited"
            if not changes:
                return current
            await execute(
                conn,
                "UPDATE projects SET name = %s, description = %s WHERE id = %s",
                (name or current.name, current.description if description is None else description, project_id),
            )
            await record_event(
                conn, action="project.updated", subject=current.code, actor=actor,
                organization_id=current.organization_id, project_id=project_id, changes=changes,
            )  # fmt: skip
            return await _load_project(conn, project_id)

        return await self._db.write(run)

    async def project_deletion(self, project_id: str) -> ProjectDeletion:
        return await self._db.read(lambda conn: _project_deletion(conn, project_id))

    async def delete_project(self, project_id: str, actor: Actor) -> ProjectDeletion:
        async def run(conn: Connection) -> ProjectDeletion:
            await _lock_project(conn, project_id)  # no ticket can be filed in it while we count and delete
            impact = await _project_deletion(conn, project_id)
            if impact.tickets:
                raise Conflict(
                    f"Project {impact.project.code} still holds {plural(impact.tickets, 'ticket')} "
                    "and was not deleted.",
                    hint="Delete or move its tickets first.",
                )
            await execute(conn, "DELETE FROM projects WHERE id = %s", (project_id,))
            await execute(conn, FILL_DEFAULT_PROJECT + " AND id = %s", (impact.project.organization_id,))
            await record_event(
                conn, action="project.deleted", subject=impact.project.code, actor=actor,
                organization_id=impact.project.organization_id, project_id=project_id,
                changes={"name": impact.project.name},
            )  # fmt: skip
            return impact

        return await self._db.write(run)

    # Tickets

    async def find_ticket(self, project_id: str, number: int) -> Ticket | None:
        return await self._db.read(lambda conn: rows.find_ticket(conn, project_id, number))

    async def list_tickets(self, query: TicketQuery) -> TicketPage:
        budget = search_budget()
        return await self._db.read(lambda conn: listing.list_tickets(conn, query, budget))

    async def ticket_detail(self, ticket_id: int, history: int = HISTORY_SHOWN) -> TicketDetail:
        async def run(conn: Connection) -> TicketDetail:
            ticket = await rows.load_ticket(conn, ticket_id)
            latest = await fetch_all(
                conn, HISTORY_SELECT + " WHERE e.ticket_id = %s ORDER BY e.id DESC LIMIT %s", (ticket_id, history)
            )
            changes = await fetch_one(conn, "SELECT COUNT(*) FROM events WHERE ticket_id = %s", (ticket_id,))
            return TicketDetail(
                ticket=ticket,
                subtasks=tuple(await listing.subtasks(conn, ticket_id)),
                comments=tuple(await _load_comments(conn, ticket, None)),
                history=tuple(row_to_change(row) for row in reversed(latest)),
                changes=int(changes[0]),
            )

        return await self._db.read(run)

    async def create_ticket(self, ticket: NewTicket, actor: Actor) -> Ticket:
        return await self._db.write(lambda conn: tickets.create_ticket(conn, ticket, actor))

    async def create_tickets(self, new: Sequence[NewTicket], actor: Actor) -> list[Ticket]:
        async def run(conn: Connection) -> list[Ticket]:
            return [await tickets.create_ticket(conn, ticket, actor) for ticket in new]

        return await self._db.write(run)

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
        async def run(conn: Connection) -> list[Ticket]:
            return [
                await tickets.move_ticket(conn, m.ticket_id, m.status, m.placement, m.expected_version, actor)
                for m in moves
            ]

        return await self._db.write(run)

    async def ticket_deletion(self, ticket_id: int) -> TicketDeletion:
        async def run(conn: Connection) -> TicketDeletion:
            return await tickets.ticket_deletion(conn, await rows.load_ticket(conn, ticket_id))

        return await self._db.read(run)

    async def delete_ticket(self, ticket_id: int, actor: Actor) -> TicketDeletion:
        return await self._db.write(lambda conn: tickets.delete_ticket(conn, ticket_id, actor))

    async def board(self, project: Project, per_column: int) -> Board:
        return await self._db.read(lambda conn: board.board(conn, project, per_column))

    async def project_activity(self, project_id: str, limit: int) -> list[Change]:
        sql = HISTORY_SELECT + " WHERE e.project_id = %s ORDER BY e.id DESC LIMIT %s"

        async def run(conn: Connection) -> list[Change]:
            return [row_to_change(r) for r in await fetch_all(conn, sql, (project_id, limit))]

        return await self._db.read(run)

    # Comments

    async def add_comment(self, ticket_id: int, body: str, actor: Actor) -> Comment:
        async def run(conn: Connection) -> Comment:
            ticket, organization_id = await tickets.lock_ticket(conn, ticket_id)
            now = utc_now()
            row = await fetch_one(
                conn,
                "INSERT INTO comments (ticket_id, author_id, body, created_at) VALUES (%s, %s, %s, %s) RETURNING id",
                (ticket_id, actor.user_id, body, now),
            )
            await execute(conn, "UPDATE tickets SET updated_at = %s WHERE id = %s", (now, ticket_id))
            comment_id = int(row[0])
            await record_event(
                conn, action="comment.added", subject=ticket.slug, actor=actor,
                organization_id=organization_id, project_id=ticket.project_id, ticket_id=ticket_id,
                changes={"comment_id": comment_id},
            )  # fmt: skip
            return (await _load_comments(conn, ticket, comment_id))[0]

        return await self._db.write(run)


async def _load_comments(conn: Connection, ticket: Ticket, comment_id: int | None) -> list[Comment]:
    found = await fetch_all(
        conn,
        """SELECT c.id, u.username, c.body, c.created_at FROM comments c
           LEFT JOIN users u ON u.id = c.author_id
           WHERE c.ticket_id = %s AND (%s::bigint IS NULL OR c.id = %s) ORDER BY c.id""",
        (ticket.id, comment_id, comment_id),
    )
    return [Comment(id=r[0], ticket_slug=ticket.slug, author=r[1], body=r[2], created_at=r[3]) for r in found]


async def _lock_project(conn: Connection, project_id: str) -> None:
    """Lock the project's row: ticket writes in it wait (they take the same lock) until this transaction ends."""
    await execute(conn, "SELECT 1 FROM projects WHERE id = %s FOR UPDATE", (project_id,))


async def _check_project_unique(
    conn: Connection, organization_id: str, name: str, code: str | None, exclude_id: str | None
) -> None:
    row = await fetch_optional(
        conn,
        """SELECT name FROM projects
           WHERE organization_id = %s AND lower(name) = lower(%s COLLATE "C") AND id IS DISTINCT FROM %s""",
        (organization_id, name, exclude_id),
    )
    if row:
        raise Conflict(f"A project named {row[0]!r} already exists.", hint="Choose another name.")
    taken = "SELECT 1 FROM projects WHERE organization_id = %s AND code = %s"
    if code is not None and await fetch_optional(conn, taken, (organization_id, code)):
        raise Conflict(f"This organization has a project with the code {code!r}.", hint="Choose another code.")


async def _project_deletion(conn: Connection, project_id: str) -> ProjectDeletion:
    project = await _load_project(conn, project_id)
    labels = await fetch_one(conn, "SELECT COUNT(*) FROM labels WHERE project_id = %s", (project_id,))
    return ProjectDeletion(project=project, tickets=project.tickets_count or 0, labels=int(labels[0]))
