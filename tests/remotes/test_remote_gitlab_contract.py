"""The remote adapter contract (tests/fixtures/remote_contract.py) for the GitLab adapter, in front of the fake
GitLab (tests/fixtures/fake_gitlab.py, as tests/fixtures/remote_peers.py's GitLabPeer): GitLab cannot run here,
and `tickets-mcp serve` does not speak its API."""

from __future__ import annotations

import pytest

from tests.fixtures.remote_contract import Peer, RemoteContract
from tests.fixtures.remote_peers import GitLabPeer


@pytest.fixture
def peer() -> Peer:
    return GitLabPeer()


class TestGitLabContract(RemoteContract):
    pass
