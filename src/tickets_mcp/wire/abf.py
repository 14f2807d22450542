"""Seed 002, ABF issues: issues with their users and labels, issue lists, and the bodies that file and
change an issue.

`tickets-mcp serve` answers with these documents (http/rest/abf.py) and the abf backend reads them and
sends the bodies (remotes/abf.py). As in the seed's examples, an issue's `number` and its times are
strings (`"11"`, Unix seconds `"1348170705"`); both are read as numbers too. An issue names its project
only in its `url` (`/api/v1/projects/3/issues/11.json`), so a url that names none is a malformed issue.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from urllib.parse import unquote

from pydantic import AfterValidator, Field, PlainSerializer

from tickets_mcp.domain import Label, Priority, Ticket, TicketType, User
from tickets_mcp.domain.vocabulary import ABF_STATUS, AbfStatus
from tickets_mcp.wire.values import Document, IntegerId, UnixSeconds, stored, version_of

# The project in an issue's url, whatever comes before its path or after it (a query, a fragment).
ISSUE_URL = re.compile(r"/projects/(?P<project>[^/?#]+)/issues/\d+(?:\.json)?/?(?:[?#].*)?$")

# An issue's number, written as the seed does ("11") and read as a number or a string.
IssueNumber = Annotated[int, PlainSerializer(str, return_type=str)]


def _project_in(url: str) -> str | None:
    found = ISSUE_URL.search(url)
    return unquote(found["project"]) if found is not None else None


def _names_a_project(url: str) -> str:
    if _project_in(url) is None:
        raise ValueError(f"an issue's url names its project, e.g. /api/v1/projects/3/issues/11.json, not {url[:80]!r}")
    return url


IssueUrl = Annotated[str, AfterValidator(_names_a_project)]


class AbfUser(Document):
    id: int | None = Field(default=None, description="None for a user who is no longer a member anywhere you can see.")
    uname: str = Field(examples=["ivan_aivazovsky"])
    name: str = Field(default="", examples=["Ivan Aivazovsky"])
    url: str | None = Field(default=None, examples=["/api/v1/users/1.json"])


class AbfLabel(Document):
    name: str = Field(examples=["Feature"])
    color: str = Field(default="", examples=["02e10c"])


class AbfIssue(Document):
    number: IssueNumber = Field(examples=["11"])
    title: str
    status: AbfStatus
    labels: list[AbfLabel] = Field(default_factory=list[AbfLabel])
    assignee: AbfUser | None = None
    url: IssueUrl = Field(examples=["/api/v1/projects/3/issues/11.json"])
    body: str = ""
    owner: AbfUser | None = Field(default=None, description="Whoever filed the issue.")
    closed_at: UnixSeconds | None = Field(default=None, examples=["1348170705"])
    closed_by: AbfUser | None = None
    created_at: UnixSeconds = Field(examples=["1348170705"])
    updated_at: UnixSeconds = Field(examples=["1348168705"])

    @property
    def project_id(self) -> str:
        """The id of the project its url names."""
        project = _project_in(self.url)
        assert project is not None, "IssueUrl checked it when the issue was read"
        return project


class UserEnvelope(Document):
    user: AbfUser


class IssueList(Document):
    issues: list[AbfIssue]
    url: str = ""


class IssueEnvelope(Document):
    issue: AbfIssue


class NewIssue(Document):
    title: str
    body: str
    status: AbfStatus = AbfStatus.OPEN
    assignee_id: IntegerId | None = Field(default=None, description="Dropped silently without push access.")
    labels: list[str] = Field(default_factory=list[str], description="Dropped silently without push access.")


class NewIssueRequest(Document):
    issue: NewIssue


class IssueChanges(Document):
    """Only the fields sent change; `assignee_id` sent as null unassigns, `labels: []` clears the labels."""

    title: str | None = None
    body: str | None = None
    assignee_id: IntegerId | None = None
    status: AbfStatus | None = None
    labels: list[str] | None = None


class IssueChangeRequest(Document):
    issue: IssueChanges


class IssueResult(Document):
    number: int | None = None
    message: str = Field(default="", examples=["Issue has been created successfully"])


class IssueResultEnvelope(Document):
    issue: IssueResult


# Records as documents: what `tickets-mcp serve` answers. `find` gives the user a username names, or None
# for one the caller cannot see (shown by username alone).


def user_document(user: User) -> AbfUser:
    return AbfUser(id=user.id, uname=user.username, name=user.name, url=f"/api/v1/users/{user.id}.json")


Find = Callable[[str], User | None]


def _user_named(username: str | None, find: Find) -> AbfUser | None:
    if username is None:
        return None
    user = find(username)
    return AbfUser(id=None, uname=username, name=username, url=None) if user is None else user_document(user)


def issue_document(ticket: Ticket, find: Find, project_number: int) -> AbfIssue:
    return AbfIssue(
        number=ticket.number,
        title=ticket.title,
        status=ABF_STATUS.word(ticket.status),
        labels=[AbfLabel(name=label.name, color=label.color) for label in ticket.labels],
        assignee=_user_named(ticket.assignee, find),
        url=f"/api/v1/projects/{project_number}/issues/{ticket.number}.json",
        body=ticket.description,
        owner=_user_named(ticket.reporter, find),
        closed_at=datetime.fromisoformat(ticket.closed_at) if ticket.closed_at else None,
        closed_by=_user_named(ticket.closed_by, find),
        created_at=datetime.fromisoformat(ticket.created_at),
        updated_at=datetime.fromisoformat(ticket.updated_at),
    )


# Documents as records: what the abf backend reads. An issue has no type, priority or parent.


def issue_record(issue: AbfIssue, code: str) -> Ticket:
    """The issue as a ticket whose slug is `code` (its project's short code) and its number."""
    return Ticket(
        id=0,  # ABF issues carry no id of their own, only a number in their project
        project_id=issue.project_id,
        number=issue.number,
        slug=f"{code}-{issue.number}",
        type=TicketType.TASK,
        title=issue.title,
        description=issue.body,
        status=ABF_STATUS.canonical(issue.status),
        priority=Priority.MEDIUM,
        assignee=issue.assignee.uname if issue.assignee else None,
        reporter=issue.owner.uname if issue.owner else None,
        labels=tuple(Label(name=label.name, color=label.color) for label in issue.labels),
        parent=None,
        position=0,
        version=version_of(issue.updated_at),
        created_at=stored(issue.created_at),
        updated_at=stored(issue.updated_at),
        closed_at=stored(issue.closed_at) if issue.closed_at else None,
        closed_by=issue.closed_by.uname if issue.closed_by else None,
    )
