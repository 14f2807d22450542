"""How the linear backend speaks Linear's GraphQL API: the documents it sends, and a RemoteClient for them.

Every request is one POST to {url}/graphql. Queries change nothing, so they are retried like GETs;
mutations are not (RemoteClient's `idempotent`). Linear answers errors as GraphQL `errors`, with HTTP
200 or 400, naming their kind in extensions.code (Linear's SDK, packages/sdk/src/error.ts):
AUTHENTICATION_ERROR becomes TokenRejected, FORBIDDEN PermissionDenied, RATELIMITED RateLimited after
X-RateLimit-Requests-Reset (and a retry of a read, when that is soon enough), "Entity not found"
NotFound, invalid input Invalid, anything else BackendUnavailable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from pydantic import BaseModel

from tickets_mcp.errors import BackendUnavailable, Invalid, NotFound, PermissionDenied, RateLimited, TrackerError
from tickets_mcp.remotes.client import RemoteClient, Reply, TokenRejected, retry_after
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.wire.linear import Envelope, GraphQLError

M = TypeVar("M", bound=BaseModel)

# The GraphQL documents the adapter sends; tests/remotes/test_remote_linear.py validates each against
# Linear's schema (tests/data/specs/linear/).

ISSUE_FIELDS = """
fragment IssueFields on Issue {
  id identifier number title description priority createdAt updatedAt completedAt canceledAt trashed
  state { id name type position }
  team { id key }
  assignee { id name displayName }
  creator { id name displayName }
  labels(first: 50) { nodes { id name color } }
  parent { id identifier }
  dueDate estimate cycle { id number name }
  inverseRelations(first: 20) { nodes { type issue { identifier completedAt canceledAt trashed } } }
}
"""
VIEWER = """
query Viewer {
  viewer { id name displayName active admin owner guest organization { id name urlKey } }
}
"""
TEAMS = """
query Teams {
  teams(first: 250) {
    nodes { id key name description createdAt states(first: 100) { nodes { id name type position } } }
  }
}
"""
MEMBERS = """
query Members {
  organization { users(first: 250) { nodes { id name displayName active admin owner guest } } }
}
"""
ISSUE = (
    """
query Issue($id: String!) { issue(id: $id) { ...IssueFields } }
"""
    + ISSUE_FIELDS
)
ISSUE_DETAIL = (
    """
query IssueDetail($id: String!) {
  issue(id: $id) {
    ...IssueFields
    children(first: 100) { nodes { ...IssueFields } }
    comments(first: 100) { nodes { id body createdAt user { id name displayName } } }
  }
}
"""
    + ISSUE_FIELDS
)
ISSUES = (
    """
