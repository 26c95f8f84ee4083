"""Two consecutive archives of a hand-built log give a battery's whole bundle (given in either order) that verifies
offline; the second alone names the missing start, and archives that do not follow one another are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sealed_archives import ENTITIES, LOG, synthetic_log

from battrace.tlog import generate_signer
from battrace.verify.archive_bundle import ArchiveNotVerified, bundle_from_archives
from battrace.verify.archive_files import sha256_file, write_archive
from battrace.verify.bundle import verify_bundle
from battrace.verify.export import NothingToExport

SIGNER = generate_signer("test.example/log")
BATTERY = ENTITIES[0]
CUT = 2  # the first archive ends at the checkpoint of 2 entries, the second at 6


def write_first(directory: Path, size: int = CUT) -> Path:
    log = synthetic_log(SIGNER)
    cp = log.checkpoint(size)
    write_archive(
        directory,
        "2025-01",
        log.rows_under(size),
        {LOG: {"size": size, "root": cp["root"], "checkpoint": cp["note"]}},
        [SIGNER],
    )
    return directory


def write_second(directory: Path, manifest_sha256: str) -> Path:
    """Entries [CUT, 6), going on from the first archive (named by its manifest's SHA-256)."""
    log = synthetic_log(SIGNER)
    rows = log.rows_under(6)
    later = {r["event_id"] for r in rows["sealed"] if r["log_index"] >= CUT}
    tables: dict[str, list[dict[str, Any]]] = {
        "sealed": [r for r in rows["sealed"] if r["log_index"] >= CUT],
        "events": [e for e in rows["events"] if e["event_id"] in later],
        "log_entries": [e for e in rows["log_entries"] if e["log_index"] >= CUT],
        "checkpoints": [c for c in rows["checkpoints"] if c["size"] >= CUT],
        "heads": [
            {"log_id": LOG, "position": p, "entity": e, "length": n, "chain_hash": h}
            for p, e, n, h in log.heads[CUT].leaves()
        ],
    }
    start, end = log.checkpoint(CUT), log.checkpoint(6)
    logs = {
        LOG: {
            "size": 6,
            "root": end["root"],
            "checkpoint": end["note"],
            "start": {
                "size": CUT,
                "root": start["root"],
                "checkpoint": start["note"],
                "compact_range": start["compact_range"],
                "until": "2025-01",
                "manifest_sha256": manifest_sha256,
            },
        }
    }
    write_archive(directory, "2025-02", tables, logs, [SIGNER])
    return directory


@pytest.fixture
def archives(tmp_path: Path) -> tuple[Path, Path]:
    first = write_first(tmp_path / "first")
    return first, write_second(tmp_path / "second", sha256_file(first / "manifest.json"))


@pytest.mark.parametrize("reverse", [False, True])
def test_consecutive_archives_give_the_whole_chain(archives: tuple[Path, Path], reverse: bool) -> None:
    given = list(reversed(archives)) if reverse else list(archives)
    bundle = bundle_from_archives(given, *BATTERY, [SIGNER.verifier()])
    assert [r["seq"] for r in bundle["records"]] == [1, 2, 3]
    assert bundle["head"]["leaf"]["length"] == 3
    report = verify_bundle(bundle, [SIGNER.verifier_key()])
    assert report.ok and report.checkpoints == {LOG: 6}, report.failures


def test_the_second_archive_alone_names_the_missing_start(archives: tuple[Path, Path]) -> None:
    first, second = archives
    with pytest.raises(
        NothingToExport, match=f"at entry {CUT} \\(manifest SHA-256 {sha256_file(first / 'manifest.json')}"
    ):
        bundle_from_archives([second], *BATTERY, [SIGNER.verifier()])


def test_an_archive_going_on_from_another_first_is_refused(tmp_path: Path) -> None:
    first = write_first(tmp_path / "first")
    second = write_second(tmp_path / "second", "00" * 32)  # names an archive other than the one given
    with pytest.raises(ArchiveNotVerified, match="does not go on from"):
        bundle_from_archives([first, second], *BATTERY, [SIGNER.verifier()])


def test_overlapping_archives_are_refused(tmp_path: Path) -> None:
    first = write_first(tmp_path / "first", size=4)  # ends at 4, the second starts at 2
    second = write_second(tmp_path / "second", sha256_file(first / "manifest.json"))
    with pytest.raises(ArchiveNotVerified, match="starts from entry 2, that archive ends at entry 4"):
        bundle_from_archives([first, second], *BATTERY, [SIGNER.verifier()])
