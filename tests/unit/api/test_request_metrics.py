"""The API's request metrics, on a small app served in-process: one series per route template and status, the
latency per route, unmatched paths in one series, and a failing route counted as 500."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from battrace.api.health import ApiMetrics, RequestMetrics


@pytest.fixture
def served() -> tuple[TestClient, ApiMetrics]:
    app = FastAPI()
    metrics = ApiMetrics()

    @app.get("/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        if item_id == "missing":
            raise HTTPException(404)
        return {"id": item_id}

    @app.get("/broken")
    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_middleware(RequestMetrics, metrics=metrics)
    return TestClient(app, raise_server_exceptions=False), metrics


def samples(metrics: ApiMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def requests(route: str, status: str, method: str = "GET") -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("battrace_api_requests_total", (("method", method), ("route", route), ("status", status)))


def test_requests_are_counted_by_route_template_and_status(served: tuple[TestClient, ApiMetrics]) -> None:
    client, metrics = served
    for item_id in ("a", "b", "c", "missing"):
        client.get(f"/items/{item_id}")
    client.get("/nowhere")
    client.get("/elsewhere/deeper")
    assert client.get("/broken").status_code == 500
    found = samples(metrics)
    assert found[requests("/items/{item_id}", "200")] == 3
    assert found[requests("/items/{item_id}", "404")] == 1
    assert found[requests("unmatched", "404")] == 2
    assert found[requests("/broken", "500")] == 1
    assert found[("battrace_api_request_seconds_count", (("route", "/items/{item_id}"),))] == 4
    assert not [labels for _, labels in found if "missing" in str(labels) or "nowhere" in str(labels)]