query Issues($filter: IssueFilter, $first: Int!, $after: String, $orderBy: PaginationOrderBy) {
  issues(filter: $filter, first: $first, after: $after, orderBy: $orderBy) {
    nodes { ...IssueFields }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + ISSUE_FIELDS
)
ISSUE_IDS = """
query IssueIds($filter: IssueFilter, $after: String) {
  issues(filter: $filter, first: 250, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } }
}
"""
ISSUE_REFS = """
query IssueRefs($filter: IssueFilter, $after: String) {
  issues(filter: $filter, first: 250, after: $after) { nodes { id identifier } pageInfo { hasNextPage endCursor } }
}
"""
DELETION = """
query Deletion($id: String!) {
  issue(id: $id) { id identifier trashed comments(first: 250) { nodes { id } pageInfo { hasNextPage endCursor } } }
}
"""
USERS = """
query Users($filter: UserFilter) { users(filter: $filter, first: 10) { nodes { id name displayName } } }
"""
LABELS = """
query Labels($filter: IssueLabelFilter) {
  issueLabels(filter: $filter, first: 250) { nodes { id name color team { id key } } }
}
"""
ISSUE_CREATE = (
    """
mutation IssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) { success issue { ...IssueFields } }
}
"""
    + ISSUE_FIELDS
)
ISSUE_UPDATE = (
    """
mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) {
  issueUpdate(id: $id, input: $input) { success issue { ...IssueFields } }
}
"""
    + ISSUE_FIELDS
)
ISSUE_DELETE = """
mutation IssueDelete($id: String!) { issueDelete(id: $id) { success } }
"""
COMMENT_CREATE = """
mutation CommentCreate($input: CommentCreateInput!) {
  commentCreate(input: $input) {
    success comment { id body createdAt user { id name displayName } issue { identifier } }
  }
}
"""
LABEL_CREATE = """
mutation IssueLabelCreate($input: IssueLabelCreateInput!) {
  issueLabelCreate(input: $input) { success issueLabel { id name color team { id key } } }
}
"""
RELATION_FIELDS = """
fragment RelationFields on IssueRelation {
  id type
  issue { id identifier title trashed state { id name type position } }
  relatedIssue { id identifier title trashed state { id name type position } }
}
"""
RELATIONS = (
    """
query Relations($id: String!) {
  issue(id: $id) {
    id identifier team { id key }
    relations(first: 100) { nodes { ...RelationFields } }
    inverseRelations(first: 100) { nodes { ...RelationFields } }
  }
}
"""
    + RELATION_FIELDS
)
RELATION_CREATE = """
mutation IssueRelationCreate($input: IssueRelationCreateInput!) { issueRelationCreate(input: $input) { success } }
"""
RELATION_DELETE = """
mutation IssueRelationDelete($id: String!) { issueRelationDelete(id: $id) { success } }
"""
CYCLES = """
query Cycles($id: String!) {
  team(id: $id) { cycles(first: 100) { nodes { id number name startsAt endsAt completedAt } } }
}
"""
CYCLE_ISSUES = """
query CycleIssues($filter: IssueFilter, $after: String) {
  issues(filter: $filter, first: 250, after: $after) {
    nodes { dueDate state { id name type position } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
DOCUMENTS = (
    VIEWER, TEAMS, MEMBERS, ISSUE, ISSUE_DETAIL, ISSUES, ISSUE_IDS, ISSUE_REFS, DELETION, USERS, LABELS,
    ISSUE_CREATE, ISSUE_UPDATE, ISSUE_DELETE, COMMENT_CREATE, LABEL_CREATE, RELATIONS, RELATION_CREATE,
    RELATION_DELETE, CYCLES, CYCLE_ISSUES,
)  # fmt: skip

# The operation a request of this task sends, for the errors RemoteClient raises from an HTTP status.
_OPERATION: ContextVar[str] = ContextVar("linear_operation", default="a GraphQL request")


def authorization(token: str) -> dict[str, str]:
    """Linear's header: a personal API key as it is, an OAuth access token as a Bearer token."""
    token = token.strip()
    if token.startswith("lin_api_") or token.lower().startswith("bearer "):
        return {"Authorization": token}
    return {"Authorization": f"Bearer {token}"}


def linear_root(url: str) -> str:
    """The API's root from --url, with or without its /graphql path."""
    root = url.strip().rstrip("/")
    return root.removesuffix("/graphql") + "/"


class LinearClient(RemoteClient):
    """RemoteClient speaking GraphQL: queries retried like GETs, mutations not, `errors` as our errors."""

    async def query(self, document: str, variables: Mapping[str, Any], model: type[M]) -> M:
        return await self._post(document, variables, model, idempotent=True)

    async def mutate(self, document: str, variables: Mapping[str, Any], model: type[M]) -> M:
        return await self._post(document, variables, model, idempotent=False)

    async def _post(self, document: str, variables: Mapping[str, Any], model: type[M], *, idempotent: bool) -> M:
        body = {"query": document, "variables": dict(variables)}
        named = re.search(r"(?:query|mutation)\s+(\w+)", document)
        operation = named.group(1) if named else "a GraphQL request"
        told = _OPERATION.set(operation)
        try:
            reply = await self.request("POST", "graphql", json_body=body, idempotent=idempotent)
        finally:
            _OPERATION.reset(told)
        answer = parse(Envelope, reply.body, self.backend, "a GraphQL answer")
        if answer.errors:
            raise self.refusal(operation, answer.errors, reply.headers)
        return parse(model, answer.data, self.backend, f"the answer to {operation}")

    @staticmethod
    def _rate_limited(reply: Reply) -> bool:
        return RemoteClient._rate_limited(reply) or "RATELIMITED" in _codes(reply.body)

    def _error(self, what: str, reply: Reply, safe: bool, unsure: bool) -> TrackerError:
        """An HTTP failure: its GraphQL errors, named after the operation (every request is POST graphql)."""
        errors = _errors(reply.body)
        if not errors:
            return super()._error(what, reply, safe, unsure)
        return self.refusal(_OPERATION.get(), errors, reply.headers)

    def refusal(self, what: str, errors: Sequence[GraphQLError], headers: Mapping[str, str]) -> TrackerError:
        first = errors[0]
        said = self._redact(" ".join(first.said.split())[:200])
        code = first.code
        if code == "RATELIMITED":
            wait = retry_after(headers)
            seconds = max(1, math.ceil(wait)) if wait is not None else 60
            return RateLimited(f"linear is rate limiting these requests; retry after {seconds} s.", retry_after=seconds)
        if code == "AUTHENTICATION_ERROR":
            return TokenRejected(
                f"linear rejected the token ({said}).",
                hint="The key is wrong, expired or revoked: set a valid one in TICKETS_TOKEN.",
            )
        if code == "FORBIDDEN":
            return PermissionDenied(f"linear refused {what}: {said}.", hint="The token may lack a scope or role.")
        if "entity not found" in first.message.casefold():
            return NotFound(f"linear: {what}: not found ({said}).")
        if code in ("INVALID_INPUT", "BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED", "USER_ERROR"):
            return Invalid("request", f"linear refused {what}: {said}.")
        return BackendUnavailable(f"linear failed {what}: {said}.", hint="Retry later.")


def _errors(body: Any) -> list[GraphQLError]:
    if not isinstance(body, dict):
        return []
    try:
        return Envelope.model_validate(body).errors
    except ValueError:
        return []


def _codes(body: Any) -> set[str]:
    return {error.code for error in _errors(body)}
