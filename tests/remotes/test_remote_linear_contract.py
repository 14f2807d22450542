"""The remote adapter contract (tests/fixtures/remote_contract.py) for the linear adapter, in front of the fake
Linear (tests/fixtures/fake_linear.py, as tests/fixtures/linear_peer.py's LinearPeer), which executes every
request against Linear's published GraphQL schema: Linear cannot run here. Each test also proves the adapter
sent nothing the schema does not define."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.linear_peer import LinearPeer
from tests.fixtures.remote_contract import Peer, RemoteContract


@pytest.fixture
def peer() -> Iterator[Peer]:
    linear = LinearPeer()
    yield linear
    assert linear.fake.violations == []


class TestLinearContract(RemoteContract):
    pass
