"""Operations endpoints of `battrace serve`: ``/metrics`` (Prometheus), ``/healthz`` and ``/readyz``.

Requests are counted by route template (``/batteries/{code}``, not the code: one series per route, whatever the
callers ask for) and status, and timed per route, by an ASGI middleware of a few lines over prometheus-client,
which writes the exposition format. Each app has its own registry, so nothing is registered on import and two
apps in one process count apart.

``/healthz`` says the process answers; ``/readyz`` that the store answers a trivial query and holds a signed
checkpoint (without one, nothing the API serves can be verified), else 503 with the reason in one line.
"""

from __future__ import annotations

import time
from typing import Any

from clickhouse_connect.driver.client import Client
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from battrace.api.context import get_context

UNMATCHED = "unmatched"  # a path no route answers (404s): one series for all of them
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
router = APIRouter()


class ApiMetrics:
    """The API's metrics on a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "battrace_api_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "battrace_api_request_seconds",
            "Time to answer an HTTP request, by route template",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )


class RequestMetrics:
    """ASGI middleware: counts and times every HTTP request once its response has started (status known)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before it responds

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED  # the router fills in the scope it got
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


def readiness_problem(client: Client) -> str | None:
    """None if the store answers and holds a signed checkpoint, else why not (one line)."""
    try:
        checkpoints = client.query("SELECT count() FROM battrace.checkpoints").result_rows[0][0]
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"the store does not answer: {first_line[:300]}"
    if not checkpoints:
        return "the store holds no signed checkpoint yet: run the worker until it signs one"
    return None


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> Any:
    problem = readiness_problem(get_context(request).client)
    if problem is None:
        return {"status": "ready"}
    return JSONResponse({"status": "not ready", "reason": problem}, status_code=503)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
