"""Who is calling over HTTP: the token from `Authorization: Bearer`, `X-API-Key` or `PRIVATE-TOKEN`."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tickets_mcp.core.backend import Backend
from tickets_mcp.core.tokens import UngrantedToken
from tickets_mcp.core.tracker import Principal, Tracker
from tickets_mcp.errors import BackendUnavailable, RateLimited, TrackerError
from tickets_mcp.http.errors import Unauthorized
from tickets_mcp.http.ratelimit import RateLimiter, caller_key

# Worded so that log redaction (logs.redact), which hides whatever follows "Authorization:", leaves it whole.
HEADER_HINT = "Send the token in the Authorization header (scheme Bearer), or in X-API-Key or PRIVATE-TOKEN."
MAKE_ONE = "Make one with: tickets-mcp token create --user NAME."


def token_of(request: Request, *, allow_query_token: bool) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    for header in ("x-api-key", "private-token"):
        value = request.headers.get(header, "").strip()
        if value:
            return value
    query_token = request.query_params.get("private_token")
    if query_token:
        if not allow_query_token:
            # Tokens in URLs end up in proxy and server logs; seed 003 allows them, we do not by default.
            raise Unauthorized("tokens in the query string are refused.", hint=HEADER_HINT, error="invalid_request")
        return query_token
    return None


async def principal_of(request: Request) -> Principal:
    """The caller of a REST request; raises Unauthorized (401) without a valid token.

    Kept on the request once known, so an error handler asking again (authenticate_first) costs no lookup.
    """
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    state = request.app.state
    token = token_of(request, allow_query_token=state.settings.allow_query_token)
    if token is None:
        raise Unauthorized("this API needs a token.", hint=f"{MAKE_ONE} {HEADER_HINT}")
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is not None:
        limiter.check(caller_key(token, None))  # RateLimited: 429 with Retry-After
    try:
        principal = await backend_of(request).authenticate(token, request.headers.get("user-agent", "")[:100] or None)
    except UngrantedToken as exc:
        raise Unauthorized(exc.message, hint=exc.hint, error="invalid_token") from None
    if principal is None:
        raise Unauthorized("the token is unknown or revoked.", hint=HEADER_HINT, error="invalid_token")
    request.state.principal = principal
    return principal


def _asks_for_a_token(dependant: Dependant) -> bool:
    return dependant.call in (principal_of, tracker_of) or any(_asks_for_a_token(d) for d in dependant.dependencies)


async def authenticate_first(request: Request) -> TrackerError | None:
    """Why the caller may not call the request's route at all (no valid token: 401; too many calls: 429;
    no database to look the token up in: 503),
    or None; for the error handlers (errors.install_error_handlers), when a body or query was refused
    before the route's token dependency ran. Routes that take no token answer None."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not _asks_for_a_token(route.dependant):
        return None
    try:
        await principal_of(request)
    except (Unauthorized, RateLimited, BackendUnavailable) as exc:  # the last: who asks cannot be known (503)
        return exc
    return None


async def tracker_of(request: Request) -> Tracker:
    """FastAPI dependency: the Tracker acting for this request's caller."""
    return backend_of(request).tracker(await principal_of(request))


def backend_of(request: Request) -> Backend:
    """What the app serves, as the entry point opened it (see app.create_app)."""
    return request.app.state.backend
