"""A verifier's memory of accepted checkpoints: a store rolled back or forked behind it fails, a new store does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from battrace.store.logs import StoredCheckpoint
from battrace.tlog import Checkpoint, generate_signer, leaf_hash, root_hash, sign_checkpoint
from battrace.verify.checkpoint_memory import CheckpointMemory, CheckpointMemoryError, RememberedCheckpoint
from battrace.verify.rollback import check_rollback

LOG = "test.example/log/0"
SIGNER = generate_signer("test.example/log")
VERIFIERS = [SIGNER.verifier()]


def leaves_of(tag: str, n: int) -> list[bytes]:
    return [leaf_hash(f"{tag} entry {i}".encode()) for i in range(n)]


def stored(log_id: str, leaves: list[bytes], *sizes: int, signer=SIGNER) -> list[StoredCheckpoint]:
    out = []
    for size in sizes:
        root = root_hash(leaves[:size])
        note = sign_checkpoint(Checkpoint(log_id, size, root), signer)
        out.append(StoredCheckpoint(log_id, size, root.hex(), note, ()))
    return out


def run(memory: CheckpointMemory, rows: list[StoredCheckpoint], logs: dict[str, list[bytes]]):
    def leaf_hashes(log_id: str, size: int) -> list[bytes]:
        held = logs[log_id]
        if size > len(held):
            raise LookupError(f"{log_id}: the store lacks entries in [{len(held)}, {size})")
        return held[:size]

    check = check_rollback(rows, leaf_hashes, VERIFIERS, memory)
    for accepted in check.accepted:
        memory.remember(accepted)
    return check


def test_a_growing_log_passes_and_the_newest_checkpoint_is_remembered(tmp_path: Path) -> None:
    memory, leaves = CheckpointMemory(tmp_path), leaves_of("a", 20)
    assert run(memory, stored(LOG, leaves, 5, 9), {LOG: leaves[:9]}).problems == []
    assert memory.recall(LOG).size == 9
    check = run(memory, stored(LOG, leaves, 5, 9, 20), {LOG: leaves})
    assert check.problems == [] and memory.recall(LOG) == RememberedCheckpoint(
        LOG, 20, root_hash(leaves), stored(LOG, leaves, 20)[0].note
    )
    assert run(memory, stored(LOG, leaves, 20), {LOG: leaves}).problems == []  # the same size again is no rollback


def test_a_store_rolled_back_fails_naming_the_log_and_what_was_accepted(tmp_path: Path) -> None:
    memory, leaves = CheckpointMemory(tmp_path), leaves_of("a", 20)
    run(memory, stored(LOG, leaves, 5, 20), {LOG: leaves})
    check = run(memory, stored(LOG, leaves, 5), {LOG: leaves[:5]})
    [(log_id, problem)] = check.problems
    assert log_id == LOG and "rolled back" in problem and "size 20" in problem
    assert root_hash(leaves).hex() in problem and str(memory.path(LOG)) in problem
    assert memory.recall(LOG).size == 20  # the rolled-back checkpoint is not remembered


def test_a_log_whose_checkpoints_were_all_deleted_fails(tmp_path: Path) -> None:
    memory, a, b = CheckpointMemory(tmp_path), leaves_of("a", 8), leaves_of("b", 8)
    other = "test.example/log/1"
    run(memory, stored(LOG, a, 8) + stored(other, b, 8), {LOG: a, other: b})
    check = run(memory, stored(other, b, 8), {other: b})
    assert [log for log, _ in check.problems] == [LOG]


def test_a_forked_log_of_the_same_or_larger_size_fails(tmp_path: Path) -> None:
    memory, leaves, fork = CheckpointMemory(tmp_path), leaves_of("a", 20), leaves_of("fork", 30)
    run(memory, stored(LOG, leaves, 10), {LOG: leaves})
    for size in (10, 30):
        [(log_id, problem)] = run(memory, stored(LOG, fork, size), {LOG: fork}).problems
        assert log_id == LOG and "not consistent" in problem


def test_a_checkpoint_beyond_the_stored_entries_fails(tmp_path: Path) -> None:
    memory, leaves = CheckpointMemory(tmp_path), leaves_of("a", 20)
    run(memory, stored(LOG, leaves, 10), {LOG: leaves})
    [(_, problem)] = run(memory, stored(LOG, leaves, 20), {LOG: leaves[:15]}).problems
    assert "lacks entries" in problem


def test_an_unverifiable_newest_checkpoint_is_not_what_is_compared_or_remembered(tmp_path: Path) -> None:
    memory, leaves = CheckpointMemory(tmp_path), leaves_of("a", 20)
    run(memory, stored(LOG, leaves, 10), {LOG: leaves})
    forged = stored(LOG, leaves, 20, signer=generate_signer("test.example/log"))
    check = run(memory, stored(LOG, leaves, 10) + forged, {LOG: leaves})
    assert check.problems == [] and memory.recall(LOG).size == 10
    [(_, problem)] = run(memory, forged, {LOG: leaves}).problems  # only a forged one left: rolled back
    assert "no verified checkpoint" in problem


def test_a_logically_new_store_with_other_log_ids_is_no_rollback(tmp_path: Path) -> None:
    memory, leaves = CheckpointMemory(tmp_path), leaves_of("a", 20)
    run(memory, stored(LOG, leaves, 20), {LOG: leaves})
    other, small = "elsewhere.example/log/0", leaves_of("b", 3)
    assert run(memory, stored(other, small, 3), {other: small}).problems == []
    assert memory.log_ids() == sorted([LOG, other])


def test_memory_files_are_one_per_log_written_whole_and_refused_when_unreadable(tmp_path: Path) -> None:
    memory, leaves = CheckpointMemory(tmp_path / "verifier"), leaves_of("a", 4)
    assert memory.log_ids() == [] and memory.recall(LOG) is None
    run(memory, stored(LOG, leaves, 4), {LOG: leaves})
    assert [p.name for p in memory.directory.iterdir()] == ["test.example%2Flog%2F0.json"]
    assert json.loads(memory.path(LOG).read_text())["size"] == 4
    assert memory.directory.stat().st_mode & 0o777 == 0o700
    memory.path(LOG).write_text("{not json")
    with pytest.raises(CheckpointMemoryError, match="remove it"):
        memory.recall(LOG)
    memory.path(LOG).write_text(json.dumps({"log_id": "another", "size": 4, "root": "00" * 32, "note": ""}))
    with pytest.raises(CheckpointMemoryError, match="does not hold"):
        memory.recall(LOG)
