"""The Store port: what LocalTracker needs from a database, in the canonical model's terms.

A store resolves nothing by fuzzy name and checks no permission; LocalTracker does that. A store
guarantees atomicity: each mutating method runs in one transaction together with its audit event,
and ticket numbers are allocated inside that transaction, so they are gap-free and never reused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tickets_mcp.domain import (
    HISTORY_SHOWN,
    Board,
    Change,
    Comment,
    Member,
    Organization,
    Priority,
    Project,
    ProjectDeletion,
    Role,
    Scope,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    TicketSort,
    TicketType,
    Token,
    TokenKind,
    User,
)
from tickets_mcp.domain.similarity import Filed
from tickets_mcp.domain.webhooks import EventType, Outcome, Schedule, TicketEvent, Webhook, WebhookAttempt


@dataclass(frozen=True, slots=True)
class Actor:
    """Who causes a change, as the audit trail records it."""

    user_id: int | None
    token_id: int | None = None
    client: str | None = None


@dataclass(frozen=True, slots=True)
class Reach:
    """What one caller can see, read in one snapshot: its memberships, their organizations and projects."""

    roles: Mapping[str, Role]  # organization id -> role; empty when asked for one organization by id
    organizations: Sequence[Organization]  # by name
    projects: Sequence[Project]  # by name, without ticket counts
    defaults: Mapping[str, str]  # organization id -> its default project's id, for calls that name no project


@dataclass(frozen=True, slots=True)
class NewProject:
    organization_id: str
    name: str
    code: str
    description: str


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token to store: its hash, never the token itself."""

    kind: TokenKind
    name: str
    hash: str
    prefix: str
    user_id: int
    organization_id: str | None = None
    project_id: str | None = None
    scopes: frozenset[Scope] = frozenset()


@dataclass(frozen=True, slots=True)
class BoardSession:
    """A logged-in board session's token (revoked or not, as `Store.authenticate` reads it) and user."""

    token: Token
    user: User
    token_digest: str  # the token's stored digest: the key of the rate limit its MCP and REST calls share


@dataclass(frozen=True, slots=True)
class NewTicket:
    project_id: str
    type: TicketType
    title: str
    description: str
    status: Status
    priority: Priority
    assignee_id: int | None
    reporter_id: int | None
    labels: tuple[str, ...]
    parent_id: int | None
    # Filing again with the same key (by the same token or user) answers with the ticket filed the
    # first time instead of filing another; the same key with other fields is a Conflict.
    idempotency_key: str | None = None
    # Refuse with LikelyDuplicate when an open ticket of the project looks the same (checked in the
    # filing transaction, so two look-alikes sent at once do not both get through).
    check_duplicates: bool = False


@dataclass(frozen=True, slots=True)
class TicketPatch:
    """Fields to change, by name in `PATCHABLE`; a field left out stays as it is. `labels` None keeps the labels."""

    values: Mapping[str, Any] = field(default_factory=dict[str, Any])
    labels: tuple[str, ...] | None = None


PATCHABLE = frozenset({"title", "type", "description", "status", "priority", "assignee_id", "parent_id"})


@dataclass(frozen=True, slots=True)
class TicketQuery:
    """A resolved ticket filter: ids, not names."""

    project_ids: Sequence[str]
    statuses: Sequence[Status] = ()
    types: Sequence[TicketType] = ()
    priorities: Sequence[Priority] = ()
    assignee_id: int | None = None
    unassigned: bool = False
    assigned: bool = False  # to anyone (ABF's assignee=*)
    reporter_id: int | None = None
    labels: Sequence[str] = ()
    parent_id: int | None = None
    text: str | None = None
    updated_since: str | None = None
    since_written: str | None = None  # `1h` as the caller wrote it: a cursor continues only the same words
    sort: TicketSort = TicketSort.CREATED
    descending: bool = True
    limit: int = 50
    cursor: str | None = None
    offset: int = 0
    count_limit: int | None = None  # stop counting matches here (None: count them all)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a moved ticket lands in its column: right before or right after another ticket, or last."""

    before_id: int | None = None
    after_id: int | None = None


