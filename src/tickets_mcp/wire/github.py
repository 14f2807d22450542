"""GitHub REST (API version 2022-11-28): the users, repositories, issues, comments and search results the
github backend reads (remotes/github.py). Only the fields it uses are declared; GitHub sends many more,
which are ignored. Ids are strict integers. Text GitHub sends as null (an issue's body, a repository's
description, a user's name) reads as empty. How these become the tracker's records is
remotes/github_mapping.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, RootModel, StrictInt

from tickets_mcp.wire.values import Document


def _empty_if_null(value: Any) -> Any:
    return "" if value is None else value


Text = Annotated[str, BeforeValidator(_empty_if_null)]


class GitHubUser(Document):
    """A simple-user: a person, or an organization as a repository's owner (`type` "Organization")."""

    id: StrictInt
    login: str
    name: Text = ""
    type: str = "User"


class GitHubPermissions(Document):
    """What the token's user may do in a repository (`permissions` of /user/repos)."""

    admin: bool = False
    maintain: bool = False
    push: bool = False
    triage: bool = False
    pull: bool = False


class GitHubRepository(Document):
    id: StrictInt
    name: str
    full_name: str  # owner/name
    owner: GitHubUser
    description: Text = ""
    created_at: datetime | None = None
    has_issues: bool = True
    archived: bool = False
    permissions: GitHubPermissions | None = None


class GitHubLabel(Document):
    name: str
    color: Text = ""  # 'd73a4a', no '#'


class GitHubIssueType(Document):
    """An organization's issue type (Bug, Feature, Task...), set on issues of its repositories."""

    name: str


class GitHubMilestone(Document):
    """A repository's milestone, by its number; GitHub's counts include the pull requests in it."""

    number: StrictInt
    title: str
    state: str  # open or closed
    due_on: datetime | None = None
    created_at: datetime
    closed_at: datetime | None = None


class GitHubIssue(Document):
    id: StrictInt
    number: StrictInt
    title: str
    body: Text = ""
    state: str  # open or closed
    state_reason: str | None = None  # completed, not_planned, duplicate, reopened
    user: GitHubUser | None = None
    assignee: GitHubUser | None = None
    assignees: list[GitHubUser] | None = None
    labels: list[str | GitHubLabel] = Field(default_factory=list[str | GitHubLabel])
    comments: int = 0
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    closed_by: GitHubUser | None = None
    type: GitHubIssueType | None = None
    repository_url: str = ""  # https://api.github.com/repos/OWNER/NAME
    parent_issue_url: str | None = None  # set on a sub-issue: its parent's API URL
    milestone: GitHubMilestone | None = None
    pull_request: dict[str, Any] | None = None  # set on pull requests, which GitHub lists among issues

    @property
    def label_names(self) -> list[str]:
        return [label if isinstance(label, str) else label.name for label in self.labels]

    @property
    def closed(self) -> bool:
        return self.state == "closed"


class GitHubComment(Document):
    id: StrictInt
    user: GitHubUser | None = None
    body: Text = ""
    created_at: datetime


class SearchResult(Document):
    total_count: int
    incomplete_results: bool = False
    items: list[GitHubIssue]


class Users(RootModel[list[GitHubUser]]):
    pass


class Repositories(RootModel[list[GitHubRepository]]):
    pass


class Issues(RootModel[list[GitHubIssue]]):
    pass


class Comments(RootModel[list[GitHubComment]]):
    pass


class Milestones(RootModel[list[GitHubMilestone]]):
    pass
