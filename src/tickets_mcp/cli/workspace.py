"""Opening the store the way every command does: migrated, with the local user's workspace."""

from __future__ import annotations

from tickets_mcp.config import ENV_USER, Settings
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
