"""Our own REST API (/api/v1/native): the bodies a call sends, and the lists it answers with.

Its answers are the domain records themselves (domain/models.py), so they are declared there; what this
module adds is what only the wire has: the bodies of the calls that change something, and the two lists
answered bare. `tickets-mcp serve` validates these bodies (http/rest/native.py) and the native backend
builds them (remotes/native.py). A body refuses fields it does not know, so a typo is a 400, not ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from tickets_mcp.domain import (
    EstimateUnit,
    LinkKind,
    Milestone,
    Organization,
    Priority,
    Project,
    Status,
    TicketType,
)
from tickets_mcp.domain.webhooks import Webhook, WebhookAttempt


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewProject(Body):
    name: str
    code: str | None = None
    description: str = ""
    organization: str | None = None


class ProjectChanges(Body):
    name: str | None = None
    description: str | None = None
    default: bool | None = None  # true: the organization's tickets filed without a project go here (owners only)
    estimate_unit: EstimateUnit | None = None


class NewTicket(Body):
    title: str
    project: str | None = None
    organization: str | None = None
    type: TicketType = TicketType.TASK
    description: str = ""
    priority: Priority = Priority.MEDIUM
    status: Status = Status.BACKLOG
    assignee: str | None = None
    labels: list[str] = Field(default_factory=list[str])
    parent: str | None = None
    due_date: str | None = Field(default=None, description="YYYY-MM-DD, or words: tomorrow, friday, +3d.")
    estimate: float | None = Field(default=None, ge=0, description="In the project's estimate unit.")
    milestone: str | None = None


class TicketEdit(Body):
    """Fields left out stay as they are; assignee, parent, due_date, estimate or milestone "none" clears it;
    labels replace the set."""

    title: str | None = None
    type: TicketType | None = None
    description: str | None = None
    priority: Priority | None = None
    status: Status | None = None
    assignee: str | None = None
    labels: list[str] | None = None
    parent: str | None = None
    due_date: str | None = None
    estimate: float | Literal["none"] | None = None
    milestone: str | None = None
    version: int | None = Field(default=None, description="The version you read; a newer one answers 409.")


class Move(Body):
    status: Status
    before: str | None = None
    after: str | None = None
    version: int | None = None


class ProjectMove(Body):
    """Where a ticket moves: `{"project": "WEB"}`, a project of its organization (code, name or id)."""

    project: str
    version: int | None = Field(default=None, description="The version you read; a newer one answers 409.")


class NewComment(Body):
    body: str


class NewLink(Body):
    """A link read from the ticket in the path: `{"kind": "blocked_by", "other": "WEB-1"}`."""

    kind: LinkKind
    other: str
    close: bool = Field(default=False, description="With duplicates: also close the ticket as canceled.")


class MilestoneSave(Body):
    """A milestone's fields to set (PUT creates it when the project has none of that name)."""

    rename: str | None = None
    start_date: str | None = Field(default=None, description='YYYY-MM-DD, words, or "none" to unset.')
    due_date: str | None = None
    closed: bool | None = None
    open_tickets: str | None = Field(
        default=None, description='Closing one with open tickets: "keep", "none", or another milestone to move them to.'
    )


class NewTimeEntry(Body):
    hours: float = Field(gt=0, le=1000)
    spent_on: str | None = Field(default=None, description="The day, default today.")
    note: str = ""


class Milestones(RootModel[list[Milestone]]):
    pass


class Organizations(RootModel[list[Organization]]):
    pass


class Projects(RootModel[list[Project]]):
    pass


class NewWebhook(Body):
    url: str = Field(description="Where to POST each event, http(s); see docs/webhooks.md.")
    events: list[str] = Field(
        default_factory=list[str],
        description="ticket.created, ticket.updated, ticket.moved, ticket.commented, ticket.deleted (or created, "
        "...); none or all: every one.",
    )
    organization: str | None = None
    description: str = ""


class IssuedWebhook(BaseModel):
    """A new hook and its secret, shown this once: receivers check each delivery's signature with it."""

    secret: str
    webhook: Webhook


class Webhooks(RootModel[list[Webhook]]):
    pass


class WebhookLog(RootModel[list[WebhookAttempt]]):
    pass
