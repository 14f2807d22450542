"""The Tracker: the one API the front ends call, bound to whoever is calling.

Inputs name things the way people and models do (project code or name, slug, username or "me");
a Tracker resolves them, checks permissions and validates, then answers with domain records or
raises from `tickets_mcp.errors`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tickets_mcp.core.access import Action
from tickets_mcp.domain import (
    ACTIVITY_SHOWN,
    HISTORY_SHOWN,
    Attachment,
    Board,
    Change,
    Comment,
    EstimateUnit,
    Linked,
    LinkKind,
    Milestone,
    Organization,
    Priority,
    Project,
    ProjectDeletion,
    Relocation,
    Scope,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    TicketSort,
    TicketType,
    TimeEntry,
    User,
    Workspace,
)
from tickets_mcp.domain.similarity import Filed
from tickets_mcp.errors import PermissionDenied, TrackerError

UNASSIGNED = "none"
ANYONE = "*"  # as an assignee filter: assigned to someone (ABF's assignee=*)
ME = "me"
BULK_MAX = 100  # tickets one create_tickets call files at most

Progress = Callable[[int, int, str], Awaitable[None]]
"""Told how far a long call has come: (done, total, what is happening)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user, maybe through a token, maybe through a named MCP client.

    A token may narrow what its user could do: `organization_id` confines it to one organization
    (organization and project tokens), `scopes` to what they name (organization keys), and
    `project_id` to filing tickets in one project (project tokens). None means no such limit.
    """

    user_id: int
    username: str
    token_id: int | None = None
    client: str | None = None
    organization_id: str | None = None
    scopes: frozenset[Scope] | None = None
    project_id: str | None = None
    # The tool sets this caller's token switched on (enable_tools), read with the token on each request.
    toolsets: frozenset[str] = frozenset()
    # The store's identity version the token was read at (Identified.version): what the store keeps of the
    # caller's reach at that version serves the rest of this request. None: read it again (the local user).
    identity_version: int | None = None


@dataclass(frozen=True, slots=True)
class TicketDraft:
    title: str
    project: str | None = None
    organization: str | None = None
    type: TicketType = TicketType.TASK
    description: str = ""
    priority: Priority = Priority.MEDIUM
    status: Status = Status.BACKLOG
    assignee: str | None = None
    labels: Sequence[str] = ()
    parent: str | None = None
    due_date: str | None = None  # YYYY-MM-DD, or words: today, tomorrow, friday, +3d, 2w
    estimate: float | None = None
    milestone: str | None = None  # a milestone's name in the ticket's project
    idempotency_key: str | None = None  # a retry with the same key gets the first ticket back
    # Without a key: return a look-alike open ticket (LikelyDuplicate) instead of filing this one.
    check_duplicates: bool = False


@dataclass(frozen=True, slots=True)
class MoveDraft:
    """One move of move_tickets: move_ticket's arguments."""

    slug: str
    status: Status
    before: str | None = None
    after: str | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """What create_tickets or move_tickets did, one outcome per item in order: the ticket, or why not.

    `atomic`: all were filed in one transaction, so either every outcome is a ticket or the call
    raised and nothing was filed. Otherwise (a remote API files one at a time) each stands alone.
    """

    atomic: bool
    outcomes: tuple[Ticket | TrackerError, ...]


@dataclass(frozen=True, slots=True)
class TicketChanges:
    """None leaves a field as it is; assignee, parent, due_date, estimate or milestone "none" clears it;
    labels replace the set."""

    title: str | None = None
    type: TicketType | None = None
    description: str | None = None
    priority: Priority | None = None
    status: Status | None = None
    assignee: str | None = None
    labels: Sequence[str] | None = None
    parent: str | None = None
    due_date: str | None = None
    estimate: float | str | None = None  # hours or points, or "none"
    milestone: str | None = None


@dataclass(frozen=True, slots=True)
class TicketFilter:
    project: str | None = None
    organization: str | None = None
    statuses: Sequence[Status] = ()
    types: Sequence[TicketType] = ()
    priorities: Sequence[Priority] = ()
    assignee: str | None = None  # a username, "me", "none" (unassigned) or "*" (assigned to anyone)
    reporter: str | None = None
    labels: Sequence[str] = ()
    parent: str | None = None
    milestone: str | None = None  # a milestone's name, or "none": in no milestone
    blocked: bool | None = None  # True: has an open blocker; False: has none
    blocking: bool | None = None  # True: blocks an open ticket; False: blocks none
    overdue: bool = False  # open and past its due date
    due_before: str | None = None  # on or before; a date or words, as TicketDraft.due_date
    due_after: str | None = None
    text: str | None = None
    updated_since: str | None = None
    sort: TicketSort = TicketSort.CREATED
    descending: bool = True
    limit: int = 50
    cursor: str | None = None
    # For APIs paged by offset (limit/offset, page/per_page); agents get the cursor instead.
    offset: int = 0
    # Count matches only up to this many (None: exactly). An exact count reads every matching index
    # entry, 2 ms per 50k tickets; an agent needs "more than 1,000", not the exact figure.
    count_limit: int | None = None


