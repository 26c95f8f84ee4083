"""MutableTree: after any appends and replaced leaves, its root and proofs are the full rebuild's, byte for byte."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from battrace.tlog.mutable import MutableTree
from battrace.tlog.proof import inclusion_proof, verify_inclusion
from battrace.tlog.rfc6962 import EMPTY_ROOT, leaf_hash, root_hash


def h(n: int) -> bytes:
    return leaf_hash(n.to_bytes(8, "big"))


# Each step: append a leaf, or replace one (index taken modulo the size); a root or proof may be asked in between.
STEPS = st.lists(
    st.tuples(st.sampled_from(["append", "set", "root"]), st.integers(0, 10**6), st.integers(0, 10**6)),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(steps=STEPS)
def test_any_sequence_of_appends_and_replacements_hashes_as_the_full_rebuild(steps) -> None:
    tree, leaves = MutableTree(), []
    for op, a, b in steps:
        if op == "append" or not leaves:
            leaves.append(h(a))
            assert tree.append(h(a)) == len(leaves) - 1
        elif op == "set":
            leaves[a % len(leaves)] = h(b)
            tree.set(a % len(leaves), h(b))
        else:
            assert tree.root() == root_hash(leaves)
    assert tree.size == len(leaves)
    assert tree.root() == root_hash(leaves)
    for i in range(len(leaves)):
        assert tree.leaf(i) == leaves[i]
        assert tree.inclusion_proof(i) == inclusion_proof(leaves, i)


def test_many_random_updates_between_roots_of_a_large_tree_match_the_rebuild() -> None:
    rng = random.Random(7)
    leaves = [h(i) for i in range(3000)]
    tree = MutableTree(leaves)
    for round_ in range(20):
        for _ in range(rng.choice([1, 10, 500])):
            i = rng.randrange(len(leaves))
            leaves[i] = h(rng.randrange(10**9))
            tree.set(i, leaves[i])
        for _ in range(rng.randrange(0, 40)):
            leaves.append(h(rng.randrange(10**9)))
            tree.append(leaves[-1])
        assert tree.root() == root_hash(leaves), round_


def test_proofs_verify_and_broken_proofs_or_leaves_do_not() -> None:
    leaves = [h(i) for i in range(13)]
    tree = MutableTree(leaves)
    tree.set(5, h(99))
    leaves[5] = h(99)
    root = tree.root()
    for i in range(13):
        proof = tree.inclusion_proof(i)
        assert verify_inclusion(leaves[i], i, 13, proof, root)
        assert not verify_inclusion(h(1000 + i), i, 13, proof, root)  # another leaf
        assert not verify_inclusion(leaves[i], (i + 1) % 13, 13, proof, root)  # another position
        for j in range(len(proof)):
            broken = [*proof[:j], bytes(32), *proof[j + 1 :]]
            assert not verify_inclusion(leaves[i], i, 13, broken, root)
    assert not verify_inclusion(h(5), 5, 13, tree.inclusion_proof(5), root)  # the replaced value is gone


def test_an_empty_tree_and_bad_input() -> None:
    tree = MutableTree()
    assert tree.root() == EMPTY_ROOT and tree.size == 0
    with pytest.raises(ValueError):
        tree.append(b"short")
    tree.append(h(1))
    assert tree.root() == h(1) and tree.inclusion_proof(0) == []
    for bad in (-1, 1, True, "0"):
        with pytest.raises(IndexError):
            tree.set(bad, h(2))  # type: ignore[arg-type]
        with pytest.raises(IndexError):
            tree.inclusion_proof(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tree.set(0, bytearray(32))  # type: ignore[arg-type]
