"""The Store port: what LocalTracker needs from a database, in the canonical model's terms.

A store resolves nothing by fuzzy name and checks no permission; LocalTracker does that. A store
guarantees atomicity: each mutating method runs in one transaction together with its audit event,
and ticket numbers are allocated inside that transaction, so they are gap-free and never reused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    Priority,
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
    TicketSort,
    TicketType,
    TimeEntry,
    Token,
    TokenKind,
    User,
)
from tickets_mcp.domain.audit import Recorded
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
class Identified:
    """A token found by its digest (revoked or not), its user, and the identity version they were read at."""

    token: Token
    user: User
    version: int


@dataclass(frozen=True, slots=True)
class BoardSession:
    """A logged-in board session's token (revoked or not, as `Store.authenticate` reads it) and user."""

    token: Token
    user: User
    token_digest: str  # the token's stored digest: the key of the rate limit its MCP and REST calls share


@dataclass(frozen=True, slots=True)
class OAuthCode:
    """An authorization code as stored (by digest): whose consent, for which client, and what it was asked."""

    client_id: str
    user_id: int
    request: str  # JSON: the authorization request's scopes, redirect URI, PKCE challenge and resource
    expires_at: str
    grant_id: int | None  # the grant its first redemption created; set means a second one is a replay


@dataclass(frozen=True, slots=True)
class OAuthPair:
    """The access and refresh token a grant hands its client at once, by digest."""

    client_id: str
    scopes: frozenset[Scope]
    resource: str | None
    access_hash: str
    access_expires_at: str
    refresh_hash: str
    refresh_expires_at: str
    # Narrower than `scopes` when a refresh asked for less: the new refresh token keeps the grant's (RFC 6749 §6).
    access_scopes: frozenset[Scope] | None = None


@dataclass(frozen=True, slots=True)
class OAuthRefresh:
    """A refresh token as stored: its grant, and whether it was spent already (its reuse revokes the grant)."""

    grant_id: int
    client_id: str
    scopes: frozenset[Scope]
    resource: str | None
    expires_at: str
    spent: bool


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
    due_date: str | None = None  # YYYY-MM-DD
    estimate: float | None = None
    milestone_id: int | None = None
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


PATCHABLE = frozenset({
    "title", "type", "description", "status", "priority", "assignee_id", "parent_id",
    "due_date", "estimate", "milestone_id",
})  # fmt: skip


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
    milestone_id: int | None = None
    no_milestone: bool = False  # only tickets in no milestone
    blocked: bool | None = None  # True: has an open blocker; False: has none
    blocking: bool | None = None  # True: open and blocks another open ticket; False: does not
    overdue_on: str | None = None  # only open tickets due before this day (today, YYYY-MM-DD)
    due_before: str | None = None  # due on or before this day
    due_after: str | None = None  # due on or after this day
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
class MilestoneFields:
    """A milestone's fields to set; None leaves one as it is (on create: unset). `clear_*` unsets a date."""

    name: str | None = None
    start_date: str | None = None
    due_date: str | None = None
    closed: bool | None = None
    clear_start: bool = False
    clear_due: bool = False


@dataclass(frozen=True, slots=True)
class OpenTickets:
    """What closing a milestone does with its open tickets: keep them in it, take them out of any
    (`to` None, `keep` False), or move them to the milestone `to`."""

    keep: bool = False
    to: int | None = None


@dataclass(frozen=True, slots=True)
class NewTimeEntry:
    hours: float
    spent_on: str  # YYYY-MM-DD
    note: str = ""


