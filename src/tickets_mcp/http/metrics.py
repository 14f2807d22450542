"""Prometheus metrics for `tickets-mcp serve`: MCP tool calls, HTTP requests by route, the store's pool.

Only `serve` imports this module (and with it prometheus_client); the stdio server never does. Tool calls
are counted where `TrackerServer` dispatches them, through its `observe_tool_call` hook; requests by
`RequestMetrics`, in front of every route. Every label takes values from a fixed set (tool names, route
templates, a few methods, status classes), so the number of series stays bounded whatever callers send.
What each metric means: docs/operations.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickets_mcp.core.backend import Backend
from tickets_mcp.logs import request_fields
from tickets_mcp.mcp.server import UNKNOWN_TOOL, ToolOutcome

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format every Prometheus version reads
# From a point lookup (about a millisecond) to a slow list; SSE and GET /mcp streams land in +Inf.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED_ROUTE = "(unmatched)"  # a path no route serves (404), whatever it was
REFUSED_ROUTE = "(refused)"  # refused by security.TransportGuard (Host, Origin, body size) before routing
ERROR_KINDS: dict[ToolOutcome, str] = {"tool_error": "tool", "protocol_error": "protocol"}

# A `_created` series per counter and histogram would double the output; the text format's readers ignore
# them. The switch is process-wide, and the only registries in a `serve` process are ours.
disable_created_metrics()


class Metrics:
    """The metrics of one app, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.backend: Backend | None = None  # set while the app runs; its pool is read at each scrape
        self.tool_calls = Counter(
            "tickets_mcp_tool_calls", "MCP tools/call requests handled, by tool.", ["tool"], registry=self.registry
        )
        self.tool_errors = Counter(
            "tickets_mcp_tool_errors",
            "MCP tool calls that failed: kind=tool for a result with isError, kind=protocol for a JSON-RPC error.",
            ["tool", "kind"],
            registry=self.registry,
        )
        self.tool_duration = Histogram(
            "tickets_mcp_tool_duration_seconds",
            "Time to handle an MCP tool call, from dispatch to result.",
            ["tool"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.http_requests = Counter(
            "tracker_http_requests",
            "HTTP requests answered, by route template, method and status class (2xx, 4xx, 5xx...).",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "tracker_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(StorePoolCollector(self))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def know_tools(self, names: Iterable[str]) -> None:
        """Start every tool's series at zero, so a rate over them exists before the first call."""
        for name in [*names, UNKNOWN_TOOL]:
            self.tool_calls.labels(tool=name)
            self.tool_duration.labels(tool=name)
            for kind in ERROR_KINDS.values():
                self.tool_errors.labels(tool=name, kind=kind)

    def observe_tool_call(self, tool: str, seconds: float, outcome: ToolOutcome) -> None:
        self.tool_calls.labels(tool=tool).inc()
        self.tool_duration.labels(tool=tool).observe(seconds)
        kind = ERROR_KINDS.get(outcome)
        if kind is not None:
            self.tool_errors.labels(tool=tool, kind=kind).inc()

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else OTHER_METHOD
        self.http_requests.labels(route=route, method=method, status=f"{status // 100}xx").inc()
        self.http_duration.labels(route=route, method=method).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class StorePoolCollector:
    """The store's connection pool, read when Prometheus scrapes."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        backend = self._metrics.backend
        usage = backend.pool_usage() if backend is not None else None
        if usage is None:
            return []
        connections = GaugeMetricFamily(
            "tracker_store_connections",
            "The store's pooled database connections: state=in_use lent to a query, state=idle open and waiting.",
            labels=["state"],
        )
        connections.add_metric(["in_use"], usage.in_use)
        connections.add_metric(["idle"], usage.idle)
        return [
            connections,
            GaugeMetricFamily(
                "tracker_store_connections_max", "The most connections the store's pool opens.", usage.max_size
            ),
            GaugeMetricFamily(
                "tracker_store_connection_waiters", "Queries queued for a pooled connection.", usage.waiting
            ),
        ]


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The template of the route that served `scope` (`/api/v1/projects/{project_id}`), never the path itself."""
    if "router" not in scope:  # the router marks every request it sees
        return REFUSED_ROUTE
    route = scope.get("route")  # set by FastAPI's routes, not by the plain Starlette routes of /mcp and /sse
    if route is None:
        route = next((r for r in routes if hasattr(r, "path_format") and r.matches(scope)[0] is not Match.NONE), None)
    template: Any = getattr(route, "path_format", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


class RequestMetrics:
    """ASGI middleware in front of the whole app: counts and times every HTTP request by route template.

    It also puts the request's method and path in `logs.request_fields`, for the lines logged meanwhile.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics, routes: Callable[[], Sequence[BaseRoute]]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering
        # uvicorn serves each request in its own task, so the value lives exactly as long as the request
        # and is still set for uvicorn's access line and its error line about a failed request.
        request_fields.set({"method": scope["method"], "path": scope["path"]})

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.metrics.observe_request(
                route_template(scope, self.routes()), scope["method"], status, time.perf_counter() - started
            )
