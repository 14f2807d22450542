"""The seam the entry point hands the front ends: a Backend's trackers, and what a remote one refuses."""

from __future__ import annotations

from typing import cast

import pytest

from tickets_mcp.core.access import Tier, TierRefusal
from tickets_mcp.core.backend import REMOTE_CALLER, RemoteBackend
from tickets_mcp.core.local_backend import LocalBackend
from tickets_mcp.core.tracker import Principal, TicketDraft, TicketFilter, Tracker
from tickets_mcp.errors import Unsupported
from tickets_mcp.stores import Store

pytestmark = pytest.mark.anyio


async def alice(store: Store) -> Principal:
    user = await store.find_user("alice")
    assert user is not None
    return Principal(user_id=user.id, username=user.username)


async def test_a_local_backends_trackers_are_bounded_by_the_servers_tier(local_store: Store) -> None:
    backend = LocalBackend(local_store, await alice(local_store), Tier.READ_ONLY)
    tracker = backend.tracker(backend.local_principal)

    assert (await tracker.list_tickets(TicketFilter())).total == 0
    with pytest.raises(TierRefusal, match="read-only"):
        await tracker.create_ticket(TicketDraft(title="Not on a read-only server"))


async def test_a_remote_backend_serves_its_tracker_to_every_caller_and_keeps_no_tokens() -> None:
    closed: list[bool] = []

    async def close() -> None:
        closed.append(True)

    remote = cast(Tracker, object())  # never called: the backend only hands it out
    backend = RemoteBackend(remote, close)

    assert backend.tracker(backend.local_principal) is remote
    assert backend.tracker(Principal(user_id=7, username="bob")) is remote
    assert backend.local_principal == REMOTE_CALLER
    assert backend.pool_usage() is None
    with pytest.raises(Unsupported, match="local store"):
        await backend.authenticate("pk_" + "a" * 43)
    with pytest.raises(Unsupported, match="local store"):
        await backend.session("digest")
    await backend.close()
    assert closed == [True]
