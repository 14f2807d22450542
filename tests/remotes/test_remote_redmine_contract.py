"""The remote adapter contract (tests/fixtures/remote_contract.py) for the Redmine adapter, against a live
Redmine (tests/fixtures/redmine_peer.py): Debian's, started by `.ci/run` through `.ci/redmine`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.redmine_peer import RedminePeer, needs_redmine
from tests.fixtures.remote_contract import Peer, RemoteContract

pytestmark = needs_redmine


@pytest.fixture(scope="module")
def redmine_peer() -> Iterator[RedminePeer]:
    peer = RedminePeer()
    yield peer
    peer.admin.http.close()


@pytest.fixture
def peer(redmine_peer: RedminePeer) -> Peer:
    return redmine_peer


class TestRedmineContract(RemoteContract):
    pass
