"""An archive written from a hand-built log verifies offline; a forged manifest, a foreign key, a flipped byte, a
rewritten file, a chain gap and a log that ends before its manifest says each fail, naming the file or the entity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sealed_archives import ENTITIES, LOG, synthetic_log

from battrace.tlog import generate_signer
from battrace.verify.archive_check import verify_archive
from battrace.verify.archive_files import ArchiveError, write_archive

SIGNER = generate_signer("test.example/log")
SIZE = 4  # the archive ends at the checkpoint of 4 entries (of 6)


def write(directory: Path, size: int = SIZE, signer: Any = SIGNER, **changes: list[dict[str, Any]]) -> Path:
    log = synthetic_log(SIGNER)
    tables = {**log.rows_under(size), **changes}
    cp = log.checkpoint(size)
    logs = {LOG: {"size": size, "root": cp["root"], "checkpoint": cp["note"]}}
    write_archive(directory, "2025-01", tables, logs, [signer])
    return directory


def failures(directory: Path) -> list[dict[str, Any]]:
    return verify_archive(directory, [SIGNER.verifier()]).failures


def test_an_archive_verifies_with_the_pinned_key_only(tmp_path: Path) -> None:
    report = verify_archive(write(tmp_path), [SIGNER.verifier()])
    assert report.ok and report.checked == len(ENTITIES), report.failures
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert {f["table"]: f["rows"] for f in manifest["files"]} == {
        "sealed": 4,
        "log_entries": 4,
        "checkpoints": 2,
        "events": 4,
        "heads": 0,  # it starts at the beginning of the log
    }
    assert all(f["month"] == "2025-01" for f in manifest["files"])


def test_a_manifest_signed_by_another_key_fails(tmp_path: Path) -> None:
    write(tmp_path, signer=generate_signer("test.example/log"))
    [failure] = failures(tmp_path)
    assert failure["entity"] == "manifest.json" and "does not verify" in failure["problem"]


@pytest.mark.parametrize(
    "forge",
    [
        lambda m: m["files"][0].__setitem__("rows", m["files"][0]["rows"] + 1),
        lambda m: m["files"][1].__setitem__("sha256", "00" * 32),
        lambda m: m.__setitem__("until", "2030-01"),
        lambda m: m["logs"][LOG].__setitem__("size", 6),
    ],
)
def test_a_forged_manifest_fails(tmp_path: Path, forge: Any) -> None:
    write(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    forge(manifest)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    [failure] = failures(tmp_path)
    assert failure["entity"] == "manifest.json" and "changed after it was signed" in failure["problem"]


def test_a_flipped_byte_names_the_file(tmp_path: Path) -> None:
    write(tmp_path)
    path = tmp_path / "events.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    assert "events.parquet" in {f["entity"] for f in failures(tmp_path)}


def test_a_rewritten_file_names_the_file_and_the_entity(tmp_path: Path) -> None:
    write(tmp_path)
    path = tmp_path / "events.parquet"
    table = pq.read_table(path)
    rows = table.to_pylist()
    [victim] = [r for r in rows if r["event_id"] == "ev-LOT-1-2"]
    victim["canonical"] = b"another event"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    entities = {f["entity"] for f in failures(tmp_path)}
    assert entities == {"events.parquet", "lot:LOT-1"}, entities


def test_a_chain_with_a_row_left_out_fails_naming_the_entity(tmp_path: Path) -> None:
    log = synthetic_log(SIGNER)
    sealed = [r for r in log.rows_under(SIZE)["sealed"] if not (r["entity_type"] == "battery" and r["seq"] == 1)]
    found = failures(write(tmp_path, sealed=sealed))
    battery = "battery:" + ENTITIES[0][1]
    assert any(f["entity"] == battery and "sequence gap" in str(f["problem"]) for f in found), found
    assert any(f["entity"] == battery and "holds no row" in str(f["problem"]) for f in found), found


def test_a_log_cut_before_its_archive_checkpoint_fails_naming_the_log(tmp_path: Path) -> None:
    log = synthetic_log(SIGNER)
    entries = log.rows_under(SIZE)["log_entries"][:-1]
    found = failures(write(tmp_path, log_entries=entries))
    assert any(f["entity"] == LOG and "only 3 entries" in str(f["problem"]) for f in found), found


def test_a_directory_without_a_manifest_is_no_archive(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match=r"no manifest\.json"):
        verify_archive(tmp_path, [SIGNER.verifier()])


def write_second(directory: Path, heads: list[dict[str, Any]] | None = None) -> Path:
    """The archive after an archive of the first 2 entries was dropped: entries [2, 6), going on from there."""
    log = synthetic_log(SIGNER)
    rows = log.rows_under(6)
    tables = {
        "sealed": [r for r in rows["sealed"] if r["log_index"] >= 2],
        "events": [e for e in rows["events"] if int(e["event_id"].rsplit("-", 1)[1]) >= 2],
        "log_entries": [e for e in rows["log_entries"] if e["log_index"] >= 2],
        "checkpoints": [c for c in rows["checkpoints"] if c["size"] >= 2],
        "heads": heads
        if heads is not None
        else [
            {"log_id": LOG, "position": p, "entity": e, "length": n, "chain_hash": h}
            for p, e, n, h in log.heads[2].leaves()
        ],
    }
    start, end = log.checkpoint(2), log.checkpoint(6)
    logs = {
        LOG: {
            "size": 6,
            "root": end["root"],
            "checkpoint": end["note"],
            "start": {
                "size": 2,
                "root": start["root"],
                "checkpoint": start["note"],
                "compact_range": start["compact_range"],
            },
        }
    }
    write_archive(directory, "2025-02", tables, logs, [SIGNER])
    return directory


def test_an_archive_that_goes_on_from_an_earlier_one_verifies(tmp_path: Path) -> None:
    report = verify_archive(write_second(tmp_path), [SIGNER.verifier()])
    assert report.ok and report.checked == len(ENTITIES), report.failures


def test_forged_heads_of_the_earlier_archive_fail_naming_the_log(tmp_path: Path) -> None:
    log = synthetic_log(SIGNER)
    forged = [
        {"log_id": LOG, "position": p, "entity": e, "length": n + 1, "chain_hash": h}
        for p, e, n, h in log.heads[2].leaves()
    ]
    found = failures(write_second(tmp_path, forged))
    assert any(f["entity"] == LOG and "start in an earlier archive" in str(f["problem"]) for f in found), found
