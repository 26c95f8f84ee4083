"""The worker's HTTP port (``BATTRACE_METRICS_PORT``): ``/metrics`` (Prometheus), ``/healthz`` and ``/readyz``.

A WSGI app on a thread of its own (the standard library's server, prometheus-client's exposition), not faust's web
server: a scrape reads the consumer lag with blocking Kafka clients, which must stay off the event loop the seal
stage runs on, and faust's web server is off in every worker (``--without-web``).

- ``/healthz``: 200 while the process runs (the thread answers even when the event loop is busy).
- ``/readyz``: 200 once the worker has stored a seal batch, or while it is idle with nothing left to consume (no
  lag in any stage); 503 with a one-line JSON reason while its group rebalances, its tables recover, or it has
  work it has not done yet.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from processors.metrics import TopicLag, WorkerMetrics

log = logging.getLogger(__name__)
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Readiness:
    """Whether the worker does its job: ``problem()`` is None when ready, else the reason it is not.

    ``state()``: the faust app's own reason not to be ready (rebalancing, recovering), or None; ``read_lag``: the
    stages' lag (processors/consumer_lag.py); ``stored()``: whether a seal batch was stored."""

    def __init__(
        self,
        state: Callable[[], str | None],
        read_lag: Callable[[], list[TopicLag]],
        stored: Callable[[], bool],
    ) -> None:
        self.state = state
        self.read_lag = read_lag
        self.stored = stored

    def problem(self) -> str | None:
        reason = self.state()
        if reason is not None or self.stored():
            return reason
        try:
            lags = self.read_lag()
        except Exception as exc:
            return f"the broker does not answer: {exc}"
        behind = [f"{row.stage} {row.topic} {row.lag}" for row in lags if row.lag]
        if behind:
            return "no batch stored yet; behind: " + ", ".join(behind)
        return None


def health_app(metrics: WorkerMetrics, readiness: Readiness) -> WsgiApp:
    """The WSGI app of the port."""
    exposition = make_wsgi_app(metrics.registry)

    def reply(start: StartResponse, status: str, body: dict[str, str]) -> list[bytes]:
        data = (json.dumps(body) + "\n").encode()
        start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def app(environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return exposition(environ, start)
        if path == "/healthz":
            return reply(start, "200 OK", {"status": "ok"})
        if path == "/readyz":
            problem = readiness.problem()
            if problem is None:
                return reply(start, "200 OK", {"status": "ready"})
            return reply(start, "503 Service Unavailable", {"status": "not ready", "reason": problem})
        return reply(start, "404 Not Found", {"error": "not_found", "message": "try /metrics, /healthz or /readyz"})

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in flight never holds the worker's exit


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)  # every scrape on stderr would drown the worker's own log


def bind(host: str, port: int) -> WSGIServer:
    """Listen on ``host:port`` now, answering nothing yet (see :func:`answer`); raises OSError if the port cannot be
    bound, so a taken port is found before the worker starts anything."""
    return make_server(host, port, _starting, server_class=_ThreadingServer, handler_class=_QuietHandler)


def answer(server: WSGIServer, app: WsgiApp) -> WSGIServer:
    """Answer on the bound server with ``app``, on a daemon thread."""
    server.set_app(app)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def serve(host: str, port: int, app: WsgiApp) -> WSGIServer:
    """Listen on ``host:port`` and answer on a daemon thread; raises OSError if the port cannot be bound."""
    return answer(bind(host, port), app)


def _starting(environ: dict, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting\n"]
