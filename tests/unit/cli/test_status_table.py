"""What `battrace status` prints for a pipeline status: a row per stage and topic, a row per log, the summary, and
the JSON object."""

from __future__ import annotations

from battrace.cli.status import LOG_COLUMNS, STAGE_COLUMNS, log_rows, stage_rows, summary
from battrace.stack.pipeline_status import LogCheckpoint, PipelineStatus
from processors.metrics import TopicLag

STATUS = PipelineStatus(
    "127.0.0.1:9092",
    [
        TopicLag("ingest", "battrace-ingest", "mes.events", committed=900, end=940),
        TopicLag("ingest", "battrace-ingest", "assay.results", committed=12, end=12),
        TopicLag("seal", "battrace", "trace.chain", committed=30, end=31),
        TopicLag("rejects", "battrace-rejects", "trace.rejects", committed=4, end=4),
    ],
    [LogCheckpoint("battrace.example/log/0", 512, 1_700_000_000_000, 2.25)],
)


def test_a_row_per_stage_and_topic_and_per_log() -> None:
    assert len(STAGE_COLUMNS) == len(stage_rows(STATUS)[0]) and len(LOG_COLUMNS) == len(log_rows(STATUS)[0])
    assert stage_rows(STATUS) == [
        ("ingest", "battrace-ingest", "mes.events", "900", "940", "40"),
        ("ingest", "battrace-ingest", "assay.results", "12", "12", "0"),
        ("seal", "battrace", "trace.chain", "30", "31", "1"),
        ("rejects", "battrace-rejects", "trace.rejects", "4", "4", "0"),
    ]
    assert log_rows(STATUS) == [("battrace.example/log/0", "512", "2.2")]


def test_the_summary_names_the_total_lag_and_the_stages_behind() -> None:
    assert summary(STATUS) == "lag 41 (ingest, seal); 1 log(s) with a signed checkpoint"
    caught_up = PipelineStatus("b", [TopicLag("seal", "battrace", "trace.chain", 31, 31)], [])
    assert summary(caught_up) == "no lag: every stage has committed everything; 0 log(s) with a signed checkpoint"


def test_the_json_object_holds_every_row_with_its_lag() -> None:
    report = STATUS.as_json()
    assert report["broker"] == "127.0.0.1:9092" and report["lag"] == 41
    assert report["stages"][0] == {
        "stage": "ingest",
        "group": "battrace-ingest",
        "topic": "mes.events",
        "committed": 900,
        "end": 940,
        "lag": 40,
    }
    assert report["logs"] == [
        {"log_id": "battrace.example/log/0", "size": 512, "published_ms": 1_700_000_000_000, "age_s": 2.25}
    ]
