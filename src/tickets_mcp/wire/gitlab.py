"""GitLab REST v4: the users, members, namespaces, projects, labels, issues, notes and uploads the gitlab backend reads
(remotes/gitlab.py), and the milestones, issue links and time stats its planning reads
(remotes/gitlab_planning.py, remotes/gitlab_milestones.py). Only the fields it uses are declared; GitLab sends
many more, which are ignored. Ids are strict integers, as the hand-written readers these replace required: a
JSON `true` or `"5"` where GitLab writes a number is a malformed answer, not an id. Text GitLab may send as
null (a description, a display name, a note's body) reads as empty. How these become the tracker's records,
and its fields GitLab labels, is remotes/gitlab_mapping.py.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, RootModel, StrictInt

from tickets_mcp.wire.values import Document


def _empty_if_null(value: Any) -> Any:
    return "" if value is None else value


Text = Annotated[str, BeforeValidator(_empty_if_null)]  # text GitLab writes as null when there is none


class GitLabUser(Document):
    id: StrictInt
    username: str
    name: Text = ""


class GitLabMember(GitLabUser):
    access_level: int | None = None


class GitLabNamespace(Document):
    """A group, subgroup or personal namespace."""

    id: StrictInt
    name: Text = ""
    full_path: str  # e.g. acme/platform, or a username
    kind: str = "group"  # "group" or "user"


class GitLabProject(Document):
    id: StrictInt
    name: str
    path: str
    path_with_namespace: str
    description: Text = ""
    created_at: datetime
    namespace: GitLabNamespace


class GitLabLabel(Document):
    name: str
    color: Text = ""  # '#d9534f'


class GitLabMilestone(Document):
    """A project's milestone, or a group's (`group_id`) that the group's projects' issues may take."""

    id: StrictInt
    iid: int | None = None
    project_id: int | None = None
    group_id: int | None = None
    title: str
    description: Text = ""
    state: str = "active"  # active or closed
    start_date: date | None = None
    due_date: date | None = None

    @property
    def closed(self) -> bool:
        return self.state == "closed"


class GitLabTimeStats(Document):
    """An issue's time tracking, in seconds (doc/api/issues.md, "Time tracking")."""

    time_estimate: int = 0
    total_time_spent: int = 0


class GitLabIssue(Document):
    id: StrictInt
    iid: StrictInt
    project_id: StrictInt
    title: str
    description: Text = ""
    state: str  # opened or closed
    labels: list[str | GitLabLabel] | None = None  # names, or objects with `with_labels_details=true`
    assignees: list[GitLabUser] | None = None
    assignee: GitLabUser | None = None  # older GitLab: one assignee
    author: GitLabUser | None = None
    closed_by: GitLabUser | None = None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    user_notes_count: int | None = None
    moved_to_id: StrictInt | None = None  # the global id of the issue it was moved to
    due_date: date | None = None
    milestone: GitLabMilestone | None = None
    time_stats: GitLabTimeStats | None = None

    @property
    def label_names(self) -> list[str]:
        return [label if isinstance(label, str) else label.name for label in self.labels or ()]

    @property
    def closed(self) -> bool:
        return self.state == "closed"


class GitLabLinkedIssue(GitLabIssue):
    """An issue in another's list of links (doc/api/issue_links.md): `link_type` reads from the listed issue,
    so the issue a link blocks shows it `is_blocked_by`."""

    issue_link_id: StrictInt
    link_type: str = "relates_to"  # relates_to, blocks or is_blocked_by


class GitLabNote(Document):
    id: StrictInt
    author: GitLabUser | None = None
    body: Text = ""
    created_at: datetime
    system: bool = False  # GitLab's own notes ("changed the description"), not comments


class GitLabUpload(Document):
    """A project upload (POST /projects/:id/uploads): `url` is /uploads/<32 hex secret>/<filename>, `markdown`
    the link or image to put in a note. `id` came in GitLab 17.3."""

    id: StrictInt | None = None
    url: str
    markdown: str


class Users(RootModel[list[GitLabUser]]):
    pass


class Members(RootModel[list[GitLabMember]]):
    pass


class Projects(RootModel[list[GitLabProject]]):
    pass


class Labels(RootModel[list[GitLabLabel]]):
    pass


class Issues(RootModel[list[GitLabIssue]]):
    pass


class Notes(RootModel[list[GitLabNote]]):
    pass


class Milestones(RootModel[list[GitLabMilestone]]):
    pass


class LinkedIssues(RootModel[list[GitLabLinkedIssue]]):
    pass


class Listing(RootModel[list[Any]]):
    """A list of any entries, for counting them."""
