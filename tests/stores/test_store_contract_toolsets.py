"""The tool sets a token switched on (enable_tools), kept in the store so every replica lists them: read back
with the token itself, one row per token at most, only known set names, gone with the token. On SQLite and
PostgreSQL alike; fixtures in store_contract.py."""

from __future__ import annotations

import anyio
import pytest

from tests.fixtures.store_contract import World
from tests.fixtures.stores import Location, older_store, table_rows
from tickets_mcp.domain import Token, TokenKind
from tickets_mcp.errors import Invalid, NotFound
from tickets_mcp.mcp.exposure import ON_REQUEST
from tickets_mcp.stores import NewProject, NewToken, Store
from tickets_mcp.stores.factory import open_store
from tickets_mcp.stores.postgres import migrations as postgres_migrations
from tickets_mcp.stores.sql.records import TOOLSET_BITS
from tickets_mcp.stores.sqlite import migrations as sqlite_migrations

pytestmark = pytest.mark.anyio


async def token_of(store: Store, world: World, digest: str, **fields: object) -> Token:
    made = NewToken(
        **{"kind": TokenKind.PERSONAL, "name": "laptop", "hash": digest, "prefix": "pk_abcdef", "user_id": world.bob.id}
        | fields  # pyright: ignore[reportArgumentType]
    )
    return await store.create_token(made, world.actor)


async def read_back(store: Store, digest: str) -> frozenset[str]:
    found = await store.authenticate(digest)
    assert found is not None
    return found[0].toolsets


def test_every_set_a_caller_may_switch_on_has_its_own_stored_bit() -> None:
    assert set(TOOLSET_BITS) == ON_REQUEST
    bits = list(TOOLSET_BITS.values())
    assert all(bit & (bit - 1) == 0 for bit in bits) and len(set(bits)) == len(bits)


async def test_switched_sets_add_up_per_token_and_are_read_back_with_it(store: Store, world: World) -> None:
    laptop, other = await token_of(store, world, "d" * 64), await token_of(store, world, "e" * 64)
    assert laptop.toolsets == frozenset() and await read_back(store, "d" * 64) == frozenset()
    assert await store.switch_on_toolsets(laptop.id, frozenset({"bulk"})) == {"bulk"}
    assert await store.switch_on_toolsets(laptop.id, frozenset({"planning", "bulk"})) == {"bulk", "planning"}
    assert await read_back(store, "d" * 64) == {"bulk", "planning"}
    assert await read_back(store, "e" * 64) == frozenset()
    assert {t.id: t.toolsets for t in await store.list_tokens()} == {laptop.id: {"bulk", "planning"}, other.id: set()}


async def test_a_token_holds_one_row_whatever_it_switches_on(store: Store, world: World, location: Location) -> None:
    token = await token_of(store, world, "d" * 64)
    for toolsets in ({"bulk"}, {"bulk"}, {"projects", "files"}, set(ON_REQUEST)):
        await store.switch_on_toolsets(token.id, frozenset(toolsets))
    assert table_rows(location, "SELECT token_id, toolsets FROM token_toolsets") == [(token.id, 15)]


async def test_sets_switched_on_at_once_from_two_places_are_all_kept(store: Store, world: World) -> None:
    token = await token_of(store, world, "d" * 64)
    async with anyio.create_task_group() as group:
        for name in sorted(ON_REQUEST):
            group.start_soon(store.switch_on_toolsets, token.id, frozenset({name}))
    assert await read_back(store, "d" * 64) == ON_REQUEST


async def test_an_unknown_set_name_is_refused_and_nothing_is_kept(
    store: Store, world: World, location: Location
) -> None:
    token = await token_of(store, world, "d" * 64)
    for refused in ({"bulk", "everything"}, {"tickets"}, set[str]()):
        with pytest.raises(Invalid, match="tool set"):
            await store.switch_on_toolsets(token.id, frozenset(refused))
    assert table_rows(location, "SELECT * FROM token_toolsets") == []


async def test_a_revoked_or_unknown_token_keeps_no_sets(store: Store, world: World, location: Location) -> None:
    token = await token_of(store, world, "d" * 64)
    await store.switch_on_toolsets(token.id, frozenset({"bulk"}))
    await store.revoke_token(token.id, world.actor)
    assert table_rows(location, "SELECT * FROM token_toolsets") == []  # revoking forgets them at once
    for gone in (token.id, token.id + 100):
        with pytest.raises(NotFound):
            await store.switch_on_toolsets(gone, frozenset({"bulk"}))
    assert table_rows(location, "SELECT * FROM token_toolsets") == []


async def test_a_token_deleted_with_its_project_takes_its_sets_along(
    store: Store, world: World, location: Location
) -> None:
    web = await store.create_project(NewProject(world.organization.id, "Web", "WEB", ""), world.actor)
    token = await token_of(
        store, world, "p" * 64, kind=TokenKind.PROJECT, prefix="proj_abcdef",
        organization_id=world.organization.id, project_id=web.id,
    )  # fmt: skip
    await store.switch_on_toolsets(token.id, frozenset({"files"}))
    await store.delete_project(web.id, world.actor)
    assert table_rows(location, "SELECT * FROM token_toolsets") == []


async def test_a_tracker_of_the_previous_schema_gains_switched_sets_for_its_tokens(store_location: Location) -> None:
    version = sqlite_migrations.TOKEN_TOOLSETS.version
    assert postgres_migrations.TOKEN_TOOLSETS.version == version
    older_store(
        store_location,
        version - 1,
        (
            "INSERT INTO users (name, username, created_at) VALUES ('Bob', 'bob', 'now')",
            "INSERT INTO tokens (kind, name, hash, prefix, user_id, created_at) "
            f"SELECT 'pk', 'old', '{'d' * 64}', 'pk_abcdef', id, 'then' FROM users",
        ),
    )
    store = await open_store(store_location)  # migrates
    try:
        assert await read_back(store, "d" * 64) == frozenset()
        (token,) = await store.list_tokens()
        assert await store.switch_on_toolsets(token.id, frozenset({"projects"})) == {"projects"}
        assert await read_back(store, "d" * 64) == {"projects"}
    finally:
        await store.close()