@dataclass(frozen=True, slots=True)
class NewAttachment:
    """A file to attach, checked and typed by LocalTracker: a store keeps its bytes once per `sha256`."""

    name: str
    mime: str
    content: bytes
    sha256: str  # of `content`, in hex
    quota: int  # the bytes its organization's attachments may add up to, this one included


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

    # Changes, for whoever watches them (core/changes.py)
    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener` after each write this store commits, on the task that wrote."""
        ...

    async def last_event_id(self) -> int:
        """The id of the audit trail's latest entry; 0 when it has none."""
        ...

    async def events_after(self, cursor: int, missing: Sequence[int], limit: int) -> list[Recorded]:
        """The trail's first `limit` entries after id `cursor`, with those of `missing` that are now
        committed, by id."""
        ...

    # Identity
    async def ensure_user(self, username: str, name: str) -> User: ...
    async def find_user(self, username: str) -> User | None: ...
    async def find_users(self, usernames: Sequence[str]) -> list[User]:
        """The users with these usernames, in one read; names nobody has are left out."""
        ...

    async def memberships(self, user_id: int) -> dict[str, Role]: ...
    async def reach(self, user_id: int, organization_id: str | None = None, *, version: int | None = None) -> Reach:
        """The user's memberships with their organizations and projects; or only `organization_id`'s. `version`:
        the identity version this request's token was read at (Identified.version), which spares reading
        it again; without one, it is read first."""
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
    async def authenticate(self, digest: str) -> Identified | None:
        """The token with this digest, revoked or not, from the cache while the identity version stands."""
        ...

    async def switch_on_toolsets(self, token_id: int, toolsets: frozenset[str]) -> frozenset[str]:
        """Add `toolsets` (tool set names a caller may switch on) to those the token's callers switched on, which
        `authenticate` reads back as Token.toolsets; returns them all. Invalid for an unknown name, NotFound for a
        token unknown or revoked. One row per token at most; revoking the token forgets them."""
        ...

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

    # OAuth 2.1 (core/oauth.py): registered clients, codes and token pairs, by digest
    async def register_oauth_client(
        self, client_id: str, document: str, *, unused_limit: int, unused_since: str
    ) -> bool:
        """Keep a dynamically registered client; False when `unused_limit` registrations since `unused_since`
        are still unused (older unused ones are forgotten)."""
        ...

    async def oauth_client(self, client_id: str) -> str | None:
        """A dynamically registered client's metadata document (JSON), or None."""
        ...

    async def save_oauth_code(
        self, code_hash: str, client_id: str, user_id: int, request: str, expires_at: str
    ) -> None: ...
    async def oauth_code(self, code_hash: str) -> OAuthCode | None:
        """An unexpired code, redeemed or not."""
        ...

    async def redeem_oauth_code(self, code_hash: str, grant: NewToken, pair: OAuthPair, actor: Actor) -> Token | None:
        """Create the grant and its first pair, once: None when the code was redeemed already or is gone."""
        ...

    async def oauth_refresh(self, refresh_hash: str) -> OAuthRefresh | None:
        """An unexpired refresh token, spent or not."""
        ...

    async def rotate_oauth_refresh(self, refresh_hash: str, pair: OAuthPair) -> bool:
        """Spend the refresh token and store the pair replacing it; False if it was spent or its grant revoked."""
        ...

    async def oauth_grant_of(self, token_hash: str) -> int | None:
        """The grant (its token id) an access or refresh token belongs to."""
        ...

    async def oauth_access(self, access_hash: str) -> tuple[Token, User, frozenset[Scope], str] | None:
        """An unexpired access token's grant (revoked or not), user, scopes and client id."""
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

    async def board(self, project: Project, per_column: int, milestone_id: int | None = None) -> Board:
        """The project's columns, or only its milestone `milestone_id`'s tickets in them."""
        ...

    async def project_activity(self, project_id: str, limit: int) -> list[Change]:
        """The project's latest `limit` audit entries (tickets, comments, the project itself), newest first."""
        ...

    # Comments
    async def add_comment(self, ticket_id: int, body: str, actor: Actor) -> Comment: ...

    # Planning: links, milestones, time. LocalTracker resolves and authorizes; a store keeps the rules that
    # need its transaction (a cycle of blocks, a name taken) and records each change in the audit trail.
    async def link_tickets(
        self, ticket_id: int, kind: LinkKind, other_id: int, actor: Actor, *, close_as_duplicate: bool = False
    ) -> Linked:
        """Link `ticket_id` to `other_id` as `kind` (read from the first; kept once, in `kind.stored`'s direction).
        Linking again is no change. A `blocks` link that closes a cycle of blocks is Invalid. With
        `close_as_duplicate` (kind duplicates), an open ticket is also moved to canceled, in the same transaction."""
        ...

    async def unlink_tickets(self, ticket_id: int, kind: LinkKind, other_id: int, actor: Actor) -> Linked:
        """Remove that link; NotFound when there is none."""
        ...

    async def set_estimate_unit(self, project_id: str, unit: EstimateUnit, actor: Actor) -> Project: ...
    async def list_milestones(self, project_id: str, *, closed: bool = False) -> list[Milestone]:
        """The project's milestones with their progress: open ones by due date (none last) then name; with
        `closed`, the closed ones as well, after."""
        ...

    async def find_milestone(self, project_id: str, name: str, *, progress: bool = True) -> Milestone | None:
        """The project's milestone of this name, case-insensitively, with its progress (without `progress`, its
        counts are left at 0: counting reads every ticket of the milestone)."""
        ...

    async def create_milestone(self, project_id: str, fields: MilestoneFields, actor: Actor) -> Milestone:
        """A Conflict when the project has one of that name."""
        ...

    async def update_milestone(
        self, milestone_id: int, fields: MilestoneFields, actor: Actor, *, open_tickets: OpenTickets | None = None
    ) -> Milestone:
        """Closing one that holds open tickets needs `open_tickets` (Invalid without it, naming the count)."""
        ...

    async def log_time(self, ticket_id: int, entry: NewTimeEntry, actor: Actor) -> TimeEntry:
        """Record time spent; the ticket's `spent` grows by it (its version does not change)."""
        ...

    # Attachments: files on tickets, each distinct content stored once (a blob, by its SHA-256). Deleting a
    # ticket deletes its attachments and its sub-tasks'; a blob goes in the transaction that drops its last
    # attachment, and an organization's use (its attachments' sizes added up) follows every change.
    async def attach_file(self, ticket_id: int, new: NewAttachment, actor: Actor) -> Attachment:
        """Attach `new`; a Conflict, naming the quota and the use, when its organization's attachments would
        then add up to more than `new.quota` (checked in the same transaction, so two at once cannot both pass)."""
        ...

    async def find_attachment(self, ticket_id: int, attachment_id: int) -> Attachment | None:
        """The ticket's attachment `attachment_id`, without its bytes."""
        ...

    async def read_attachment(self, ticket_id: int, attachment_id: int) -> tuple[Attachment, bytes]:
        """The ticket's attachment and its bytes; NotFound when the ticket has none of that id."""
        ...

    async def delete_attachment(self, ticket_id: int, attachment_id: int, actor: Actor) -> Attachment:
        """Delete the ticket's attachment (NotFound when it has none of that id); its blob goes with its last one."""
        ...

    # Moving a ticket to another project of its organization (stores/sql/relocation.py).
    async def move_to_project(
        self, ticket_id: int, project_id: str, actor: Actor, *, expected_version: int | None = None
    ) -> Relocation:
        """Move the ticket and its sub-tasks to `project_id` in one transaction: each takes that project's next
        number and lands last in its column, keeps its labels by name (created there where missing) and leaves
        its milestone behind, as the ticket leaves a parent that stays. Each old slug keeps finding its ticket
        (`moved_ticket`) until the ticket is deleted. Invalid when the ticket is in that project already."""
        ...

    async def moved_ticket(self, project_id: str, number: int) -> Ticket | None:
        """The ticket that was number `number` of the project before it moved to another, wherever it is now."""

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
