"""Domain records: what the tracker returns, whatever store or backend holds the data."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tickets_mcp.domain.enums import (
    Capability,
    EstimateUnit,
    LinkKind,
    Priority,
    Role,
    Scope,
    Status,
    TicketType,
    TokenKind,
)

KEY_GRANTOR = Role.ADMIN  # the least role that may make an organization key or project token, and keep it working


class Record(BaseModel):
    # defer_build: each model's validator is built when it is first used, not when this module is
    # imported; the stdio server starts about 10 ms sooner, and a model a session never uses costs nothing.
    model_config = ConfigDict(frozen=True, defer_build=True)


class Organization(Record):
    id: str
    name: str
    slug: str


class User(Record):
    id: int
    username: str
    name: str


class Member(Record):
    user: User
    role: Role


class LabelUse(Record):
    """One of a project's labels and how many of its tickets, open or closed, carry it."""

    name: str
    tickets: int


class Project(Record):
    id: str
    organization_id: str
    name: str
    code: str
    description: str
    created_at: str
    # None when the store was asked for the project without counting its tickets.
    tickets_count: int | None = None
    open_tickets_count: int | None = None
    # The stable integer seeds 001 and 002 name a project by (never reused); None from a remote tracker.
    number: int | None = None
    # Its organization's default project: where a ticket filed naming the organization but no project goes.
    default: bool = False
    # The labels its tickets carry, the most used first; None when the store was not asked for them.
    # Left out of documents: the workspace context shows them, the REST APIs keep their shape.
    labels: tuple[LabelUse, ...] | None = Field(default=None, exclude=True)
    # What its tickets' estimates count (one unit per project).
    estimate_unit: EstimateUnit = EstimateUnit.HOURS


class Token(Record):
    """A token as listed: never its secret, only the prefix it starts with."""

    id: int
    kind: TokenKind
    name: str
    prefix: str
    user: str | None
    organization_id: str | None
    project_id: str | None
    scopes: frozenset[Scope]
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    # The user's role, now, in the organization the token is for (None when not a member, or for none).
    creator_role: Role | None = None
    # The tool sets its callers switched on with enable_tools (by name), listed to them on every replica.
    toolsets: frozenset[str] = frozenset()

    @property
    def ungranted_reason(self) -> str | None:
        """Why this token no longer works though never revoked, or None while it may.

        An organization key or project token acts for its creator, so it works only while they hold
        KEY_GRANTOR in its organization, the role it took to make it. A personal token or an OAuth grant acts
        as its user, whose role already limits it.
        """
        if self.kind in (TokenKind.PERSONAL, TokenKind.GRANT) or (
            self.creator_role and self.creator_role.may_act_as(KEY_GRANTOR)
        ):
            return None
        return "its creator is no longer an owner or admin of its organization, so may no longer grant it"


class Label(Record):
    name: str
    color: str


class NewLabels(Record):
    """The labels a write created in its ticket's project, in the order given, and the ones the project had
    (the most used first): a new label is often a misspelt old one."""

    names: tuple[str, ...]
    had: tuple[LabelUse, ...]


class Ticket(Record):
    id: int
    project_id: str
    number: int
    slug: str
    type: TicketType
    title: str
    description: str
    status: Status
    priority: Priority
    assignee: str | None
    reporter: str | None
    labels: tuple[Label, ...]
    parent: str | None
    position: int
    version: int
    created_at: str
    updated_at: str
    closed_at: str | None
    closed_by: str | None
    project_number: int | None = None  # its project's Project.number, for the seed dialects
    due_date: str | None = None  # YYYY-MM-DD
    estimate: float | None = None  # in its project's estimate_unit
    spent: float = 0  # hours logged on it, in all
    milestone: str | None = None  # its milestone's name (one of its project's)
    blocked_by: tuple[str, ...] = ()  # the slugs of the open tickets that block it, by slug
    # What the write that returned it did to its project's labels (None: created none); never stored or sent.
    new_labels: NewLabels | None = Field(default=None, exclude=True)


class Link(Record):
    """A link of a ticket to another, read from the ticket it is listed on: `kind` says what this one is to `slug`."""

    kind: LinkKind
    slug: str
    title: str
    status: Status


class Linked(Record):
    """What link_tickets and unlink_tickets leave: the ticket (closed, when marked a duplicate) and its links."""

    ticket: Ticket
    links: tuple[Link, ...]


class TimeEntry(Record):
    """Time spent on a ticket: who, how many hours, on which day."""

    id: int
    ticket_slug: str
    user: str | None
    hours: float
    spent_on: str  # YYYY-MM-DD
    note: str
    created_at: str


class Milestone(Record):
    """One of a project's iterations, versions or sprints, with its tickets' progress."""

    id: int
    project_id: str
    name: str
    start_date: str | None  # YYYY-MM-DD
    due_date: str | None
    closed: bool
    open_tickets: int = 0
    done_tickets: int = 0  # done (canceled ones count in total only)
    total_tickets: int = 0
    overdue_tickets: int = 0  # open tickets past their own due date, or past the milestone's when they have none


