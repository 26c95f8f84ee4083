"""`battrace serve` on a real pipeline's store: /metrics counts requests by route template and status and times them,
/healthz answers, /readyz is 200 with signed checkpoints and 503 with a one-line reason without them; with
BATTRACE_LOG_FORMAT=json its log (uvicorn's access lines included) is one JSON object a line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from embedded import embedded_stack, write_sql
from prometheus_client.parser import text_string_to_metric_families
from served_api import served_api

from streams.simulator import simulate

UNKNOWN = "CH2CBL12000001T159999999"  # well-formed, never simulated


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with embedded_stack(tmp_path_factory.mktemp("ops-api")) as stack:
        stack.publish(list(simulate(300, seed=4, invalid_share=0.0)))
        stack.process()
        yield stack.settings.home


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_requests_by_route_template_and_status(home: Path) -> None:
    with served_api(home) as api:
        assert api.http.get("/logs").status_code == 200
        assert api.http.get("/logs").status_code == 200
        assert api.http.get(f"/batteries/{UNKNOWN}").status_code == 404
        assert api.http.get("/no/such/route").status_code == 404
        scraped = api.http.get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    found = samples(scraped.text)

    def requests(route: str, status: str) -> float:
        labels = (("method", "GET"), ("route", route), ("status", status))
        return found[("battrace_api_requests_total", labels)]

    assert requests("/logs", "200") == 2
    assert requests("/batteries/{battery_id}", "404") == 1  # the template, not the code asked for
    assert requests("unmatched", "404") == 1
    assert found[("battrace_api_request_seconds_count", (("route", "/logs"),))] == 2
    assert not [labels for name, labels in found if UNKNOWN in str(labels)]


def test_json_logs_on_request(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATTRACE_LOG_FORMAT", "json")
    with served_api(home) as api:
        api.http.get("/logs")
        log = api.log
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["logger"] == "uvicorn.access" and "GET /logs" in r["message"] for r in records), lines[-10:]
    assert not [line for line in lines if line.startswith("INFO:")]  # no uvicorn text line left


def test_health_and_readiness_with_and_without_checkpoints(home: Path) -> None:
    with served_api(home) as api:
        health, ready = api.http.get("/healthz"), api.http.get("/readyz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}

    write_sql(home, "TRUNCATE TABLE battrace.checkpoints")  # the last test of the module: the store loses them
    with served_api(home) as api:
        health, ready = api.http.get("/healthz"), api.http.get("/readyz")
    assert health.status_code == 200
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready" and "no signed checkpoint" in body["reason"] and "\n" not in body["reason"]
