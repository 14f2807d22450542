"""The remote adapter contract (tests/remote_contract.py) for the GitLab adapter, in front of the fake GitLab
(tests/fake_gitlab.py, as tests/remote_peers.py's GitLabPeer): GitLab cannot run here, and `tickets-mcp
serve` does not speak its API."""

from __future__ import annotations

import pytest

from tests.remote_contract import Peer, RemoteContract
from tests.remote_peers import GitLabPeer


@pytest.fixture
def peer() -> Peer:
    return GitLabPeer()


class TestGitLabContract(RemoteContract):
    pass
