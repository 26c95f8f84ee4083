"""The per-partition logs and their checkpoints, without a broker: placement, gaps, replays, signing."""

from __future__ import annotations

import json

import pytest
from aiokafka.partitioner import DefaultPartitioner

from battrace.store.heads import Heads
from battrace.store.logs import LastCheckpoint
from battrace.tlog import (
    CompactTree,
    Verifier,
    generate_signer,
    leaf_hash,
    open_checkpoint,
    root_hash,
    verify_consistency,
)
from battrace.tlog import consistency_proof as full_consistency_proof
from processors.checkpointer import Checkpointer, InconsistentLog
from processors.sealing import MissingMessage, PartitionLog, group_log_states, key_partition, log_state_key
from schemas.heads import head_leaf, parse_heads
from schemas.log_entries import REDELIVERED, SEALED, redelivered_entry, sealed_entry

ROW = {
    "entity_type": "battery",
    "entity_id": "X12MCPM27KLPCLX2M2382320",
    "seq": 1,
    "event_id": "ev-1",
    "event_hash": "ab" * 32,
    "prev_hash": "00" * 32,
    "chain_hash": "cd" * 32,
}


@pytest.mark.parametrize("partitions", [1, 2, 4, 12])
def test_log_state_key_lands_on_its_partition_under_kafkas_default_partitioner(partitions: int) -> None:
    """faust writes the key's changelog with the producer's partitioner: the state must follow the log."""
    for p in range(partitions):
        key = log_state_key(p, partitions)
        assert DefaultPartitioner()(key, list(range(partitions)), list(range(partitions))) == p
        assert not key.startswith((b"battery:", b"lot:", b"shipment:", b"party:"))
    all_partitions = list(range(partitions))
    for key in (b"battery:001CPABC0000000000001", b"lot:L-7", b"shipment:S1", b"party:X", b""):
        # a pack goes to the partition the entity's state changelog is written to
        assert key_partition(key, partitions) == DefaultPartitioner()(key, all_partitions, all_partitions)


def test_entries_are_canonical_and_typed() -> None:
    entry = sealed_entry({**ROW, "log_id": "ignored", "prev_hash": "ff" * 32})
    assert entry == sealed_entry(dict(reversed(list(ROW.items()))))  # key order and extra fields do not matter
    assert json.loads(entry) == {"kind": SEALED, **{k: v for k, v in ROW.items() if k != "prev_hash"}}
    assert json.loads(redelivered_entry("lot:L1", "ev-2", ("mes.events", 1, 7)))["kind"] == REDELIVERED


def _message(log: PartitionLog, offset: int, entries: list[bytes]) -> list[int]:
    """Seal one trace.chain message of len(entries) items the way the seal stage does; returns their indexes."""
    logged = log.holds(offset)
    first = log.first_index(offset)
    assert first is not None
    indexes = list(range(first, first + len(entries)))
    if not logged:
        assert [log.add(e, SEALED) for e in entries] == indexes
    return indexes


def test_items_get_consecutive_indexes_and_a_skipped_offset_is_refused() -> None:
    log = PartitionLog(None)
    assert _message(log, 0, [b"a", b"b"]) == [0, 1]
    assert _message(log, 1, [b"c"]) == [2]
    with pytest.raises(MissingMessage, match="offset 2 was not delivered"):
        log.first_index(3)  # offset 2 never arrived: logging past it would seal its loss
    assert (log.size, log.next_offset) == (3, 2)  # nothing logged for the refused message
    assert [(e.index, e.entry, e.kind) for e in log.appended] == [
        (0, b"a", SEALED),
        (1, b"b", SEALED),
        (2, b"c", SEALED),
    ]
    assert log.tree.root() == root_hash([leaf_hash(x) for x in (b"a", b"b", b"c")])
    assert _message(log, 2, [b"d"]) == [3]  # once it is delivered, the log goes on


