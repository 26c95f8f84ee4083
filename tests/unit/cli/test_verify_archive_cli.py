"""`battrace verify --archive` and `battrace export --archive` work from the files alone: exit 0 for a genuine archive,
1 naming the file for a forged one, 2 in one line for a directory with no archive, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sealed_archives import ENTITIES, LOG, synthetic_log

from battrace.cli.export import export_cmd
from battrace.cli.verify import verify_cmd
from battrace.tlog import generate_signer
from battrace.verify.archive_files import write_archive

SIGNER = generate_signer("test.example/log")


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BATTRACE_HOME", str(tmp_path / "home"))  # no store, no keys: only what is pinned
    monkeypatch.setenv("BATTRACE_VERIFIER_KEYS", SIGNER.verifier_key())
    log = synthetic_log(SIGNER)
    cp = log.checkpoint(6)
    directory = tmp_path / "archive"
    write_archive(
        directory,
        "2025-01",
        log.rows_under(6),
        {LOG: {"size": 6, "root": cp["root"], "checkpoint": cp["note"]}},
        [SIGNER],
    )
    return directory


def verify(*args: str) -> Result:
    return CliRunner().invoke(verify_cmd, ["--archive", *args])


def test_a_genuine_archive_verifies_against_the_pinned_key(archive: Path) -> None:
    result = verify(str(archive), "--key", SIGNER.verifier_key(), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"checked": len(ENTITIES), "ok": True, "failures": []}
    other = verify(str(archive), "--key", generate_signer("test.example/log").verifier_key(), "--json")
    assert other.exit_code == 1 and json.loads(other.output)["failures"][0]["entity"] == "manifest.json"


def test_a_changed_file_fails_naming_it(archive: Path) -> None:
    path = archive / "checkpoints.parquet"
    data = bytearray(path.read_bytes())
    data[-40] ^= 0x01
    path.write_bytes(bytes(data))
    result = verify(str(archive))
    assert result.exit_code == 1 and "checkpoints.parquet" in result.output
    assert "Traceback" not in result.output


def test_a_directory_without_an_archive_is_one_line_and_exit_2(tmp_path: Path, archive: Path) -> None:
    result = verify(str(tmp_path / "empty"))
    assert result.exit_code == 2 and "no manifest.json" in result.output and "Traceback" not in result.output


def test_a_bundle_is_exported_from_the_archive_alone(archive: Path, tmp_path: Path) -> None:
    _, entity_id = ENTITIES[0]
    out = tmp_path / "bundle.json"
    result = CliRunner().invoke(export_cmd, ["--archive", str(archive), "--battery", entity_id, "--out", str(out)])
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_text())
    assert [r["seq"] for r in bundle["records"]] == [1, 2, 3] and bundle["head"]["leaf"]["length"] == 3
    checked = CliRunner().invoke(verify_cmd, ["--bundle", str(out), "--key", SIGNER.verifier_key(), "--json"])
    assert checked.exit_code == 0 and json.loads(checked.output)["verified"], checked.output
