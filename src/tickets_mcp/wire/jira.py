"""Jira Cloud platform REST API v3: the users, projects, statuses, issues, transitions, comments and
attachments the jira backend reads (remotes/jira*.py), as Atlassian's OpenAPI document (swagger-v3.v3.json)
describes them. Only the fields the adapter uses are declared; Jira sends many more, which are ignored. Ids
are strings, as Jira writes them (an attachment's is read as the number it spells). Rich text (descriptions,
comment bodies) is Atlassian Document Format, kept as its JSON tree here and turned into text by
remotes/jira_mapping.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, RootModel

from tickets_mcp.wire.values import Document

Adf = dict[str, Any]  # an Atlassian Document Format node: {"type": "doc", "version": 1, "content": [...]}


class JiraUser(Document):
    accountId: str
    displayName: str = ""
    emailAddress: str | None = None
    timeZone: str | None = None  # the zone JQL reads dates in (the user's profile setting)


class JiraStatusCategory(Document):
    key: str  # new, indeterminate or done (undefined for statuses without one)


class JiraStatus(Document):
    id: str
    name: str
    statusCategory: JiraStatusCategory | None = None


class JiraIssueType(Document):
    id: str
    name: str
    subtask: bool = False


class JiraProject(Document):
    id: str
    key: str
    name: str
    description: str | None = None
    issueTypes: list[JiraIssueType] = Field(default_factory=list[JiraIssueType])


class ProjectPage(Document):
    values: list[JiraProject] = Field(default_factory=list[JiraProject])
    isLast: bool = True
    startAt: int = 0


class JiraNamed(Document):
    name: str


class JiraIssueRef(Document):
    """A parent or sub-task as an issue names it."""

    id: str
    key: str


class LinkedFields(Document):
    summary: str = ""
    status: JiraStatus


class LinkedIssue(Document):
    """The other issue of a link, as an issue's `issuelinks` shows it."""

    id: str
    key: str
    fields: LinkedFields


class LinkType(Document):
    id: str = ""
    name: str
    inward: str = ""  # "is blocked by"
    outward: str = ""  # "blocks"


class JiraIssueLink(Document):
    """One of an issue's links: the other issue is `outwardIssue` (this one <outward> it) or `inwardIssue`
    (this one <inward> it)."""

    id: str
    type: LinkType
    inwardIssue: LinkedIssue | None = None
    outwardIssue: LinkedIssue | None = None


class JiraVersion(Document):
    """A project version: a fix version of issues, and a milestone here (remotes/jira_versions.py)."""

    id: str
    name: str
    released: bool = False
    archived: bool = False
    releaseDate: str | None = None  # YYYY-MM-DD
    startDate: str | None = None


class Versions(RootModel[list[JiraVersion]]):
    pass


class JiraAttachment(Document):
    """A file on an issue, as its `attachment` field and the upload's answer show it. `mimeType` is what Jira
    keeps (the uploader's claim, or its guess); the API keeps no digest."""

    id: int  # a string of digits in the document ("10001"), read as the number it is
    filename: str
    author: JiraUser | None = None
    created: datetime
    size: int
    mimeType: str | None = None


class Attachments(RootModel[list[JiraAttachment]]):
    """The upload's answer: the files it added."""


class FilesFields(Document):
    attachment: list[JiraAttachment] = Field(default_factory=list[JiraAttachment])


class IssueFiles(Document):
    """An issue read for its files alone (`fields=attachment`)."""

    id: str
    key: str
    fields: FilesFields


class JiraFields(Document):
    summary: str = ""
    description: Adf | None = None
    status: JiraStatus
    issuetype: JiraIssueType
    priority: JiraNamed | None = None
    resolution: JiraNamed | None = None
    assignee: JiraUser | None = None
    reporter: JiraUser | None = None
    labels: list[str] = Field(default_factory=list[str])
    parent: JiraIssueRef | None = None
    subtasks: list[JiraIssueRef] = Field(default_factory=list[JiraIssueRef])
    project: JiraIssueRef | JiraProject
    created: datetime
    updated: datetime
    resolutiondate: datetime | None = None
    duedate: str | None = None  # YYYY-MM-DD
    fixVersions: list[JiraVersion] = Field(default_factory=list[JiraVersion])
    timespent: int | None = None  # seconds logged, in all
    issuelinks: list[JiraIssueLink] = Field(default_factory=list[JiraIssueLink])
    attachment: list[JiraAttachment] = Field(default_factory=list[JiraAttachment])  # read by get_ticket only


class JiraIssue(Document):
    id: str
    key: str
    fields: JiraFields


class SearchResults(Document):
    issues: list[JiraIssue] = Field(default_factory=list[JiraIssue])
    nextPageToken: str | None = None
    isLast: bool | None = None


class IssueId(Document):
    id: str


class IssueIds(Document):
    """Search results asked for ids only (`fields=id`), to step over an offset."""

    issues: list[IssueId] = Field(default_factory=list[IssueId])
    nextPageToken: str | None = None
    isLast: bool | None = None


class Count(Document):
    count: int


class JiraTransition(Document):
    id: str
    name: str = ""
    to: JiraStatus


class Transitions(Document):
    transitions: list[JiraTransition] = Field(default_factory=list[JiraTransition])


class JiraComment(Document):
    id: str
    author: JiraUser | None = None
    body: Adf | None = None
    created: datetime


class CommentPage(Document):
    comments: list[JiraComment] = Field(default_factory=list[JiraComment])
    startAt: int = 0
    total: int = 0


class CreatedIssue(Document):
    id: str
    key: str


class Statuses(RootModel[list[JiraStatus]]):
    pass


class Users(RootModel[list[JiraUser]]):
    pass


class NamedPage(Document):
    """A page of priorities or resolutions."""

    values: list[JiraNamed] = Field(default_factory=list[JiraNamed])
    isLast: bool = True
    startAt: int = 0


class LinkTypes(Document):
    issueLinkTypes: list[LinkType] = Field(default_factory=list[LinkType])


class JiraWorklog(Document):
    id: str
    author: JiraUser | None = None
    comment: Adf | None = None
    started: datetime
    created: datetime
    timeSpentSeconds: int


class Worklogs(Document):
    worklogs: list[JiraWorklog] = Field(default_factory=list[JiraWorklog])
    startAt: int = 0
    total: int = 0
