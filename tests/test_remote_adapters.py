"""The remote adapter contract (tests/remote_contract.py) for every adapter whose API `tracker-mcp serve`
speaks: native, agentsmesh, bugtome and abf, each pointed at one real server on loopback.

Each adapter gets an organization of its own in that server (owner alice, member bob) and a token of
the kind its API documents: an `amk_` organization key for AgentsMesh, personal `pk_` tokens for
BugToMe and ABF. To add an adapter of another API the server speaks, add a `Dialect` below.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import anyio
import httpx2
import pytest

from tests.http_server import ServerProcess, running_server
from tests.remote_contract import Peer, RemoteContract
from tracker_mcp import admin
from tracker_mcp.config import RemoteSettings
from tracker_mcp.domain import Capability, Project, Role, Status, User
from tracker_mcp.errors import PermissionDenied
from tracker_mcp.local import LocalTracker
from tracker_mcp.remote import abf, agentsmesh, bugtome, native
from tracker_mcp.remote.base import RemoteTracker
from tracker_mcp.remote.client import Policy
from tracker_mcp.store.factory import open_store
from tracker_mcp.tracker import Principal, TicketDraft, TicketFilter

Opener = Callable[..., Awaitable[RemoteTracker]]
PROJECT_NUMBERS = itertools.count(1)
ALL_STATUSES = tuple(s for s in Status if s is not Status.CANCELED)


@dataclass(frozen=True)
class Dialect:
    """One of the server's REST dialects, as an adapter speaks it."""

    open_adapter: Opener
    url: Callable[[str, str], str]  # (server URL, organization slug) -> the adapter's --url
    token: Callable[[str], tuple[str, ...]]  # organization slug -> `tracker-mcp token create` arguments
    bogus_token: str
    code_prefix: str
    missing: frozenset[Capability]
    statuses: tuple[Status, ...]
    carries: frozenset[str]
    filters: frozenset[str]
    user_by_id: bool = False  # the API names users by numeric id
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
    """An adapter in front of `tracker-mcp serve`: projects and tickets are made straight in its database."""

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
            return await owner.create_project(f"Contract {code}", code=code, organization=self.organization)
        finally:
            await close()

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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("remote") / "tracker.db") as running:
        yield running


@pytest.fixture(scope="module")
def bob(server: ServerProcess) -> User:
    async def add() -> User:
        store = await open_store(Path(str(server.db)))
        try:
            return await admin.add_user(store, "bob", "Bob Example")
        finally:
            await store.close()

    return anyio.run(add)


@pytest.fixture(scope="module", params=sorted(DIALECTS))
def peer(request: pytest.FixtureRequest, server: ServerProcess, bob: User) -> ServePeer:
    backend: str = request.param

    async def organization() -> tuple[str, User]:
        store = await open_store(Path(str(server.db)))
        try:
            alice = await admin.user(store, "alice")
            org = await admin.add_organization(store, f"Contract {backend}", alice.username)
            await admin.set_member(store, org.slug, bob.username, Role.MEMBER)
            return org.slug, alice
        finally:
            await store.close()

    slug, alice = anyio.run(organization)
    return ServePeer(
        dialect=DIALECTS[backend], server=server, organization=slug, people={"alice": alice, "bob": bob},
        backend=backend,
    )  # fmt: skip


class TestRemoteAdapters(RemoteContract):
    """The contract, for agentsmesh, bugtome and abf in front of tracker-mcp serve."""


@pytest.mark.anyio
async def test_a_bugtome_project_token_files_in_its_own_project_and_may_read_nothing(server: ServerProcess) -> None:
    token = server.create_token("--kind", "project", "--user", "alice", "--project", "INBOX")
    tracker = await bugtome.open_adapter(RemoteSettings("bugtome", server.url, token))
    try:
        ticket = await tracker.create_ticket(TicketDraft(title="Filed with a project token", description="From CI"))
        assert (ticket.slug.startswith("INBOX-"), ticket.title, ticket.description) == (
            True, "Filed with a project token", "From CI",
        )  # fmt: skip
        with pytest.raises(PermissionDenied, match="bugtome refused"):
            await tracker.list_tickets(TicketFilter())
    finally:
        await tracker.aclose()