@dataclass(frozen=True, slots=True)
class Move:
    """One move of move_tickets: a ticket to a column, placed there, if still at `expected_version`."""

    ticket_id: int
    status: Status
    placement: Placement = Placement()
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class PoolUsage:
    """A snapshot of a store's connection pool, for metrics."""

    in_use: int  # connections lent to a query right now
    idle: int  # open connections waiting in the pool
    max_size: int  # the most connections the pool opens
    waiting: int  # callers queued for a connection


@dataclass(frozen=True, slots=True)
class NewWebhook:
    organization_id: str
    url: str
    secret: str = field(repr=False)
    events: frozenset[EventType]
    description: str


@dataclass(frozen=True, slots=True)
class WebhookWork:
    """What a dispatcher would find to do now, read without writing: new audit entries to queue for the active
    hooks, and deliveries due for hooks that are not backing off."""

    events: bool
    deliveries: bool


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A delivery a dispatcher has claimed until its lease ends: what to send, where, signed with what."""

    id: int
    claim: str  # the dispatcher's mark: settling it counts only while the delivery still bears it
    webhook_id: int
    url: str
    secret: str = field(repr=False)
    attempt: int  # this attempt's number: 1 for the first
    event: TicketEvent


@dataclass(frozen=True, slots=True)
class Attempted:
    """How one attempt at a DueDelivery went."""

    started_at: str
    ended_at: str
    status: int | None  # the receiver's HTTP status, if it answered
    error: str | None  # None: delivered
    duration_ms: int
    jitter: float  # in [0, 1]: how much of the next wait, if any, is kept (see Schedule.wait)


@dataclass(frozen=True, slots=True)
class Settled:
    outcome: Outcome
    disabled: str | None = None  # why the hook was disabled, when this attempt did it


class Store(Protocol):
    async def close(self) -> None: ...

    # Operations
    async def ping(self) -> None:
        """Answer one trivial query the way reads are answered; raise BackendUnavailable, with a reason that
        names no secret, when the database cannot serve requests."""
        ...

    def pool_usage(self) -> PoolUsage: ...

    # Identity
    async def ensure_user(self, username: str, name: str) -> User: ...
    async def find_user(self, username: str) -> User | None: ...
    async def find_users(self, usernames: Sequence[str]) -> list[User]:
        """The users with these usernames, in one read; names nobody has are left out."""
        ...

    async def memberships(self, user_id: int) -> dict[str, Role]: ...
    async def reach(self, user_id: int, organization_id: str | None = None) -> Reach:
        """The user's memberships with their organizations and projects; or only `organization_id`'s."""
        ...

    async def members(self, organization_id: str) -> list[Member]: ...
    async def ensure_local_workspace(self, owner: User, organization: str, project: str, code: str) -> None: ...

    # Organizations, members and tokens
    async def all_organizations(self) -> list[Organization]: ...
    async def create_organization(self, name: str, owner: User, actor: Actor) -> Organization: ...
    async def set_member(self, organization_id: str, user: User, role: Role, actor: Actor) -> Member: ...
    async def remove_member(self, organization_id: str, user: User, actor: Actor) -> None: ...
    async def set_default_project(self, project: Project, actor: Actor) -> None:
        """Make `project` its organization's default project (NotFound if it is gone)."""
        ...

    async def create_token(self, token: NewToken, actor: Actor) -> Token: ...
    async def list_tokens(self) -> list[Token]: ...
    async def revoke_token(self, token_id: int, actor: Actor) -> Token: ...
    # The token, revoked or not, with its creator's role read in the same query, and its user.
    async def authenticate(self, digest: str) -> tuple[Token, User] | None: ...

    # Board sessions, by the digest of the cookie's secret: in the store, so every replica sees a logout.
    async def start_session(self, session_digest: str, token_id: int, expires_at: str) -> None:
        """Record a session (and forget expired ones)."""
        ...

    async def board_session(self, session_digest: str) -> BoardSession | None:
        """The unexpired session with this digest, read with its token and user in one indexed query."""
        ...

    async def end_session(self, session_digest: str) -> None:
        """Forget a session (logout); nothing happens for one that is gone already."""
        ...

    # Projects
    async def list_organizations(self, ids: Sequence[str]) -> list[Organization]: ...
    async def project_codes(self, organization_id: str) -> set[str]: ...
    async def list_projects(
        self, organization_ids: Sequence[str], *, counts: bool = True, labels: bool = False
    ) -> list[Project]:
        """The organizations' projects by name; `counts` their tickets, `labels` the labels in use."""
        ...

    async def create_project(self, project: NewProject, actor: Actor) -> Project: ...
    async def update_project(
        self, project_id: str, *, name: str | None, description: str | None, actor: Actor
    ) -> Project: ...
    async def project_deletion(self, project_id: str) -> ProjectDeletion: ...
    async def delete_project(self, project_id: str, actor: Actor) -> ProjectDeletion: ...

    # Tickets
    async def find_ticket(self, project_id: str, number: int) -> Ticket | None: ...
    async def list_tickets(self, query: TicketQuery) -> TicketPage: ...
    async def ticket_detail(self, ticket_id: int, history: int = HISTORY_SHOWN) -> TicketDetail:
        """A ticket with its sub-tasks, comments and latest `history` changes (and how many there are)."""
        ...

    async def create_ticket(self, ticket: NewTicket, actor: Actor) -> Filed:
        """File `ticket`, naming the project's open tickets most like it (none for a replayed key)."""
        ...

    async def create_tickets(self, new: Sequence[NewTicket], actor: Actor) -> list[Ticket]:
        """File all of `tickets` in one transaction, in order: every one, or (on any failure) none."""
        ...

    async def update_ticket(
        self, ticket_id: int, patch: TicketPatch, *, expected_version: int | None, actor: Actor
    ) -> Ticket: ...
    async def move_ticket(
        self,
        ticket_id: int,
        status: Status,
        placement: Placement,
        *,
        expected_version: int | None,
        actor: Actor,
    ) -> Ticket: ...
    async def move_tickets(self, moves: Sequence[Move], actor: Actor) -> list[Ticket]:
        """Every move in one transaction, in order: all of them, or (on any failure) none."""
        ...

    async def ticket_deletion(self, ticket_id: int) -> TicketDeletion: ...
    async def delete_ticket(self, ticket_id: int, actor: Actor) -> TicketDeletion: ...
    async def ticket_deleted(self, project_id: str, slug: str) -> Change | None:
        """The audit entry of the deletion of the project's ticket `slug`, if it was deleted itself (a sub-task
        goes with its parent, unnamed)."""
        ...

    async def board(self, project: Project, per_column: int) -> Board: ...

    async def project_activity(self, project_id: str, limit: int) -> list[Change]:
        """The project's latest `limit` audit entries (tickets, comments, the project itself), newest first."""
        ...

    # Comments
    async def add_comment(self, ticket_id: int, body: str, actor: Actor) -> Comment: ...

    # Webhooks: the hooks owners and admins make (LocalWebhooks checks who may), then what dispatchers ask
    async def create_webhook(self, webhook: NewWebhook, actor: Actor) -> Webhook: ...
    async def list_webhooks(self, organization_ids: Sequence[str]) -> list[Webhook]: ...
    async def find_webhook(self, webhook_id: int) -> Webhook | None: ...
    async def delete_webhook(self, webhook_id: int, actor: Actor) -> Webhook: ...
    async def enable_webhook(self, webhook_id: int, actor: Actor) -> Webhook:
        """Clear a hook's failures and backoff; a disabled hook is active again, for events from now on."""
        ...

    async def webhook_attempts(self, webhook_id: int, limit: int) -> list[WebhookAttempt]:
        """The hook's latest `limit` delivery attempts, newest first."""
        ...

    async def webhook_work(self, now: str) -> WebhookWork:
        """Whether a dispatcher has anything to do; a read, so an idle dispatcher writes nothing."""
        ...

    async def queue_webhook_events(self, now: str, limit: int) -> int:
        """Queue a delivery of each of the next `limit` audit entries (at most), and of entries found since that
        were missing before, for every active hook that wants it; how many entries were read. A second dispatcher
        at it meanwhile reads none."""
        ...

    async def claim_deliveries(self, now: str, lease_until: str, claim: str, limit: int) -> list[DueDelivery]:
        """Take up to `limit` due deliveries until `lease_until`: no other dispatcher takes them before then."""
        ...

    async def settle_delivery(self, delivery: DueDelivery, attempted: Attempted, schedule: Schedule) -> Settled:
        """Record an attempt: log it; delivered, forget it; failed, schedule the next one (or give up on it), back
        the hook off, and disable it after `schedule.disable_after` failures in a row."""
        ...
