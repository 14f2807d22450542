"""The remote adapter contract (tests/remote_contract.py) for the GitLab adapter, in front of the fake GitLab
(tests/fake_gitlab.py): GitLab cannot run here, and `tracker-mcp serve` does not speak its API."""

from __future__ import annotations

import itertools

import httpx2
import pytest

from tests.fake_gitlab import OWNER, TOKEN, standard_world
from tests.remote_contract import LoseAnswers, Peer, RemoteContract
from tracker_mcp.config import RemoteSettings
from tracker_mcp.domain import CLOSED_STATUSES, Project, Status
from tracker_mcp.remote.base import RemoteTracker
from tracker_mcp.remote.client import Policy
from tracker_mcp.remote.gitlab import GitLabTracker, open_adapter
from tracker_mcp.remote.gitlab_mapping import priority_label, project_code, status_label, type_label
from tracker_mcp.tracker import TicketDraft

QUICK = Policy(timeout=2.0, deadline=5.0, retries=0, backoff=0.01)


class GitLabPeer(Peer):
    backend = GitLabTracker.name
    missing = GitLabTracker.missing
    statuses = tuple(Status)  # every column, backlog (the default) first
    carries = frozenset({"type", "priority", "labels"})
    filters = frozenset({"statuses", "types", "priorities", "labels", "assignee", "reporter", "text", "updated_since"})
    bogus_token = "glpat-" + "0" * 20

    def __init__(self) -> None:
        self.fake = standard_world()
        # Projects of their own, in a group alice owns: GitLab lets only owners delete issues.
        self.group = self.fake.add_group(40, "contract", "Contract", {1: OWNER, 2: 30})
        self.numbers = itertools.count(1)
        self.tokens = itertools.count(1)

    async def open(
        self,
        *,
        token: str | None = None,
        elsewhere: str | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        policy: Policy | None = None,
    ) -> RemoteTracker:
        if elsewhere is None:
            if isinstance(transport, LoseAnswers):  # lose answers from the fake instead of the network
                await transport.inner.aclose()
                transport.inner = self.fake.transport()  # pyright: ignore[reportAttributeAccessIssue]
            transport = transport or self.fake.transport()
        settings = RemoteSettings("gitlab", elsewhere or self.fake.host, token or TOKEN)
        return await open_adapter(settings, policy=policy or QUICK, transport=transport)

    async def new_project(self) -> Project:
        number = next(self.numbers)
        path = f"contract-{number}"
        project = self.fake.add_project(4000 + number, self.group, path, f"Contract {number}")
        return Project(
            id=str(project.id), organization_id=str(self.group.id), name=project.name, code=project_code(path),
            description="", created_at=project.created_at,
        )  # fmt: skip

    async def file(self, project: Project, draft: TicketDraft, *, reporter: str = "alice") -> None:
        labels = [*draft.labels, status_label(draft.status), type_label(draft.type), priority_label(draft.priority)]
        self.fake.file_issue(
            int(project.id), reporter, draft.title, draft.description,
            labels=[label for label in labels if label], assignee=draft.assignee,
            closed=draft.status in CLOSED_STATUSES,
        )  # fmt: skip

    def user(self, username: str) -> str:
        return username

    def new_token(self) -> str:
        token = f"glpat-contract-{next(self.tokens)}"
        self.fake.tokens[token] = 1
        return token

    def revoke(self, token: str) -> None:
        del self.fake.tokens[token]


@pytest.fixture
def peer() -> Peer:
    return GitLabPeer()


class TestGitLabContract(RemoteContract):
    pass
