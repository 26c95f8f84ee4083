"""A live log goes on from an archive mark only when the mark's checkpoint, compact range and heads all verify; the
log is then audited from there, and a live entry changed after the archive still fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sealed_archives import LOG, synthetic_log

from battrace.store.archive_marks import ArchivedHead, ArchiveMark
from battrace.store.logs import StoredCheckpoint
from battrace.tlog import generate_signer, leaf_hash, root_hash, verify_consistency
from battrace.verify.archive_start import archived_start, consistency_prover
from battrace.verify.chains import SEALED_COLUMNS, VerifyReport, depends_on_archive, verify_chain
from battrace.verify.checkpoint_memory import CheckpointMemory
from battrace.verify.log_audit import audit_entries, logged_records
from battrace.verify.rollback import check_rollback

SIGNER = generate_signer("test.example/log")
LOG_ROWS = synthetic_log(SIGNER)
SIZE = 4


def mark(**changes: Any) -> ArchiveMark:
    cp = LOG_ROWS.checkpoint(SIZE)
    fields = {
        "log_id": LOG,
        "size": SIZE,
        "root": cp["root"],
        "note": cp["note"],
        "compact_range": tuple(cp["compact_range"]),
        "until": "2025-01",
        "manifest_sha256": "00" * 32,
    }
    return ArchiveMark(**{**fields, **changes})


def heads() -> list[ArchivedHead]:
    return [ArchivedHead(LOG, *leaf) for leaf in LOG_ROWS.heads[SIZE].leaves()]


def live_view(start: Any, entries: list[dict[str, Any]] | None = None) -> Any:
    held = entries if entries is not None else LOG_ROWS.tables["log_entries"][SIZE:]
    stored = [(e["log_index"], e["entry"], bytes.fromhex(e["leaf_hash"])) for e in held]
    checkpoints = [
        StoredCheckpoint(LOG, c["size"], c["root"], c["note"], tuple(c["compact_range"]))
        for c in LOG_ROWS.tables["checkpoints"]
        if c["size"] >= SIZE
    ]
    return audit_entries(LOG, stored, checkpoints, [SIGNER.verifier()], start)


def test_a_live_log_goes_on_from_a_verified_mark() -> None:
    found = archived_start(mark(), heads(), [SIGNER.verifier()])
    assert found.heads == {h.entity: (h.length, h.chain_hash) for h in heads()}
    view = live_view(found.start)
    assert view.problems == [] and view.signed_size == 6 and view.start == SIZE
    assert [index for index, _ in logged_records(view)] == [4, 5]


def test_a_live_entry_changed_after_the_archive_fails() -> None:
    entries = [dict(e) for e in LOG_ROWS.tables["log_entries"][SIZE:]]
    entries[0]["entry"] = entries[0]["entry"].replace(b'"seq":3', b'"seq":4')
    view = live_view(archived_start(mark(), heads(), [SIGNER.verifier()]).start, entries)
    assert any("leaf_hash does not match" in p for p in view.problems), view.problems
    assert any("do not hash to its root" in p for p in view.problems), view.problems


def test_live_entries_missing_right_after_the_archive_fail() -> None:
    view = live_view(archived_start(mark(), heads(), [SIGNER.verifier()]).start, LOG_ROWS.tables["log_entries"][5:])
    assert any("entries missing from index 4" in p for p in view.problems), view.problems


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"note": LOG_ROWS.checkpoint(SIZE)["note"].replace(f"{LOG}\n4\n", f"{LOG}\n5\n")}, "does not verify"),
        ({"compact_range": tuple(LOG_ROWS.checkpoint(2)["compact_range"])}, "compact range"),
        ({"size": 2}, "the mark says 2"),
        ({"note": LOG_ROWS.checkpoint(2)["note"]}, "has size 2, the mark says 4"),
    ],
)
def test_a_forged_mark_is_refused(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        archived_start(mark(**changes), heads(), [SIGNER.verifier()])


def test_forged_archived_heads_are_refused() -> None:
    forged = heads()
    forged[0] = ArchivedHead(LOG, 0, forged[0].entity, forged[0].length + 1, forged[0].chain_hash)
    with pytest.raises(ValueError, match="heads do not hash"):
        archived_start(mark(), forged, [SIGNER.verifier()])


def test_a_mark_signed_by_another_key_is_refused() -> None:
    with pytest.raises(ValueError, match="does not verify"):
        archived_start(mark(), heads(), [generate_signer("test.example/log").verifier()])


def test_a_live_chain_goes_on_from_its_archived_head_only() -> None:
    found = archived_start(mark(), heads(), [SIGNER.verifier()])
    entity = "battery:X12MCPM27KLPCLX2M2382320"
    rows = [r for r in LOG_ROWS.tables["sealed"] if r["log_index"] >= SIZE and r["entity_type"] == "battery"]
    chain = [tuple(r[c] for c in SEALED_COLUMNS) for r in rows]
    events = {e["event_id"]: (e["event_hash"], e["canonical"], []) for e in LOG_ROWS.tables["events"]}
    report = VerifyReport()
    verify_chain(entity, chain, events, report, found.heads[entity])
    assert report.failures == [] and rows[0]["seq"] == 3
    verify_chain(entity, chain, events, report)  # as if nothing were archived: history is missing
    assert [f["problem"] for f in report.failures] == ["sequence gap: expected 1, found 3"]
    other = found.heads["lot:LOT-1"]
    report = VerifyReport()
    verify_chain(entity, chain, events, report, other)  # another entity's head does not continue this chain
    assert [f["problem"] for f in report.failures] == ["prev_hash does not match the previous chain_hash"]


def held_leaves(log_id: str, start: int, end: int) -> list[bytes]:
    """The live store's leaves: none below the archive's end."""
    if start < SIZE:
        raise LookupError(f"the store lacks entries in [{start}, {SIZE})")
    return [leaf_hash(e["entry"]) for e in LOG_ROWS.tables["log_entries"][start:end]]


def test_a_log_that_grew_after_its_archive_is_proven_consistent_from_the_mark() -> None:
    prove = consistency_prover({LOG: archived_start(mark(), heads(), [SIGNER.verifier()])}, held_leaves)
    roots = {c["size"]: bytes.fromhex(c["root"]) for c in LOG_ROWS.tables["checkpoints"]}
    for old in (4, 5):
        proof = prove(LOG, old, 6)
        assert verify_consistency(old, 6, proof, _root(old), roots[6])
    with pytest.raises(LookupError, match="below 4 are archived"):
        prove(LOG, 2, 6)


def test_a_remembered_checkpoint_under_the_live_log_is_not_a_rollback(tmp_path: Path) -> None:
    memory = CheckpointMemory(tmp_path)
    rows = [StoredCheckpoint(LOG, c["size"], c["root"], c["note"], ()) for c in LOG_ROWS.tables["checkpoints"]]
    first = check_rollback(rows[:2], lambda *_: [], [SIGNER.verifier()], memory)
    for cp in first.accepted:
        memory.remember(cp)
    prove = consistency_prover({LOG: archived_start(mark(), heads(), [SIGNER.verifier()])}, held_leaves)
    no_leaves_below_the_archive = lambda log_id, size: held_leaves(log_id, 0, size)  # noqa: E731
    assert check_rollback(rows[1:], no_leaves_below_the_archive, [SIGNER.verifier()], memory).problems != []
    assert check_rollback(rows[1:], no_leaves_below_the_archive, [SIGNER.verifier()], memory, prove).problems == []


def _root(size: int) -> bytes:
    return root_hash([leaf_hash(e["entry"]) for e in LOG_ROWS.tables["log_entries"][:size]])


def test_what_depends_on_archived_history_is_closed_over_shared_events() -> None:
    events = {
        "a": ("", b"", ["lot:L1"]),
        "b": ("", b"", ["lot:L1", "battery:C1"]),  # consumed into a cell
        "c": ("", b"", ["battery:C1", "battery:P1"]),  # the cell into a pack
        "d": ("", b"", ["battery:Z9"]),
    }
    found = depends_on_archive({"lot:L1"}, events)
    assert found == {"lot:L1", "battery:C1", "battery:P1", "event:a", "event:b", "event:c"}
    assert depends_on_archive({"battery:Z9"}, events) == {"battery:Z9", "event:d"}


def test_a_damaged_entry_fails_the_log_and_is_not_read_as_a_record() -> None:
    found = archived_start(mark(), heads(), [SIGNER.verifier()])
    held = [dict(e) for e in LOG_ROWS.tables["log_entries"][SIZE:]]
    held[0]["entry"] = held[0]["entry"][:-2] + b"x}"  # no longer JSON: damaged bytes, not a log entry
    view = live_view(found.start, held)
    assert view.problems  # its leaf no longer hashes to the signed root
    assert [index for index, _ in logged_records(view)] == [5]