class Attachment(Record):
    """A file attached to a ticket; its bytes are read on their own (Tracker.attachment)."""

    id: int
    ticket_slug: str
    name: str  # as cleaned when attached: one segment, no control characters (domain/files.py)
    mime: str  # read from its bytes, never taken from the uploader
    size: int | None  # bytes; None where the tracker tells it only with the bytes (GitLab's listing)
    sha256: str  # of its bytes, in hex: the same bytes attached again are stored once ("" where not known)
    uploader: str | None
    created_at: str


class Comment(Record):
    id: int
    ticket_slug: str
    author: str | None
    body: str
    created_at: str


HISTORY_SHOWN = 20  # entries of a ticket's history that REST shows, the latest, unless asked for more
HISTORY_BRIEF = 5  # what get_ticket shows a model: the latest few, with the count and how to see more
HISTORY_MAX = 500  # the most it shows in one reply
ACTIVITY_SHOWN = 50  # entries of a project's activity shown, the latest


class Change(Record):
    """One entry of a ticket's history: who did what, when, through which token and MCP client."""

    at: str
    actor: str | None  # username
    token: str | None  # the token's name, when the change came through one
    client: str | None  # the MCP client's name, as it introduced itself
    action: str  # ticket.created, ticket.updated, ticket.moved, comment.added, ...
    changes: dict[str, Any]  # field -> [old, new] (or a note, e.g. description: "edited")
    subject: str = ""  # what it was done to: a ticket's slug, a project's code


class TicketDetail(Record):
    """A ticket with what hangs off it: sub-tasks, comments and its latest history (`changes` in all)."""

    ticket: Ticket
    subtasks: tuple[Ticket, ...]
    comments: tuple[Comment, ...]
    history: tuple[Change, ...] = ()  # oldest first, the latest HISTORY_SHOWN (or as many as asked) at most
    changes: int = 0
    links: tuple[Link, ...] = ()  # by kind, then slug
    time_entries: tuple[TimeEntry, ...] = ()  # oldest first
    estimate_unit: EstimateUnit = EstimateUnit.HOURS  # what its project's estimates count
    attachments: tuple[Attachment, ...] = ()  # oldest first
    moved_from: tuple[str, ...] = ()  # the slugs it had in other projects, oldest first: each still finds it


class Relocation(Record):
    """What moving a ticket to another project did: the ticket under its new slug, and what moved with it or
    stayed behind. Its old slug (and its sub-tasks') still find it."""

    ticket: Ticket  # `new_labels`: the labels the move created in the new project, with those it had
    moved_from: str  # the slug it had
    subtasks: dict[str, str] = Field(default_factory=dict[str, str])  # moved along: old slug -> new slug
    parent: str | None = None  # its parent, which stayed in the old project: the ticket has none now
    milestone: str | None = None  # its milestone, one of the old project's: it is in none now


class Snippet(Record):
    """Where a text query's words were found in a listed ticket when its title does not hold them all."""

    field: str  # description or comment
    text: str  # a few words around the first hit, "…" where cut, as written (line breaks and all)


class TicketPage(Record):
    tickets: tuple[Ticket, ...]
    total: int
    next_cursor: str | None
    total_capped: bool = False  # counting stopped at the query's count_limit: `total` is a lower bound
    # The text search ran out of its time budget: the page holds what it found, `total` is a lower bound.
    search_stopped: bool = False
    # A text query's snippets, by ticket id, for the page's tickets whose titles do not say why they match.
    snippets: dict[int, Snippet] = Field(default_factory=dict[int, Snippet])
    # What the page is sorted on, each key then the next that breaks its ties (`updated desc`, `created desc`);
    # empty when the backend does not say.
    order: tuple[str, ...] = ()


class BoardColumn(Record):
    status: Status
    total: int
    tickets: tuple[Ticket, ...]


class Board(Record):
    project: Project
    columns: tuple[BoardColumn, ...]
    milestone: str | None = None  # shows only this milestone's tickets


class OrganizationWorkspace(Record):
    organization: Organization
    role: Role
    projects: tuple[Project, ...]
    members: tuple[Member, ...]


class Workspace(Record):
    """Everything an agent needs to start: where it may file tickets and which values are valid."""

    user: User
    organizations: tuple[OrganizationWorkspace, ...]
    backend: str = "local"  # the tracker behind the tools: local, or a remote API's name
    missing: frozenset[Capability] = frozenset()  # what that backend cannot do


class TicketDeletion(Record):
    """What deleting a ticket takes with it."""

    slug: str
    subtasks: tuple[str, ...]
    comments: int
    links: int = 0  # links to tickets outside what is deleted, removed with it
    attachments: int = 0  # files attached to it and its sub-tasks


class ProjectDeletion(Record):
    """What deleting a project takes with it; a project that holds tickets is never deleted."""

    project: Project
    tickets: int
    labels: int
