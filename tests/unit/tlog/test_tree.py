"""MerkleTree: roots and inclusion proofs for every prefix, equal to the full-list functions byte for byte.

Published vectors are the ones test_proof.py and test_compact.py use (vectors/merkle_rfc6962.json, copied
from transparency-dev/merkle @ 417fb0c3): the 8-leaf tree's levels and roots, and the proofgen and reference
inclusion tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from battrace.tlog import MerkleTree
from battrace.tlog.proof import consistency_proof, inclusion_proof, verify_inclusion
from battrace.tlog.rfc6962 import EMPTY_ROOT, HASH_SIZE, leaf_hash, root_hash

VECTORS = json.loads((Path(__file__).parent / "vectors" / "merkle_rfc6962.json").read_text())
TREE = VECTORS["tree"]
LEAF_HASHES = [leaf_hash(bytes.fromhex(x)) for x in TREE["leaf_inputs"]]


def unhex(hs: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hs]


# (index, size, proof) with 0-based index, from both published tables (as in test_proof.py).
INCLUSION = [
    (v["leaf_index_1based"] - 1, v["size"], unhex(v["proof"])) for v in VECTORS["proofgen"]["inclusion_proofs"]
] + [(v["index"], v["size"], unhex(v["proof"])) for v in VECTORS["reference"]["inclusion_proofs"]]


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


# --------------------------------------------------------------------------- published vectors


def test_roots_match_published_roots_for_every_prefix() -> None:
    tree = MerkleTree(LEAF_HASHES)
    assert [tree.root(size).hex() for size in range(9)] == TREE["root_hashes"]
    assert tree.root() == tree.root(8)


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_published(index: int, size: int, proof: list[bytes]) -> None:
    assert MerkleTree(LEAF_HASHES).inclusion_proof(index, size) == proof  # from the full 8-leaf tree
    assert MerkleTree(LEAF_HASHES[:size]).inclusion_proof(index) == proof  # from a tree of exactly that size


def test_stored_subtrees_are_the_published_nodes() -> None:
    # In the 8-leaf tree, leaf i's path is its sibling at each level: node (i >> k) ^ 1 of level k.
    tree = MerkleTree(LEAF_HASHES)
    levels = TREE["node_hashes"]
    for i in range(8):
        assert [h.hex() for h in tree.inclusion_proof(i)] == [levels[k][(i >> k) ^ 1] for k in range(3)]


# --------------------------------------------------------------------------- equal to the full-list functions


def test_every_prefix_and_index_up_to_70_leaves() -> None:
    """Grown one leaf at a time, and asked after each append about every older size too."""
    hashes = leaves(70)
    tree = MerkleTree()
    assert tree.size == 0 and tree.root() == EMPTY_ROOT
    for n, h in enumerate(hashes, start=1):
        tree.append(h)
        assert tree.size == n
        for size in range(n + 1):
            assert tree.root(size) == root_hash(hashes[:size])
    for size in range(1, 71):
        root = root_hash(hashes[:size])
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert proof == inclusion_proof(hashes[:size], index), (index, size)
            assert verify_inclusion(hashes[index], index, size, proof, root)


@pytest.mark.parametrize("size", [127, 128, 129, 255, 256, 257, 1000, 1023, 1024, 1025])
def test_sizes_around_powers_of_two(size: int) -> None:
    hashes = leaves(1100)
    tree = MerkleTree(hashes)
    assert tree.root(size) == root_hash(hashes[:size])
    for index in {0, 1, size // 2, size - 2, size - 1}:
        assert tree.inclusion_proof(index, size) == inclusion_proof(hashes[:size], index)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=8), min_size=1, max_size=90), st.data())
def test_extended_in_batches_equals_full_list(entries: list[bytes], data: st.DataObject) -> None:
    hashes = [leaf_hash(e) for e in entries]
    tree = MerkleTree()
    while tree.size < len(hashes):  # the way seal.py grows it: whatever the store has gained since
        step = data.draw(st.integers(1, len(hashes) - tree.size), label="batch")
        tree.extend(hashes[tree.size : tree.size + step])
    size = data.draw(st.integers(1, len(hashes)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = tree.inclusion_proof(index, size)
    assert proof == inclusion_proof(hashes[:size], index)
    assert verify_inclusion(hashes[index], index, size, proof, tree.root(size))
    assert tree.root() == root_hash(hashes)


# --------------------------------------------------------------------------- wrong input


@pytest.mark.parametrize("index", [-1, 5, 6, 8, True, 1.0, "1", None])
def test_rejects_an_index_outside_the_requested_size(index: object) -> None:
    tree = MerkleTree(LEAF_HASHES)
    with pytest.raises(IndexError):  # as battrace.tlog.inclusion_proof does
        tree.inclusion_proof(index, 5)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [-1, 9, 2**64, True, 1.0, "1"])
def test_rejects_a_size_beyond_the_tree(size: object) -> None:
    tree = MerkleTree(LEAF_HASHES)
    with pytest.raises(ValueError):
        tree.inclusion_proof(0, size)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tree.root(size)  # type: ignore[arg-type]


def test_empty_tree_has_the_empty_root_and_no_proofs() -> None:
    tree = MerkleTree()
    assert tree.root() == tree.root(0) == EMPTY_ROOT
    with pytest.raises(IndexError):
        tree.inclusion_proof(0)
    with pytest.raises(IndexError):
        MerkleTree(LEAF_HASHES).inclusion_proof(0, 0)


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x00" * 31, b"\x00" * 33, "00" * 32, None, bytearray(32)],
    ids=["empty", "short", "long", "str", "none", "bytearray"],
)
def test_append_rejects_non_hashes(bad: object) -> None:
    tree = MerkleTree(LEAF_HASHES[:3])
    with pytest.raises(ValueError):
        tree.append(bad)  # type: ignore[arg-type]
    assert tree.size == 3
    assert tree.root() == root_hash(LEAF_HASHES[:3])
    tree.append(LEAF_HASHES[3])  # still usable
    assert tree.root() == root_hash(LEAF_HASHES[:4])


def test_storage_is_about_two_hashes_per_leaf() -> None:
    tree = MerkleTree(leaves(1000))
    stored = sum(len(level) for level in tree._levels)  # the compactness is the point
    assert stored == HASH_SIZE * sum(1000 >> k for k in range(10))
    assert stored < 2 * HASH_SIZE * 1000


def test_consistency_proofs_from_the_tree_equal_the_leaf_lists() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(19)]
    tree = MerkleTree(leaves)
    for size in range(len(leaves) + 1):
        for old in range(size + 1):
            assert tree.consistency_proof(old, size) == consistency_proof(leaves[:size], old), (old, size)
    with pytest.raises(ValueError, match="past size"):
        tree.consistency_proof(5, 4)
