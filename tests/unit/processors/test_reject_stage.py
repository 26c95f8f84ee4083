"""The rejects sink's rows: every field of a trace.rejects message lands in its column, the source bytes intact."""

from __future__ import annotations

from types import SimpleNamespace

from battrace.store.sink import COLUMNS
from processors.reject_stage import reject_rows
from schemas.envelope import RejectRecord


def test_each_reject_message_becomes_one_row_with_its_source_coordinates_and_original_bytes() -> None:
    records = [
        RejectRecord(("mes.events", 1, 42, 1_700_000_000_123), "schema_invalid", "missing field", None, b"\x00\xffraw"),
        RejectRecord(("assay.results", 0, 7, 1_700_000_000_456), "duplicate_event_id", "first at x:0:1", "ev-1", b"{}"),
    ]
    batch = reject_rows(SimpleNamespace(value=r.dumps()) for r in records)
    rows = batch.rows["rejects"]
    assert [tuple(row) for row in rows] == [COLUMNS["rejects"]] * 2
    assert rows[0] == {
        "source_topic": "mes.events",
        "source_partition": 1,
        "source_offset": 42,
        "reason": "schema_invalid",
        "detail": "missing field",
        "event_id": None,
        "original": b"\x00\xffraw",
        "kafka_timestamp": 1_700_000_000_123,
    }
    assert (rows[1]["event_id"], rows[1]["source_offset"], rows[1]["original"]) == ("ev-1", 7, b"{}")
