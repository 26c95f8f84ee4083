"""RFC 6962 hashing against the transparency-dev/merkle reference vectors.

Vectors: tests/tlog/vectors/merkle_rfc6962.json, copied verbatim from
github.com/transparency-dev/merkle @ 417fb0c3 — testonly/constants.go (LeafInputs,
NodeHashes, RootHashes), rfc6962/rfc6962_test.go (hasher vectors) and
testonly/reference_test.go (TestDownToPowerOfTwo, inlined below).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from battrace.tlog.rfc6962 import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash, root_hash, split_point

VECTORS = json.loads((Path(__file__).parent / "vectors" / "merkle_rfc6962.json").read_text())
TREE = VECTORS["tree"]
HASHER = VECTORS["hasher"]
LEAVES = [bytes.fromhex(x) for x in TREE["leaf_inputs"]]
LEAF_HASHES = [leaf_hash(x) for x in LEAVES]


def test_empty_root_is_sha256_of_nothing() -> None:
    # rfc6962/rfc6962_test.go "RFC6962 Empty" and testonly/constants.go EmptyRootHash().
    assert EMPTY_ROOT.hex() == HASHER["empty_root"]
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_hash([]) == EMPTY_ROOT


def test_hasher_vectors() -> None:
    # rfc6962/rfc6962_test.go TestRFC6962Hasher.
    assert leaf_hash(b"").hex() == HASHER["empty_leaf"]
    assert leaf_hash(b"L123456").hex() == HASHER["leaf_L123456"]
    assert node_hash(b"N123", b"N456").hex() == HASHER["node_N123_N456"]
    # The empty tree and the tree holding one empty entry must differ.
    assert leaf_hash(b"") != EMPTY_ROOT


def test_leaf_hashes_match_level_zero() -> None:
    assert [h.hex() for h in LEAF_HASHES] == TREE["node_hashes"][0]


@pytest.mark.parametrize("level", [1, 2, 3])
def test_interior_nodes_match_published_levels(level: int) -> None:
    below = [bytes.fromhex(h) for h in TREE["node_hashes"][level - 1]]
    got = [node_hash(below[2 * i], below[2 * i + 1]).hex() for i in range(len(below) // 2)]
    assert got == TREE["node_hashes"][level]


@pytest.mark.parametrize("size", range(9))
def test_root_hash_matches_reference_roots(size: int) -> None:
    assert root_hash(LEAF_HASHES[:size]).hex() == TREE["root_hashes"][size]


def test_reference_roots_spot_values() -> None:
    # The two roots quoted in the task brief, as they appear in testonly/constants.go.
    assert TREE["root_hashes"][1] == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert TREE["root_hashes"][8] == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


@pytest.mark.parametrize(
    ("n", "want"),
    # testonly/reference_test.go TestDownToPowerOfTwo.
    [(2, 1), (7, 4), (8, 4), (63, 32), (28937, 16384)],
)
def test_split_point(n: int, want: int) -> None:
    assert split_point(n) == want


@pytest.mark.parametrize("n", [-1, 0, 1])
def test_split_point_needs_two_leaves(n: int) -> None:
    with pytest.raises(ValueError):
        split_point(n)


def test_domain_separation() -> None:
    # rfc6962/rfc6962_test.go TestRFC6962HasherCollisions, restated.
    a, b = leaf_hash(b"Hello"), leaf_hash(b"World")
    assert a != b
    assert node_hash(a, b) != leaf_hash(a + b)
    assert node_hash(a, b) != node_hash(b, a)


@pytest.mark.parametrize(
    "bad",
    [[b"\x00" * 31], [b"\x00" * 33], ["00" * 32], [None], [bytearray(HASH_SIZE)], [LEAF_HASHES[0], b""]],
)
def test_root_hash_rejects_non_hashes(bad: list) -> None:
    with pytest.raises(ValueError):
        root_hash(bad)
