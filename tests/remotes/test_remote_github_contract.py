"""The remote adapter contract (tests/fixtures/remote_contract.py) for the GitHub adapter, in front of the fake
GitHub (tests/fixtures/fake_github.py as tests/fixtures/github_peer.py's GitHubPeer): GitHub cannot run here, so
every request and answer is checked against GitHub's own OpenAPI description, and none may fall outside it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.github_peer import GitHubPeer
from tests.fixtures.remote_contract import Peer, RemoteContract


@pytest.fixture
def peer() -> Iterator[Peer]:
    github = GitHubPeer()
    yield github
    assert github.transport.violations == []


class TestGitHubContract(RemoteContract):
    pass
