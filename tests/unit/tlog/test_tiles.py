"""TiledTree: proofs from stored subtree hashes and a few leaves, byte-identical to the full MerkleTree's.

Published vectors: vectors/merkle_rfc6962.json (transparency-dev/merkle @ 417fb0c3, as test_proof.py says): its
8-leaf tree's node hashes serve as the stored nodes of heights 1 and 2, and the proofs built from them must be the
published inclusion and consistency proofs.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from battrace.tlog import CompactTree, MerkleTree
from battrace.tlog.proof import verify_consistency, verify_inclusion
from battrace.tlog.rfc6962 import leaf_hash, subtree_root
from battrace.tlog.tiles import TILE_HEIGHTS, TiledTree, node_range

VECTORS = json.loads((Path(__file__).parent / "vectors" / "merkle_rfc6962.json").read_text())
LEAF_HASHES = [leaf_hash(bytes.fromhex(x)) for x in VECTORS["tree"]["leaf_inputs"]]
NODES = VECTORS["tree"]["node_hashes"]  # NODES[k][j]: node j of level k (level 0: the leaves)


def unhex(hs: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hs]


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


class Reads:
    """Leaf ranges read by a tree, and stored nodes asked for: what a proof costs."""

    def __init__(self, hashes: list[bytes], stored: dict[tuple[int, int], bytes]) -> None:
        self.hashes, self.stored = hashes, stored
        self.leaf_reads: list[tuple[int, int]] = []
        self.node_reads: list[tuple[int, int]] = []

    def leaves(self, start: int, end: int) -> list[bytes]:
        self.leaf_reads.append((start, end))
        return self.hashes[start:end]

    def node(self, height: int, index: int) -> bytes | None:
        self.node_reads.append((height, index))
        return self.stored.get((height, index))


def tiles_of(hashes: list[bytes]) -> dict[tuple[int, int], bytes]:
    """The nodes a log stores, as the seal stage learns them: reported by CompactTree.append."""
    found: list[tuple[int, int, bytes]] = []
    CompactTree().extend(hashes, found)
    return {(height, index): h for height, index, h in found}


# --------------------------------------------------------------------------- what CompactTree reports


def test_compact_tree_reports_every_complete_tile_once_with_its_hash() -> None:
    hashes = leaves(65536 + 3 * 256 + 7)
    found: list[tuple[int, int, bytes]] = []
    tree = CompactTree()
    for h in hashes:
        tree.append(h, found)
    plain = CompactTree()
    plain.extend(hashes)
    assert tree == plain and tree.root() == MerkleTree(hashes).root()
    keys = [(height, index) for height, index, _ in found]
    assert sorted(keys) == sorted([(8, i) for i in range(256 + 3)] + [(16, 0)])
    assert len(set(keys)) == len(keys)
    for height, index, h in found:
        assert h == subtree_root(hashes, *node_range(height, index)), (height, index)


def test_no_tile_below_256_leaves_and_none_reported_without_a_list() -> None:
    found: list[tuple[int, int, bytes]] = []
    CompactTree().extend(leaves(255), found)
    assert found == []
    CompactTree().extend(leaves(256))  # no list: nothing to report to, and no error


# --------------------------------------------------------------------------- byte-identical to MerkleTree


def test_proofs_equal_the_full_trees_for_random_sizes_and_indices() -> None:
    rng = random.Random(6962)
    hashes = leaves(5000)
    stored = tiles_of(hashes)
    full = MerkleTree(hashes)
    for _ in range(60):
        size = rng.randrange(1, len(hashes) + 1)
        reads = Reads(hashes, stored)
        tree = TiledTree(size, reads.node, reads.leaves)
        assert tree.root() == full.root(size)
        for index in {rng.randrange(size) for _ in range(5)} | {0, size - 1}:
            assert tree.inclusion_proof(index) == full.inclusion_proof(index, size), (index, size)
        for old in {rng.randrange(size + 1) for _ in range(5)} | {0, 1, size}:
            assert tree.consistency_proof(old) == full.consistency_proof(old, size), (old, size)


def test_an_inclusion_proof_reads_the_leaves_of_two_blocks_at_most() -> None:
    hashes = leaves(4 * 256 + 100)
    stored = tiles_of(hashes)
    for index in (0, 300, 1023, 1024, 1100):
        reads = Reads(hashes, stored)
        proof = TiledTree(len(hashes), reads.node, reads.leaves).inclusion_proof(index)
        assert proof == MerkleTree(hashes).inclusion_proof(index)
        blocks = {start // 256 for start, _ in reads.leaf_reads}
        assert blocks <= {index // 256, len(hashes) // 256}, reads.leaf_reads
        assert sum(end - start for start, end in reads.leaf_reads) <= 2 * 256


def test_proofs_with_small_tiled_heights_equal_the_full_trees() -> None:
    # Heights 2, 4 and 6 put several tiled levels into a few hundred leaves.
    hashes = leaves(300)
    full = MerkleTree(hashes)
    stored = {
        (height, index): subtree_root(hashes, *node_range(height, index))
        for height in (2, 4, 6)
        for index in range(len(hashes) >> height)
    }
    for size in range(1, len(hashes) + 1, 7):
        reads = Reads(hashes, stored)
        tree = TiledTree(size, reads.node, reads.leaves, heights=(2, 4, 6))
        for index in range(0, size, 11):
            assert tree.inclusion_proof(index) == full.inclusion_proof(index, size)
        for old in range(0, size + 1, 13):
            assert tree.consistency_proof(old) == full.consistency_proof(old, size)


def test_missing_tiles_are_computed_from_the_leaves() -> None:
    hashes = leaves(3000)
    stored = tiles_of(hashes)
    for key in list(stored)[::2]:
        del stored[key]
    full = MerkleTree(hashes)
    for tiles in (stored, {}):
        tree = TiledTree(len(hashes), Reads(hashes, tiles).node, Reads(hashes, tiles).leaves)
        assert tree.root() == full.root()
        assert tree.inclusion_proof(1234) == full.inclusion_proof(1234)
        assert tree.consistency_proof(777) == full.consistency_proof(777)


# --------------------------------------------------------------------------- published vectors


def published_nodes() -> dict[tuple[int, int], bytes]:
    return {(k, j): bytes.fromhex(h) for k in (1, 2) for j, h in enumerate(NODES[k])}


@pytest.mark.parametrize(
    ("index", "size", "proof"),
    [(v["leaf_index_1based"] - 1, v["size"], unhex(v["proof"])) for v in VECTORS["proofgen"]["inclusion_proofs"]]
    + [(v["index"], v["size"], unhex(v["proof"])) for v in VECTORS["reference"]["inclusion_proofs"]],
)
def test_inclusion_proofs_from_published_nodes_are_the_published_proofs(
    index: int, size: int, proof: list[bytes]
) -> None:
    reads = Reads(LEAF_HASHES, published_nodes())
    assert TiledTree(size, reads.node, reads.leaves, heights=(1, 2)).inclusion_proof(index) == proof


@pytest.mark.parametrize(
    ("old", "size", "proof"),
    [(v["size1"], v["size2"], unhex(v["proof"])) for v in VECTORS["proofgen"]["consistency_proofs"]]
    + [(v["size1"], v["size2"], unhex(v["proof"])) for v in VECTORS["reference"]["consistency_proofs"]],
)
def test_consistency_proofs_from_published_nodes_are_the_published_proofs(
    old: int, size: int, proof: list[bytes]
) -> None:
    reads = Reads(LEAF_HASHES, published_nodes())
    assert TiledTree(size, reads.node, reads.leaves, heights=(1, 2)).consistency_proof(old) == proof


def test_roots_from_published_nodes_are_the_published_roots() -> None:
    reads = Reads(LEAF_HASHES, published_nodes())
    roots = [TiledTree(size, reads.node, reads.leaves, heights=(1, 2)).root().hex() for size in range(9)]
    assert roots == VECTORS["tree"]["root_hashes"]


# --------------------------------------------------------------------------- wrong stored nodes


def test_a_wrong_stored_tile_makes_the_proofs_that_use_it_fail_and_no_other() -> None:
    hashes = leaves(2048 + 50)
    root = MerkleTree(hashes).root()
    stored = tiles_of(hashes)
    stored[(8, 2)] = bytes(32)  # leaves [512, 768)
    tree = TiledTree(len(hashes), Reads(hashes, stored).node, Reads(hashes, stored).leaves)
    size = len(hashes)
    uses_it = tree.inclusion_proof(100)  # its sibling [512, 1024) is hashed from the stored [512, 768)
    assert not verify_inclusion(hashes[100], 100, size, uses_it, root)
    own_block = tree.inclusion_proof(600)  # its own block is hashed from its leaves, its siblings are other nodes
    assert verify_inclusion(hashes[600], 600, size, own_block, root)
    elsewhere = tree.inclusion_proof(2060)  # its sibling [0, 2048) is hashed from the eight stored nodes of height 8
    assert not verify_inclusion(hashes[2060], 2060, size, elsewhere, root)
    assert tree.root() != root
    assert not verify_consistency(1000, size, tree.consistency_proof(1000), MerkleTree(hashes[:1000]).root(), root)


def test_a_wrong_leaf_in_the_store_fails_its_own_proof() -> None:
    hashes = leaves(1024)
    root = MerkleTree(hashes).root()
    held = list(hashes)
    held[300] = leaf_hash(b"altered")
    reads = Reads(held, tiles_of(hashes))
    tree = TiledTree(len(held), reads.node, reads.leaves)
    assert not verify_inclusion(held[300], 300, 1024, tree.inclusion_proof(300), root)
    # A leaf in another block is proven from the stored node over the altered block, not from its leaves.
    assert verify_inclusion(held[900], 900, 1024, tree.inclusion_proof(900), root)


# --------------------------------------------------------------------------- a log held from an archive cut


def test_a_tree_held_from_a_cut_proves_like_the_whole_one_without_reading_before_it() -> None:
    hashes = leaves(2000)
    full = MerkleTree(hashes)
    for cut in (300, 512, 1000):
        compact = CompactTree()
        compact.extend(hashes[:cut])
        stored = {k: h for k, h in tiles_of(hashes).items() if node_range(*k)[1] > cut}  # tiles past the cut only
        reads = Reads(hashes, stored)
        tree = TiledTree(len(hashes), reads.node, reads.leaves, start=cut, compact_range=compact.hashes)
        assert tree.root() == full.root()
        for index in (cut, cut + 1, 1500, 1999):
            assert tree.inclusion_proof(index) == full.inclusion_proof(index)
        assert tree.consistency_proof(cut) == full.consistency_proof(cut)
        assert all(start >= cut for start, _ in reads.leaf_reads), reads.leaf_reads
        with pytest.raises(IndexError):
            tree.inclusion_proof(cut - 1)


def test_tile_heights_are_every_eighth_level() -> None:
    assert TILE_HEIGHTS == (8, 16, 24, 32, 40)
    assert node_range(8, 3) == (768, 1024)


def test_a_tree_proving_every_leaf_keeps_a_few_leaf_blocks_only() -> None:
    hashes = leaves(40 * 256)
    reads = Reads(hashes, tiles_of(hashes))
    tree = TiledTree(len(hashes), reads.node, reads.leaves)
    full = MerkleTree(hashes)
    for index in range(0, len(hashes), 97):
        assert tree.inclusion_proof(index) == full.inclusion_proof(index)
    assert len(tree._blocks) <= 8
    before = len(reads.leaf_reads)
    tree.inclusion_proof(len(hashes) - 1)  # the newest blocks are still kept
    assert len(reads.leaf_reads) == before
