"""`battrace epcis capture` refuses, in one line with exit 2, what it cannot send: a file that is no EPCIS document,
no Kafka named, an event larger than a message may be. (Sending is tested on a real broker:
tests/integration/epcis/test_epcis_round_trip.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result
from simulated_events import first_of

from battrace.cli.main import cli
from battrace.epcis.document import epcis_document


def _capture(file: Path, **env: str | None) -> Result:
    return CliRunner().invoke(cli, ["epcis", "capture", str(file)], env={"BATTRACE_KAFKA": None, **env})


def _one_line_exit_2(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    for word in words:
        assert word in result.output, result.output


def _document(tmp_path: Path) -> Path:
    path = tmp_path / "doc.jsonld"
    document = epcis_document([first_of("Commissioned")], {}, datetime(2026, 1, 1, tzinfo=UTC))
    path.write_text(json.dumps(document))
    return path


def test_a_file_that_is_no_epcis_document_is_refused(tmp_path: Path) -> None:
    _one_line_exit_2(_capture(tmp_path / "absent.json"), "cannot read")
    (tmp_path / "x.xml").write_text("<EPCISDocument/>")
    _one_line_exit_2(_capture(tmp_path / "x.xml"), "is not JSON")
    (tmp_path / "empty.json").write_text(json.dumps({"type": "EPCISDocument", "epcisBody": {"eventList": []}}))
    _one_line_exit_2(_capture(tmp_path / "empty.json"), "is not an EPCISDocument with events")
    (tmp_path / "list.json").write_text("[1]")
    _one_line_exit_2(_capture(tmp_path / "list.json"), "is not an EPCISDocument")


def test_without_a_kafka_named_nothing_is_sent(tmp_path: Path) -> None:
    _one_line_exit_2(_capture(_document(tmp_path)), "BATTRACE_KAFKA is empty")


def test_an_event_too_big_for_a_message_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    result = _capture(_document(tmp_path), BATTRACE_KAFKA="127.0.0.1:9", BATTRACE_MAX_EVENT_BYTES="500")
    _one_line_exit_2(result, "BATTRACE_MAX_EVENT_BYTES=500")
