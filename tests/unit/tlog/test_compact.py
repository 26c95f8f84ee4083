"""CompactTree against the compact-range vectors of transparency-dev/merkle.

Vectors: vectors/merkle_rfc6962.json "tree", copied verbatim from
github.com/transparency-dev/merkle @ 417fb0c3 testonly/constants.go — RootHashes()
and CompactTrees() (the perfect-subtree hashes of every tree of 0..8 leaves).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from battrace.tlog.compact import CompactTree
from battrace.tlog.rfc6962 import EMPTY_ROOT, HASH_SIZE, leaf_hash, root_hash

TREE = json.loads((Path(__file__).parent / "vectors" / "merkle_rfc6962.json").read_text())["tree"]
LEAVES = [bytes.fromhex(x) for x in TREE["leaf_inputs"]]


def test_matches_published_compact_ranges_and_roots() -> None:
    tree = CompactTree()
    for size in range(9):
        assert tree.size == size
        assert [h.hex() for h in tree.hashes] == TREE["compact_trees"][size]
        assert tree.root().hex() == TREE["root_hashes"][size]
        if size < 8:
            assert tree.append_entry(LEAVES[size]) == leaf_hash(LEAVES[size])


def test_empty_tree() -> None:
    tree = CompactTree()
    assert tree.root() == EMPTY_ROOT
    assert tree.hashes == ()
    assert CompactTree.from_bytes(tree.to_bytes()) == tree
    assert CompactTree.from_dict(tree.to_dict()) == tree


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=8), max_size=70))
def test_root_equals_root_hash_for_every_prefix(entries: list[bytes]) -> None:
    hashes = [leaf_hash(e) for e in entries]
    tree = CompactTree()
    assert tree.root() == root_hash([])
    for n, h in enumerate(hashes, start=1):
        tree.append(h)
        assert tree.root() == root_hash(hashes[:n])
        assert len(tree.hashes) == n.bit_count()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=8), min_size=1, max_size=50), st.data())
def test_persisted_state_resumes_identically(entries: list[bytes], data: st.DataObject) -> None:
    hashes = [leaf_hash(e) for e in entries]
    cut = data.draw(st.integers(0, len(hashes)))
    worker = CompactTree()
    worker.extend(hashes[:cut])
    as_json = json.loads(json.dumps(worker.to_dict()))
    for restored in (CompactTree.from_dict(as_json), CompactTree.from_bytes(worker.to_bytes())):
        assert restored == worker
        restored.extend(hashes[cut:])
        assert restored.root() == root_hash(hashes)
        assert restored.size == len(hashes)


def test_state_is_logarithmic() -> None:
    tree = CompactTree()
    tree.extend(leaf_hash(i.to_bytes(4, "big")) for i in range(4095))
    assert len(tree.hashes) == 12
    assert len(tree.to_bytes()) == 8 + 12 * HASH_SIZE
    tree.append(leaf_hash(b"one more"))
    assert len(tree.hashes) == 1  # 4096 leaves: a single perfect subtree


def test_copy_is_independent() -> None:
    a = CompactTree()
    a.append(leaf_hash(b"x"))
    b = a.copy()
    b.append(leaf_hash(b"y"))
    assert a.size == 1
    assert b.size == 2
    assert a != b


def test_bytes_layout() -> None:
    tree = CompactTree()
    tree.extend(leaf_hash(x) for x in LEAVES[:5])
    raw = tree.to_bytes()
    assert raw[:8] == (5).to_bytes(8, "big")
    assert raw[8:] == b"".join(tree.hashes)
    assert tree.to_dict() == {"size": 5, "hashes": TREE["compact_trees"][5]}


def test_maximum_size_state() -> None:
    full = CompactTree.from_dict({"size": 2**64 - 1, "hashes": ["00" * 32] * 64})
    assert len(full.root()) == HASH_SIZE
    with pytest.raises(OverflowError):
        full.append(leaf_hash(b""))


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x00" * 31, b"\x00" * 33, "00" * 32, None, bytearray(32)],
    ids=["empty", "short", "long", "str", "none", "bytearray"],
)
def test_append_rejects_non_hashes(bad: object) -> None:
    tree = CompactTree()
    with pytest.raises(ValueError):
        tree.append(bad)  # type: ignore[arg-type]
    assert tree.size == 0


H = "ab" * 32


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"size": 1},
        {"hashes": []},
        {"size": 1, "hashes": []},
        {"size": 0, "hashes": [H]},
        {"size": 3, "hashes": [H]},
        {"size": 2, "hashes": [H, H]},
        {"size": -1, "hashes": []},
        {"size": True, "hashes": [H]},
        {"size": 1.0, "hashes": [H]},
        {"size": "1", "hashes": [H]},
        {"size": 2**64, "hashes": [H]},
        {"size": 1, "hashes": ["ab" * 31]},
        {"size": 1, "hashes": ["zz" * 32]},
        {"size": 1, "hashes": [bytes(32)]},
        {"size": 1, "hashes": H},
        {"size": 1, "hashes": None},
        None,
        [1, [H]],
    ],
)
def test_from_dict_rejects_inconsistent_state(state: object) -> None:
    with pytest.raises(ValueError):
        CompactTree.from_dict(state)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00" * 7,
        (1).to_bytes(8, "big"),
        (1).to_bytes(8, "big") + b"\x00" * 31,
        (1).to_bytes(8, "big") + b"\x00" * 64,
        (3).to_bytes(8, "big") + b"\x00" * 32,
        (0).to_bytes(8, "big") + b"\x00" * 32,
        "not bytes",
        None,
    ],
)
def test_from_bytes_rejects_inconsistent_state(raw: object) -> None:
    with pytest.raises(ValueError):
        CompactTree.from_bytes(raw)  # type: ignore[arg-type]
