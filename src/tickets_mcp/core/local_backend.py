"""LocalBackend: the Backend (core/backend.py) over a Store we own, as the entry point opens it."""

from __future__ import annotations

from tickets_mcp.core import tokens
from tickets_mcp.core.access import Tier
from tickets_mcp.core.backend import Webhooks
from tickets_mcp.core.changes import ChangeFeed
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.local_webhooks import LocalWebhooks
from tickets_mcp.core.oauth import ACCESS_PREFIX, LocalOAuth
from tickets_mcp.core.tracker import Principal, Tracker
from tickets_mcp.domain.webhooks import Targets
from tickets_mcp.stores import PoolUsage, Store


class LocalBackend:
    """A Store we own, every tracker bounded by the server's tier (`--tier`), whatever the caller's role."""

    def __init__(
        self, store: Store, local_principal: Principal, tier: Tier = Tier.FULL, webhook_targets: Targets | None = None
    ) -> None:
        self._store = store
        self._local_principal = local_principal
        self._tier = tier
        self._changes = ChangeFeed(store)
        store.on_commit(self._changes.kick)
        self._webhook_targets = webhook_targets or Targets()
        self._oauth = LocalOAuth(store)

    @property
    def store(self) -> Store:
        """The store itself, for what no front end does: tests seeding it, as admin commands would."""
        return self._store

    @property
    def local_principal(self) -> Principal:
        return self._local_principal

    @property
    def changes(self) -> ChangeFeed:
        return self._changes

    def tracker(self, principal: Principal) -> Tracker:
        return LocalTracker(self._store, principal, self._tier)

    @property
    def oauth(self) -> LocalOAuth:
        return self._oauth

    async def authenticate(self, token: str, client: str | None = None) -> Principal | None:
        if token.startswith(ACCESS_PREFIX):
            return await self._oauth.access(token, client)
        return await tokens.authenticate(self._store, token, client)

    async def principal_of_digest(self, token_digest: str, client: str | None = None) -> Principal | None:
        return await tokens.principal_of_digest(self._store, token_digest, client)

    async def start_session(self, session_digest: str, token_id: int, expires_at: str) -> None:
        await self._store.start_session(session_digest, token_id, expires_at)

    async def session(self, session_digest: str, client: str | None = None) -> tuple[Principal, str] | None:
        return await tokens.principal_of_session(self._store, session_digest, client)

    async def end_session(self, session_digest: str) -> None:
        await self._store.end_session(session_digest)

    async def switch_on_toolsets(self, token_id: int, toolsets: frozenset[str]) -> frozenset[str]:
        return await self._store.switch_on_toolsets(token_id, toolsets)

    def webhooks(self, principal: Principal) -> Webhooks:
        return LocalWebhooks(self._store, principal, self._tier, self._webhook_targets)

    async def ping(self) -> None:
        await self._store.ping()

    def pool_usage(self) -> PoolUsage:
        return self._store.pool_usage()

    async def close(self) -> None:
        await self._store.close()
