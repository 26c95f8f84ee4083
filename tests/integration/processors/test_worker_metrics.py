"""A real worker on the embedded stack serves /metrics, /healthz and /readyz on BATTRACE_METRICS_PORT, and after it
has processed a known run its counters agree with the store: sealed events with the sealed table, rejects by reason
with the rejects table, events in by topic with what the source topics hold (counted by the ingest child process);
with BATTRACE_LOG_FORMAT=json the worker and its ingest child log one JSON object a line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from embedded import embedded_stack
from prometheus_client.parser import text_string_to_metric_families

from battrace.stack.worker import checkpointed_sizes, true_end_offsets
from streams import topics
from streams.simulator import simulate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Scraped:
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]  # (name, sorted labels) -> value
    health: httpx.Response
    ready: httpx.Response
    source_ends: dict[str, int]  # source topic -> messages it holds
    checkpoint_sizes: dict[str, int]
    sealed_events: int
    rejects: dict[str, int]
    log: str

    def value(self, name: str, **labels: str) -> float:
        return self.samples[(name, tuple(sorted(labels.items())))]

    def by(self, name: str, label: str) -> dict[str, float]:
        return {dict(lbls)[label]: v for (n, lbls), v in self.samples.items() if n == name}


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    """One worker run over 800 simulated events (5 % invalid), scraped once everything is processed and signed."""
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BATTRACE_WORKER_LOGLEVEL", "info")  # the ingest child logs its dedup replay at info
        with embedded_stack(tmp_path_factory.mktemp("metrics")) as stack:
            stack.settings = stack.settings.model_copy(update={"metrics_port": port, "log_format": "json"})
            events = list(simulate(800, seed=3, invalid_share=0.05))
            stack.publish(events)
            with stack.worker() as worker:
                stack.settle(worker, reports_of=events)
                base = f"http://127.0.0.1:{port}"
                text = httpx.get(f"{base}/metrics", timeout=30).text
                health, ready = httpx.get(f"{base}/healthz"), httpx.get(f"{base}/readyz", timeout=30)
                ends = true_end_offsets(stack.bootstrap, [t.name for t in topics.SOURCES])
                sizes = checkpointed_sizes(stack.bootstrap)
            samples = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text)
                for s in family.samples
            }
            source_ends = {
                t.name: sum(end for (name, _), end in ends.items() if name == t.name) for t in topics.SOURCES
            }
            sealed = stack.sql("SELECT uniqExact(event_id) FROM battrace.sealed FINAL")[0][0]
            rejects = dict(stack.sql("SELECT reason, count() FROM battrace.rejects FINAL GROUP BY reason"))
            log = (stack.settings.home / "worker.log").read_text(errors="replace")
            yield Scraped(samples, health, ready, source_ends, sizes, sealed, rejects, log)


def test_sealed_and_rejected_counters_equal_the_store(scraped: Scraped) -> None:
    assert scraped.sealed_events > 700
    assert scraped.value("battrace_sealed_events_total") == scraped.sealed_events
    assert scraped.value("battrace_sealed_rows_total") >= scraped.sealed_events
    assert len(scraped.rejects) >= 3  # several reasons, each counted apart
    assert scraped.by("battrace_rejected_total", "reason") == scraped.rejects


def test_the_ingest_child_counts_every_source_message_by_topic(scraped: Scraped) -> None:
    counted = scraped.by("battrace_events_in_total", "topic")
    assert sum(scraped.source_ends.values()) >= 800  # the run's events, and any report step the worker published
    assert counted == {topic: n for topic, n in scraped.source_ends.items() if n}


def test_latencies_checkpoints_and_lag_are_exposed(scraped: Scraped) -> None:
    assert scraped.value("battrace_seal_batch_seconds_count") > 0
    assert scraped.value("battrace_clickhouse_insert_seconds_count") > 0
    assert scraped.by("battrace_checkpoint_size", "log") == scraped.checkpoint_sizes
    ages = scraped.by("battrace_checkpoint_age_seconds", "log")
    assert set(ages) == set(scraped.checkpoint_sizes) and all(0 <= age < 120 for age in ages.values())
    lag = {
        (dict(labels)["stage"], dict(labels)["topic"]): v
        for (n, labels), v in scraped.samples.items()
        if n == "battrace_consumer_lag_messages"
    }
    assert {stage for stage, _ in lag} == {"ingest", "seal", "rejects", "reports"}
    assert set(lag.values()) == {0.0}


def test_health_and_readiness_answer_on_the_metrics_port(scraped: Scraped) -> None:
    assert scraped.health.status_code == 200 and scraped.health.json() == {"status": "ok"}
    assert scraped.ready.status_code == 200 and scraped.ready.json() == {"status": "ready"}


def test_json_logs_of_the_worker_and_its_ingest_child(scraped: Scraped) -> None:
    records = []
    for line in scraped.log.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # faust's start-up banner is printed, not logged
    assert records, scraped.log[-2000:]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["logger"] == "processors.ingest" and "dedup state" in r["message"] for r in records)
    assert any(r["logger"].startswith("faust") for r in records)


def test_a_taken_metrics_port_stops_the_worker_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            "BATTRACE_HOME": str(tmp_path),
            "BATTRACE_KAFKA": "127.0.0.1:9",  # never reached: the port is checked before the worker joins anything
            "BATTRACE_METRICS_PORT": str(port),
        }
        result = subprocess.run(
            [sys.executable, "-m", "processors", "worker", "--without-web"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot serve metrics on 127.0.0.1:{port}" in lines[0]
    assert "BATTRACE_METRICS_PORT" in lines[0]
