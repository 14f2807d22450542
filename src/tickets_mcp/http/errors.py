"""REST errors in the seeds' shape: `{"message": ...}` with seed 003's status codes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tickets_mcp.errors import (
    BackendUnavailable,
    Conflict,
    Invalid,
    NotFound,
    PermissionDenied,
    RateLimited,
    TrackerError,
    Unsupported,
)

STATUS = {
    NotFound: 404,
    PermissionDenied: 403,
    Conflict: 409,
    Invalid: 400,
    RateLimited: 429,
    BackendUnavailable: 503,
    Unsupported: 501,
}


REALM = 'Bearer realm="tickets-mcp"'
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


def message(status: int, text: str) -> JSONResponse:
    return JSONResponse({"message": text}, status_code=status)


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


def install_error_handlers(app: FastAPI) -> None:
    async def tracker_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, TrackerError)
        if isinstance(exc, Unauthorized):
            return JSONResponse({"message": UNAUTHORIZED}, status_code=401, headers={"WWW-Authenticate": exc.challenge})
        response = message(status_of(exc), str(exc))
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return response

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems: list[str] = []
        for error in exc.errors():
            # The first part says where the value came from (body, query, path); the rest names it.
            where = ".".join(str(part) for part in error.get("loc", ())[1:])
            problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
        return message(400, "400 Bad Request: " + (content_type_problem(request, exc) or "; ".join(problems)))

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return message(exc.status_code, f"{exc.status_code} {exc.detail}")

    app.add_exception_handler(TrackerError, tracker_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
