"""REST errors in the seeds' shape: `{"message": ...}` with seed 003's status codes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from tickets_mcp.errors import (
    BackendUnavailable,
    Conflict,
    Invalid,
    NotFound,
    PermissionDenied,
    RateLimited,
    ReadOnlyStore,
    TooLarge,
    TrackerError,
    Unsupported,
)

STATUS = {
    TooLarge: 413,  # before Invalid, which it is
    NotFound: 404,
    PermissionDenied: 403,
    Conflict: 409,
    Invalid: 400,
    RateLimited: 429,
    BackendUnavailable: 503,
    Unsupported: 501,
}


REALM = 'Bearer realm="tickets-mcp"'
RETRY_UNAVAILABLE_S = 5  # the Retry-After of a 503 for a database that may come back (a read-only one will not)
UNAUTHORIZED = "401 Unauthorized"  # seed 003's 401 body, word for word


class Unauthorized(TrackerError):
    """No token, or one that is malformed, unknown or revoked: 401.

    The REST body is seed 003's `{"message": "401 Unauthorized"}` exactly, since clients written to the
    seeds may compare it; what went wrong and what to do travel in the challenge's error_description
    (RFC 6750), which they do not parse. `error` is RFC 6750's code: invalid_token for a token not
    accepted, invalid_request for one sent where it is refused, none when no token came.
    """

    def __init__(self, message: str, *, hint: str | None = None, error: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.error = error

    @property
    def challenge(self) -> str:
        text = str(self)
        # RFC 6750 allows printable ASCII but " and \ in error_description.
        description = "".join(c for c in text[:1].upper() + text[1:] if " " <= c <= "~" and c not in '"\\')
        error = f', error="{self.error}"' if self.error else ""
        return f'{REALM}{error}, error_description="{description}"'


def status_of(error: TrackerError) -> int:
    if isinstance(error, Unauthorized):
        return 401
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 500


@dataclass(frozen=True, slots=True)
class ErrorShape:
    """Routes whose error bodies carry more beside `message` (seed 004's JSON:API `errors`), chosen by path,
    so that errors raised before a route runs (405, 413, a body refused unread) are shaped as the route's own."""

    serves: Callable[[str], bool]
    members: Callable[[int, str], dict[str, Any]]
    media_type: str


def error_body(shapes: Sequence[ErrorShape], path: str, status: int, text: str) -> tuple[dict[str, Any], str]:
    """The body of an error answered at `path`, and its media type."""
    body: dict[str, Any] = {"message": text}
    for shape in shapes:
        if shape.serves(path):
            return body | shape.members(status, text), shape.media_type
    return body, "application/json"


# Asked of the router to fill a 405's Allow header (RFC 9110 15.5.6): every method some route takes at the path.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


def json_problem(exc: RequestValidationError) -> str | None:
    """What to say of a body that is not JSON at all, with where it breaks (FastAPI reports only the offset)."""
    errors = exc.errors()
    if len(errors) != 1 or errors[0].get("type") != "json_invalid":
        return None
    document = exc.body if isinstance(exc.body, str) else ""
    position = next((part for part in errors[0].get("loc", ())[1:] if isinstance(part, int)), 0)
    reason = str(errors[0].get("ctx", {}).get("error", "not JSON"))
    line = document.count("\n", 0, position) + 1
    column = position - document.rfind("\n", 0, position)
    return (
        f"The body is not valid JSON: {reason} at line {line} column {column}. "
        "Send one JSON document, with Content-Type: application/json."
    )


def content_type_problem(request: Request, exc: RequestValidationError) -> str | None:
    """What to say of a body refused because it came as something other than JSON (`curl -d` says form data):
    FastAPI reads JSON only when told it is JSON, or told nothing, and otherwise reports no object at all."""
    kind = request.headers.get("content-type")
    media = (kind or "").split(";", 1)[0].strip().lower()
    if kind is None or media == "application/json" or media.endswith("+json"):
        return None
    if not any(error.get("loc", ())[:1] == ("body",) for error in exc.errors()):
        return None
    return f"The body was sent as {media or 'no media type'}; send JSON with the header Content-Type: application/json."


def install_error_handlers(
    app: FastAPI,
    *,
    shapes: Sequence[ErrorShape] = (),
    authenticate_first: Callable[[Request], Awaitable[TrackerError | None]] | None = None,
    in_caller_words: Callable[[Request, TrackerError], Awaitable[str]] | None = None,
) -> None:
    """Every error as `{"message": ...}` (plus a shape's members on its routes).

    `authenticate_first` answers who may not call the request's route at all (401, or 429), or None: a
    request refused for its body or query before the route's token dependency ran asks it first, so that
    a caller without a valid token gets 401 whatever it sent (seed 003), not a 400 about its body.
    `in_caller_words` writes a TrackerError's text for the request's API (its hint names no MCP tool).
    """

    def message(request: Request, status: int, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
        body, media_type = error_body(shapes, request.url.path, status, text)
        return JSONResponse(body, status_code=status, headers=headers, media_type=media_type)

    async def refused_caller(request: Request) -> JSONResponse | None:
        refusal = await authenticate_first(request) if authenticate_first is not None else None
        return await answer(request, refusal) if refusal is not None else None

    async def answer(request: Request, exc: TrackerError) -> JSONResponse:
        if isinstance(exc, Unauthorized):
            return message(request, 401, UNAUTHORIZED, {"WWW-Authenticate": exc.challenge})
        text = await in_caller_words(request, exc) if in_caller_words is not None else str(exc)
        response = message(request, status_of(exc), text)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        elif isinstance(exc, BackendUnavailable) and not isinstance(exc, ReadOnlyStore):
            response.headers["Retry-After"] = str(RETRY_UNAVAILABLE_S)
        return response

    async def tracker_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, TrackerError)
        # A database that is unavailable cannot tell who the caller is either: asking again would only wait again.
        if not isinstance(exc, (Unauthorized, RateLimited, BackendUnavailable)) and (
            refused := await refused_caller(request)
        ):
            return refused
        return await answer(request, exc)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if refused := await refused_caller(request):
            return refused
        problems: list[str] = []
        for error in exc.errors():
            # The first part says where the value came from (body, query, path); the rest names it.
            where = ".".join(str(part) for part in error.get("loc", ())[1:])
            problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
        return message(
            request,
            400,
            "400 Bad Request: " + (json_problem(exc) or content_type_problem(request, exc) or "; ".join(problems)),
        )

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 400 and (refused := await refused_caller(request)):
            return refused  # FastAPI's "error parsing the body", before the route's dependencies ran
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
        return message(request, exc.status_code, f"{exc.status_code} {exc.detail}", headers)

    app.add_exception_handler(TrackerError, tracker_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
