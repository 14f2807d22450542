"""`serve` as its own OAuth 2.1 authorization server, for clients that connect with no token pasted.

| route                                            | what                                                    |
|--------------------------------------------------|---------------------------------------------------------|
| GET /.well-known/oauth-authorization-server      | RFC 8414 metadata (CIMD supported, RFC 9207 `iss`)      |
| GET /.well-known/oauth-protected-resource/mcp    | RFC 9728 metadata of /mcp, named in its 401 challenge   |
| GET /authorize                                   | the SDK's checks, then the board's login and consent    |
| POST /token, /revoke, /register                  | the SDK's handlers (/register unless turned off)        |
| GET/POST /board/consent                          | the consent page: client, redirect host, scopes         |
| GET /board/grants, POST /board/grants/{id}/revoke | the viewer's grants, each revocable                     |

The SDK's handlers (mcp.server.auth) do the protocol: PKCE S256, redirect-URI and scope checks, client
authentication, error shapes. provider.py answers them from the store; consent is a board page, so whoever
logs in to the board (a token, or the local user on a loopback-only server) is who consents.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from mcp.server.auth.handlers.metadata import MetadataHandler, ProtectedResourceMetadataHandler
from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.routes import (
    AUTHORIZATION_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    build_metadata,
    cors_middleware,
    create_auth_routes,
)
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthMetadata, ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickets_mcp.core.backend import Backend
from tickets_mcp.core.tokens import digest
from tickets_mcp.domain import Token
from tickets_mcp.domain.rules import CursorSeal
from tickets_mcp.errors import PermissionDenied, TrackerError
from tickets_mcp.http.board import pages
from tickets_mcp.http.board.access import BoardAccess, Viewer
from tickets_mcp.http.board.html import Html, el
from tickets_mcp.http.board.routes import SECURITY_HEADERS, form_of, html, login_then, secured
from tickets_mcp.http.errors import status_of
from tickets_mcp.http.oauth.client_documents import ClientDocumentRefused, ClientDocumentUnreachable, DocumentPolicy
from tickets_mcp.http.oauth.paths import CONSENT_PATH, METADATA_PATH, RESOURCE_METADATA_PREFIX
from tickets_mcp.http.oauth.provider import FETCHED, SCOPES, PendingRequest, TrackerOAuthProvider, redirect_with
from tickets_mcp.http.settings import ServeSettings

log = logging.getLogger(__name__)
SCOPE_WORDS = {
    "tickets:read": "read tickets, comments and boards",
    "tickets:write": "file, change, move, comment on and delete tickets",
    "projects:read": "see organizations and projects",
    "projects:write": "create, rename and delete projects",
}


def install(app: FastAPI, settings: ServeSettings, issuer: str, mcp_path: str) -> TrackerOAuthProvider:
    """Put the authorization server's routes on `app` (before the board's, whose /board/{code} would take
    /board/consent) and return its provider."""
    provider = TrackerOAuthProvider(
        lambda: app.state.backend,
        issuer=issuer,
        resource=issuer + mcp_path,
        # Sealed with the replicas' shared keys: consent started on one replica finishes on any.
        seal=CursorSeal(settings.state_keys, purpose=b"tickets-mcp oauth request"),
        documents=DocumentPolicy(allow_private=settings.oauth_private_clients, verify=settings.oauth_ca_file or True),
        unused_clients=settings.oauth_unused_clients,
    )
    registration = ClientRegistrationOptions(
        enabled=settings.oauth_registration, valid_scopes=list(SCOPES), default_scopes=list(SCOPES)
    )
    revocation = RevocationOptions(enabled=True)
    routes = create_auth_routes(provider, AnyHttpUrl(issuer), None, registration, revocation)
    # Validated from text, so that a path-less issuer keeps its exact form: RFC 8414 and 9207 compare it as a string.
    metadata = OAuthMetadata.model_validate(
        build_metadata(AnyHttpUrl(issuer), None, registration, revocation).model_dump(mode="json", exclude_none=True)
        | {
            "issuer": issuer,
            "client_id_metadata_document_supported": True,
            "authorization_response_iss_parameter_supported": True,
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
            "revocation_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        }
    )
    resource = ProtectedResourceMetadata.model_validate(
        {
            "resource": provider.resource,
            "authorization_servers": [issuer],
            "scopes_supported": list(SCOPES),
            "resource_name": "tickets-mcp",
        }
    )
    for index, route in enumerate(routes):
        if route.path == METADATA_PATH:
            handler = cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"])
            routes[index] = Route(METADATA_PATH, endpoint=handler, methods=["GET", "OPTIONS"])
        elif route.path == REVOCATION_PATH:
            revocation = SecretDigest(cors_middleware(Revocation(provider).handle, ["POST", "OPTIONS"]))
            routes[index] = Route(REVOCATION_PATH, endpoint=revocation, methods=["POST", "OPTIONS"])
        elif route.path == TOKEN_PATH:
            routes[index] = Route(TOKEN_PATH, endpoint=SecretDigest(route.app), methods=["POST", "OPTIONS"])
        elif route.path == AUTHORIZATION_PATH:
            routes[index] = Route(
                AUTHORIZATION_PATH, endpoint=AuthorizeFront(route.app, provider), methods=["GET", "POST"]
            )
    resource_handler = cors_middleware(ProtectedResourceMetadataHandler(resource).handle, ["GET", "OPTIONS"])
    routes.append(Route(RESOURCE_METADATA_PREFIX + mcp_path, endpoint=resource_handler, methods=["GET", "OPTIONS"]))
    app.router.routes[:0] = routes
    app.include_router(consent_router(BoardAccess(settings), provider))
    return provider


class AuthorizeFront:
    """The SDK's /authorize, with what it lacks. Before anyone consented, nothing sends the browser elsewhere:
    an error the SDK would redirect to the client (RFC 9700 §4.11.2: an open redirect, for a client anyone
    may register) or answer as JSON is a page of ours, naming the error, with a link back the person may
    follow. A refused metadata document's reason is shown (the SDK says only "not found"), but not why it
    could not be fetched: that is logged, lest /authorize tell anyone which ports answer where."""

    def __init__(self, app: ASGIApp, provider: TrackerOAuthProvider) -> None:
        self.app = app
        self.provider = provider

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        client_id = request.query_params.get("client_id", "")
        token = FETCHED.set(None)
        try:
            if client_id.startswith("https://"):
                try:
                    await self.provider.client_document(client_id)
                except ClientDocumentUnreachable as exc:
                    log.info("OAuth client document not fetched: %s", exc)
                    text = f"The app {client_id[:200]} cannot sign in: its identity document could not be fetched."
                    await self.refuse(scope, receive, send, f"{text} Try again later, or tell the app's maker.")
                    return
                except ClientDocumentRefused as exc:
                    await self.refuse(scope, receive, send, f"The app {client_id[:200]} cannot sign in: {exc}")
                    return
            answer = await self.answer_of(scope, receive)
        finally:
            FETCHED.reset(token)
        status, headers, body = answer
        location = next((v.decode("latin-1") for k, v in headers if k.lower() == b"location"), None)
        consent = f"{self.provider.issuer}{CONSENT_PATH}?"
        if status in (302, 303) and location is not None and not location.startswith(consent):
            back = self.with_iss(location)
            error = query_of(back).get("error", "an error")
            described = query_of(back).get("error_description", "")
            text = f"The app asked for what this server cannot give ({error}: {described})."
            await self.refuse(scope, receive, send, text, back_to=back)
            return
        if status >= 400:
            try:
                found = json.loads(body)
                text = f"{found.get('error', 'invalid_request')}: {found.get('error_description', '')}"
            except (ValueError, AttributeError):
                text = body.decode("utf-8", "replace")[:300]
            await self.refuse(scope, receive, send, f"This sign-in request cannot go on ({text}).", status=status)
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def answer_of(self, scope: Scope, receive: Receive) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The SDK handler's whole answer (a redirect or a short error), to be looked at before it is sent."""
        started: dict[str, Any] = {}
        body = bytearray()

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, keep)
        return int(started.get("status", 500)), list(started.get("headers", [])), bytes(body)

    async def refuse(
        self, scope: Scope, receive: Receive, send: Send, text: str, *, back_to: str | None = None, status: int = 400
    ) -> None:
        back = el("p", el("a", "Back to the app", href=back_to)) if back_to is not None else None
        await html(pages.error_page(pages.Frame(None), status, text, back), status)(scope, receive, send)

    def with_iss(self, location: str) -> str:
        return location if "iss" in query_of(location) else redirect_with(location, iss=self.provider.issuer)


