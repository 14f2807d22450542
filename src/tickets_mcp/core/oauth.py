"""OAuth 2.1 grants: the rules the authorization server (http/oauth) keeps, over the Store.

A person's consent becomes a one-use authorization code; its redemption creates a *grant*: a token of
kind GRANT (`oat`) acting as that person, limited to the scopes granted, named after the client. The grant
hands its client short-lived access tokens (`oat_…`) and refresh tokens (`ort_…`), each stored as a digest.
Refreshing spends the refresh token and hands out a new pair; presenting a spent one again (a stolen copy,
or the client's own stale one) revokes the grant, and so every token of its family (OAuth 2.1 §4.3.1).
Redeeming a code twice revokes what the first redemption got (RFC 6749 §4.1.2). Revoking either token
(RFC 7009) or the grant itself (`tickets-mcp grant revoke`, the board) ends them all at their next request.

Everything lives in the store, so any replica answers any step.
"""

from __future__ import annotations

import json
import secrets
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from tickets_mcp.core.tokens import digest
from tickets_mcp.core.tracker import Principal
from tickets_mcp.domain import Scope, Token, TokenKind
from tickets_mcp.domain.rules import format_timestamp
from tickets_mcp.errors import NotFound
from tickets_mcp.stores import Actor, NewToken, OAuthPair, Store

ACCESS_SECONDS = 3600
REFRESH_SECONDS = 30 * 86400
CODE_SECONDS = 120  # RFC 6749 §4.1.2: short; a client redeems it at once
UNUSED_CLIENT_SECONDS = 86400  # a registered client nobody consented to within a day is forgotten
# What a client may ask for: the scopes organization keys have, bar webhooks (a hook sends an organization's
# every event elsewhere: an owner's decision, not a chat client's).
GRANTABLE = (Scope.TICKETS_READ, Scope.TICKETS_WRITE, Scope.PROJECTS_READ, Scope.PROJECTS_WRITE)
ACCESS_PREFIX = "oat_"
REFRESH_PREFIX = "ort_"
CLIENT_NAME_MAX = 80
AUDIT_CLIENT = "oauth"  # the audit trail's client for what the authorization server itself revokes


@dataclass(frozen=True, slots=True)
class CodeRequest:
    """What a person consented to, kept with the code until the client redeems it."""

    client_name: str
    scopes: tuple[str, ...]
    redirect_uri: str
    redirect_uri_provided_explicitly: bool
    code_challenge: str
    resource: str | None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> CodeRequest:
        fields = json.loads(text)
        return cls(
            client_name=str(fields["client_name"]),
            scopes=tuple(str(s) for s in fields["scopes"]),
            redirect_uri=str(fields["redirect_uri"]),
            redirect_uri_provided_explicitly=bool(fields["redirect_uri_provided_explicitly"]),
            code_challenge=str(fields["code_challenge"]),
            resource=fields["resource"],
        )


@dataclass(frozen=True, slots=True)
class StoredCode:
    client_id: str
    user_id: int
    expires_at: float  # seconds since the epoch, as the SDK compares it
    request: CodeRequest


@dataclass(frozen=True, slots=True)
class IssuedPair:
    """Secrets shown to the client once, never stored."""

    access_token: str
    refresh_token: str
    expires_in: int
    scopes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoredRefresh:
    client_id: str
    scopes: tuple[str, ...]
    expires_at: int
    resource: str | None


