"""`battrace bench` end to end on the real stack: the JSON contract and its arithmetic, never its speed."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

KEYS = {
    "events",
    "events_per_s",
    "raw_consume_per_s",
    "ratio",
    "p50_ms",
    "p99_ms",
    "peak_rss_mb",
    "workers",
    "pipeline_s",
    "startup_s",
    "table_store",
}


def _bench(home: Path, *args: str) -> dict:
    env = {**os.environ, "BATTRACE_HOME": str(home), "BATTRACE_TABLE_STORE": "memory://"}
    result = subprocess.run(
        [sys.executable, "-m", "battrace.cli.bench", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# Linux counts CPU in 10 ms ticks: a run must be long enough for every component to reach one (chDB spends about
# 35 µs an event, so a 300-event run could read 0).
THROUGHPUT_EVENTS = 3000


def _positive(report: dict, *keys: str) -> None:
    for key in keys:
        value = report[key]
        assert isinstance(value, int | float) and math.isfinite(value) and value > 0, (key, value)


def test_throughput_run_reports_every_key_with_consistent_numbers(tmp_path: Path) -> None:
    report = _bench(tmp_path, "--events", str(THROUGHPUT_EVENTS))
    assert set(report) >= KEYS
    assert report["events"] == report["published"] == THROUGHPUT_EVENTS
    assert report["published"] == report["sealed"] + report["rejected"]
    assert report["workers"] == 1 and report["table_store"] == "memory://"
    assert report["p50_ms"] is None and report["p99_ms"] is None
    assert report["batteries"] is None
    _positive(report, "events_per_s", "raw_consume_per_s", "ratio", "peak_rss_mb", "pipeline_s", "startup_s")
    assert report["events_per_s"] == pytest.approx(THROUGHPUT_EVENTS / report["pipeline_s"], rel=0.01)
    assert report["ratio"] == pytest.approx(report["events_per_s"] / report["raw_consume_per_s"], rel=0.01)
    cpu = report["cpu_us_per_event"]
    assert set(cpu) == {"seal", "ingest", "clickhouse", "worker_threads", "broker"}
    _positive(cpu, "seal", "ingest", "clickhouse", "broker")
    worker_us = sum(v for c, v in cpu.items() if c != "broker")
    assert worker_us * THROUGHPUT_EVENTS / 1e6 == pytest.approx(report["worker_cpu_s"], abs=0.01)
    assert report["cores_busy"] * report["pipeline_s"] == pytest.approx(
        sum(cpu.values()) * THROUGHPUT_EVENTS / 1e6, rel=0.02, abs=0.01
    )
    assert (tmp_path / "bench" / "clickhouse").is_dir()  # the bench keeps to its own home


def test_paced_run_reports_latency_percentiles(tmp_path: Path) -> None:
    report = _bench(tmp_path, "--events", "300", "--rate", "200")
    assert set(report) >= KEYS
    assert report["events"] == 300 and report["rate"] == 200
    assert report["published"] == 300 + report["warmup_events"] == report["sealed"] + report["rejected"]
    _positive(report, "events_per_s", "raw_consume_per_s", "ratio", "peak_rss_mb", "pipeline_s", "p50_ms", "p99_ms")
    assert report["p50_ms"] <= report["p99_ms"]
    # the ingest stage's share comes first: it is positive and below the whole offer -> sealed latency
    assert 0 < report["ingested_p50_ms"] < report["p50_ms"]
    assert 0 < report["ingested_p99_ms"] <= report["p99_ms"]
    assert 0 < report["latency_events"] <= 300  # valid events of the paced part; invalid ones are never sealed


def test_several_workers_on_embedded_chdb_are_refused_with_the_reason(tmp_path: Path) -> None:
    env = {**os.environ, "BATTRACE_HOME": str(tmp_path), "BATTRACE_CLICKHOUSE": ""}
    result = subprocess.run(
        [sys.executable, "-m", "battrace.cli.bench", "--events", "10", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "one process at a time" in result.stderr and "BATTRACE_CLICKHOUSE" in result.stderr


def test_batteries_run_commissions_exactly_that_many(tmp_path: Path) -> None:
    report = _bench(tmp_path, "--batteries", "50")
    assert set(report) >= KEYS
    assert report["batteries"] == report["events"] == report["published"] == report["sealed"] == 50
    assert report["rejected"] == 0
    _positive(report, "events_per_s", "peak_rss_mb", "pipeline_s")


def test_events_and_batteries_together_are_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "battrace.cli.bench", "--events", "10", "--batteries", "10"],
        env={**os.environ, "BATTRACE_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--events and --batteries exclude each other" in result.stderr
