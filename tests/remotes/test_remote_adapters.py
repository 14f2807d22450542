"""The remote adapter contract (tests/fixtures/remote_contract.py) for every adapter whose API `tickets-mcp serve`
speaks: native, agentsmesh, bugtome and abf, each pointed at one real server on loopback, in an
organization of its own (tests/fixtures/remote_peers.py has the peers and how their tokens are made).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.http_server import ServerProcess, running_server
from tests.fixtures.remote_contract import RemoteContract
from tests.fixtures.remote_peers import DIALECTS, ServePeer, add_user, serve_peer
from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import TicketDraft, TicketFilter
from tickets_mcp.domain import User
from tickets_mcp.errors import PermissionDenied
from tickets_mcp.remotes import bugtome


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("remote") / "tracker.db") as running:
        yield running


@pytest.fixture(scope="module")
def bob(server: ServerProcess) -> User:
    return add_user(server, "bob", "Bob Example")


@pytest.fixture(scope="module", params=sorted(DIALECTS))
def peer(request: pytest.FixtureRequest, server: ServerProcess, bob: User) -> ServePeer:
    return serve_peer(server, request.param, bob)


class TestRemoteAdapters(RemoteContract):
    """The contract, for agentsmesh, bugtome and abf in front of tickets-mcp serve."""


@pytest.mark.anyio
async def test_a_bugtome_project_token_files_in_its_own_project_and_may_read_nothing(server: ServerProcess) -> None:
    token = server.create_token("--kind", "project", "--user", "alice", "--project", "INBOX")
    tracker = await bugtome.open_adapter(RemoteSettings("bugtome", server.url, token))
    try:
        ticket = (
            await tracker.create_ticket(TicketDraft(title="Filed with a project token", description="From CI"))
        ).ticket
        assert (ticket.slug.startswith("INBOX-"), ticket.title, ticket.description) == (
            True, "Filed with a project token", "From CI",
        )  # fmt: skip
        with pytest.raises(PermissionDenied, match="bugtome refused"):
            await tracker.list_tickets(TicketFilter())
    finally:
        await tracker.aclose()