class LocalOAuth:
    """OAuth state over a Store we own (LocalBackend.oauth)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # Clients registered dynamically (RFC 7591); metadata documents (CIMD) are fetched, never stored.

    async def register_client(self, client_id: str, document: str, unused_limit: int) -> bool:
        """Keep a client; False when `unused_limit` clients registered in the last day are still unused (a flood
        of registrations nobody consents to is refused, and forgotten after a day)."""
        since = format_timestamp(_now() - timedelta(seconds=UNUSED_CLIENT_SECONDS))
        return await self._store.register_oauth_client(
            client_id, document, unused_limit=unused_limit, unused_since=since
        )

    async def client_document(self, client_id: str) -> str | None:
        return await self._store.oauth_client(client_id)

    # Codes

    async def issue_code(self, principal: Principal, client_id: str, request: CodeRequest) -> str:
        """The code for a consent `principal` just gave: shown to the client once, through its redirect."""
        code = secrets.token_urlsafe(32)
        expires = format_timestamp(_now() + timedelta(seconds=CODE_SECONDS))
        await self._store.save_oauth_code(digest(code), client_id, principal.user_id, request.to_json(), expires)
        return code

    async def code(self, code: str) -> StoredCode | None:
        """The unexpired code's consent; None for an unknown one, and for one redeemed already, whose
        grant is then revoked: a code seen twice may have been stolen."""
        found = await self._store.oauth_code(digest(code))
        if found is None:
            return None
        if found.grant_id is not None:
            await self._revoke_grant(found.grant_id, found.user_id)
            return None
        expires = datetime.fromisoformat(found.expires_at.replace("Z", "+00:00")).timestamp()
        return StoredCode(found.client_id, found.user_id, expires, CodeRequest.from_json(found.request))

    async def redeem(self, code: str, client_id: str, stored: StoredCode) -> IssuedPair | None:
        """The grant's first pair; None if another redemption of the code got there first (a replay)."""
        request = stored.request
        scopes = _scopes(request.scopes)
        host = _host_of(request.redirect_uri)
        grant = NewToken(
            kind=TokenKind.GRANT,
            name=f"{request.client_name[:CLIENT_NAME_MAX]} (OAuth, {host})",
            hash=digest(secrets.token_urlsafe(32)),  # a grant has no secret of its own: its tokens are its secrets
            prefix=ACCESS_PREFIX + secrets.token_urlsafe(6)[:6],
            user_id=stored.user_id,
            scopes=scopes,
        )
        pair, issued = _pair(client_id, scopes, request.resource)
        actor = Actor(user_id=stored.user_id, client=request.client_name[:CLIENT_NAME_MAX])
        created = await self._store.redeem_oauth_code(digest(code), grant, pair, actor)
        if created is None:
            found = await self._store.oauth_code(digest(code))
            if found is not None and found.grant_id is not None:
                await self._revoke_grant(found.grant_id, found.user_id)
            return None
        return issued

    # Refresh tokens

    async def refresh_token(self, token: str) -> StoredRefresh | None:
        """The unexpired, unspent refresh token; None otherwise, and a spent one revokes its grant."""
        if not token.startswith(REFRESH_PREFIX):
            return None
        found = await self._store.oauth_refresh(digest(token))
        if found is None:
            return None
        if found.spent:
            await self._revoke_grant(found.grant_id, None)
            return None
        expires = int(datetime.fromisoformat(found.expires_at.replace("Z", "+00:00")).timestamp())
        return StoredRefresh(found.client_id, tuple(sorted(s.value for s in found.scopes)), expires, found.resource)

    async def rotate(
        self, token: str, client_id: str, scopes: tuple[str, ...], granted: tuple[str, ...], resource: str | None
    ) -> IssuedPair | None:
        """Spend `token` for a new pair: an access token for `scopes` (at most the `granted` ones), a refresh
        token for all `granted` (RFC 6749 §6: asking for less once does not lose the rest). None when it was
        spent meanwhile, which revokes its grant, or its grant was revoked."""
        pair, issued = _pair(client_id, _scopes(granted), resource, access=_scopes(scopes))
        if await self._store.rotate_oauth_refresh(digest(token), pair):
            return issued
        if (grant_id := await self._store.oauth_grant_of(digest(token))) is not None:
            await self._revoke_grant(grant_id, None)
        return None

    # Access tokens and revocation

    async def access(self, token: str, client: str | None = None) -> Principal | None:
        """Who an unexpired access token of a live grant stands for, limited to its scopes; None otherwise."""
        found = await self.access_token(token, client)
        return found[0] if found is not None else None

    async def access_token(self, token: str, client: str | None = None) -> tuple[Principal, str] | None:
        """`access`, with the id of the client the token was handed to."""
        found = await self._store.oauth_access(digest(token))
        if found is None:
            return None
        grant, user, scopes, client_id = found
        if grant.revoked_at is not None:
            return None
        principal = Principal(
            user_id=user.id,
            username=user.username,
            token_id=grant.id,
            client=client or grant.name,
            scopes=scopes,
            toolsets=grant.toolsets,
        )
        return principal, client_id

    async def revoke(self, token: str) -> None:
        """RFC 7009: end the grant an access or refresh token belongs to; nothing for an unknown token."""
        if (grant_id := await self._store.oauth_grant_of(digest(token))) is not None:
            await self._revoke_grant(grant_id, None)

    # Grants, for their people

    async def grants(self, username: str | None = None) -> list[Token]:
        """Grants, newest first: a user's, or everyone's."""
        listed = [t for t in await self._store.list_tokens() if t.kind is TokenKind.GRANT]
        return [t for t in reversed(listed) if username is None or t.user == username]

    async def revoke_grant(self, grant_id: int, actor: Actor, *, username: str | None = None) -> Token:
        """Revoke a grant; with `username`, only one of theirs (NotFound otherwise, as if there were none)."""
        found = next((t for t in await self.grants(username) if t.id == grant_id), None)
        if found is None:
            raise NotFound(f"No grant with id {grant_id}.", hint="List grants with: tickets-mcp grant list")
        return await self._store.revoke_token(grant_id, actor)

    async def revoke_own_grant(self, grant_id: int, principal: Principal) -> Token:
        """Revoke one of `principal`'s own grants (on the board), recorded as theirs."""
        actor = Actor(user_id=principal.user_id, token_id=principal.token_id, client=principal.client)
        return await self.revoke_grant(grant_id, actor, username=principal.username)

    async def _revoke_grant(self, grant_id: int, user_id: int | None) -> None:
        with suppress(NotFound):  # gone with its user already
            await self._store.revoke_token(grant_id, Actor(user_id=user_id, client=AUDIT_CLIENT))


def _pair(
    client_id: str, scopes: frozenset[Scope], resource: str | None, *, access: frozenset[Scope] | None = None
) -> tuple[OAuthPair, IssuedPair]:
    access_token, refresh_token = ACCESS_PREFIX + secrets.token_urlsafe(32), REFRESH_PREFIX + secrets.token_urlsafe(32)
    now = _now()
    pair = OAuthPair(
        client_id=client_id,
        scopes=scopes,
        resource=resource,
        access_hash=digest(access_token),
        access_expires_at=format_timestamp(now + timedelta(seconds=ACCESS_SECONDS)),
        refresh_hash=digest(refresh_token),
        refresh_expires_at=format_timestamp(now + timedelta(seconds=REFRESH_SECONDS)),
        access_scopes=access,
    )
    shown = scopes if access is None else access
    return pair, IssuedPair(access_token, refresh_token, ACCESS_SECONDS, tuple(sorted(s.value for s in shown)))


def _scopes(names: tuple[str, ...] | list[str]) -> frozenset[Scope]:
    return frozenset(Scope(name) for name in names if name in {s.value for s in GRANTABLE})


def _host_of(uri: str) -> str:
    parts = urlsplit(uri)
    return parts.hostname or f"{parts.scheme}:"


def _now() -> datetime:
    return datetime.now(UTC)
