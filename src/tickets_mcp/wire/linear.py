"""Linear's GraphQL API: the envelope every answer comes in, and the objects the linear backend selects
(remotes/linear_graphql.py's documents). Only the fields those documents ask for are declared, with the
types of Linear's schema (packages/sdk/src/schema.graphql in linear/linear): ids are UUID strings,
`number` and `priority` are Floats holding whole numbers, times are ISO 8601 DateTimes. How these
become the tracker's records is remotes/linear_mapping.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from tickets_mcp.wire.values import Document


class GraphQLError(Document):
    """One entry of `errors`: Linear names its kind in extensions.code (AUTHENTICATION_ERROR, FORBIDDEN,
    RATELIMITED, INVALID_INPUT...) and extensions.type ("authentication error"...)."""

    message: str = ""
    extensions: dict[str, Any] = Field(default_factory=dict[str, Any])

    @property
    def code(self) -> str:
        return str(self.extensions.get("code") or self.extensions.get("type") or "").upper().replace(" ", "_")

    @property
    def said(self) -> str:
        return str(self.extensions.get("userPresentableMessage") or self.message)


class Envelope(Document):
    """{"data": ..., "errors": [...]}: a GraphQL answer, with HTTP 200 or, for a refused request, 400."""

    data: dict[str, Any] | None = None
    errors: list[GraphQLError] = Field(default_factory=list[GraphQLError])


class PageInfo(Document):
    hasNextPage: bool
    endCursor: str | None = None


class LinearUser(Document):
    id: str
    name: str = ""
    displayName: str = ""  # unique in the workspace: the tracker's username


class LinearMember(LinearUser):
    active: bool = True
    admin: bool = False
    owner: bool = False
    guest: bool = False


class LinearOrganization(Document):
    id: str
    name: str
    urlKey: str


class Viewer(LinearMember):
    organization: LinearOrganization


class LinearState(Document):
    id: str
    name: str
    type: str  # triage, backlog, unstarted, started, completed, canceled, duplicate
    position: float


class States(Document):
    nodes: list[LinearState]


class LinearTeam(Document):
    id: str
    key: str
    name: str
    description: str | None = None
    createdAt: datetime
    states: States


class LinearLabel(Document):
    id: str
    name: str
    color: str = ""


class TeamRef(Document):
    id: str
    key: str = ""


class ScopedLabel(LinearLabel):
    team: TeamRef | None = None  # None: a workspace label


class Labels(Document):
    nodes: list[LinearLabel]


class IssueRef(Document):
    id: str = ""
    identifier: str


class CycleRef(Document):
    id: str
    number: float
    name: str | None = None  # Linear names a cycle "Cycle N" where it has no name of its own


class BlockerRef(Document):
    """The issue a relation comes from, as far as blocked_by needs it: open while neither date is set."""

    identifier: str
    completedAt: datetime | None = None
    canceledAt: datetime | None = None
    trashed: bool | None = None


class InverseRelation(Document):
    type: str  # blocks, duplicate, related, similar: read from `issue`
    issue: BlockerRef


class InverseRelations(Document):
    nodes: list[InverseRelation]


class LinearIssue(Document):
    id: str
    identifier: str  # ENG-123
    number: float
    title: str
    description: str | None = None
    priority: float  # 0 none, 1 urgent, 2 high, 3 medium, 4 low
    createdAt: datetime
    updatedAt: datetime
    completedAt: datetime | None = None
    canceledAt: datetime | None = None
    trashed: bool | None = None
    state: LinearState
    team: TeamRef
    assignee: LinearUser | None = None
    creator: LinearUser | None = None
    labels: Labels
    parent: IssueRef | None = None
    dueDate: str | None = None  # TimelessDate: YYYY-MM-DD
    estimate: float | None = None  # points, in the team's estimation scale
    cycle: CycleRef | None = None
    inverseRelations: InverseRelations = InverseRelations(nodes=[])  # the first few: who blocks it


class LinearComment(Document):
    id: str
    body: str
    createdAt: datetime
    user: LinearUser | None = None
    issue: IssueRef | None = None  # selected where a comment is made


class Comments(Document):
    nodes: list[LinearComment]


class Issues(Document):
    nodes: list[LinearIssue]
    pageInfo: PageInfo = PageInfo(hasNextPage=False)


class IssueDetail(LinearIssue):
    children: Issues
    comments: Comments


class IssueRefs(Document):
    nodes: list[IssueRef]
    pageInfo: PageInfo


class Node(Document):
    id: str


class NodeIds(Document):
    nodes: list[Node]
    pageInfo: PageInfo


# The data of each document: one model per operation, named after it.


class ViewerData(Document):
    viewer: Viewer


class TeamsData(Document):
    class Teams(Document):
        nodes: list[LinearTeam]

    teams: Teams


class MembersData(Document):
    class Organization(Document):
        class Users(Document):
            nodes: list[LinearMember]

        users: Users

    organization: Organization


class IssueData(Document):
    issue: LinearIssue


class IssueDetailData(Document):
    issue: IssueDetail


class IssuesData(Document):
    issues: Issues


class IssueRefsData(Document):
    issues: IssueRefs


class IssueIdsData(Document):
    issues: NodeIds


class UsersData(Document):
    class Users(Document):
        nodes: list[LinearUser]

    users: Users


class LabelsData(Document):
    class Found(Document):
        nodes: list[ScopedLabel]

    issueLabels: Found


class DeletionData(Document):
    class Issue(Document):
        id: str
        identifier: str
        trashed: bool | None = None
        comments: NodeIds

    issue: Issue


class IssueCreateData(Document):
    class Payload(Document):
        success: bool
        issue: LinearIssue | None = None

    issueCreate: Payload


class IssueUpdateData(Document):
    issueUpdate: IssueCreateData.Payload


class IssueDeleteData(Document):
    class Payload(Document):
        success: bool

    issueDelete: Payload


class CommentCreateData(Document):
    class Payload(Document):
        success: bool
        comment: LinearComment | None = None

    commentCreate: Payload


class LabelCreateData(Document):
    class Payload(Document):
        success: bool
        issueLabel: ScopedLabel | None = None

    issueLabelCreate: Payload


# Planning: relations, cycles (remotes/linear_planning.py).


class RelatedIssue(Document):
    id: str
    identifier: str
    title: str
    state: LinearState
    trashed: bool | None = None


class Relation(Document):
    """`issue` blocks, duplicates (type duplicate), or relates to `relatedIssue`."""

    id: str
    type: str
    issue: RelatedIssue
    relatedIssue: RelatedIssue


class RelationNodes(Document):
    nodes: list[Relation]


class RelationsData(Document):
    class Issue(Document):
        id: str
        identifier: str
        team: TeamRef
        relations: RelationNodes
        inverseRelations: RelationNodes

    issue: Issue


class RelationCreateData(Document):
    class Payload(Document):
        success: bool

    issueRelationCreate: Payload


class RelationDeleteData(Document):
    class Payload(Document):
        success: bool

    issueRelationDelete: Payload


class LinearCycle(Document):
    id: str
    number: float
    name: str | None = None
    startsAt: datetime
    endsAt: datetime
    completedAt: datetime | None = None


class CyclesData(Document):
    class Team(Document):
        class Cycles(Document):
            nodes: list[LinearCycle]

        cycles: Cycles

    team: Team


class CycleIssue(Document):
    dueDate: str | None = None
    state: LinearState


class CycleIssuesData(Document):
    class Found(Document):
        nodes: list[CycleIssue]
        pageInfo: PageInfo

    issues: Found
