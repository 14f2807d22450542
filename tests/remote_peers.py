"""The peers the adapter suites run against: `tickets-mcp serve` in each REST dialect it speaks, and the
fake GitLab. tests/test_remote_adapters.py and tests/test_remote_gitlab_contract.py run the adapter
contract against them; tests/test_remote_faults.py puts a fault-injecting proxy between them and the adapters.

For serve, each adapter gets an organization of its own (owner alice, and the members a suite asks
for) and a token of the kind its API documents: an `amk_` organization key for AgentsMesh, personal
`pk_` tokens for BugToMe and ABF. To add an adapter of another API the server speaks, add a `Dialect`.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import anyio
import httpx2

from tests.fake_gitlab import OWNER, TOKEN, standard_world
from tests.http_server import ServerProcess
from tests.remote_contract import LoseAnswers, Peer
from tickets_mcp.config import RemoteSettings
from tickets_mcp.core import admin
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketDraft
from tickets_mcp.domain import CLOSED_STATUSES, Capability, Project, Role, Status, User
from tickets_mcp.remotes import abf, agentsmesh, bugtome, native
from tickets_mcp.remotes.base import RemoteTracker
from tickets_mcp.remotes.client import Policy
from tickets_mcp.remotes.gitlab import GitLabTracker, open_adapter
from tickets_mcp.remotes.gitlab_mapping import priority_label, project_code, status_label, type_label
from tickets_mcp.stores.factory import open_store

Opener = Callable[..., Awaitable[RemoteTracker]]
PROJECT_NUMBERS = itertools.count(1)
ALL_STATUSES = tuple(s for s in Status if s is not Status.CANCELED)


@dataclass(frozen=True)
class Dialect:
    """One of the server's REST dialects, as an adapter speaks it."""

    open_adapter: Opener
    url: Callable[[str, str], str]  # (server URL, organization slug) -> the adapter's --url
    token: Callable[[str], tuple[str, ...]]  # organization slug -> `tickets-mcp token create` arguments
    bogus_token: str
    code_prefix: str
    missing: frozenset[Capability]
    statuses: tuple[Status, ...]
    carries: frozenset[str]
    filters: frozenset[str]
    user_by_id: bool = False  # the API names users by numeric id
    project_by_number: bool = False  # the API names projects by their integer (seeds 001, 002), not the UUID
    filters_tested_elsewhere: frozenset[str] = frozenset()


DIALECTS = {
    "agentsmesh": Dialect(
        open_adapter=agentsmesh.open_adapter,
        url=lambda server, org: f"{server}/api/v1/ext/orgs/{org}",
        token=lambda org: (
            "--kind",
            "organization",
            "--user",
            "alice",
            "--organization",
            org,
            "--scopes",
            "tickets:write",
        ),
        bogus_token="amk_" + "0" * 40,
        code_prefix="AM",
        missing=frozenset({Capability.MANAGE_PROJECTS, Capability.ORDER_COLUMNS, Capability.COMMENT}),
        statuses=ALL_STATUSES,
        carries=frozenset({"type", "priority", "labels"}),
        filters=frozenset({"statuses", "types", "labels", "assignee"}),
        user_by_id=True,
        project_by_number=True,
    ),
    "bugtome": Dialect(
        open_adapter=bugtome.open_adapter,
        url=lambda server, org: server,
        token=lambda org: ("--user", "alice"),
        bogus_token="pk_" + "0" * 40,
        code_prefix="BT",
        missing=frozenset(Capability),
        statuses=(Status.BACKLOG, Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE),
        carries=frozenset({"type", "priority", "labels"}),
        filters=frozenset({"statuses", "priorities"}),
    ),
    "abf": Dialect(
        open_adapter=abf.open_adapter,
        url=lambda server, org: f"{server}/api/v1",
        token=lambda org: ("--user", "alice"),
        bogus_token="pk_" + "0" * 40,
        code_prefix="AB",
        missing=frozenset(Capability) - {Capability.EDIT_TICKETS},
        statuses=(Status.BACKLOG, Status.DONE),
        carries=frozenset({"labels"}),
        filters=frozenset({"statuses", "labels", "assignee", "reporter", "updated_since"}),
        project_by_number=True,
    ),
    "native": Dialect(
        open_adapter=native.open_adapter,
        url=lambda server, org: server,
        token=lambda org: ("--user", "alice"),
        bogus_token="pk_" + "0" * 40,
        code_prefix="NT",
        missing=frozenset(),
        statuses=tuple(Status),
        carries=frozenset({"type", "priority", "labels"}),
        filters=frozenset(
            {"statuses", "types", "priorities", "labels", "assignee", "reporter", "updated_since", "text"}
        ),
        filters_tested_elsewhere=frozenset({"parent"}),
    ),
}


