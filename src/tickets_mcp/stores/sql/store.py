"""SqlStore: the Store port, written once, over an engine that runs transaction scripts.

Every method is one script (stores/sql/*.py) run in one transaction by the engine: `read` (one
snapshot), `write` (committed with its audit event, or not at all) or `lookup` (a point read the
engine may answer without leaving the event loop). The engines (SQLite, PostgreSQL) differ only in
how they run a script and in their Dialect; what a script does is the same on both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from tickets_mcp.domain import (
    HISTORY_SHOWN,
    Attachment,
    Board,
    Change,
    Comment,
    EstimateUnit,
    Linked,
    LinkKind,
    Member,
    Milestone,
    Organization,
    Project,
    ProjectDeletion,
    Relocation,
    Role,
    Scope,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    TimeEntry,
    Token,
    User,
)
from tickets_mcp.domain.audit import Recorded
from tickets_mcp.domain.rules import format_timestamp
from tickets_mcp.domain.similarity import Filed
from tickets_mcp.domain.token_use import stale_before
from tickets_mcp.domain.webhooks import Schedule, Webhook, WebhookAttempt
from tickets_mcp.errors import BackendUnavailable, LikelyDuplicate
from tickets_mcp.stores.port import (
    Actor,
    Attempted,
    BoardSession,
    DueDelivery,
    Identified,
    MilestoneFields,
    Move,
    NewAttachment,
    NewProject,
    NewTicket,
    NewTimeEntry,
    NewToken,
    NewWebhook,
    OAuthCode,
    OAuthPair,
    OAuthRefresh,
    OpenTickets,
    Placement,
    PoolUsage,
    Reach,
    Settled,
    TicketPatch,
    TicketQuery,
    WebhookWork,
)
from tickets_mcp.stores.search import search_budget
from tickets_mcp.stores.sql import (
    attachments,
    board,
    comments,
    detail,
    events,
    hooks,
    identity,
    links,
    listing,
    milestones,
    oauth,
    outbox,
    projects,
    relocation,
    ticket_reads,
    tickets,
    time_entries,
)
from tickets_mcp.stores.sql.connection import Connection
from tickets_mcp.stores.sql.identity_cache import IdentityCache
from tickets_mcp.stores.sql.records import HISTORY_SELECT, row_to_change

T = TypeVar("T")
Script = Callable[[Connection], T]


class Engine(Protocol):
    """How one engine runs a script: its connections, transactions, and what a failure means."""

    @property
    def read_only(self) -> str | None:
        """Why this process may not change the database; None when it may."""
        ...

    async def read(self, script: Script[T]) -> T:
        """Run `script` in one read-only transaction: all its queries see the same snapshot."""
        ...

    async def lookup(self, script: Script[T]) -> T:
        """`read`, for a few index probes: the engine may run it without a hop to a worker thread."""
        ...

    async def peek(self, script: Script[T], *, point: bool = False) -> T:
        """Run a script of ONE statement outside any transaction (it is its own snapshot): on PostgreSQL that
        spares the BEGIN and COMMIT round trips; a script of several would see as many snapshots. `point`: a
        few index probes, which the engine may run without a hop to a worker thread (as `lookup`)."""
        ...

    async def write(self, script: Script[T]) -> T:
        """Run `script` in one write transaction; a constraint it trips (a race) is a Conflict."""
        ...

    def usage(self) -> PoolUsage: ...
    async def close(self) -> None: ...


class _Announcing:
    """An engine that tells its listener (SqlStore.on_commit) after each write it committed: every write,
    the ones added later too, since all go through here."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.listener: Callable[[], None] | None = None

    @property
    def read_only(self) -> str | None:
        return self.engine.read_only

    async def read(self, script: Script[T]) -> T:
        return await self.engine.read(script)

    async def lookup(self, script: Script[T]) -> T:
        return await self.engine.lookup(script)

    async def peek(self, script: Script[T], *, point: bool = False) -> T:
        return await self.engine.peek(script, point=point)

    async def write(self, script: Script[T]) -> T:
        value = await self.engine.write(script)  # a write that raised committed nothing: nobody is told
        if self.listener is not None:
            self.listener()
        return value

    def usage(self) -> PoolUsage:
        return self.engine.usage()

    async def close(self) -> None:
        await self.engine.close()


