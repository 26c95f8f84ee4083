"""Heads: one leaf per entity in first-appearance order, its newest length and chain hash, committed per checkpoint."""

from __future__ import annotations

import pytest

from battrace.store.heads import Heads
from battrace.tlog import leaf_hash, root_hash, verify_inclusion
from schemas.heads import head_leaf
from schemas.log_entries import redelivered_entry, sealed_entry


def entry(entity_type: str, entity_id: str, seq: int) -> bytes:
    row = {"entity_type": entity_type, "entity_id": entity_id, "seq": seq, "event_id": f"{entity_id}-{seq}"}
    return sealed_entry({**row, "event_hash": "00" * 32, "chain_hash": f"{seq:02x}" * 32})


def test_heads_follow_the_log_and_only_commits_change_the_root() -> None:
    heads = Heads(keep_values=True)
    for e in (entry("battery", "B", 1), entry("lot", "L", 1), redelivered_entry("battery:B", "B-1", ["t", 0, 1])):
        heads.observe_entry(e)
    assert heads.committed == (0, root_hash([]))  # nothing committed yet
    first = heads.commit()
    heads.observe_entry(entry("battery", "B", 2))
    heads.observe_entry(entry("shipment", "S", 1))
    heads.observe_entry(entry("battery", "B", 3))
    assert heads.committed == first
    b, lot, s = (
        leaf_hash(head_leaf("battery:B", 3, "03" * 32)),
        leaf_hash(head_leaf("lot:L", 1, "01" * 32)),
        leaf_hash(head_leaf("shipment:S", 1, "01" * 32)),
    )
    assert first == (2, root_hash([leaf_hash(head_leaf("battery:B", 1, "01" * 32)), lot]))
    assert heads.commit() == (3, root_hash([b, lot, s]))  # B keeps its first position, with its newest head
    proof = heads.proof("battery:B")
    assert proof is not None and proof["leaf"] == {"entity": "battery:B", "length": 3, "chain_hash": "03" * 32}
    hashes = [bytes.fromhex(x) for x in proof["inclusion_proof"]]
    assert verify_inclusion(b, proof["index"], 3, hashes, root_hash([b, lot, s]))
    assert heads.proof("battery:nobody") is None


def test_heads_without_their_values_hash_the_same_and_refuse_to_prove() -> None:
    kept, lean = Heads(keep_values=True), Heads()
    for heads in (kept, lean):
        heads.observe("battery:B", 2, "ab" * 32)
    assert kept.commit() == lean.commit()
    with pytest.raises(ValueError, match="keep_values"):
        lean.proof("battery:B")
