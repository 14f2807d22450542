"""What every dialect shares: the caller's Tracker, timestamps, user lookup by id, project lookup."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from tickets_mcp.core.tracker import TicketChanges, Tracker
from tickets_mcp.domain import Project, Ticket, User, rules
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied
from tickets_mcp.http.auth import tracker_of

TrackerDep = Annotated[Tracker, Depends(tracker_of)]


class ErrorMessage(BaseModel):
    """Every error, whatever the dialect (seed 003)."""

    message: str = Field(examples=["404 Not Found: Project 'WEB' not found."])


ERROR_DESCRIPTION = (
    "400 a required attribute is missing or invalid; 401 no valid token; 403 not allowed; "
    "404 not found (or not visible to you); 405 method not supported; 409 conflicts with what exists."
)


async def storable_body(request: Request) -> None:
    """Refuse a JSON body holding text no database stores (a NUL, a lone surrogate), naming its field.

    Every dialect's routes depend on it (rest/__init__.py), so no body model has to repeat the check;
    FastAPI has parsed the body already and `request.json()` hands its parse back.
    """
    if not await request.body():
        return
    try:
        body: Any = await request.json()
    except ValueError:  # not JSON: the route's own parsing reports it
        return
    where = rules.unstorable_text(body)
    if where is not None:
        raise rules.unstorable(where)


def error_responses(model: type[BaseModel] = ErrorMessage) -> dict[int | str, dict[str, Any]]:
    """The errors a route answers with, declared as one 4XX entry (which also keeps FastAPI's unused 422 out)."""
    return {"4XX": {"model": model, "description": ERROR_DESCRIPTION}}


def operation_ids(dialect: str) -> Callable[[APIRoute], str]:
    """Short operation ids for generated clients: `bugtome_list_projects`."""

    def unique_id(route: APIRoute) -> str:
        return f"{dialect}_{route.name}"

    return unique_id


def _parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def iso_seconds(timestamp: str) -> str:
    """A stored timestamp as the seeds write them: `2024-01-01T00:00:00Z`."""
    return _parse(timestamp).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_unix(field: str, seconds: int) -> str:
    """Unix seconds from a caller, as the ISO 8601 text TicketFilter takes."""
    try:
        return rules.format_timestamp(datetime.fromtimestamp(seconds, UTC))
    except (OverflowError, OSError, ValueError) as exc:
        raise Invalid(
            field, f"{seconds} is not a usable Unix time.", hint="Pass seconds since 1970, e.g. 1700000000."
        ) from exc


@dataclass(frozen=True, slots=True)
class People:
    """The users the caller can see (members of its organizations), by id and by username.

    `former` holds the users the tickets being answered name who are members no longer (see naming): they are
    shown with their id, but not accepted where a caller names a user, which must be a member.
    """

    by_id: dict[int, User]
    by_username: dict[str, User]
    former: dict[str, User] = field(default_factory=dict[str, User])

    @classmethod
    def of(cls, users: Iterable[User]) -> People:
        listed = list(users)
        return cls(by_id={u.id: u for u in listed}, by_username={u.username: u for u in listed})

    def find(self, username: str | None) -> User | None:
        if username is None:
            return None
        return self.by_username.get(username) or self.former.get(username)

    async def naming(self, tracker: Tracker, tickets: Iterable[Ticket]) -> People:
        """These people and whoever `tickets` name that is not among them: one read for all of a page's
        former members, none when every name is a member's."""
        names = {name for t in tickets for name in (t.reporter, t.assignee, t.closed_by) if name is not None}
        missing = sorted(names - self.by_username.keys())
        if not missing:
            return self
        return replace(self, former={u.username: u for u in await tracker.users_named(missing)})

    def id_of(self, username: str | None) -> int | None:
        user = self.find(username)
        return user.id if user is not None else None

    def username(self, field: str, user_id: int) -> str:
        """The username for an id a caller sent; raises Invalid naming the known ids."""
        user = self.by_id.get(user_id)
        if user is None:
            known = ", ".join(f"{u.id} ({u.username})" for u in sorted(self.by_id.values(), key=lambda u: u.id)[:20])
            hint = f"Known users: {known}." if known else "Send the id of a member of the organization."
            raise Invalid(field, f"No member with id {user_id}.", hint=hint)
        return user.username


async def as_it_is(tracker: Tracker, ticket: Ticket, changes: TicketChanges) -> Ticket | None:
    """The ticket unchanged when `changes` change nothing, else None (make the change).

    Seeds 001 and 002 make every field of an update optional, so an empty body is a valid update there and
    answers success with nothing written; the Tracker still refuses an empty change, since a model asking
    to change nothing has made a mistake worth telling it. Who may not change the ticket is refused here
    as a real change would be (403).
    """
    if any(getattr(changes, name) is not None for name in TicketChanges.__slots__):
        return None
    if (refusal := await tracker.refusal_to_change(ticket)) is not None:
        raise refusal
    return ticket


async def people(tracker: Tracker, organization: str | None = None) -> People:
    """The users the caller can see (the members of `organization`, slug or id, when given); nobody for a
    caller that may not see the workspace (a project token)."""
    try:
        workspace = await tracker.workspace()
    except PermissionDenied:
        return People.of(())
    return People.of(
        member.user
        for org in workspace.organizations
        if organization is None or organization in (org.organization.slug, org.organization.id)
        for member in org.members
    )


async def find_project(tracker: Tracker, reference: str, organization: str | None = None) -> Project:
    """A project the caller can see, by code, id, number (seeds 001 and 002) or name."""
    projects = await tracker.list_projects(organization)
    found = rules.pick(
        reference, projects, lambda p: p.code, lambda p: p.id, lambda p: str(p.number), lambda p: p.name,
        field="project", describe=lambda p: f"{p.number} ({p.name})",
    )  # fmt: skip
    if found is None:
        raise NotFound(f"Project {reference!r} not found.")
    return found


def could_be_a_ticket(number: int) -> bool:
    """Whether some ticket may carry `number` (a slug's 1 to 10 digits); an integer that none can, 0 or
    past any store's range, names no ticket: a 404 like any other number no ticket has, not a 400."""
    return 0 < number < 10**10


def project_number(ticket: Ticket) -> int:
    """The integer seeds 001 and 002 name a ticket's project by; every stored project has one (migration 10)."""
    if ticket.project_number is None:
        raise RuntimeError(f"Ticket {ticket.slug}'s project has no number; is the database migrated?")
    return ticket.project_number


@contextmanager
def field_named(field: str, wire: str) -> Generator[None]:
    """Errors about the Tracker's `field` name the dialect's own field instead (`project` is BugToMe's `project_id`)."""
    try:
        yield
    except Invalid as exc:
        if exc.field != field:
            raise
        raise exc.renamed(wire) from exc