class SecretDigest:
    """In front of /token and /revoke: a client secret sent (in the form, or HTTP Basic) reaches the SDK's client
    check as its digest, which is what the store keeps (provider.register_client), so no secret is stored."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await Request(scope, receive).body()  # bounded: TransportGuard refused any past the app's limit
        fields = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
        if any(name == "client_secret" for name, _ in fields):
            hashed = [(name, digest(value) if name == "client_secret" and value else value) for name, value in fields]
            body = urlencode(hashed).encode()
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        headers = [(k, self.basic(v) if k.lower() == b"authorization" else v) for k, v in headers]
        headers.append((b"content-length", str(len(body)).encode()))
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)

    @staticmethod
    def basic(value: bytes) -> bytes:
        scheme, _, encoded = value.decode("latin-1").partition(" ")
        if scheme.lower() != "basic":
            return value
        try:
            client_id, colon, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return value  # the SDK refuses it as it is
        if not colon:
            return value
        hashed = digest(unquote(secret))
        return b"Basic " + base64.b64encode(f"{client_id}:{hashed}".encode())


class Revocation:
    """RFC 7009 revocation. The SDK's handler requires a `client_secret` field that a public client (every
    client of ours that registers with `none`, or names itself by a metadata document) never sends."""

    def __init__(self, provider: TrackerOAuthProvider) -> None:
        self.provider = provider
        self.clients = ClientAuthenticator(provider)  # pyright: ignore[reportArgumentType] - the protocol's generics

    async def handle(self, request: Request) -> Response:
        try:
            client = await self.clients.authenticate_request(request)
        except AuthenticationError as exc:
            body = {"error": "invalid_client", "error_description": exc.message}
            return JSONResponse(body, status_code=401, headers={"Cache-Control": "no-store"})
        token = str((await request.form()).get("token") or "")
        if not token:
            body = {"error": "invalid_request", "error_description": "Send the token to revoke as `token`."}
            return JSONResponse(body, status_code=400, headers={"Cache-Control": "no-store"})
        found = await self.provider.load_access_token(token) or await self.provider.load_refresh_token(client, token)
        if found is not None and found.client_id == client.client_id:
            await self.provider.revoke_token(found)
        return Response(status_code=200, headers={"Cache-Control": "no-store"})  # unknown tokens too (§2.2)


def consent_router(access: BoardAccess, provider: TrackerOAuthProvider) -> APIRouter:
    router = APIRouter(prefix="/board", include_in_schema=False)

    async def viewer_or_login(request: Request, back_to: str) -> Viewer | Response:
        viewer = await access.viewer(request)
        return login_then(back_to) if viewer is None else viewer

    @router.get("/consent")
    async def consent(request: Request) -> Response:  # pyright: ignore[reportUnusedFunction]
        sealed = request.query_params.get("request", "")
        pending = provider.pending(sealed)
        if pending is None:
            return expired()
        found = await viewer_or_login(request, f"{CONSENT_PATH}?{urlencode({'request': sealed})}")
        if isinstance(found, Response):
            return found
        if (refusal := narrowed(found)) is not None:
            return refusal
        page = consent_page(pages.Frame(found.principal, local=found.local), pending, sealed)
        response = html(page)
        response.headers["Content-Security-Policy"] = consent_csp(pending.redirect_uri)
        return response

    @router.post("/consent")
    async def decide(request: Request) -> Response:  # pyright: ignore[reportUnusedFunction]
        form = await form_of(request)
        pending = provider.pending(form.get("request", ""))
        if pending is None:
            return expired()
        viewer = await access.viewer(request)
        if viewer is None:
            return html(pages.error_page(pages.Frame(None), 401, "Log in on the board, then sign in again."), 401)
        if (refusal := narrowed(viewer)) is not None:
            return refusal
        try:
            access.check_origin(request)
            access.admit(request, viewer.token_digest)
        except TrackerError as exc:
            return html(pages.error_page(pages.Frame(viewer.principal), status_of(exc), exc.message), status_of(exc))
        if form.get("decision") != "allow":
            target = redirect_with(
                pending.redirect_uri, error="access_denied", state=pending.state, iss=provider.issuer
            )
        else:
            code = await backend(request).oauth.issue_code(viewer.principal, pending.client_id, pending.code_request())
            target = redirect_with(pending.redirect_uri, code=code, state=pending.state, iss=provider.issuer)
        return secured(RedirectResponse(target, status_code=303))

    @router.get("/grants")
    async def grants(request: Request, revoked: str | None = None) -> Response:  # pyright: ignore[reportUnusedFunction]
        found = await viewer_or_login(request, "/board/grants")
        if isinstance(found, Response):
            return found
        listed = await backend(request).oauth.grants(found.principal.username)
        frame = pages.Frame(found.principal, local=found.local)
        return html(grants_page(frame, listed, "Access revoked." if revoked else None))

    @router.post("/grants/{grant_id}/revoke")
    async def revoke(request: Request, grant_id: int) -> Response:  # pyright: ignore[reportUnusedFunction]
        viewer = await access.viewer(request)
        if viewer is None:
            return html(pages.error_page(pages.Frame(None), 401, "Log in on the board first."), 401)
        try:
            access.check_origin(request)
            if viewer.principal.scopes is not None:  # a key or a grant must not end its owner's other grants
                raise PermissionDenied("Log in with a personal token to revoke grants.")
            await backend(request).oauth.revoke_own_grant(grant_id, viewer.principal)
        except TrackerError as exc:
            return html(pages.error_page(pages.Frame(viewer.principal), status_of(exc), exc.message), status_of(exc))
        return secured(RedirectResponse("/board/grants?revoked=1", status_code=303))

    return router


def narrowed(viewer: Viewer) -> Response | None:
    """A refusal for a viewer who is not a whole person: a grant acts as its user in every organization,
    so an organization key logged in on the board must not mint one (it would hand out more than it has)."""
    principal = viewer.principal
    if principal.scopes is None and principal.organization_id is None and principal.project_id is None:
        return None
    text = "Only a person can allow an app: log out, then log in with your personal token (pk_…)."
    return html(pages.error_page(pages.Frame(principal, local=viewer.local), 403, text), 403)


def backend(request: Request) -> Backend:
    return request.app.state.backend


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def expired() -> Response:
    text = "This sign-in request has expired or was altered. Start again from the app that sent you here."
    return html(pages.error_page(pages.Frame(None), 400, text), 400)


def consent_csp(redirect_uri: str) -> str:
    """The board's policy, letting the form's redirect go to the client (Chrome applies form-action to it)."""
    parts = urlsplit(redirect_uri)
    target = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
    return SECURITY_HEADERS["Content-Security-Policy"].replace("form-action 'self'", f"form-action 'self' {target}")


def consent_page(frame: pages.Frame, pending: PendingRequest, sealed: str) -> Html:
    parts = urlsplit(pending.redirect_uri)
    where = parts.hostname or f"{parts.scheme}:"
    verified = pending.client_id.startswith("https://")
    about = (
        el("p", "Its identity is the document at ", el("code", pending.client_id), ".")
        if verified
        else el("p", "It registered itself with this server: its name is its own claim, not checked.")
    )
    principal = frame.principal
    who = principal.username if principal is not None else ""
    return pages.page(
        "Allow access",
        frame,
        el("h1", "Allow ", el("strong", pending.client_name), " to use tickets-mcp as ", el("strong", who), "?"),
        about,
        el("p", "After you answer, you go back to ", el("code", where), "."),
        el("p", "It asks to:"),
        el("ul", *(el("li", el("code", s), ": ", SCOPE_WORDS.get(s, s)) for s in pending.scopes)),
        el(
            "p",
            "It can never do more than your role in each organization lets you; revoke it at any time under ",
            el("a", "Connected apps", href="/board/grants"),
            ".",
        ),
        el(
            "form",
            el("input", type="hidden", name="request", value=sealed),
            el("button", "Allow", type="submit", name="decision", value="allow"),
            el("button", "Deny", type="submit", name="decision", value="deny"),
            method="post",
            action=CONSENT_PATH,
            class_="consent",
        ),
    )


def grants_page(frame: pages.Frame, listed: list[Token], message: str | None) -> Html:
    rows = [
        el(
            "tr",
            el("td", grant.name),
            el("td", " ".join(sorted(s.value for s in grant.scopes))),
            el("td", grant.created_at[:16].replace("T", " ")),
            el("td", (grant.last_used_at or "never")[:16].replace("T", " ")),
            el(
                "td",
                "revoked"
                if grant.revoked_at
                else el(
                    "form",
                    el("button", "Revoke", type="submit"),
                    method="post",
                    action=f"/board/grants/{grant.id}/revoke",
                ),
            ),
        )
        for grant in listed
    ]
    table = (
        el("table", el("tr", *(el("th", h) for h in ("App", "Scopes", "Allowed", "Last used", ""))), *rows)
        if rows
        else el("p", "No app has access through OAuth.")
    )
    return pages.page("Connected apps", frame, el("h1", "Connected apps"), pages.notice(message), table)
