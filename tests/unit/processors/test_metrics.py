"""The worker's metric definitions: what each stage's once-a-batch call adds, gauges read at scrape time, and the
exposition prometheus-client writes for them."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from processors.metrics import (
    ENTERED,
    FIRST_BATCH_STORED,
    SEAL_ASSIGNED,
    STARTUP_METRIC,
    CheckpointAges,
    TopicLag,
    WorkerMetrics,
    fresh_multiprocess_dir,
)


def scrape(metrics: WorkerMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_stored_batches_add_their_events_rows_and_one_duration_each() -> None:
    metrics = WorkerMetrics()
    assert not metrics.stored_any
    metrics.batches_stored(events=120, rows=300, started_s=[10.0, 10.5], now_s=11.0)
    metrics.batches_stored(events=5, rows=9, started_s=[20.0], now_s=20.02)
    found = scrape(metrics)
    assert metrics.stored_any
    assert found[("battrace_sealed_events_total", ())] == 125
    assert found[("battrace_sealed_rows_total", ())] == 309
    assert found[("battrace_seal_batch_seconds_count", ())] == 3
    assert found[("battrace_seal_batch_seconds_sum", ())] == pytest.approx(1.0 + 0.5 + 0.02)
    assert found[("battrace_seal_batch_seconds_bucket", (("le", "0.025"),))] == 1  # the 20 ms batch only


def test_rejects_are_counted_by_reason_and_events_in_by_topic() -> None:
    metrics = WorkerMetrics()
    metrics.rejects_stored({"duplicate": 3, "bad_framing": 1})
    metrics.rejects_stored({"duplicate": 2})
    assert metrics.ingest is not None  # ingest in-process: it counts on the worker's registry
    metrics.ingest.batch_read({"mes.events": 1500, "assay.results": 20})
    metrics.ingest.batch_read({"mes.events": 500})
    found = scrape(metrics)
    assert found[("battrace_rejected_total", (("reason", "duplicate"),))] == 5
    assert found[("battrace_rejected_total", (("reason", "bad_framing"),))] == 1
    assert found[("battrace_events_in_total", (("topic", "mes.events"),))] == 2000
    assert found[("battrace_events_in_total", (("topic", "assay.results"),))] == 20


def test_each_worker_counts_on_its_own_registry() -> None:
    first, second = WorkerMetrics(), WorkerMetrics()  # would raise "Duplicated timeseries" on a shared registry
    first.rejects_stored({"oversize": 1})
    assert ("battrace_rejected_total", (("reason", "oversize"),)) not in scrape(second)


def test_with_an_ingest_child_the_worker_reads_its_files_and_counts_nothing_itself(tmp_path: Path) -> None:
    metrics = WorkerMetrics(ingest_dir=tmp_path / "ingest")
    assert metrics.ingest is None
    assert not [name for name, _ in scrape(metrics) if name.startswith("battrace_events_in")]  # no child yet


def test_a_fresh_multiprocess_dir_drops_the_last_run_s_files(tmp_path: Path) -> None:
    directory = tmp_path / "metrics" / "ingest"
    directory.mkdir(parents=True)
    (directory / "counter_123.db").write_bytes(b"stale")
    (directory / "keep.txt").write_text("not a metrics file")
    assert fresh_multiprocess_dir(directory) == directory
    assert sorted(p.name for p in directory.iterdir()) == ["keep.txt"]


def test_checkpoint_age_grows_until_the_next_checkpoint() -> None:
    now = [1_000.0]
    ages = CheckpointAges(clock=lambda: now[0])
    ages.signed("log/0", 100, created_at_ms=990_000)
    ages.signed("log/1", 7, created_at_ms=999_500)
    now[0] = 1_005.0

    def read() -> dict[tuple[str, str], float]:
        return {(s.name, s.labels["log"]): s.value for family in ages.collect() for s in family.samples}

    assert read() == {
        ("battrace_checkpoint_age_seconds", "log/0"): 15.0,
        ("battrace_checkpoint_age_seconds", "log/1"): 5.5,
        ("battrace_checkpoint_size", "log/0"): 100,
        ("battrace_checkpoint_size", "log/1"): 7,
    }
    ages.signed("log/0", 180, created_at_ms=1_004_000)
    assert read()[("battrace_checkpoint_age_seconds", "log/0")] == 1.0


def test_consumer_lag_is_read_at_scrape_time_and_left_out_when_the_broker_fails() -> None:
    rows = [
        TopicLag("ingest", "battrace-ingest", "mes.events", 90, 100),
        TopicLag("seal", "battrace", "trace.chain", 7, 7),
    ]
    answers: list[object] = [rows, ConnectionError("broker down")]

    def read() -> list[TopicLag]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    metrics = WorkerMetrics(read_lag=read)
    found = scrape(metrics)
    labels = (("group", "battrace-ingest"), ("stage", "ingest"), ("topic", "mes.events"))
    assert found[("battrace_consumer_lag_messages", labels)] == 10
    assert (
        found[("battrace_consumer_lag_messages", (("group", "battrace"), ("stage", "seal"), ("topic", "trace.chain")))]
        == 0
    )
    after = scrape(metrics)  # the broker fails: the scrape still answers, without lag
    assert not [name for name, _ in after if name == "battrace_consumer_lag_messages"]
    assert ("battrace_sealed_events_total", ()) in after


def test_a_commit_past_the_end_is_no_negative_lag() -> None:
    assert TopicLag("seal", "g", "t", committed=12, end=10).lag == 0


def test_the_startup_steps_keep_when_each_was_first_reached() -> None:
    metrics = WorkerMetrics()
    clock = iter([100.0, 101.5, 109.0])
    metrics.startup.clock = lambda: next(clock)
    metrics.startup.reached(ENTERED, 99.0)
    metrics.startup.reached(SEAL_ASSIGNED)
    metrics.batches_stored(10, 10, [0.0], 1.0)
    metrics.startup.reached(SEAL_ASSIGNED)  # a later rebalance: the start-up's own time stays
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(metrics.registry).decode())}
    samples = {s.labels["step"]: s.value for s in families[STARTUP_METRIC].samples}
    assert samples == {ENTERED: 99.0, SEAL_ASSIGNED: 100.0, FIRST_BATCH_STORED: 101.5}
