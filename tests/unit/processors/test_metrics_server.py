"""The worker's metrics port as a WSGI app, called in-process: /metrics, /healthz and /readyz's reasons."""

from __future__ import annotations

import json
from typing import Any

from processors.metrics import TopicLag, WorkerMetrics
from processors.metrics_server import Readiness, health_app


def call(app: Any, path: str) -> tuple[str, dict[str, str], bytes]:
    answer: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]]) -> None:
        answer["status"], answer["headers"] = status, dict(headers)

    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "QUERY_STRING": "", "wsgi.input": None}
    body = b"".join(app(environ, start))
    return answer["status"], answer["headers"], body


class World:
    """What readiness reads, set by each test."""

    def __init__(self) -> None:
        self.state: str | None = None
        self.lags: list[TopicLag] | Exception = []
        self.stored = False

    def read_lag(self) -> list[TopicLag]:
        if isinstance(self.lags, Exception):
            raise self.lags
        return self.lags

    def app(self, metrics: WorkerMetrics | None = None) -> Any:
        readiness = Readiness(lambda: self.state, self.read_lag, lambda: self.stored)
        return health_app(metrics or WorkerMetrics(), readiness)


def test_metrics_are_the_registry_s_exposition() -> None:
    metrics = WorkerMetrics()
    metrics.rejects_stored({"duplicate": 4})
    status, headers, body = call(World().app(metrics), "/metrics")
    assert status == "200 OK" and headers["Content-Type"].startswith("text/plain")
    assert b'battrace_rejected_total{reason="duplicate"} 4.0' in body


def test_healthz_answers_whatever_the_worker_does() -> None:
    world = World()
    world.state, world.lags = "the seal stage's consumer group is rebalancing", ConnectionError("down")
    status, _, body = call(world.app(), "/healthz")
    assert status == "200 OK" and json.loads(body) == {"status": "ok"}


def test_ready_when_idle_with_no_lag_not_ready_while_behind_before_a_first_batch() -> None:
    world = World()
    world.lags = [TopicLag("ingest", "g", "mes.events", 0, 0)]
    assert call(world.app(), "/readyz")[0] == "200 OK"
    world.lags = [TopicLag("ingest", "g", "mes.events", 10, 250), TopicLag("seal", "s", "trace.chain", 3, 3)]
    status, headers, body = call(world.app(), "/readyz")
    assert status == "503 Service Unavailable" and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"status": "not ready", "reason": "no batch stored yet; behind: ingest mes.events 240"}
    world.stored = True  # a batch was stored: working through the backlog is being ready
    assert call(world.app(), "/readyz")[0] == "200 OK"


def test_not_ready_while_rebalancing_or_when_the_broker_does_not_answer() -> None:
    world = World()
    world.stored, world.state = True, "the seal stage is recovering its table from the changelog"
    status, _, body = call(world.app(), "/readyz")
    assert status.startswith("503") and json.loads(body)["reason"] == world.state
    world.stored, world.state, world.lags = False, None, ConnectionError("no route to host")
    status, _, body = call(world.app(), "/readyz")
    assert status.startswith("503") and json.loads(body)["reason"] == "the broker does not answer: no route to host"


def test_other_paths_are_404_naming_the_ones_there_are() -> None:
    status, _, body = call(World().app(), "/")
    assert status == "404 Not Found" and "/metrics" in json.loads(body)["message"]
