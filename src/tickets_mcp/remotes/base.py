"""What every remote adapter shares: the HTTP client, its capabilities, and refusals for what its API lacks.

An adapter subclasses RemoteTracker, declares in `maps` the capabilities its API offers, and overrides
the Tracker methods those need. Every other capability is `missing`, new ones included: a Capability
added later is refused by every adapter until it says it maps it, never claimed by one written before.
A method an adapter does not override refuses with Unsupported, naming the backend and the missing
capability, and so does a draft, change or filter naming a field whose capability is missing (a due
date, a milestone...): a tool never silently does nothing.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any, ClassVar, NoReturn, TypeVar

import anyio

from tickets_mcp.core.access import Action
from tickets_mcp.core.tracker import BULK_MAX, Batch, MoveDraft, Progress, TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    ACTIVITY_SHOWN,
    CLOSED_STATUSES,
    HISTORY_SHOWN,
    Attachment,
    Board,
    Capability,
    Change,
    Comment,
    EstimateUnit,
    Linked,
    LinkKind,
    Milestone,
    Organization,
    Project,
    ProjectDeletion,
    Relocation,
    Status,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    TicketSort,
    TimeEntry,
    User,
    Workspace,
)
from tickets_mcp.domain.rules import idempotency_key, key_reused
from tickets_mcp.domain.similarity import Filed, likely_duplicate, look_alike, words
from tickets_mcp.errors import BackendUnavailable, Invalid, PermissionDenied, RateLimited, TrackerError, Unsupported
from tickets_mcp.remotes.client import RemoteClient

Item = TypeVar("Item")

log = logging.getLogger(__name__)

# The capability each optional field needs: a draft or change naming one, or a filter on one, is refused where
# that capability is missing (a filter is named when it differs from TicketFilter's default).
FIELD_NEEDS: Mapping[str, Capability] = {
    "parent": Capability.SUBTASKS,
    "due_date": Capability.DUE_DATES,
    "estimate": Capability.ESTIMATES,
    "milestone": Capability.MILESTONES,
}
FILTER_NEEDS: Mapping[str, Capability] = {
    "parent": Capability.SUBTASKS,
    "milestone": Capability.MILESTONES,
    "blocked": Capability.LINKS,
    "blocking": Capability.LINKS,
    "overdue": Capability.DUE_DATES,
    "due_before": Capability.DUE_DATES,
    "due_after": Capability.DUE_DATES,
}
SORT_NEEDS: Mapping[TicketSort, Capability] = {TicketSort.DUE: Capability.DUE_DATES}
_FILTER_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(TicketFilter) if f.name in FILTER_NEEDS}


class PartlyFiled(PermissionDenied):
    """The ticket was filed, but the remote kept part of the draft out (a status its workflow forbids, say):
    `ticket` is what exists, and a retry with the same idempotency key gets it instead of a twin."""

    def __init__(self, message: str, ticket: Ticket, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.ticket = ticket


class RemoteTracker(ABC):
    """The Tracker protocol over a remote API: every adapter reads and files tickets; the rest is optional."""

    name: ClassVar[str]  # the backend as users name it: --backend NAME
    maps: ClassVar[frozenset[Capability]] = frozenset()  # what its API offers, each named: nothing by default
    missing: ClassVar[frozenset[Capability]] = frozenset(Capability)  # every other one, set by __init_subclass__

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.missing = frozenset(Capability) - cls.maps

    def __init__(self, client: RemoteClient) -> None:
        self.client = client
        self._filed: dict[str, tuple[TicketDraft, Ticket]] = {}  # idempotency key -> (its draft, its ticket)
        self._keys_lock = anyio.Lock()

    async def aclose(self) -> None:
        await self.client.aclose()

    def unsupported(self, capability: Capability) -> NoReturn:
        raise Unsupported(
            f"The {self.name} backend cannot {capability.value}: its API offers no way to.",
            hint="get_workspace_context lists what this backend can do.",
        )

    def require(self, capability: Capability) -> None:
        if capability in self.missing:
            self.unsupported(capability)

    def require_fields(self, named: object) -> None:
        """Refuse a draft or change that sets a field whose capability this backend lacks."""
        for field, capability in FIELD_NEEDS.items():
            if getattr(named, field, None) not in (None, ""):
                self.require(capability)

    def kept_locally(self, what: str) -> NoReturn:
        """Refuse what only a tracker over our own store knows (its audit trail, its permission rules)."""
        raise Unsupported(
            f"The {self.name} backend cannot {what}: only a tracker on a local store keeps that.",
            hint="Run tickets-mcp on a local store (--db) for this.",
        )

    def with_capabilities(self, workspace: Workspace) -> Workspace:
        return workspace.model_copy(update={"backend": self.name, "missing": self.missing})

    # What every tracker API offers.

    @abstractmethod
    async def workspace(self) -> Workspace: ...

    @abstractmethod
    async def list_organizations(self) -> list[Organization]: ...

    @abstractmethod
    async def list_projects(self, organization: str | None = None) -> list[Project]: ...

    async def list_tickets(self, query: TicketFilter) -> TicketPage:
        """find_tickets, once no filter or order names a capability this backend lacks."""
        for field, capability in FILTER_NEEDS.items():
            if getattr(query, field) != _FILTER_DEFAULTS[field]:
                self.require(capability)
        if (capability := SORT_NEEDS.get(query.sort)) is not None:
            self.require(capability)
        return await self.find_tickets(query)

    @abstractmethod
    async def find_tickets(self, query: TicketFilter) -> TicketPage:
        """The page of tickets `query` selects (list_tickets has refused what this backend cannot map)."""

    @abstractmethod
    async def get_ticket(self, slug: str, *, history: int = HISTORY_SHOWN) -> TicketDetail: ...

    @abstractmethod
    async def file_ticket(self, draft: TicketDraft) -> Ticket:
        """One POST that files `draft` (finding the ticket instead where its answer was lost)."""

    async def create_ticket(self, draft: TicketDraft) -> Filed:
        """The ticket filed, naming no similar ones: finding them would cost more requests than filing."""
        return Filed(await self._create(draft))

    async def _create(self, draft: TicketDraft) -> Ticket:
        """file_ticket, once per idempotency key: a remote API keeps no keys, so this process remembers them
        while it runs (twins sent at once wait for the first and get its ticket)."""
        self.require_fields(draft)
        key = idempotency_key(draft.idempotency_key)
        if key is None:
            if draft.check_duplicates and (
                alike := likely_duplicate(draft.title, draft.description, await self._look_alikes(draft))
            ):
                raise look_alike(alike.candidate, alike.likeness)
            return await self.file_ticket(draft)
        async with self._keys_lock:
            found = self._filed.get(key)
            if found is not None:
                if found[0] != draft:
                    raise key_reused(key)
                return found[1]
            try:
                ticket = await self.file_ticket(draft)
            except PartlyFiled as partly:
                self._filed[key] = (draft, partly.ticket)
                raise
            self._filed[key] = (draft, ticket)
            return ticket

    async def _look_alikes(self, draft: TicketDraft) -> list[Ticket]:
        """Open tickets holding one of the title's two longest words, found with the API's own search.

        Best effort: nothing stops a twin filed at the same moment, and an API that cannot search, or
        will not now (its rate limit spent, its search down), leaves the check out rather than the ticket.
        """
        found: dict[int, Ticket] = {}
        for word in sorted(words(draft.title), key=lambda w: (-len(w), w))[:2]:
            wanted = TicketFilter(
                project=draft.project, organization=draft.organization, text=word, limit=50, count_limit=1
            )  # count_limit: the total is not read here, and some APIs count by reading every match
            try:
                page = await self.list_tickets(wanted)
            except (Unsupported, Invalid):
                return []
            except (RateLimited, BackendUnavailable) as refused:
                log.info("%s: the look-alike check was left out: %s", self.name, refused.message)
                return []
            # Closed tickets are left out here, not by a status filter some APIs cannot apply.
            found.update((ticket.id, ticket) for ticket in page.tickets if ticket.status not in CLOSED_STATUSES)
        return list(found.values())

    async def create_tickets(self, drafts: Sequence[TicketDraft], progress: Progress | None = None) -> Batch:
        """One create after another: a REST API files one ticket per request, so each stands alone."""
        return await self._one_by_one(drafts, "tickets", self._create, progress)

    async def move_tickets(self, moves: Sequence[MoveDraft], progress: Progress | None = None) -> Batch:
        """One move after another: each stands alone (and each is refused where the API cannot move)."""

        async def move(m: MoveDraft) -> Ticket:
            return await self.move_ticket(m.slug, m.status, before=m.before, after=m.after, version=m.version)

        return await self._one_by_one(moves, "moves", move, progress)

    async def _one_by_one(
        self, items: Sequence[Item], field: str, act: Callable[[Item], Awaitable[Ticket]], progress: Progress | None
    ) -> Batch:
        if not 1 <= len(items) <= BULK_MAX:
            raise Invalid(field, f"Send 1-{BULK_MAX} {field} at a time, not {len(items)}.")
        outcomes: list[Ticket | TrackerError] = []
        for item in items:
            try:
                outcomes.append(await act(item))
            except TrackerError as exc:
                outcomes.append(exc)
            if progress is not None:
                await progress(len(outcomes), len(items), f"{len(outcomes)} of {len(items)} sent to {self.name}")
        return Batch(atomic=False, outcomes=tuple(outcomes))

    # Refusals for what an API lacks; adapters override what theirs can do.

    async def create_project(
        self, name: str, *, code: str | None = None, description: str = "", organization: str | None = None
    ) -> Project:
        self.unsupported(Capability.MANAGE_PROJECTS)

    async def update_project(
        self, project: str, *, name: str | None = None, description: str | None = None,
        organization: str | None = None, default: bool | None = None,
    ) -> Project:  # fmt: skip
        self.unsupported(Capability.MANAGE_PROJECTS)

    async def project_deletion(self, project: str, *, organization: str | None = None) -> ProjectDeletion:
        self.unsupported(Capability.MANAGE_PROJECTS)

    async def delete_project(self, project: str, *, organization: str | None = None) -> ProjectDeletion:
        self.unsupported(Capability.MANAGE_PROJECTS)

    async def update_ticket(self, slug: str, changes: TicketChanges, *, version: int | None = None) -> Ticket:
        if all(getattr(changes, name) is None for name in TicketChanges.__slots__):
            raise Invalid(
                "slug", "Nothing to change.", hint="Pass at least one field: title, status, assignee, labels..."
            )
        self.require_fields(changes)
        return await self.change(slug, changes, version)

    async def move_ticket(
        self, slug: str, status: Status, *, before: str | None = None, after: str | None = None,
        version: int | None = None,
    ) -> Ticket:  # fmt: skip
        self.require(Capability.MOVE_TICKETS)
        if before is not None or after is not None:
            self.unsupported(Capability.ORDER_COLUMNS)
        return await self.change(slug, TicketChanges(status=status), version)

    async def change(self, slug: str, changes: TicketChanges, version: int | None) -> Ticket:
        """Write `changes` (at least one field; a move is a change of status) once `version` is checked.
        update_ticket and move_ticket come here: an adapter whose API can change tickets overrides this."""
        self.unsupported(Capability.EDIT_TICKETS)

    async def ticket_deletion(self, slug: str) -> TicketDeletion:
        self.unsupported(Capability.DELETE_TICKETS)

    async def delete_ticket(self, slug: str) -> TicketDeletion:
        self.unsupported(Capability.DELETE_TICKETS)

    async def move_to_project(self, slug: str, project: str, *, version: int | None = None) -> Relocation:
        # Not a Capability an API lacks: GitLab, Redmine, Jira, GitHub and Linear can each move an issue their own
        # way (docs/remote.md); of the adapters, the native one (its server moves it) and GitLab's do so far.
        raise Unsupported(
            f"The {self.name} backend does not move tickets to another project.",
            hint=f"Move it in {self.name} itself, or file it again in the other project and close this one.",
        )

    async def get_board(
        self,
        project: str | None = None,
        *,
        per_column: int = 20,
        organization: str | None = None,
        milestone: str | None = None,
    ) -> Board:
        self.unsupported(Capability.BOARD)

    def refuse_milestone_board(self, milestone: str | None) -> None:
        """A board of one milestone's tickets, which only the native adapter draws: refused, naming where they are."""
        if milestone is None:
            return
        self.require(Capability.MILESTONES)
        raise Unsupported(
            f"The {self.name} backend cannot show one milestone's board.",
            hint="list_tickets with milestone= lists its tickets.",
        )

    async def add_comment(self, slug: str, body: str) -> Comment:
        self.unsupported(Capability.COMMENT)

    async def attach_file(self, slug: str, name: str, content: bytes) -> Attachment:
        self.unsupported(Capability.ATTACHMENTS)

    async def attachment(self, slug: str, attachment_id: int) -> tuple[Attachment, bytes]:
        self.unsupported(Capability.ATTACHMENTS)

    async def delete_attachment(self, slug: str, attachment_id: int) -> Attachment:
        self.unsupported(Capability.ATTACHMENTS)

    async def link_tickets(
        self, slug: str, kind: LinkKind, other: str, *, unlink: bool = False, close_as_duplicate: bool = False
    ) -> Linked:
        self.unsupported(Capability.LINKS)

    async def list_milestones(
        self, project: str | None = None, *, closed: bool = False, organization: str | None = None
    ) -> list[Milestone]:
        self.unsupported(Capability.MILESTONES)

    async def save_milestone(
        self, project: str | None, name: str, *, rename: str | None = None, start_date: str | None = None,
        due_date: str | None = None, closed: bool | None = None, open_tickets: str | None = None,
        organization: str | None = None,
    ) -> Milestone:  # fmt: skip
        self.unsupported(Capability.MILESTONES)

    async def set_estimate_unit(
        self, project: str | None, unit: EstimateUnit, *, organization: str | None = None
    ) -> Project:
        self.unsupported(Capability.ESTIMATES)

    async def log_time(self, slug: str, hours: float, *, spent_on: str | None = None, note: str = "") -> TimeEntry:
        self.unsupported(Capability.TIME_TRACKING)

    # What only a tracker over our own store knows: the audit trail, who may do what, former members.

    async def activity(self, project: str | None, *, limit: int = ACTIVITY_SHOWN) -> list[Change]:
        raise Unsupported(f"A project's activity comes from the local audit trail; the {self.name} backend has none.")

    async def permitted_actions(self, project_id: str | None = None) -> frozenset[Action]:
        self.kept_locally("tell what its token may do before trying")

    async def refusal_to_change(self, ticket: Ticket) -> PermissionDenied | None:
        self.kept_locally("tell whether a ticket may be changed without changing it")

    async def project_reference(self, project: Project) -> str:
        self.kept_locally("name projects across organizations")

    async def users_named(self, usernames: Sequence[str]) -> list[User]:
        self.kept_locally("look up users who are not members")
