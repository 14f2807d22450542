"""The MCP SDK's authorization-server provider (mcp.server.auth) over the store's OAuth state (core/oauth.py).

The SDK's handlers parse and check each request (PKCE S256, the client's redirect URIs and scopes, code
and refresh-token expiry, client authentication); this provider answers from the store, so any replica
answers any step. `authorize` does not decide: it sends the browser to the consent page (consent.py) with
the request sealed by the replicas' shared state key.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    IdentityAssertionParams,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import InvalidRedirectUriError, OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl, ValidationError

from tickets_mcp.core.backend import Backend
from tickets_mcp.core.oauth import GRANTABLE, CodeRequest, IssuedPair, StoredCode
from tickets_mcp.core.tokens import digest
from tickets_mcp.domain.rules import CursorSeal
from tickets_mcp.domain.text import clean_name
from tickets_mcp.errors import TrackerError
from tickets_mcp.http.oauth.client_documents import ClientDocumentRefused, DocumentPolicy, fetch_client_document
from tickets_mcp.http.oauth.paths import CONSENT_PATH

log = logging.getLogger(__name__)
FETCHED: ContextVar[TrackerClient | None] = ContextVar("fetched_client_document", default=None)

REQUEST_SECONDS = 600  # how long a person may take on the login and consent pages
SCOPES = tuple(s.value for s in GRANTABLE)
# Hosts whose redirect URI may name any port (OAuth 2.1 §8.4.2 names the IP literals; native clients such as
# Claude Code use `localhost`, which names this machine too).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "[::1]", "localhost"})


UNSAFE_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "about", "blob", "filesystem"})
REGISTRATION_MAX = 4096  # bytes of a registered client's metadata, as a metadata document's cap (5 KiB) or less
CLIENT_NAME_MAX = 80


def redirect_refusal(uri: str) -> str | None:
    """Why a browser must never be sent to `uri` with a code, or None: http only to this machine (https, or
    an app's own scheme, elsewhere), no fragment (RFC 6749 §3.1.2), no scheme a browser would run."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return f"{uri[:100]!r} is not a URL"
    scheme = parts.scheme.lower()
    if not scheme:
        return f"{uri[:100]!r} is not an absolute URL"
    if scheme in UNSAFE_SCHEMES:
        return f"a {scheme}: redirect URI would run in the browser"
    if parts.fragment or uri.endswith("#"):
        return f"{uri[:100]!r} has a #fragment"
    if scheme == "http" and parts.netloc.rsplit(":", 1)[0].lower() not in LOOPBACK_HOSTS:
        return f"{uri[:100]!r} is plain http to another machine: use https (http only to 127.0.0.1 or localhost)"
    return None


def client_name(name: str | None, fallback: str) -> str:
    """A client's name as shown and recorded: one line of plain text (a name is its own claim, and data)."""
    plain = (name or "").encode("utf-8", "replace").decode("utf-8")  # a lone surrogate half becomes "?"
    return clean_name(plain, CLIENT_NAME_MAX) or clean_name(fallback, CLIENT_NAME_MAX) or "an unnamed client"


class TrackerClient(OAuthClientInformationFull):
    """A client whose redirect URIs match exactly, bar the port of a loopback one (OAuth 2.1 §8.4.2: a native
    app listens on whatever port is free)."""

    def validate_redirect_uri(self, redirect_uri: AnyUrl | None) -> AnyUrl:
        if redirect_uri is not None and self.redirect_uris:
            for registered in self.redirect_uris:
                if same_redirect(str(registered), str(redirect_uri)):
                    return redirect_uri
            raise InvalidRedirectUriError(f"Redirect URI '{redirect_uri}' not registered for client")
        return super().validate_redirect_uri(redirect_uri)


def same_redirect(registered: str, given: str) -> bool:
    if registered == given:
        return True
    a, b = urlsplit(registered), urlsplit(given)
    loopback = a.scheme == "http" and a.netloc.rsplit(":", 1)[0].lower() in LOOPBACK_HOSTS
    plain = b.username is None and b.password is None and not b.fragment
    return loopback and plain and (a.scheme, a.hostname, a.path, a.query) == (b.scheme, b.hostname, b.path, b.query)


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """An authorization request waiting for a person's consent, sealed into the consent page's URL."""

    client_id: str
    client_name: str
    redirect_uri: str
    redirect_uri_provided_explicitly: bool
    scopes: tuple[str, ...]
    code_challenge: str
    state: str | None
    resource: str | None
    expires_at: float

    def seal(self, seal: CursorSeal) -> str:
        fields = [
            self.client_id,
            self.client_name,
            self.redirect_uri,
            self.redirect_uri_provided_explicitly,
            list(self.scopes),
            self.code_challenge,
            self.state,
            self.resource,
            self.expires_at,
        ]
        sealed = seal.seal(json.dumps(fields, separators=(",", ":")))
        assert sealed is not None
        return sealed

    @classmethod
    def open(cls, seal: CursorSeal, sealed: str) -> PendingRequest | None:
        """The request, or None for one altered, sealed by another key, or expired."""
        try:
            fields: list[Any] = json.loads(seal.open(sealed) or "null")
            request = cls(
                client_id=str(fields[0]),
                client_name=str(fields[1]),
                redirect_uri=str(fields[2]),
                redirect_uri_provided_explicitly=bool(fields[3]),
                scopes=tuple(str(s) for s in fields[4]),
                code_challenge=str(fields[5]),
                state=None if fields[6] is None else str(fields[6]),
                resource=None if fields[7] is None else str(fields[7]),
                expires_at=float(fields[8]),
            )
        except (TrackerError, ValueError, TypeError, IndexError):
            return None
        return request if request.expires_at > time.time() else None

    def code_request(self) -> CodeRequest:
        return CodeRequest(
            client_name=self.client_name,
            scopes=self.scopes,
            redirect_uri=self.redirect_uri,
            redirect_uri_provided_explicitly=self.redirect_uri_provided_explicitly,
            code_challenge=self.code_challenge,
            resource=self.resource,
        )


class TrackerCode(AuthorizationCode):
    user_id: int
    client_name: str


def redirect_with(uri: str, **params: str | None) -> str:
    """`uri` with `params` added to its query (RFC 6749 §4.1.2), keeping what it had."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if urlsplit(uri).query else '?'}{query}"


def bearer(issued: IssuedPair) -> OAuthToken:
    return OAuthToken(
        access_token=issued.access_token,
        token_type="Bearer",  # noqa: S106 - the scheme's name
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
        scope=" ".join(issued.scopes),
    )


class TrackerOAuthProvider:
    """OAuthAuthorizationServerProvider[TrackerCode, RefreshToken, AccessToken] for `serve`."""

    def __init__(
        self,
        backend: Callable[[], Backend],
        *,
        issuer: str,
        resource: str,
        seal: CursorSeal,
        documents: DocumentPolicy,
        unused_clients: int = 1000,
    ) -> None:
        self._backend = backend
        self.issuer = issuer
        self.resource = resource
        self._seal = seal
        self._documents = documents
        self.unused_clients = unused_clients

    # Clients

    async def client_document(self, client_id: str) -> TrackerClient:
        """The client a Client ID Metadata Document describes; ClientDocumentRefused says why not. Fetched once
        per request (/authorize checks it before the SDK's handler asks again)."""
        fetched = FETCHED.get()
        if fetched is not None and fetched.client_id == client_id:
            return fetched
        info = await fetch_client_document(client_id, self._documents)
        for uri in info.redirect_uris or ():
            if (why := redirect_refusal(str(uri))) is not None:
                raise ClientDocumentRefused(f"The client document at {client_id} lists a redirect URI that {why}.")
        fields = info.model_dump()
        fields["scope"] = fields.get("scope") or " ".join(SCOPES)
        client = TrackerClient.model_validate(fields)
        FETCHED.set(client)
        return client

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if client_id.startswith("https://"):
            try:
                return await self.client_document(client_id)
            except ClientDocumentRefused as exc:
                log.info("OAuth client %s refused: %s", client_id[:200], exc)
                return None
        document = await self._backend().oauth.client_document(client_id)
        return TrackerClient.model_validate_json(document) if document is not None else None

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        """Keep a dynamically registered client (RFC 7591): its secret, if it has one, as a digest (SecretDigest
        turns what clients send into digests too), its redirect URIs only where a browser may safely go."""
        if client_info.client_id.startswith("https://"):
            raise RegistrationError("invalid_client_metadata", "A registered client gets an id of ours.")
        unknown = set((client_info.scope or "").split()) - set(SCOPES)
        if unknown:
            raise RegistrationError(
                "invalid_client_metadata", f"Unknown scopes {sorted(unknown)}; this server grants {' '.join(SCOPES)}."
            )
        for uri in client_info.redirect_uris or ():
            if (why := redirect_refusal(str(uri))) is not None:
                raise RegistrationError("invalid_redirect_uri", f"Refused: {why}.")
        secret = client_info.client_secret
        stored = client_info.model_copy(update={"client_secret": digest(secret) if secret else None})
        document = stored.model_dump_json(exclude_none=True)
        try:
            size = len(document.encode("utf-8"))
        except UnicodeEncodeError:
            size = -1
        if size < 0 or "\\u0000" in document:
            raise RegistrationError(
                "invalid_client_metadata", "The metadata holds text that is not plain Unicode (a NUL, half a pair)."
            )
        if size > REGISTRATION_MAX:
            raise RegistrationError(
                "invalid_client_metadata", f"The metadata is {size} bytes; keep it under 4 KiB (names, URIs, no more)."
            )
        if not await self._backend().oauth.register_client(client_info.client_id, document, self.unused_clients):
            raise RegistrationError(
                "invalid_client_metadata",
                "Too many clients registered here lately and not used yet; try again later, or ask the server's "
                "owner (TICKETS_OAUTH_UNUSED_CLIENTS).",
            )

    # Authorization: to the consent page

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.resource is not None and params.resource.rstrip("/") not in (self.resource, self.issuer):
            raise AuthorizeError("invalid_target", f"This server grants access to {self.resource} only.")
        registered = tuple(s for s in (client.scope or "").split() if s in SCOPES)
        scopes = tuple(params.scopes) if params.scopes else (registered or SCOPES)
        if unknown := [s for s in scopes if s not in SCOPES]:
            raise AuthorizeError("invalid_scope", f"Unknown scopes {unknown}; this server grants {' '.join(SCOPES)}.")
        pending = PendingRequest(
            client_id=client.client_id or "",
            client_name=client_name(client.client_name, client.client_id or ""),
            redirect_uri=str(params.redirect_uri),
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            scopes=scopes,
            code_challenge=params.code_challenge,
            state=params.state,
            resource=params.resource,
            expires_at=time.time() + REQUEST_SECONDS,
        )
        return f"{self.issuer}{CONSENT_PATH}?{urlencode({'request': pending.seal(self._seal)})}"

    def pending(self, sealed: str) -> PendingRequest | None:
        return PendingRequest.open(self._seal, sealed)

    # Codes

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> TrackerCode | None:
        stored = await self._backend().oauth.code(authorization_code)
        if stored is None or stored.client_id != client.client_id:
            return None
        request = stored.request
        try:
            redirect = AnyUrl(request.redirect_uri)
        except ValidationError:
            return None
        return TrackerCode(
            code=authorization_code,
            scopes=list(request.scopes),
            expires_at=stored.expires_at,
            client_id=stored.client_id,
            code_challenge=request.code_challenge,
            redirect_uri=redirect,
            redirect_uri_provided_explicitly=request.redirect_uri_provided_explicitly,
            resource=request.resource,
            subject=str(stored.user_id),
            user_id=stored.user_id,
            client_name=request.client_name,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: TrackerCode
    ) -> OAuthToken:
        code = authorization_code
        stored = StoredCode(
            client_id=code.client_id,
            user_id=code.user_id,
            expires_at=code.expires_at,
            request=CodeRequest(
                client_name=code.client_name,
                scopes=tuple(code.scopes),
                redirect_uri=str(code.redirect_uri),
                redirect_uri_provided_explicitly=code.redirect_uri_provided_explicitly,
                code_challenge=code.code_challenge,
                resource=code.resource,
            ),
        )
        issued = await self._backend().oauth.redeem(code.code, code.client_id, stored)
        if issued is None:
            raise TokenError("invalid_grant", "This code was used already; what it gave is revoked.")
        return bearer(issued)

    # Refresh tokens

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        stored = await self._backend().oauth.refresh_token(refresh_token)
        if stored is None or stored.client_id != client.client_id:
            return None
        return RefreshToken(
            token=refresh_token,
            client_id=stored.client_id,
            scopes=list(stored.scopes),
            expires_at=stored.expires_at,
            resource=stored.resource,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        issued = await self._backend().oauth.rotate(
            refresh_token.token,
            refresh_token.client_id,
            tuple(scopes or refresh_token.scopes),
            tuple(refresh_token.scopes),
            refresh_token.resource,
        )
        if issued is None:
            raise TokenError(
                "invalid_grant", "This refresh token is spent or its grant revoked: sign in again (authorize anew)."
            )
        return bearer(issued)

    # Access tokens and revocation

    async def load_access_token(self, token: str) -> AccessToken | None:
        found = await self._backend().oauth.access_token(token)
        if found is None:
            return None
        principal, client_id = found
        scopes = sorted(s.value for s in principal.scopes or ())
        return AccessToken(token=token, client_id=client_id, scopes=scopes, subject=str(principal.user_id))

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        await self._backend().oauth.revoke(token.token)

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: IdentityAssertionParams
    ) -> OAuthToken:
        """SEP-990's enterprise grant is not offered (its metadata is not advertised, its route not served)."""
        raise TokenError("unsupported_grant_type", "This server does not accept identity assertions.")
