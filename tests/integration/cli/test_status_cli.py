"""`battrace status` on a real broker: no lag once a worker processed everything, the ingest stage's lag equal to
what was published since, each log's newest checkpoint as trace.checkpoints holds it; one line when the broker
does not answer or is not set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from embedded import broker_for_tests, embedded_stack

from battrace.settings import Settings
from battrace.stack.worker import checkpointed_sizes
from streams.simulator import simulate


def status(home: Path, *args: str, kafka: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATTRACE_HOME": str(home), "BATTRACE_KAFKA": kafka}
    return subprocess.run(
        [sys.executable, "-m", "battrace", "status", *args], env=env, capture_output=True, text=True, timeout=120
    )


def lag_by_stage(report: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in report["stages"]:
        out[row["stage"]] = out.get(row["stage"], 0) + row["lag"]
    return out


def test_lag_is_zero_after_processing_and_counts_what_was_published_since(tmp_path: Path) -> None:
    with embedded_stack(tmp_path) as stack:
        stack.publish(list(simulate(300, seed=8, invalid_share=0.02)))
        stack.process()
        done = status(stack.settings.home, "--json", kafka=stack.bootstrap)
        sizes = checkpointed_sizes(stack.bootstrap)
        stack.publish(list(simulate(40, seed=9, invalid_share=0.0)))  # no worker runs: nobody consumes these
        behind = status(stack.settings.home, "--json", kafka=stack.bootstrap)
        table = status(stack.settings.home, kafka=stack.bootstrap)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["lag"] == 0 and lag_by_stage(report) == {"ingest": 0, "seal": 0, "rejects": 0, "reports": 0}
    ingest_end = sum(row["end"] for row in report["stages"] if row["stage"] == "ingest")
    assert ingest_end == 300
    assert {log["log_id"]: log["size"] for log in report["logs"]} == sizes and len(sizes) == 2
    assert all(0 <= log["age_s"] < 300 for log in report["logs"])

    assert behind.returncode == 0, behind.stderr
    later = json.loads(behind.stdout.strip().splitlines()[-1])
    assert lag_by_stage(later) == {"ingest": 40, "seal": 0, "rejects": 0, "reports": 0}
    assert later["lag"] == 40

    assert table.returncode == 0, table.stderr
    assert "lag 40 (ingest)" in table.stdout and "mes.events" in table.stdout
    assert all(log_id in table.stdout for log_id in sizes)


def test_an_unreachable_broker_is_one_line_with_the_fix(tmp_path: Path) -> None:
    result = status(tmp_path, kafka="127.0.0.1:9")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach Kafka at 127.0.0.1:9" in lines[0] and "BATTRACE_KAFKA" in lines[0]


def test_no_broker_set_is_one_line_with_the_fix(tmp_path: Path) -> None:
    result = status(tmp_path, kafka="")
    assert result.returncode == 2 and "BATTRACE_KAFKA is not set" in result.stderr and "Traceback" not in result.stderr


def test_a_broker_without_the_pipeline_s_topics_is_one_line_with_the_fix(tmp_path: Path) -> None:
    with broker_for_tests(Settings(home=tmp_path), tmp_path / "broker") as broker:  # started, no topic created
        result = status(tmp_path, kafka=broker.bootstrap)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "has no battrace topics" in lines[0] and "BATTRACE_KAFKA" in lines[0]
