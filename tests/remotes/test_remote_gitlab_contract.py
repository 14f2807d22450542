"""The remote adapter contract (tests/fixtures/remote_contract.py) for the GitLab adapter, in front of the fake
GitLab (tests/fixtures/fake_gitlab.py, as tests/fixtures/remote_peers.py's GitLabPeer): GitLab cannot run here,
so every request and answer is refereed by GitLab's OpenAPI document, and each test ends with none outside it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.remote_contract import Peer, RemoteContract
from tests.fixtures.remote_peers import GitLabPeer


@pytest.fixture
def peer() -> Iterator[Peer]:
    gitlab = GitLabPeer()
    yield gitlab
    assert gitlab.fake.referee.violations == []


class TestGitLabContract(RemoteContract):
    pass