def test_a_replayed_message_of_the_last_batch_gets_its_original_indexes_and_is_not_logged_again() -> None:
    log = PartitionLog(None)
    _message(log, 0, [b"a"])
    first_batch = PartitionLog(log.state())
    _message(first_batch, 1, [b"b", b"c"])
    _message(first_batch, 2, [b"d"])
    stored = first_batch.state()

    replay = PartitionLog(stored)  # a crash after the log state, before every entity state of the batch
    assert _message(replay, 1, [b"b", b"c"]) == [1, 2]
    assert _message(replay, 2, [b"d"]) == [3]
    assert _message(replay, 3, [b"e"]) == [4]
    assert [(e.index, e.entry) for e in replay.appended] == [(4, b"e")]

    twice = PartitionLog(replay.state())  # cut short again: the replayed messages are still known
    assert _message(twice, 1, [b"b", b"c"]) == [1, 2]
    assert twice.appended == []
    assert twice.first_index(0) is None  # older than the last batch: its entities were written, no index needed
    assert twice.appended == []
    assert PartitionLog(PartitionLog(stored).state()).state() == stored  # a batch of no message keeps the map


def test_a_group_of_batches_stored_together_keeps_the_messages_of_every_batch_recognisable() -> None:
    """Batches sealed while the one before was still unstored are stored as one group: one log state, then the
    entity states of every batch. A crash part-way leaves entities of the first batch without their items too."""
    log = PartitionLog(None)
    _message(log, 0, [b"a"])
    first = PartitionLog(log.state())
    _message(first, 1, [b"b"])
    second = PartitionLog(first.state())  # sealed from the first batch before it was stored
    _message(second, 2, [b"c", b"d"])
    assert PartitionLog(second.state()).first_index(1) is None  # alone, the newest state forgets the first batch

    other = PartitionLog(None)
    _message(other, 0, [b"z"])
    states = group_log_states([{0: first, 1: other}, {0: second}])
    assert states[1] == other.state()
    replay = PartitionLog(states[0])  # the group's state, then a crash
    assert _message(replay, 1, [b"b"]) == [1]
    assert _message(replay, 2, [b"c", b"d"]) == [2, 3]
    assert replay.appended == [] and replay.size == 4
    assert replay.first_index(0) is None  # stored before the group: its entities hold their items


def test_a_replay_cut_short_again_keeps_the_messages_it_has_not_reached() -> None:
    """A crash while storing a batch of messages 1-3; the restarted worker stores a batch of message 1 alone and
    crashes too. Messages 2 and 3 must still be recognised: their entities may not hold their items yet."""
    log = PartitionLog(None)
    _message(log, 0, [b"a"])
    cut = PartitionLog(log.state())
    for offset, entry in ((1, b"b"), (2, b"c"), (3, b"d")):
        _message(cut, offset, [entry])
    first_replay = PartitionLog(cut.state())
    assert _message(first_replay, 1, [b"b"]) == [1]
    second_replay = PartitionLog(first_replay.state())
    assert [_message(second_replay, o, [b"x"]) for o in (2, 3)] == [[2], [3]]
    assert second_replay.appended == []
    assert _message(second_replay, 4, [b"e"]) == [4]
    after = PartitionLog(second_replay.state())
    assert after.first_index(1) is None  # replayed in a batch that was stored, and passed by the next one
    assert after.first_index(3) == 3  # replayed in the last batch, which may be cut short too


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _grow(log: PartitionLog, cp: Checkpointer, log_id: str, entries: list[bytes]) -> None:
    log.appended.clear()
    _message(log, log.next_offset, entries)
    cp.observe(log_id, [e.leaf_hash for e in log.appended], log.tree)


def test_checkpoints_are_due_by_count_or_age_and_each_extends_the_last() -> None:
    signer, clock = generate_signer("test.example/log"), Clock()
    cp = Checkpointer([signer], every=5, seconds=2.0, clock=clock)
    log, log_id = PartitionLog(None), "test.example/log/0"
    cp.load(log_id, None, [], log.tree, Heads())
    assert cp.due() == []
    _grow(log, cp, log_id, [b"a", b"b"])
    assert cp.due() == []  # 2 < 5 entries and not old enough
    clock.now += 2.5
    assert cp.due() == [log_id]
    first = cp.sign(log_id, 1)
    _grow(log, cp, log_id, [bytes([i]) for i in range(7)])
    assert cp.due() == [log_id]  # 7 >= 5 entries
    second = cp.sign(log_id, 2)
    assert cp.due() == []

    leaves = [leaf_hash(e) for e in [b"a", b"b", *(bytes([i]) for i in range(7))]]
    one = open_checkpoint(first["note"], [Verifier.from_key(signer.verifier_key())], origin=log_id)
    two = open_checkpoint(second["note"], [signer.verifier()], origin=log_id)
    assert (one.size, one.root) == (2, root_hash(leaves[:2]))
    assert (two.size, two.root) == (9, root_hash(leaves)) == (log.size, log.tree.root())
    assert verify_consistency(2, 9, full_consistency_proof(leaves, 2), one.root, two.root)
    assert second["compact_range"] == [h.hex() for h in log.tree.hashes]


