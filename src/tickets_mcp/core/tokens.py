"""Tokens: issued once, stored as a SHA-256 digest, turned back into a Principal on each request."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from tickets_mcp.core.tracker import Principal
from tickets_mcp.domain import Project, Scope, Token, TokenKind, User
from tickets_mcp.errors import Invalid, TrackerError
from tickets_mcp.stores import Actor, NewToken, Store

TOKEN_FORMAT = re.compile(r"(pk|proj|amk)_[A-Za-z0-9_-]{20,100}")
VISIBLE_CHARS = 6  # of the secret part, shown in listings so people can tell tokens apart


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: `secret` is shown to its owner once and never stored."""

    secret: str
    token: Token


async def issue_token(
    store: Store,
    *,
    kind: TokenKind,
    name: str,
    user: User,
    actor: Actor,
    organization_id: str | None = None,
    project: Project | None = None,
    scopes: frozenset[Scope] = frozenset(),
) -> IssuedToken:
    if kind is TokenKind.ORGANIZATION and (organization_id is None or not scopes):
        raise Invalid("scopes", "An organization key needs an organization and at least one scope.")
    if kind is TokenKind.PROJECT and project is None:
        raise Invalid("project", "A project token needs a project.")
    if kind is TokenKind.PERSONAL and scopes:
        raise Invalid("scopes", "A personal token acts as its user; scopes belong to organization keys.")
    secret = f"{kind.value}_{secrets.token_urlsafe(32)}"
    stored = await store.create_token(
        NewToken(
            kind=kind,
            name=name,
            hash=digest(secret),
            prefix=secret[: len(kind.value) + 1 + VISIBLE_CHARS],
            user_id=user.id,
            organization_id=project.organization_id if project is not None else organization_id,
            project_id=project.id if project is not None else None,
            scopes=scopes,
        ),
        actor,
    )
    return IssuedToken(secret=secret, token=stored)


class UngrantedToken(TrackerError):
    """A project token or organization key whose creator may no longer grant it (Token.ungranted_reason).

    Raised rather than answered with None so the refusal can say why; the message never holds the token.
    """


async def authenticate(store: Store, token: str, client: str | None = None) -> Principal | None:
    """The principal a token stands for, or None for a malformed, unknown or revoked one; raises
    UngrantedToken for a key whose creator may no longer grant it."""
    if not TOKEN_FORMAT.fullmatch(token):
        return None
    found = await store.authenticate(digest(token))
    if found is not None and found.token.revoked_at is None and (reason := found.token.ungranted_reason):
        kind = "project token" if found.token.kind is TokenKind.PROJECT else "organization key"
        raise UngrantedToken(
            f"This {kind} no longer works: {reason}.",
            hint="An owner or admin can make a new one: tickets-mcp token create --user NAME --kind KIND.",
        )
    return _principal(found.token, found.user, client, found.version) if found is not None else None


async def principal_of_digest(store: Store, token_digest: str, client: str | None = None) -> Principal | None:
    """The principal behind a stored token digest (as the board's login form checks a token), or None for an
    unknown or revoked one, or one whose creator may no longer grant it."""
    found = await store.authenticate(token_digest)
    return _principal(found.token, found.user, client, found.version) if found is not None else None


async def principal_of_session(
    store: Store, session_digest: str, client: str | None = None
) -> tuple[Principal, str] | None:
    """The principal of a board session and its token's digest (the rate-limit key it shares with the
    token's other calls); None for an unknown, expired or ended session, or one whose token no longer works."""
    session = await store.board_session(session_digest)
    if session is None:
        return None
    principal = _principal(session.token, session.user, client)
    return (principal, session.token_digest) if principal is not None else None


def _principal(stored: Token, user: User, client: str | None, version: int | None = None) -> Principal | None:
    if stored.revoked_at is not None or stored.ungranted_reason is not None:
        return None
    return Principal(
        user_id=user.id,
        username=user.username,
        token_id=stored.id,
        client=client,
        organization_id=stored.organization_id if stored.kind is not TokenKind.PERSONAL else None,
        scopes=stored.scopes if stored.kind is TokenKind.ORGANIZATION else None,
        project_id=stored.project_id if stored.kind is TokenKind.PROJECT else None,
        toolsets=stored.toolsets,
        identity_version=version,
    )
