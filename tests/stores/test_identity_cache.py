"""Tokens and reaches are kept while the identity version stands: a request whose token and roles were seen
costs one read of the version and no identity query, and a revocation or a membership change made through
another replica (a second store on the same database) takes effect on the very next request. On SQLite and
PostgreSQL alike; fixtures in store_contract.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fixtures.store_contract import World, draft
from tests.fixtures.stores import Location, counted, older_store, table_rows
from tickets_mcp.domain import Role, TokenKind
from tickets_mcp.stores import Actor, Identified, NewProject, NewToken, Reach, Store
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.postgres import migrations as postgres_migrations
from tickets_mcp.stores.sql.identity_cache import IdentityCache
from tickets_mcp.stores.sqlite import migrations as sqlite_migrations

pytestmark = pytest.mark.anyio

DIGEST = "d" * 64


@pytest.fixture
async def replica(location: Location, store: Store) -> AsyncIterator[Store]:
    """Another process's store on the same database (opened after `store`, so the schema is there)."""
    other = await open_store(location)
    yield other
    await other.close()


async def bobs_token(store: Store, world: World) -> Identified:
    await store.create_token(
        NewToken(kind=TokenKind.PERSONAL, name="laptop", hash=DIGEST, prefix="pk_abcdef", user_id=world.bob.id),
        world.actor,
    )
    found = await store.authenticate(DIGEST)
    assert found is not None
    return found


async def test_a_seen_token_and_reach_cost_one_read_of_the_version(
    store: Store, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = await bobs_token(store, world)
    await store.reach(world.bob.id, version=found.version)
    with counted(monkeypatch) as queries:
        again = await store.authenticate(DIGEST)
        assert again is not None
        reach = await store.reach(world.bob.id, version=again.version)
    assert len(queries) == 1 and "identity_version" in queries[0]
    assert again.token.id == found.token.id and reach.roles == {world.organization.id: Role.MEMBER}
    with counted(monkeypatch) as queries:
        await store.reach(world.bob.id)  # the local user's calls bring no version: read it once
    assert len(queries) == 1 and "identity_version" in queries[0]


async def test_tickets_filed_and_a_token_used_leave_what_was_read_cached(
    store: Store, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = await bobs_token(store, world)
    await store.reach(world.bob.id, version=found.version)
    await store.create_ticket(draft(world, "The login page is blank"), world.actor)
    again = await store.authenticate(DIGEST)
    assert again is not None and again.version == found.version
    with counted(monkeypatch) as queries:
        await store.reach(world.bob.id, version=again.version)
    assert queries == []


async def test_a_revocation_through_another_replica_refuses_the_very_next_request(
    store: Store, replica: Store, world: World
) -> None:
    found = await bobs_token(store, world)
    assert found.token.revoked_at is None
    await replica.revoke_token(found.token.id, world.actor)
    again = await store.authenticate(DIGEST)
    assert again is not None and again.token.revoked_at is not None and again.version > found.version


async def test_a_membership_change_through_another_replica_shows_on_the_very_next_request(
    store: Store, replica: Store, world: World
) -> None:
    found = await bobs_token(store, world)
    assert (await store.reach(world.bob.id, version=found.version)).roles == {world.organization.id: Role.MEMBER}
    await replica.set_member(world.organization.id, world.bob, Role.ADMIN, world.actor)
    again = await store.authenticate(DIGEST)
    assert again is not None
    assert (await store.reach(world.bob.id, version=again.version)).roles == {world.organization.id: Role.ADMIN}
    await replica.remove_member(world.organization.id, world.bob, world.actor)
    assert (await store.reach(world.bob.id)).roles == {}
    assert (again := await store.authenticate(DIGEST)) is not None and again.token.ungranted_reason is None


async def test_a_project_created_or_renamed_elsewhere_is_in_the_next_reach(
    store: Store, replica: Store, world: World
) -> None:
    before = await store.reach(world.alice.id)
    created = await replica.create_project(
        NewProject(organization_id=world.organization.id, name="Web", code="WEB", description=""), world.actor
    )
    assert (
        [p.code for p in (await store.reach(world.alice.id)).projects]
        == ["INBOX", "WEB"]
        != [p.code for p in before.projects]
    )
    await replica.update_project(created.id, name="Website", description=None, actor=world.actor)
    assert "Website" in [p.name for p in (await store.reach(world.alice.id)).projects]


def reach_of(role: Role) -> Reach:
    return Reach(roles={"o1": role}, organizations=(), projects=(), defaults={})


def test_what_a_slow_request_read_at_an_older_version_is_not_kept() -> None:
    cache = IdentityCache()
    cache.seen(5)
    cache.keep_reach((1, None), 6, reach_of(Role.ADMIN))  # read after a change this process had not seen yet
    assert cache.version == 6 and cache.reach((1, None)) == reach_of(Role.ADMIN)
    cache.keep_reach((2, None), 5, reach_of(Role.OWNER))  # read before it: stale, never kept
    assert cache.reach((2, None)) is None and cache.reach((1, None)) is not None


def test_the_cache_keeps_its_most_recently_used_entries_only() -> None:
    cache = IdentityCache(size=2)
    cache.seen(1)
    for user in (1, 2):
        cache.keep_reach((user, None), 1, reach_of(Role.MEMBER))
    assert cache.reach((1, None)) is not None  # used: 2 is now the least recent
    cache.keep_reach((3, None), 1, reach_of(Role.MEMBER))
    assert cache.reach((2, None)) is None and cache.reach((1, None)) is not None and cache.reach((3, None))


async def test_a_tracker_of_the_previous_schema_gains_the_version_and_its_triggers(store_location: Location) -> None:
    version = sqlite_migrations.IDENTITY_VERSION.version
    assert postgres_migrations.IDENTITY_VERSION.version == version
    older_store(
        store_location, version - 1, ("INSERT INTO users (name, username, created_at) VALUES ('Bob', 'bob', 'now')",)
    )
    store = await open_store(store_location)  # migrates
    try:
        (before,) = table_rows(store_location, "SELECT version FROM identity_version")
        bob = await store.find_user("bob")
        assert bob is not None
        await store.create_organization("Acme", bob, Actor(user_id=bob.id))
        assert table_rows(store_location, "SELECT version FROM identity_version")[0][0] > before[0]
    finally:
        await store.close()
