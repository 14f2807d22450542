"""Opening what every command works on: the store (migrated, with the local user's workspace) or a
remote tracker, as the Backend the front ends are handed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from tickets_mcp.config import ENV_USER, Settings
from tickets_mcp.core.backend import Backend, RemoteBackend
from tickets_mcp.core.local_backend import LocalBackend
from tickets_mcp.core.tracker import Principal
from tickets_mcp.domain import User
from tickets_mcp.errors import BackendUnavailable, ReadOnlyStore
from tickets_mcp.stores import Store
from tickets_mcp.stores.factory import open_store

DEFAULT_ORGANIZATION = "Local"
DEFAULT_PROJECT = "Inbox"
DEFAULT_PROJECT_CODE = "INBOX"


async def open_local_store(settings: Settings) -> tuple[Store, User]:
    """The store `settings.db` names, migrated, with the local user and (on a new database) the default workspace."""
    store = await open_store(settings.db, synchronous=settings.synchronous, pool_size=settings.pool_size)
    try:
        user = await store.ensure_user(settings.username, settings.username)
        await store.ensure_local_workspace(user, DEFAULT_ORGANIZATION, DEFAULT_PROJECT, DEFAULT_PROJECT_CODE)
    except ReadOnlyStore as exc:
        # Both calls only read when the user and their workspace exist: a read-only database serves those.
        await store.close()
        name = settings.username
        raise BackendUnavailable(
            f"Cannot start as user {name}: the database {exc.store} is read-only ({exc.reason}) and has no "
            f"workspace for {name} yet.",
            hint=f"Start tickets-mcp once with write access to it, or set {ENV_USER} to a user it has.",
        ) from None
    except BaseException:
        await store.close()
        raise
    return store, user


@asynccontextmanager
async def open_local_backend(settings: Settings, *, deliver_webhooks: bool = False) -> AsyncGenerator[Backend]:
    """The store `settings.db` names (see open_local_store), closed on exit; trackers bounded by `--tier`.
    `deliver_webhooks`: a webhook dispatcher runs meanwhile (`serve`; see dispatch/dispatcher.py)."""
    store, user = await open_local_store(settings)
    principal = Principal(user_id=user.id, username=user.username)
    backend = LocalBackend(store, principal, settings.exposure.tier, settings.webhook_targets)
    try:
        if not deliver_webhooks:
            yield backend
            return
        from tickets_mcp.dispatch.dispatcher import delivering_webhooks

        async with delivering_webhooks(store, settings.webhook_targets):
            yield backend
    finally:
        await backend.close()


@asynccontextmanager
async def open_backend(settings: Settings) -> AsyncGenerator[Backend]:
    """The remote tracker `settings` names (`--backend`, `--url`), checked with a first request, or else
    the local store."""
    if settings.remote is None:
        async with open_local_backend(settings) as backend:
            yield backend
        return
    from tickets_mcp.remotes import open_remote

    remote = await open_remote(settings.remote)
    backend = RemoteBackend(remote, remote.aclose)
    try:
        yield backend
    finally:
        await backend.close()
