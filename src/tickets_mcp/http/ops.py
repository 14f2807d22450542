"""Routes for whoever runs the server: liveness at /healthz, readiness at /readyz, Prometheus at /metrics.

/healthz and /readyz need no token and answer whatever Host a load balancer sends (security.TransportGuard
lets GET and HEAD through to them): they reveal only whether the server can serve. /metrics keeps the
Host and Origin checks and answers loopback clients and callers with a valid token, or anyone with
`--metrics-public`.
"""

from __future__ import annotations

import ipaddress
import logging

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from tickets_mcp.core.backend import Backend
from tickets_mcp.errors import TrackerError
from tickets_mcp.http.auth import backend_of, principal_of
from tickets_mcp.http.metrics import CONTENT_TYPE, Metrics
from tickets_mcp.logs import redact

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
PROBE_PATHS = frozenset({HEALTH_PATH, READY_PATH})
READY_TIMEOUT_S = 5.0  # a database that takes longer than this to answer SELECT 1 is not ready

logger = logging.getLogger(__name__)


class Readiness:
    """Asks the backend whether it can serve, and logs only when the answer changes (probes come every few seconds)."""

    def __init__(self) -> None:
        self._was_ready: bool | None = None

    async def reason_not_ready(self, backend: Backend) -> str | None:
        """None when the backend answers a trivial query in time, else why not, in words safe to show anyone."""
        reason: str | None = None
        try:
            with anyio.move_on_after(READY_TIMEOUT_S) as scope:
                await backend.ping()
            if scope.cancelled_caught:
                reason = f"The database did not answer within {READY_TIMEOUT_S:g} s."
        except TrackerError as exc:
            reason = redact(str(exc))
        except Exception as exc:  # a probe's boundary: any failure means not ready, and is logged in full
            reason = f"The database check failed ({type(exc).__name__}); the server log has the details."
            if self._was_ready is not False:
                logger.exception("Readiness check failed")
        ready = reason is None
        if ready != self._was_ready:
            if ready:
                logger.info("Ready: the database answers")
            else:
                logger.warning("Not ready: %s", reason)
            self._was_ready = ready
        return reason


def is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def ops_router(metrics: Metrics) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    readiness = Readiness()

    @router.api_route(HEALTH_PATH, methods=["GET", "HEAD"])
    async def healthz() -> PlainTextResponse:  # pyright: ignore[reportUnusedFunction]
        """Liveness: the process serves requests. No database access, so a slow database never gets it killed."""
        return PlainTextResponse("ok")

    @router.api_route(READY_PATH, methods=["GET", "HEAD"])
    async def readyz(request: Request) -> JSONResponse:  # pyright: ignore[reportUnusedFunction]
        """Readiness: the database answers a trivial query through the store's read path."""
        reason = await readiness.reason_not_ready(backend_of(request))
        if reason is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)

    @router.get(METRICS_PATH)
    async def prometheus(request: Request) -> Response:  # pyright: ignore[reportUnusedFunction]
        settings = request.app.state.settings
        client = request.client
        if not settings.metrics_public and not is_loopback(client.host if client is not None else None):
            await principal_of(request)  # 401 without a valid token
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    return router
