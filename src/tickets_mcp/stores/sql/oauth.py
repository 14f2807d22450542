"""OAuth 2.1 state (core/oauth.py says the rules): registered clients, codes, access and refresh tokens.

Every secret is kept as its digest. A grant is a row of `tokens` (kind 'oat'), so revoking one is
revoking a token; its access and refresh tokens point at it and die with it.
"""

from __future__ import annotations

from tickets_mcp.domain import Scope, Token, User
from tickets_mcp.domain.clock import utc_now
from tickets_mcp.stores.port import Actor, NewToken, OAuthCode, OAuthPair, OAuthRefresh
from tickets_mcp.stores.sql import identity
from tickets_mcp.stores.sql.connection import Connection
from tickets_mcp.stores.sql.records import row_to_token, scopes_column


def register_client(conn: Connection, client_id: str, document: str, *, unused_limit: int, unused_since: str) -> bool:
    """Keep a registered client, unless `unused_limit` registrations made since `unused_since` are still unused
    (older unused ones are forgotten first); False then, and nothing is kept."""
    conn.execute("DELETE FROM oauth_clients WHERE used_at IS NULL AND created_at < ?", (unused_since,))
    unused = conn.one("SELECT COUNT(*) FROM oauth_clients WHERE used_at IS NULL AND created_at >= ?", (unused_since,))
    if unused[0] >= unused_limit:
        return False
    conn.execute(
        "INSERT INTO oauth_clients (client_id, document, created_at) VALUES (?, ?, ?)", (client_id, document, utc_now())
    )
    return True


def client(conn: Connection, client_id: str) -> str | None:
    row = conn.optional("SELECT document FROM oauth_clients WHERE client_id = ?", (client_id,))
    return row[0] if row is not None else None


def save_code(conn: Connection, code_hash: str, client_id: str, user_id: int, request: str, expires_at: str) -> None:
    conn.execute("DELETE FROM oauth_codes WHERE expires_at < ?", (utc_now(),))
    conn.execute(
        "INSERT INTO oauth_codes (hash, client_id, user_id, request, expires_at) VALUES (?, ?, ?, ?, ?)",
        (code_hash, client_id, user_id, request, expires_at),
    )
    conn.execute("UPDATE oauth_clients SET used_at = ? WHERE client_id = ?", (utc_now(), client_id))


def code(conn: Connection, code_hash: str) -> OAuthCode | None:
    row = conn.optional(
        "SELECT client_id, user_id, request, expires_at, grant_id FROM oauth_codes WHERE hash = ? AND expires_at > ?",
        (code_hash, utc_now()),
    )
    if row is None:
        return None
    return OAuthCode(client_id=row[0], user_id=row[1], request=row[2], expires_at=row[3], grant_id=row[4])


def redeem_code(conn: Connection, code_hash: str, grant: NewToken, pair: OAuthPair, actor: Actor) -> Token | None:
    """The grant a code's first redemption creates with its first token pair; None when the code was redeemed
    already (or is gone), in which case nothing is created."""
    row = conn.optional(
        "SELECT grant_id FROM oauth_codes WHERE hash = ? AND expires_at > ?" + conn.dialect.locking(" FOR UPDATE"),
        (code_hash, utc_now()),
    )
    if row is None or row[0] is not None:
        return None
    token = identity.create_token(conn, grant, actor)
    conn.execute("UPDATE oauth_codes SET grant_id = ? WHERE hash = ?", (token.id, code_hash))
    _insert_pair(conn, token.id, pair)
    return token


def refresh(conn: Connection, refresh_hash: str) -> OAuthRefresh | None:
    row = conn.optional(
        """SELECT grant_id, client_id, scopes, resource, expires_at, spent_at FROM oauth_tokens
           WHERE hash = ? AND kind = 'refresh' AND expires_at > ?""",
        (refresh_hash, utc_now()),
    )
    if row is None:
        return None
    return OAuthRefresh(
        grant_id=row[0],
        client_id=row[1],
        scopes=_scopes(row[2]),
        resource=row[3],
        expires_at=row[4],
        spent=row[5] is not None,
    )


def rotate(conn: Connection, refresh_hash: str, pair: OAuthPair) -> bool:
    """Spend a refresh token and store the pair that replaces it; False when it was spent already (a replay, or
    a second refresh racing this one) or its grant is revoked, in which case nothing is stored."""
    row = conn.optional(
        """UPDATE oauth_tokens SET spent_at = ?
           WHERE hash = ? AND kind = 'refresh' AND spent_at IS NULL AND expires_at > ?
             AND grant_id IN (SELECT id FROM tokens WHERE revoked_at IS NULL)
           RETURNING grant_id""",
        (utc_now(), refresh_hash, utc_now()),
    )
    if row is None:
        return False
    _insert_pair(conn, row[0], pair)
    return True


def grant_of(conn: Connection, token_hash: str) -> int | None:
    """The grant an access or refresh token (spent or not, expired or not) was handed out by."""
    row = conn.optional("SELECT grant_id FROM oauth_tokens WHERE hash = ?", (token_hash,))
    return row[0] if row is not None else None


def access(conn: Connection, access_hash: str) -> tuple[Token, User, frozenset[Scope], str] | None:
    row = conn.optional(
        """SELECT t.id, t.kind, t.name, t.prefix, u.username, t.organization_id, t.project_id, t.scopes,
                  t.created_at, t.last_used_at, t.revoked_at, t.user_id, NULL, x.toolsets, u.name, o.scopes,
                  o.client_id
           FROM oauth_tokens o JOIN tokens t ON t.id = o.grant_id JOIN users u ON u.id = t.user_id
           LEFT JOIN token_toolsets x ON x.token_id = t.id
           WHERE o.hash = ? AND o.kind = 'access' AND o.expires_at > ?""",
        (access_hash, utc_now()),
    )  # the token columns of KEYS_SELECT (a grant has no organization, so no creator's role), then more
    if row is None:
        return None
    return row_to_token(row), User(id=row[11], username=row[4], name=row[14]), _scopes(row[15]), row[16]


def _insert_pair(conn: Connection, grant_id: int, pair: OAuthPair) -> None:
    conn.execute("DELETE FROM oauth_tokens WHERE expires_at < ?", (utc_now(),))
    access_scopes = pair.scopes if pair.access_scopes is None else pair.access_scopes
    for kind, digest, scopes, expires_at in (
        ("access", pair.access_hash, access_scopes, pair.access_expires_at),
        ("refresh", pair.refresh_hash, pair.scopes, pair.refresh_expires_at),
    ):
        conn.execute(
            """INSERT INTO oauth_tokens (hash, grant_id, kind, client_id, scopes, resource, expires_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (digest, grant_id, kind, pair.client_id, scopes_column(scopes), pair.resource, expires_at),
        )


def _scopes(column: str) -> frozenset[Scope]:
    return frozenset(Scope(s) for s in column.split(",") if s)
