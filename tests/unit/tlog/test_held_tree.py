"""Inclusion proofs of held leaves, built from an archive's compact range, equal those of the whole log (and verify)."""

from __future__ import annotations

import hashlib

import pytest

from battrace.tlog import CompactTree, MerkleTree, consistency_proof, verify_consistency, verify_inclusion
from battrace.tlog.held_tree import HeldFromTree

LEAVES = [hashlib.sha256(bytes([i])).digest() for i in range(23)]


@pytest.mark.parametrize("start", [1, 2, 3, 4, 5, 7, 8, 11, 16, 22])
def test_proofs_of_held_leaves_equal_the_whole_logs(start: int) -> None:
    whole = MerkleTree(LEAVES)
    prefix = CompactTree()
    prefix.extend(LEAVES[:start])
    held = HeldFromTree(start, prefix.hashes, LEAVES[start:])
    for size in range(start + 1, len(LEAVES) + 1):
        for index in range(start, size):
            proof = held.inclusion_proof(index, size)
            assert proof == whole.inclusion_proof(index, size), (start, size, index)
            assert verify_inclusion(LEAVES[index], index, size, proof, whole.root(size))


def test_archived_leaves_and_a_wrong_compact_range_are_refused() -> None:
    prefix = CompactTree()
    prefix.extend(LEAVES[:5])
    held = HeldFromTree(5, prefix.hashes, LEAVES[5:])
    with pytest.raises(IndexError, match="not held"):
        held.inclusion_proof(4, 10)
    with pytest.raises(ValueError, match="2 hashes, not 1"):
        HeldFromTree(5, prefix.hashes[:1], LEAVES[5:])
    forged = HeldFromTree(5, (prefix.hashes[0], b"\0" * 32), LEAVES[5:])
    assert not verify_inclusion(LEAVES[7], 7, 12, forged.inclusion_proof(7, 12), MerkleTree(LEAVES).root(12))


@pytest.mark.parametrize("start", [1, 3, 4, 8, 13])
def test_roots_and_consistency_proofs_from_the_cut_on_equal_the_whole_logs(start: int) -> None:
    whole = MerkleTree(LEAVES)
    prefix = CompactTree()
    prefix.extend(LEAVES[:start])
    held = HeldFromTree(start, prefix.hashes, LEAVES[start:15])
    held.extend(LEAVES[15:])  # grown as the live log grows
    for size in range(start, len(LEAVES) + 1):
        assert held.root(size) == whole.root(size)
        for old in range(start, size + 1):
            proof = held.consistency_proof(old, size)
            assert proof == consistency_proof(LEAVES[:size], old), (start, old, size)
            assert verify_consistency(old, size, proof, whole.root(old), whole.root(size))
    with pytest.raises(IndexError, match="not both held"):
        held.consistency_proof(start - 1, len(LEAVES))  # from before the cut: the archive's to prove
