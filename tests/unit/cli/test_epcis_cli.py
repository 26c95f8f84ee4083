"""`battrace epcis hash` prints published hashes; mistakes in `epcis hash` and `epcis export` are one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from battrace.cli.main import cli

EXAMPLES = Path(__file__).resolve().parents[1] / "epcis" / "data"


def run(*args: str, home: Path | None = None) -> Result:
    env = {"BATTRACE_HOME": str(home)} if home else {}
    return CliRunner().invoke(cli, ["epcis", *args], env={"BATTRACE_CLICKHOUSE": None, **env})


def _one_line_exit_2(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    for word in words:
        assert word in result.output


def test_hash_prints_one_hash_per_event_in_document_order() -> None:
    result = run("hash", str(EXAMPLES / "epcisDocWithVariousEventTypes.jsonld"))
    assert result.exit_code == 0, result.output
    expected = (EXAMPLES / "epcisDocWithVariousEventTypes.hashes").read_text().split()
    assert result.stdout.split("\n")[:-1] == [h for h in expected if h.startswith("ni:///")]


def test_hash_of_a_missing_or_non_json_file_is_one_line(tmp_path: Path) -> None:
    _one_line_exit_2(run("hash", str(tmp_path / "absent.jsonld")), "cannot read", "absent.jsonld")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("<EPCISDocument/>")
    _one_line_exit_2(run("hash", str(garbage)), "is not JSON")
    no_context = tmp_path / "plain.json"
    no_context.write_text(json.dumps({"type": "EPCISDocument", "epcisBody": {"eventList": []}}))
    _one_line_exit_2(run("hash", str(no_context)), "no @context")


def test_export_needs_exactly_one_selection(tmp_path: Path) -> None:
    result = run("export", "--all", "--lot", "L1", "--out", str(tmp_path / "x.jsonld"))
    assert result.exit_code == 2 and "exactly one of" in result.output


def test_export_of_a_malformed_battery_code_names_the_position(tmp_path: Path) -> None:
    result = run("export", "--battery", "X12XCPM27KLPCLX2M2382320", "--out", str(tmp_path / "x.jsonld"), home=tmp_path)
    _one_line_exit_2(result, "invalid battery code", "position 4")


def test_export_without_a_store_says_where_it_looked(tmp_path: Path) -> None:
    result = run("export", "--all", "--out", str(tmp_path / "x.jsonld"), home=tmp_path / "nothing-here")
    _one_line_exit_2(result, "no battrace home", "battrace demo")
    assert not (tmp_path / "nothing-here").exists()
    (tmp_path / "empty-home").mkdir()
    result = run("export", "--all", "--out", str(tmp_path / "x.jsonld"), home=tmp_path / "empty-home")
    _one_line_exit_2(result, "no ClickHouse store", "battrace demo")
    assert not (tmp_path / "x.jsonld").exists()
