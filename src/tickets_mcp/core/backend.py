"""The one seam between the entry point and the front ends: what they work on, opened by cli/.

A front end (the MCP server, the REST dialects, the board, the `tickets` commands) is handed a Backend
and asks it for the Tracker of each caller, for who a token or a board session stands for, and whether
it can serve; it never opens a store or a remote, nor builds a tracker itself. `LocalBackend`
(core/local_backend.py) serves a Store we own, `RemoteBackend` a remote tracker, which refuses what only
a local store keeps (tokens, sessions) with Unsupported.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn, Protocol

from tickets_mcp.core.tracker import Principal, Tracker
from tickets_mcp.domain.webhooks import IssuedWebhook, Webhook, WebhookAttempt
from tickets_mcp.errors import Unsupported

if TYPE_CHECKING:  # a front end holds the protocol only: what serves it (a store, a remote) stays behind it
    from tickets_mcp.core.changes import ChangeFeed
    from tickets_mcp.core.oauth import LocalOAuth
    from tickets_mcp.stores import PoolUsage


@dataclass(frozen=True, slots=True)
class WebhookDraft:
    url: str
    events: Sequence[str] = ()  # event types (`ticket.moved` or `moved`); none: every one
    organization: str | None = None  # slug, id or name; needed when the caller is in several
    description: str = ""


class Webhooks(Protocol):
    """An organization's webhooks, for its owners and admins (or a key with the webhooks scopes): what the
    REST API calls. Only a local store keeps them; docs/webhooks.md says what a receiver gets."""

    async def add_webhook(self, draft: WebhookDraft) -> IssuedWebhook: ...
    async def list_webhooks(self, organization: str | None = None) -> list[Webhook]:
        """The hooks of `organization`, or of every organization where the caller may see them."""
        ...

    async def remove_webhook(self, webhook_id: int) -> Webhook: ...
    async def enable_webhook(self, webhook_id: int) -> Webhook:
        """Make a disabled hook active again (for events from now on), or have a failing one tried now."""
        ...

    async def webhook_log(self, webhook_id: int, limit: int = 20) -> list[WebhookAttempt]:
        """The hook's latest delivery attempts, newest first."""
        ...


class Backend(Protocol):
    """What a front end works on, whatever serves it."""

    @property
    def local_principal(self) -> Principal:
        """Who a call without a token acts as: the local user (TICKETS_USER) on stdio, in the `tickets`
        commands and on a loopback-only board."""
        ...

    def tracker(self, principal: Principal) -> Tracker:
        """The Tracker acting for `principal`, for one call."""
        ...

    @property
    def changes(self) -> ChangeFeed | None:
        """What changes in the tracker, for resource subscriptions; None where nothing is watched (a remote)."""
        ...

    @property
    def oauth(self) -> LocalOAuth:
        """The OAuth grants, codes and tokens the authorization server (http/oauth) keeps."""
        ...

    async def authenticate(self, token: str, client: str | None = None) -> Principal | None:
        """Who a token sent with a request (ours, or an OAuth access token) stands for; None for a malformed,
        unknown, expired or revoked one. Raises tokens.UngrantedToken for a key whose creator may no longer
        grant it."""
        ...

    async def principal_of_digest(self, token_digest: str, client: str | None = None) -> Principal | None:
        """Who the token with this digest stands for (as the board's login form checks one), or None."""
        ...

    async def start_session(self, session_digest: str, token_id: int, expires_at: str) -> None: ...

    async def session(self, session_digest: str, client: str | None = None) -> tuple[Principal, str] | None:
        """A board session's principal and its token's digest; None for an unknown, expired or ended one."""
        ...

    async def end_session(self, session_digest: str) -> None: ...

    async def switch_on_toolsets(self, token_id: int, toolsets: frozenset[str]) -> frozenset[str]:
        """Keep `toolsets` switched on for the token's callers (enable_tools), where every replica reads them
        back with the token (Principal.toolsets); returns all it has switched on."""
        ...

    def webhooks(self, principal: Principal) -> Webhooks:
        """The webhooks `principal` may see and manage, for one call."""
        ...

    async def ping(self) -> None:
        """Return once the backend answers a trivial query (readiness); raise when it cannot."""
        ...

    def pool_usage(self) -> PoolUsage | None:
        """The connection pool right now, for metrics; None without one."""
        ...

    async def close(self) -> None: ...


# A remote token stands for a user of the remote, whom this process knows by no id of its own; without a
# token of ours, every tool is listed and the remote's own refusals say what its API or token lacks.
REMOTE_CALLER = Principal(user_id=0, username="")


@dataclass(frozen=True, slots=True)
class RemoteBackend:
    """A remote tracker, which every caller shares as its token's owner. It keeps no tokens or sessions of
    ours, so a front end that needs them (`serve`) is refused."""

    remote: Tracker
    aclose: Callable[[], Awaitable[None]]

    @property
    def local_principal(self) -> Principal:
        return REMOTE_CALLER

    def tracker(self, principal: Principal) -> Tracker:
        return self.remote

    @property
    def changes(self) -> ChangeFeed | None:
        return None  # changes to a remote tracker are made by others too, and it has no trail of ours to read

    @property
    def oauth(self) -> LocalOAuth:
        _serves_no_tokens()

    async def authenticate(self, token: str, client: str | None = None) -> Principal | None:
        _serves_no_tokens()

    async def principal_of_digest(self, token_digest: str, client: str | None = None) -> Principal | None:
        _serves_no_tokens()

    async def start_session(self, session_digest: str, token_id: int, expires_at: str) -> None:
        _serves_no_tokens()

    async def session(self, session_digest: str, client: str | None = None) -> tuple[Principal, str] | None:
        _serves_no_tokens()

    async def end_session(self, session_digest: str) -> None:
        _serves_no_tokens()

    async def switch_on_toolsets(self, token_id: int, toolsets: frozenset[str]) -> frozenset[str]:
        _serves_no_tokens()

    def webhooks(self, principal: Principal) -> Webhooks:
        raise Unsupported(
            "A remote tracker sends its own events, if it can: webhooks here need a local store.",
            hint="Set up webhooks in the remote tracker, or serve a local store (--db).",
        )

    async def ping(self) -> None:
        """Ready whenever the process runs: the remote was reached when it opened, and answers each call for itself."""

    def pool_usage(self) -> PoolUsage | None:
        return None

    async def close(self) -> None:
        await self.aclose()


def _serves_no_tokens() -> NoReturn:
    raise Unsupported(
        "A remote tracker keeps no tokens or board sessions of ours: this needs a local store.",
        hint="Serve a local store (--db); the remote's own token acts for every caller here.",
    )