class SqlStore:
    """The Store port on an `Engine`; SqliteStore and PostgresStore open their engine and pass it here."""

    def __init__(self, engine: Engine) -> None:
        self._engine = _Announcing(engine)
        self._closed = False
        self._identity = IdentityCache()

    async def close(self) -> None:
        self._closed = True
        await self._engine.close()

    # Operations

    async def ping(self) -> None:
        if self._closed:
            raise BackendUnavailable("The database is closed: the server is shutting down.")
        await self._engine.read(self._check)

    def _check(self, conn: Connection) -> None:
        """The trivial query of `ping`; an engine adds what else says it can serve requests."""
        conn.one("SELECT 1")

    def pool_usage(self) -> PoolUsage:
        return self._engine.usage()

    # Changes

    def on_commit(self, listener: Callable[[], None]) -> None:
        self._engine.listener = listener

    async def last_event_id(self) -> int:
        return await self._engine.lookup(events.last_id)

    async def events_after(self, cursor: int, missing: Sequence[int], limit: int) -> list[Recorded]:
        return await self._engine.read(lambda conn: events.after(conn, cursor, missing, limit))

    # Identity

    async def ensure_user(self, username: str, name: str) -> User:
        # Every start calls this: a read when the user exists spares a write (and its fsync).
        return await self.find_user(username) or await self._engine.write(
            lambda conn: identity.ensure_user(conn, username, name)
        )

    async def find_user(self, username: str) -> User | None:
        return await self._engine.lookup(lambda conn: identity.find_user(conn, username))

    async def find_users(self, usernames: Sequence[str]) -> list[User]:
        return await self._engine.lookup(lambda conn: identity.find_users(conn, usernames))

    async def memberships(self, user_id: int) -> dict[str, Role]:
        return await self._engine.read(lambda conn: identity.memberships(conn, user_id))

    async def reach(self, user_id: int, organization_id: str | None = None, *, version: int | None = None) -> Reach:
        if version is None or version != self._identity.version:
            await self._identity_version()
        key = (user_id, organization_id)
        if (known := self._identity.reach(key)) is not None:
            return known
        read_at, found = await self._engine.lookup(
            lambda conn: (identity.version(conn), identity.reach(conn, user_id, organization_id))
        )
        self._identity.keep_reach(key, read_at, found)
        return found

    async def _identity_version(self) -> None:
        """Read the identity version; what the cache kept at another is dropped."""
        self._identity.seen(await self._engine.peek(identity.version, point=True))

    async def members(self, organization_id: str) -> list[Member]:
        return await self._engine.read(lambda conn: identity.members(conn, organization_id))

    async def ensure_local_workspace(self, owner: User, organization: str, project: str, code: str) -> None:
        if await self.memberships(owner.id):
            return  # the usual start: nothing to write
        await self._engine.write(lambda conn: identity.ensure_local_workspace(conn, owner, organization, project, code))

    # Organizations, members and tokens

    async def all_organizations(self) -> list[Organization]:
        query = "SELECT id, name, slug FROM organizations ORDER BY name"
        return await self._engine.read(lambda conn: identity.organizations(conn.all(query)))

    async def create_organization(self, name: str, owner: User, actor: Actor) -> Organization:
        return await self._engine.write(lambda conn: identity.create_organization(conn, name, owner, actor))

    async def set_member(self, organization_id: str, user: User, role: Role, actor: Actor) -> Member:
        return await self._engine.write(lambda conn: identity.set_member(conn, organization_id, user, role, actor))

    async def set_default_project(self, project: Project, actor: Actor) -> None:
        await self._engine.write(lambda conn: identity.set_default_project(conn, project, actor))

    async def remove_member(self, organization_id: str, user: User, actor: Actor) -> None:
        await self._engine.write(lambda conn: identity.remove_member(conn, organization_id, user, actor))

    async def create_token(self, token: NewToken, actor: Actor) -> Token:
        return await self._engine.write(lambda conn: identity.create_token(conn, token, actor))

    async def list_tokens(self) -> list[Token]:
        return await self._engine.read(identity.list_tokens)

    async def revoke_token(self, token_id: int, actor: Actor) -> Token:
        return await self._engine.write(lambda conn: identity.revoke_token(conn, token_id, actor))

    async def switch_on_toolsets(self, token_id: int, toolsets: frozenset[str]) -> frozenset[str]:
        return await self._engine.write(lambda conn: identity.switch_on_toolsets(conn, token_id, toolsets))

    async def authenticate(self, digest: str) -> Identified | None:
        await self._identity_version()
        found = self._identity.token(digest)
        if found is None:
            found = await self._engine.lookup(lambda conn: identity.token_by_hash(conn, digest))
            if found is None:
                return None  # never kept: anyone may send digests nobody has
            self._identity.keep_token(digest, found)
        if (used := await self._touch(found.token)) is not None:
            self._identity.used(digest, used)
        return found

    async def start_session(self, session_digest: str, token_id: int, expires_at: str) -> None:
        await self._engine.write(lambda conn: identity.start_session(conn, session_digest, token_id, expires_at))

    async def board_session(self, session_digest: str) -> BoardSession | None:
        found = await self._engine.lookup(lambda conn: identity.board_session(conn, session_digest))
        if found is not None:
            await self._touch(found.token)
        return found

    async def end_session(self, session_digest: str) -> None:
        await self._engine.write(lambda conn: identity.end_session(conn, session_digest))

    # OAuth 2.1

    async def register_oauth_client(
        self, client_id: str, document: str, *, unused_limit: int, unused_since: str
    ) -> bool:
        return await self._engine.write(
            lambda conn: oauth.register_client(
                conn, client_id, document, unused_limit=unused_limit, unused_since=unused_since
            )
        )

    async def oauth_client(self, client_id: str) -> str | None:
        return await self._engine.lookup(lambda conn: oauth.client(conn, client_id))

    async def save_oauth_code(
        self, code_hash: str, client_id: str, user_id: int, request: str, expires_at: str
    ) -> None:
        await self._engine.write(lambda conn: oauth.save_code(conn, code_hash, client_id, user_id, request, expires_at))

    async def oauth_code(self, code_hash: str) -> OAuthCode | None:
        return await self._engine.lookup(lambda conn: oauth.code(conn, code_hash))

    async def redeem_oauth_code(self, code_hash: str, grant: NewToken, pair: OAuthPair, actor: Actor) -> Token | None:
        return await self._engine.write(lambda conn: oauth.redeem_code(conn, code_hash, grant, pair, actor))

    async def oauth_refresh(self, refresh_hash: str) -> OAuthRefresh | None:
        return await self._engine.lookup(lambda conn: oauth.refresh(conn, refresh_hash))

    async def rotate_oauth_refresh(self, refresh_hash: str, pair: OAuthPair) -> bool:
        return await self._engine.write(lambda conn: oauth.rotate(conn, refresh_hash, pair))

    async def oauth_grant_of(self, token_hash: str) -> int | None:
        return await self._engine.lookup(lambda conn: oauth.grant_of(conn, token_hash))

    async def oauth_access(self, access_hash: str) -> tuple[Token, User, frozenset[Scope], str] | None:
        found = await self._engine.lookup(lambda conn: oauth.access(conn, access_hash))
        if found is not None:
            await self._touch(found[0])
        return found

    async def _touch(self, token: Token) -> Token | None:
        """Record a token's use when domain.token_use says it is due (and the database may be changed); the
        token as recorded then, else None."""
        now = datetime.now(UTC)
        stale = stale_before(token, now)
        if stale is None or self._engine.read_only is not None:
            return None
        used = format_timestamp(now)
        await self._engine.write(lambda conn: identity.touch_token(conn, token.id, used, stale))
        return token.model_copy(update={"last_used_at": used})

    # Projects

    async def list_organizations(self, ids: Sequence[str]) -> list[Organization]:
        def run(conn: Connection) -> list[Organization]:
            where, params = conn.dialect.any_of("id", ids)
            return identity.organizations(
                conn.all(f"SELECT id, name, slug FROM organizations WHERE {where} ORDER BY name", params)
            )

        return await self._engine.read(run)

    async def project_codes(self, organization_id: str) -> set[str]:
        query = "SELECT code FROM projects WHERE organization_id = ?"
        return await self._engine.read(lambda conn: {str(row[0]) for row in conn.all(query, (organization_id,))})

    async def list_projects(
        self, organization_ids: Sequence[str], *, counts: bool = True, labels: bool = False
    ) -> list[Project]:
        return await self._engine.read(
            lambda conn: projects.list_projects(conn, organization_ids, counts=counts, labels=labels)
        )

    async def create_project(self, project: NewProject, actor: Actor) -> Project:
        return await self._engine.write(lambda conn: projects.create_project(conn, project, actor))

    async def update_project(
        self, project_id: str, *, name: str | None, description: str | None, actor: Actor
    ) -> Project:
        return await self._engine.write(
            lambda conn: projects.update_project(conn, project_id, name, description, actor)
        )

    async def project_deletion(self, project_id: str) -> ProjectDeletion:
        return await self._engine.read(lambda conn: projects.project_deletion(conn, project_id))

    async def delete_project(self, project_id: str, actor: Actor) -> ProjectDeletion:
        return await self._engine.write(lambda conn: projects.delete_project(conn, project_id, actor))

    # Tickets

    async def find_ticket(self, project_id: str, number: int) -> Ticket | None:
        return await self._engine.peek(lambda conn: ticket_reads.find_ticket(conn, project_id, number), point=True)

    async def list_tickets(self, query: TicketQuery) -> TicketPage:
        budget = search_budget()
        if query.text or query.labels:  # several statements (a search's each within its budget), one snapshot
            return await self._engine.read(lambda conn: listing.list_tickets(conn, query, budget))
        return await self._engine.peek(lambda conn: listing.list_tickets(conn, query, budget))

    async def ticket_detail(self, ticket_id: int, history: int = HISTORY_SHOWN) -> TicketDetail:
        return await self._engine.peek(lambda conn: detail.ticket_detail(conn, ticket_id, history))

    async def create_ticket(self, ticket: NewTicket, actor: Actor) -> Filed:
        return await self._engine.write(lambda conn: tickets.create_ticket(conn, ticket, actor))

    async def create_tickets(self, new: Sequence[NewTicket], actor: Actor) -> list[Ticket]:
        def run(conn: Connection) -> list[Ticket]:
            filed: list[Ticket] = []
            for number, ticket in enumerate(new, start=1):
                try:
                    filed.append(tickets.create_ticket(conn, ticket, actor, name_similar=False).ticket)
                except LikelyDuplicate as refusal:
                    raise tickets.batch_look_alike(refusal, number, len(new), filed) from None
            return filed

        return await self._engine.write(run)

    async def update_ticket(
        self, ticket_id: int, patch: TicketPatch, *, expected_version: int | None, actor: Actor
    ) -> Ticket:
        return await self._engine.write(
            lambda conn: tickets.update_ticket(conn, ticket_id, patch, expected_version, actor)
        )

    async def move_ticket(
        self,
        ticket_id: int,
        status: Status,
        placement: Placement,
        *,
        expected_version: int | None,
        actor: Actor,
    ) -> Ticket:
        return await self._engine.write(
            lambda conn: tickets.move_ticket(conn, ticket_id, status, placement, expected_version, actor)
        )

    async def move_tickets(self, moves: Sequence[Move], actor: Actor) -> list[Ticket]:
        def run(conn: Connection) -> list[Ticket]:
            return [
                tickets.move_ticket(conn, m.ticket_id, m.status, m.placement, m.expected_version, actor) for m in moves
            ]

        return await self._engine.write(run)

    async def ticket_deletion(self, ticket_id: int) -> TicketDeletion:
        def run(conn: Connection) -> TicketDeletion:
            impact = tickets.ticket_deletion(conn, ticket_reads.load_ticket(conn, ticket_id))
            return impact.model_copy(update={"attachments": attachments.count_in_tree(conn, ticket_id)})

        return await self._engine.read(run)

    async def delete_ticket(self, ticket_id: int, actor: Actor) -> TicketDeletion:
        def run(conn: Connection) -> TicketDeletion:
            # Its attachments (and its sub-tasks') go with it by cascade: read under its lock what they held.
            _, organization_id = tickets.lock_ticket(conn, ticket_id)
            held = attachments.in_tree(conn, ticket_id)
            impact = tickets.delete_ticket(conn, ticket_id, actor)
            attachments.release(conn, organization_id, held)
            return impact.model_copy(update={"attachments": len(held)})

        return await self._engine.write(run)

    async def ticket_deleted(self, project_id: str, slug: str) -> Change | None:
        return await self._engine.read(lambda conn: events.deletion(conn, project_id, slug))

    async def board(self, project: Project, per_column: int, milestone_id: int | None = None) -> Board:
        return await self._engine.read(lambda conn: board.board(conn, project, per_column, milestone_id))

    async def project_activity(self, project_id: str, limit: int) -> list[Change]:
        query = HISTORY_SELECT + " WHERE e.project_id = ? ORDER BY e.id DESC LIMIT ?"
        return await self._engine.read(lambda conn: [row_to_change(r) for r in conn.all(query, (project_id, limit))])

    # Attachments

    async def attach_file(self, ticket_id: int, new: NewAttachment, actor: Actor) -> Attachment:
        return await self._engine.write(lambda conn: attachments.attach(conn, ticket_id, new, actor))

    async def find_attachment(self, ticket_id: int, attachment_id: int) -> Attachment | None:
        return await self._engine.lookup(lambda conn: attachments.find(conn, ticket_id, attachment_id))

    async def read_attachment(self, ticket_id: int, attachment_id: int) -> tuple[Attachment, bytes]:
        return await self._engine.read(lambda conn: attachments.read(conn, ticket_id, attachment_id))

    async def delete_attachment(self, ticket_id: int, attachment_id: int, actor: Actor) -> Attachment:
        return await self._engine.write(lambda conn: attachments.delete(conn, ticket_id, attachment_id, actor))

    # Comments

    async def add_comment(self, ticket_id: int, body: str, actor: Actor) -> Comment:
        return await self._engine.write(lambda conn: comments.add_comment(conn, ticket_id, body, actor))

    # Planning: links, milestones, time

    async def link_tickets(
        self, ticket_id: int, kind: LinkKind, other_id: int, actor: Actor, *, close_as_duplicate: bool = False
    ) -> Linked:
        return await self._engine.write(
            lambda conn: links.link_tickets(conn, ticket_id, kind, other_id, actor, close_as_duplicate)
        )

    async def unlink_tickets(self, ticket_id: int, kind: LinkKind, other_id: int, actor: Actor) -> Linked:
        return await self._engine.write(lambda conn: links.unlink_tickets(conn, ticket_id, kind, other_id, actor))

    async def set_estimate_unit(self, project_id: str, unit: EstimateUnit, actor: Actor) -> Project:
        return await self._engine.write(lambda conn: projects.set_estimate_unit(conn, project_id, unit, actor))

    async def list_milestones(self, project_id: str, *, closed: bool = False) -> list[Milestone]:
        return await self._engine.read(lambda conn: milestones.list_milestones(conn, project_id, closed=closed))

    async def find_milestone(self, project_id: str, name: str, *, progress: bool = True) -> Milestone | None:
        return await self._engine.read(
            lambda conn: milestones.find_milestone(conn, project_id, name, progress=progress)
        )

    async def create_milestone(self, project_id: str, fields: MilestoneFields, actor: Actor) -> Milestone:
        return await self._engine.write(lambda conn: milestones.create_milestone(conn, project_id, fields, actor))

    async def update_milestone(
        self, milestone_id: int, fields: MilestoneFields, actor: Actor, *, open_tickets: OpenTickets | None = None
    ) -> Milestone:
        return await self._engine.write(
            lambda conn: milestones.update_milestone(conn, milestone_id, fields, actor, open_tickets)
        )

    async def log_time(self, ticket_id: int, entry: NewTimeEntry, actor: Actor) -> TimeEntry:
        return await self._engine.write(lambda conn: time_entries.log_time(conn, ticket_id, entry, actor))

    # Moving a ticket to another project

    async def move_to_project(
        self, ticket_id: int, project_id: str, actor: Actor, *, expected_version: int | None = None
    ) -> Relocation:
        return await self._engine.write(
            lambda conn: relocation.move_to_project(conn, ticket_id, project_id, expected_version, actor)
        )

    async def moved_ticket(self, project_id: str, number: int) -> Ticket | None:
        return await self._engine.lookup(lambda conn: relocation.moved_ticket(conn, project_id, number))

    # Webhooks

    async def create_webhook(self, webhook: NewWebhook, actor: Actor) -> Webhook:
        return await self._engine.write(lambda conn: hooks.create_webhook(conn, webhook, actor))

    async def list_webhooks(self, organization_ids: Sequence[str]) -> list[Webhook]:
        return await self._engine.read(lambda conn: hooks.list_webhooks(conn, organization_ids))

    async def find_webhook(self, webhook_id: int) -> Webhook | None:
        return await self._engine.read(lambda conn: hooks.find_webhook(conn, webhook_id))

    async def delete_webhook(self, webhook_id: int, actor: Actor) -> Webhook:
        return await self._engine.write(lambda conn: hooks.delete_webhook(conn, webhook_id, actor))

    async def enable_webhook(self, webhook_id: int, actor: Actor) -> Webhook:
        return await self._engine.write(lambda conn: hooks.enable_webhook(conn, webhook_id, actor))

    async def webhook_attempts(self, webhook_id: int, limit: int) -> list[WebhookAttempt]:
        return await self._engine.read(lambda conn: hooks.attempts(conn, webhook_id, limit))

    async def webhook_work(self, now: str) -> WebhookWork:
        return await self._engine.lookup(lambda conn: outbox.work(conn, now))

    async def queue_webhook_events(self, now: str, limit: int) -> int:
        return await self._engine.write(lambda conn: outbox.queue_events(conn, now, limit))

    async def claim_deliveries(self, now: str, lease_until: str, claim: str, limit: int) -> list[DueDelivery]:
        return await self._engine.write(lambda conn: outbox.claim(conn, now, lease_until, claim, limit))

    async def settle_delivery(self, delivery: DueDelivery, attempted: Attempted, schedule: Schedule) -> Settled:
        return await self._engine.write(lambda conn: outbox.settle(conn, delivery, attempted, schedule))