class Tracker(Protocol):
    """Everything a front end asks of a tracker. A remote tracker refuses what its API cannot do with
    Unsupported (remotes/base.py), so no front end needs to know which kind it holds."""

    async def workspace(self) -> Workspace: ...
    async def list_organizations(self) -> list[Organization]: ...
    async def list_projects(self, organization: str | None = None) -> list[Project]: ...
    async def create_project(
        self, name: str, *, code: str | None = None, description: str = "", organization: str | None = None
    ) -> Project: ...
    async def update_project(
        self,
        project: str,
        *,
        name: str | None = None,
        description: str | None = None,
        organization: str | None = None,
        default: bool | None = None,  # true: tickets filed in the organization without a project go here
    ) -> Project: ...
    async def project_deletion(self, project: str, *, organization: str | None = None) -> ProjectDeletion: ...
    async def delete_project(self, project: str, *, organization: str | None = None) -> ProjectDeletion: ...

    async def list_tickets(self, query: TicketFilter) -> TicketPage: ...
    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail: ...
    async def create_ticket(self, draft: TicketDraft) -> Filed:
        """The ticket filed, and the open tickets most like it the caller may read (maybe none)."""
        ...

    async def create_tickets(self, drafts: Sequence[TicketDraft], progress: Progress | None = None) -> Batch: ...
    async def update_ticket(self, slug: str, changes: TicketChanges, *, version: int | None = None) -> Ticket: ...
    async def move_ticket(
        self,
        slug: str,
        status: Status,
        *,
        before: str | None = None,
        after: str | None = None,
        version: int | None = None,
    ) -> Ticket: ...
    async def move_tickets(self, moves: Sequence[MoveDraft], progress: Progress | None = None) -> Batch: ...
    async def ticket_deletion(self, slug: str) -> TicketDeletion: ...
    async def delete_ticket(self, slug: str) -> TicketDeletion: ...
    async def move_to_project(self, slug: str, project: str, *, version: int | None = None) -> Relocation:
        """Move a ticket and its sub-tasks to another project of its organization (`project` is looked up
        there first); each gets a new number there, and its old slug keeps finding it."""
        ...

    async def get_board(
        self,
        project: str | None = None,
        *,
        per_column: int = 20,
        organization: str | None = None,
        milestone: str | None = None,
    ) -> Board: ...
    async def add_comment(self, slug: str, body: str) -> Comment: ...
    async def activity(self, project: str | None, *, limit: int = ACTIVITY_SHOWN) -> list[Change]: ...

    # Planning: links, milestones, estimates and time.
    async def link_tickets(
        self, slug: str, kind: LinkKind, other: str, *, unlink: bool = False, close_as_duplicate: bool = False
    ) -> Linked:
        """Link (or unlink) `slug` to `other` as `kind`, read from `slug` (`slug` blocked_by `other`)."""
        ...

    async def list_milestones(
        self, project: str | None = None, *, closed: bool = False, organization: str | None = None
    ) -> list[Milestone]: ...
    async def save_milestone(
        self,
        project: str | None,
        name: str,
        *,
        rename: str | None = None,
        start_date: str | None = None,  # a date, words, or "none" to unset
        due_date: str | None = None,
        closed: bool | None = None,
        open_tickets: str | None = None,  # closing one with open tickets: "keep", "none" or another milestone's name
        organization: str | None = None,
    ) -> Milestone:
        """Create the project's milestone `name`, or change the one that exists."""
        ...

    async def set_estimate_unit(
        self, project: str | None, unit: EstimateUnit, *, organization: str | None = None
    ) -> Project: ...
    async def log_time(self, slug: str, hours: float, *, spent_on: str | None = None, note: str = "") -> TimeEntry: ...

    # Attachments: files on tickets, typed by their bytes, within the limits domain/files.py reads.
    async def attach_file(self, slug: str, name: str, content: bytes) -> Attachment:
        """Attach `content` to the ticket as `name` (cleaned); TooLarge past the file limit, Conflict past the
        organization's quota."""
        ...

    async def attachment(self, slug: str, attachment_id: int) -> tuple[Attachment, bytes]:
        """The ticket's attachment `attachment_id` and its bytes."""
        ...

    async def delete_attachment(self, slug: str, attachment_id: int) -> Attachment: ...

    # What front ends ask to shape what they show: which tools and controls, how to name things back.
    async def permitted_actions(self, project_id: str | None = None) -> frozenset[Action]:
        """What the caller may do somewhere (which tools to list), or in one project (which controls a page shows)."""
        ...

    async def refusal_to_change(self, ticket: Ticket) -> PermissionDenied | None:
        """The refusal an update of `ticket` would raise, or None: for a change that turns out to change nothing."""
        ...

    async def project_reference(self, project: Project) -> str:
        """How the caller names `project` back (WEB, or acme:WEB where it sees WEB in several organizations)."""
        ...

    async def users_named(self, usernames: Sequence[str]) -> list[User]:
        """These users, members of the caller's organizations or not (the former reporters of tickets it read)."""
        ...