@dataclass
class ServePeer(Peer):
    """An adapter in front of `tickets-mcp serve`: projects and tickets are made straight in its database."""

    dialect: Dialect
    server: ServerProcess
    organization: str  # slug
    people: dict[str, User]
    backend: str = ""
    token: str = ""
    url: str = ""
    missing: frozenset[Capability] = field(init=False)
    statuses: tuple[Status, ...] = field(init=False)
    carries: frozenset[str] = field(init=False)
    filters: frozenset[str] = field(init=False)
    filters_tested_elsewhere: frozenset[str] = field(init=False)
    bogus_token: str = field(init=False)

    def __post_init__(self) -> None:
        d = self.dialect
        self.missing, self.statuses, self.carries, self.filters = d.missing, d.statuses, d.carries, d.filters
        self.filters_tested_elsewhere = d.filters_tested_elsewhere
        self.bogus_token = d.bogus_token
        self.url = d.url(self.server.url, self.organization)
        self.token = self.new_token()

    async def open(
        self,
        *,
        token: str | None = None,
        elsewhere: str | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        policy: Policy | None = None,
    ) -> RemoteTracker:
        url = self.dialect.url(elsewhere, self.organization) if elsewhere else self.url
        settings = RemoteSettings(self.backend, url, token or self.token)
        return await self.dialect.open_adapter(settings, policy=policy, transport=transport)

    async def _as(self, username: str) -> tuple[LocalTracker, Callable[[], Awaitable[None]]]:
        store = await open_store(Path(str(self.server.db)))
        user = self.people[username]
        return LocalTracker(store, Principal(user_id=user.id, username=user.username)), store.close

    async def new_project(self) -> Project:
        code = f"{self.dialect.code_prefix}{next(PROJECT_NUMBERS)}"
        owner, close = await self._as("alice")
        try:
            project = await owner.create_project(f"Contract {code}", code=code, organization=self.organization)
        finally:
            await close()
        # The project as the adapter knows it: by the id its API sends (the store also takes the number).
        return project.model_copy(update={"id": str(project.number)}) if self.dialect.project_by_number else project

    async def file(self, project: Project, draft: TicketDraft, *, reporter: str = "alice") -> None:
        tracker, close = await self._as(reporter)
        try:
            await tracker.create_ticket(replace(draft, project=project.id))
        finally:
            await close()

    def user(self, username: str) -> str:
        return str(self.people[username].id) if self.dialect.user_by_id else username

    def new_token(self) -> str:
        return self.server.create_token(*self.dialect.token(self.organization))

    def revoke(self, token: str) -> None:
        self.server.revoke_token(token)


def add_user(server: ServerProcess, username: str, name: str) -> User:
    """A user in the server's store, beside alice."""

    async def add() -> User:
        store = await open_store(Path(str(server.db)))
        try:
            return await admin.add_user(store, username, name)
        finally:
            await store.close()

    return anyio.run(add)


def serve_peer(server: ServerProcess, backend: str, *members: User) -> ServePeer:
    """The adapter `backend` in front of `server`, in an organization of its own: alice owns it, `members` are in it."""

    async def organization() -> tuple[str, User]:
        store = await open_store(Path(str(server.db)))
        try:
            alice = await admin.user(store, "alice")
            org = await admin.add_organization(store, f"Contract {backend}", alice.username)
            for member in members:
                await admin.set_member(store, org.slug, member.username, Role.MEMBER)
            return org.slug, alice
        finally:
            await store.close()

    slug, alice = anyio.run(organization)
    people = {"alice": alice, **{member.username: member for member in members}}
    return ServePeer(dialect=DIALECTS[backend], server=server, organization=slug, people=people, backend=backend)


QUICK = Policy(timeout=2.0, deadline=5.0, retries=0, backoff=0.01)


class GitLabPeer(Peer):
    """The fake GitLab (`fake`, standard_world and a group alice owns), reached through its MockTransport
    unless `open` is pointed elsewhere."""

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