def test_a_checkpointer_resumes_from_the_store_and_refuses_a_log_that_does_not_extend_it() -> None:
    signer = generate_signer("test.example/log")
    leaves = [leaf_hash(bytes([i])) for i in range(10)]
    at6 = CompactTree()
    at6.extend(leaves[:6])
    full = at6.copy()
    full.extend(leaves[6:])
    last = LastCheckpoint(6, at6.root(), at6.hashes)

    cp = Checkpointer([signer], every=1, seconds=1.0)
    cp.load("L/0", last, leaves[6:], full, Heads())
    assert cp.knows("L/0", 10) and not cp.knows("L/0", 9)
    assert open_checkpoint(cp.sign("L/0", 0)["note"], [signer.verifier()]).size == 10

    with pytest.raises(InconsistentLog, match="do not rebuild"):
        cp.load("L/1", last, leaves[7:], full, Heads())  # a stored leaf is missing
    forged = LastCheckpoint(6, bytes(32), at6.hashes)
    with pytest.raises(InconsistentLog, match="does not hash"):
        cp.load("L/2", forged, leaves[6:], full, Heads())


def test_sign_refuses_a_log_state_its_proof_does_not_reach() -> None:
    """Memory and persisted log state disagree (a lost write, a fork): no checkpoint is signed."""
    signer = generate_signer("test.example/log")
    cp = Checkpointer([signer], every=1, seconds=1.0)
    log = PartitionLog(None)
    cp.load("L/0", None, [], log.tree, Heads())
    _grow(log, cp, "L/0", [b"a", b"b"])
    cp.sign("L/0", 0)
    _grow(log, cp, "L/0", [b"c", b"d", b"e"])
    cp.logs["L/0"].pending[1] = leaf_hash(b"forged")
    with pytest.raises(InconsistentLog, match="not consistent"):
        cp.sign("L/0", 0)
    cp.logs["L/0"].pending.pop()
    with pytest.raises(InconsistentLog):
        cp.sign("L/0", 0)


def test_a_checkpointer_resumes_heads_that_rebuild_its_last_checkpoint_and_refuses_others() -> None:
    signer = generate_signer("test.example/log")
    leaves = [leaf_hash(bytes([i])) for i in range(8)]
    at6 = CompactTree()
    at6.extend(leaves[:6])
    full = at6.copy()
    full.extend(leaves[6:])
    a_head = leaf_hash(head_leaf("battery:A", 2, "ab" * 32))
    last = LastCheckpoint(6, at6.root(), at6.hashes, heads=(1, a_head))

    def heads(length: int) -> Heads:
        h = Heads()
        h.observe("battery:A", length, "ab" * 32)
        h.commit()
        return h

    cp = Checkpointer([signer], every=1, seconds=1.0)
    resumed = heads(2)
    resumed.observe("battery:B", 1, "cd" * 32)  # sealed after the checkpoint: signed with the next one
    cp.load("L/0", last, leaves[6:], full, resumed)
    note = cp.sign("L/0", 0)["note"]
    b_head = leaf_hash(head_leaf("battery:B", 1, "cd" * 32))
    assert parse_heads(open_checkpoint(note, [signer.verifier()]).extensions) == (2, root_hash([a_head, b_head]))
    with pytest.raises(InconsistentLog, match="heads of checkpoint 6"):
        cp.load("L/1", last, leaves[6:], full, heads(1))  # the store's entries say A has one record, not two
