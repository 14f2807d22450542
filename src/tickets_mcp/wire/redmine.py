"""Redmine's REST API (5.x): the users, projects, memberships, trackers, statuses, priorities, issues,
journals, attachments, relations, versions and time entries the redmine backend reads (remotes/redmine.py). Only the
fields it uses are declared; Redmine sends many more, which are ignored. Each answer wraps its document
in a key named after it (`{"issue": {...}}`, `{"issues": [...], "total_count": N}`); text Redmine writes
as null reads as empty.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictInt

from tickets_mcp.wire.values import Document


def _empty_if_null(value: Any) -> Any:
    return "" if value is None else value


Text = Annotated[str, BeforeValidator(_empty_if_null)]


class Named(Document):
    """How Redmine points at a user, project, tracker, priority or category inside another document."""

    id: StrictInt
    name: Text = ""


class Parent(Document):
    id: StrictInt


class Child(Parent):
    """A sub-task as ?include=children lists it, with its own."""

    children: list[Child] = Field(default_factory=list["Child"])


class IssueStatus(Named):
    is_closed: bool = False


class RedmineUser(Document):
    id: StrictInt
    login: Text = ""
    firstname: Text = ""
    lastname: Text = ""
    admin: bool = False

    @property
    def name(self) -> str:
        return f"{self.firstname} {self.lastname}".strip() or self.login


class RedmineProject(Document):
    id: StrictInt
    name: str
    identifier: str
    description: Text = ""
    status: int = 1  # 1 active, 5 closed, 9 archived (archived ones are not listed)
    created_on: datetime
    trackers: list[Named] | None = None  # with ?include=trackers
    issue_categories: list[Named] | None = None  # with ?include=issue_categories
    time_entry_activities: list[Activity] | None = None  # with ?include=time_entry_activities


class Relation(Document):
    """A link between two issues, kept in one direction: `issue_id` blocks, duplicates, relates to (or
    precedes, copies) `issue_to_id`. Redmine turns the reversed types (blocked, duplicated...) around."""

    id: StrictInt
    issue_id: StrictInt
    issue_to_id: StrictInt
    relation_type: str


class Issue(Document):
    id: StrictInt
    project: Named
    tracker: Named
    status: IssueStatus
    priority: Named
    author: Named | None = None
    assigned_to: Named | None = None
    category: Named | None = None
    parent: Parent | None = None
    subject: str
    description: Text = ""
    created_on: datetime
    updated_on: datetime
    closed_on: datetime | None = None
    start_date: date | None = None
    due_date: date | None = None
    estimated_hours: float | None = None
    spent_hours: float | None = None  # only for those who may see time entries
    fixed_version: Named | None = None  # its target version
    children: list[Child] | None = None  # with ?include=children
    relations: list[Relation] | None = None  # with ?include=relations (also on a list)
    journals: list[Journal] | None = None  # with ?include=journals
    attachments: list[RedmineAttachment] | None = None  # with ?include=attachments
    allowed_statuses: list[IssueStatus] | None = None  # with ?include=allowed_statuses (Redmine 5.0+)


class RedmineAttachment(Document):
    """A file on an issue. `content_type` is what its uploader said it is; Redmine keeps no digest in its API."""

    id: StrictInt
    filename: str
    filesize: int
    content_type: Text = ""
    author: Named | None = None
    created_on: datetime


class Upload(Document):
    token: str


class UploadEnvelope(Document):
    """POST /uploads.json: the token that attaches the bytes to an issue in its next PUT."""

    upload: Upload


class Detail(Document):
    """One field a journal changed: `property` attr (a field of the issue), cf, attachment or relation."""

    property: str
    name: str
    old_value: str | None = None
    new_value: str | None = None


class Journal(Document):
    id: StrictInt
    user: Named | None = None
    notes: Text = ""
    created_on: datetime
    private_notes: bool = False
    details: list[Detail] = Field(default_factory=list[Detail])


class Membership(Document):
    user: Named | None = None  # a group's membership names a group instead
    roles: list[Named] = Field(default_factory=list[Named])


# The envelopes.


class UserEnvelope(Document):
    user: RedmineUser


class ProjectMembership(Document):
    project: Named


class Me(Document):
    id: StrictInt
    memberships: list[ProjectMembership] = Field(default_factory=list[ProjectMembership])


class CurrentUser(Document):
    """users/current.json?include=memberships: the user and the projects they are a member of."""

    user: Me


class ProjectEnvelope(Document):
    project: RedmineProject


class IssueEnvelope(Document):
    issue: Issue


class Page(Document):
    total_count: int = 0
    offset: int = 0
    limit: int = 25


class Projects(Page):
    projects: list[RedmineProject]


class Issues(Page):
    issues: list[Issue]


class Memberships(Page):
    memberships: list[Membership]


class Categories(Document):
    issue_categories: list[Named]


class CategoryEnvelope(Document):
    issue_category: Named


class Statuses(Document):
    issue_statuses: list[IssueStatus]


class Priorities(Document):
    issue_priorities: list[Named]


class Version(Document):
    """A target version: a milestone. Redmine keeps no start date for one; `due_date` is its effective date."""

    id: StrictInt
    project: Named
    name: str
    status: str = "open"  # open, locked (no new issues) or closed
    due_date: date | None = None
    created_on: datetime


class Versions(Document):
    versions: list[Version]


class VersionEnvelope(Document):
    version: Version


class Relations(Document):
    relations: list[Relation]


class RelationEnvelope(Document):
    relation: Relation


class Activity(Named):
    is_default: bool = False
    active: bool = True


class SiteActivities(Document):
    time_entry_activities: list[Activity]


class TimeEntry(Document):
    id: StrictInt
    issue: Parent | None = None
    user: Named | None = None
    hours: float
    comments: Text = ""
    spent_on: date
    created_on: datetime


class TimeEntries(Page):
    time_entries: list[TimeEntry]


class TimeEntryEnvelope(Document):
    time_entry: TimeEntry
