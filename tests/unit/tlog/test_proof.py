"""Inclusion and consistency proofs against transparency-dev/merkle's published vectors.

Vectors (all from github.com/transparency-dev/merkle @ 417fb0c3, copied verbatim):
* vectors/merkle_rfc6962.json "proofgen": the ``inclusionProofs``, ``consistencyProofs``
  and ``roots`` tables of cmd/proofgen/main.go (they lived in proof/verify_test.go
  until commit bcba819 moved them there unchanged). Inclusion leaves are 1-based.
* vectors/merkle_rfc6962.json "reference": TestRefInclusionProof / TestRefConsistencyProof
  of testonly/reference_test.go (0-based).
* vectors/merkle_probes.json: every probe under testdata/inclusion and
  testdata/consistency (happy paths plus systematically corrupted inputs).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from battrace.tlog.compact import CompactTree
from battrace.tlog.proof import (
    consistency_proof,
    consistency_proof_appended,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from battrace.tlog.rfc6962 import EMPTY_ROOT, HASH_SIZE, leaf_hash, root_hash

VDIR = Path(__file__).parent / "vectors"
VECTORS = json.loads((VDIR / "merkle_rfc6962.json").read_text())
PROBES = json.loads((VDIR / "merkle_probes.json").read_text())

LEAF_HASHES = [leaf_hash(bytes.fromhex(x)) for x in VECTORS["tree"]["leaf_inputs"]]
PG = VECTORS["proofgen"]
PG_ROOTS = [bytes.fromhex(h) for h in PG["roots"]]  # PG_ROOTS[n - 1] is the root of size n
REF = VECTORS["reference"]


def unhex(hs: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hs]


def root_of(size: int) -> bytes:
    return PG_ROOTS[size - 1]


# (index, size, proof) with 0-based index, from both published tables.
INCLUSION = [(v["leaf_index_1based"] - 1, v["size"], unhex(v["proof"])) for v in PG["inclusion_proofs"]] + [
    (v["index"], v["size"], unhex(v["proof"])) for v in REF["inclusion_proofs"]
]
CONSISTENCY = [(v["size1"], v["size2"], unhex(v["proof"])) for v in PG["consistency_proofs"]] + [
    (v["size1"], v["size2"], unhex(v["proof"])) for v in REF["consistency_proofs"]
]
NONTRIVIAL_CONSISTENCY = [c for c in CONSISTENCY if c[0] != c[1]]


def test_proofgen_roots_agree_with_constants() -> None:
    assert PG["roots"] == VECTORS["tree"]["root_hashes"][1:]


# --------------------------------------------------------------------------- published vectors


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proof_generation_matches_published(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(LEAF_HASHES[:size], index) == proof


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_published_inclusion_proofs_verify(index: int, size: int, proof: list[bytes]) -> None:
    assert verify_inclusion(LEAF_HASHES[index], index, size, proof, root_of(size))
    assert verify_inclusion(LEAF_HASHES[index], index, size, tuple(proof), root_of(size))


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proof_generation_matches_published(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(LEAF_HASHES[:new], old) == proof


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_published_consistency_proofs_verify(old: int, new: int, proof: list[bytes]) -> None:
    assert verify_consistency(old, new, proof, root_of(old), root_of(new))


def _b64(s: str | None) -> bytes:
    return base64.b64decode(s) if s else b""


# Deliberate divergence from the Go library: it accepts equal sizes with equal roots
# without looking at them, even the 12-byte "don't care 2"; we reject every hash
# that is not 32 bytes long.
DIVERGENT = {"testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"}


@pytest.mark.parametrize("probe", PROBES["inclusion"], ids=lambda p: p["path"])
def test_golden_inclusion_probes(probe: dict) -> None:
    got = verify_inclusion(
        _b64(probe["leafHash"]),
        probe["leafIdx"],
        probe["treeSize"],
        [_b64(p) for p in probe["proof"] or []],
        _b64(probe["root"]),
    )
    assert got is (not probe["wantErr"])


@pytest.mark.parametrize("probe", PROBES["consistency"], ids=lambda p: p["path"])
def test_golden_consistency_probes(probe: dict) -> None:
    got = verify_consistency(
        probe["size1"],
        probe["size2"],
        [_b64(p) for p in probe["proof"] or []],
        _b64(probe["root1"]),
        _b64(probe["root2"]),
    )
    if probe["path"] in DIVERGENT:
        assert got is False
    else:
        assert got is (not probe["wantErr"])


def test_probe_corpus_is_complete() -> None:
    assert len(PROBES["inclusion"]) == 98
    assert len(PROBES["consistency"]) == 98


# --------------------------------------------------------------------------- tampering


def flips(data: bytes):
    """Every single-bit variant of ``data``."""
    for i in range(len(data) * 8):
        b = bytearray(data)
        b[i // 8] ^= 1 << (i % 8)
        yield bytes(b)


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_rejects_every_bit_flip(index: int, size: int, proof: list[bytes]) -> None:
    leaf, root = LEAF_HASHES[index], root_of(size)
    for j, element in enumerate(proof):
        for bad in flips(element):
            assert not verify_inclusion(leaf, index, size, [*proof[:j], bad, *proof[j + 1 :]], root)
    for bad in flips(root):
        assert not verify_inclusion(leaf, index, size, proof, bad)
    for bad in flips(leaf):
        assert not verify_inclusion(bad, index, size, proof, root)


@pytest.mark.parametrize(("old", "new", "proof"), NONTRIVIAL_CONSISTENCY)
def test_consistency_rejects_every_bit_flip(old: int, new: int, proof: list[bytes]) -> None:
    r1, r2 = root_of(old), root_of(new)
    for j, element in enumerate(proof):
        for bad in flips(element):
            assert not verify_consistency(old, new, [*proof[:j], bad, *proof[j + 1 :]], r1, r2)
    for bad in flips(r1):
        assert not verify_consistency(old, new, proof, bad, r2)
    for bad in flips(r2):
        assert not verify_consistency(old, new, proof, r1, bad)


def _checkpoint_root(size: int) -> bytes:
    """The root a checkpoint of ``size`` would carry (published roots up to 8, else unrelated)."""
    if size == 0:
        return EMPTY_ROOT
    return root_of(size) if size <= 8 else b"\xcd" * HASH_SIZE


def test_inclusion_rejects_every_other_index_and_size() -> None:
    # A proof only binds (index, size) together with the root: leaf 1 of a 2-leaf tree
    # and leaf 2 of a 3-leaf tree have the same path shape. So the other (index, size)
    # is always paired with the root a checkpoint of that size would carry.
    for size in range(1, 9):
        for index in range(size):
            proof = inclusion_proof(LEAF_HASHES[:size], index)
            for i2 in range(18):
                for s2 in range(18):
                    if (i2, s2) != (index, size):
                        ok = verify_inclusion(LEAF_HASHES[index], i2, s2, proof, _checkpoint_root(s2))
                        assert not ok, (index, size, i2, s2)


def test_consistency_rejects_every_other_size_pair() -> None:
    # As for inclusion, sizes are bound through the roots: (1, 2) and (2, 3) share a shape.
    for new in range(1, 9):
        for old in range(1, new):
            proof = consistency_proof(LEAF_HASHES[:new], old)
            for o2 in range(18):
                for n2 in range(18):
                    if (o2, n2) != (old, new):
                        ok = verify_consistency(o2, n2, proof, _checkpoint_root(o2), _checkpoint_root(n2))
                        assert not ok, (old, new, o2, n2)


OTHER = b"\xab" * HASH_SIZE


def _resized(proof: list[bytes]) -> list[list[bytes]]:
    variants = [[*proof, OTHER], [OTHER, *proof], [*proof, EMPTY_ROOT], [*proof, OTHER, OTHER]]
    if proof:
        variants += [
            proof[:-1],
            proof[1:],
            proof + proof[-1:],
            proof[:1] + proof,
            [*proof[:-1], OTHER, proof[-1]],
        ]
    return variants


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_rejects_truncated_and_extended_proofs(index: int, size: int, proof: list[bytes]) -> None:
    for bad in _resized(proof):
        assert not verify_inclusion(LEAF_HASHES[index], index, size, bad, root_of(size))


@pytest.mark.parametrize(("old", "new", "proof"), NONTRIVIAL_CONSISTENCY)
def test_consistency_rejects_truncated_and_extended_proofs(old: int, new: int, proof: list[bytes]) -> None:
    for bad in [*_resized(proof), [root_of(old), *proof], [*proof, root_of(old)], []]:
        assert not verify_consistency(old, new, bad, root_of(old), root_of(new))


# --------------------------------------------------------------------------- malformed input

H = LEAF_HASHES[0]
GOOD_INCL = (LEAF_HASHES[0], 0, 8, unhex(PG["inclusion_proofs"][1]["proof"]))  # proofgen {1, 8, ...}
GARBAGE = [
    None,
    "",
    "00" * 32,
    1,
    1.0,
    True,
    b"",
    b"\x00" * 31,
    b"\x00" * 33,
    bytearray(32),
    memoryview(H),
    [H],
    object(),
]


def test_good_inclusion_baseline() -> None:
    leaf, index, size, proof = GOOD_INCL
    assert verify_inclusion(leaf, index, size, proof, root_of(8))


@pytest.mark.parametrize("position", range(5))
@pytest.mark.parametrize("junk", [*GARBAGE, -1, 2**64, 2**64 + 1, 10**100, True, False, 1.5, "1"])
def test_inclusion_never_raises_on_garbage(position: int, junk: object) -> None:
    leaf, index, size, proof = GOOD_INCL
    args = [leaf, index, size, proof, root_of(8)]
    args[position] = junk
    assert verify_inclusion(*args) is False


@pytest.mark.parametrize("position", range(5))
@pytest.mark.parametrize("junk", [*GARBAGE, -1, 2**64, 10**100, False, 1.5, "6"])
def test_consistency_never_raises_on_garbage(position: int, junk: object) -> None:
    args = [6, 8, consistency_proof(LEAF_HASHES, 6), root_of(6), root_of(8)]
    assert verify_consistency(*args)
    args[position] = junk
    assert verify_consistency(*args) is False


@pytest.mark.parametrize(
    "bad_proof",
    [
        None,
        b"".join(inclusion_proof(LEAF_HASHES, 1)),
        "proof",
        {0: H},
        [H, H, None],
        [H, "00" * 32, H],
        [H, b"\x00" * 31, H],
        [H, bytearray(32), H],
        iter([H, H, H]),
        [H] * 10_000,
    ],
    ids=[
        "none",
        "bytes",
        "str",
        "dict",
        "none-item",
        "str-item",
        "short-item",
        "bytearray-item",
        "iter",
        "huge",
    ],
)
def test_verifiers_reject_non_proofs(bad_proof: object) -> None:
    assert verify_inclusion(LEAF_HASHES[1], 1, 8, bad_proof, root_of(8)) is False
    assert verify_consistency(6, 8, bad_proof, root_of(6), root_of(8)) is False


def test_inclusion_edge_sizes() -> None:
    assert not verify_inclusion(H, 0, 0, [], EMPTY_ROOT)  # nothing is in the empty tree
    assert not verify_inclusion(H, 0, 0, [], H)
    assert verify_inclusion(H, 0, 1, [], H)  # a one-leaf tree's root is its leaf
    assert not verify_inclusion(H, 1, 1, [], H)
    assert not verify_inclusion(H, 0, 1, [H], H)
    assert not verify_inclusion(H, 2**64 - 1, 2**64, [], H)


def test_consistency_edge_cases() -> None:
    r5, r8 = root_of(5), root_of(8)
    # Equal sizes: empty proof and equal roots only.
    assert verify_consistency(5, 5, [], r5, r5)
    assert not verify_consistency(5, 5, [], r5, r8)
    assert not verify_consistency(5, 5, [r5], r5, r5)
    # Shrinking is never consistent.
    assert not verify_consistency(8, 5, consistency_proof(LEAF_HASHES, 5), r8, r5)
    assert not verify_consistency(8, 5, [], r8, r5)
    # Size 0 (our documented choice): trivially consistent with an empty proof and the empty root.
    assert verify_consistency(0, 8, [], EMPTY_ROOT, r8)
    assert verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    assert not verify_consistency(0, 0, [], EMPTY_ROOT, r8)
    assert not verify_consistency(0, 8, [EMPTY_ROOT], EMPTY_ROOT, r8)
    assert not verify_consistency(0, 8, [], r5, r8)
    assert not verify_consistency(0, 8, [], EMPTY_ROOT, b"\x00" * 31)
    # And the generator agrees with that choice.
    assert consistency_proof(LEAF_HASHES, 0) == []
    assert consistency_proof(LEAF_HASHES, 8) == []


@pytest.mark.parametrize("index", [-1, 8, 9, True, 1.0, "1", None])
def test_inclusion_proof_generator_rejects_bad_index(index: object) -> None:
    with pytest.raises(IndexError):
        inclusion_proof(LEAF_HASHES, index)  # type: ignore[arg-type]


@pytest.mark.parametrize("old", [-1, 9, True, 1.0, None])
def test_consistency_proof_generator_rejects_bad_size(old: object) -> None:
    with pytest.raises(ValueError):
        consistency_proof(LEAF_HASHES, old)  # type: ignore[arg-type]


def test_generators_reject_bad_leaf_hashes() -> None:
    with pytest.raises(ValueError):
        inclusion_proof([H, b"short"], 0)
    with pytest.raises(ValueError):
        consistency_proof([H, b"short"], 1)


# --------------------------------------------------------------------------- properties

leaf_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=40).map(lambda xs: [leaf_hash(x) for x in xs])


@settings(max_examples=60, deadline=None)
@given(leaf_lists)
def test_every_inclusion_proof_verifies(leaves: list[bytes]) -> None:
    root = root_hash(leaves)
    for i, leaf in enumerate(leaves):
        assert verify_inclusion(leaf, i, len(leaves), inclusion_proof(leaves, i), root)


@settings(max_examples=60, deadline=None)
@given(leaf_lists, st.data())
def test_every_consistency_proof_verifies(leaves: list[bytes], data: st.DataObject) -> None:
    new = data.draw(st.integers(1, len(leaves)), label="new")
    old = data.draw(st.integers(0, new), label="old")
    proof = consistency_proof(leaves[:new], old)
    assert verify_consistency(old, new, proof, root_hash(leaves[:old]), root_hash(leaves[:new]))


@settings(max_examples=60, deadline=None)
@given(leaf_lists, st.data())
def test_rewritten_history_is_detected(leaves: list[bytes], data: st.DataObject) -> None:
    new = data.draw(st.integers(1, len(leaves)), label="new")
    old = data.draw(st.integers(1, new), label="old")
    j = data.draw(st.integers(0, old - 1), label="rewritten leaf")
    forged = [*leaves[:j], leaf_hash(b"forged" + leaves[j]), *leaves[j + 1 :]]
    proof = consistency_proof(leaves[:new], old)
    assert not verify_consistency(old, new, proof, root_hash(forged[:old]), root_hash(leaves[:new]))
    # ...and the forged leaf has no inclusion proof in the genuine tree.
    assert not verify_inclusion(forged[j], j, new, inclusion_proof(leaves[:new], j), root_hash(leaves[:new]))


junk = st.one_of(
    st.none(),
    st.integers(-3, 2**65),
    st.binary(max_size=40),
    st.text(max_size=5),
    st.lists(st.one_of(st.binary(min_size=30, max_size=34), st.none()), max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(junk, junk, junk, junk, junk)
def test_verifiers_are_total(a: object, b: object, c: object, d: object, e: object) -> None:
    assert verify_inclusion(a, b, c, d, e) in (True, False)  # type: ignore[arg-type]
    assert verify_consistency(a, b, c, d, e) in (True, False)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- proofs from a compact range


@pytest.mark.parametrize("new_size", [1, 2, 3, 5, 8, 9, 13, 31, 64, 65, 100])
def test_appended_consistency_proof_equals_full_proof(new_size: int) -> None:
    """A worker holding only the old compact range and the new leaves produces the RFC 9162 proof."""
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(new_size)]
    new_root = root_hash(leaves)
    for old_size in range(0, new_size + 1):
        old = CompactTree()
        old.extend(leaves[:old_size])
        proof = consistency_proof_appended(old.hashes, old_size, leaves[old_size:])
        assert proof == consistency_proof(leaves, old_size)
        assert verify_consistency(old_size, new_size, proof, old.root(), new_root)


def test_appended_consistency_proof_rejects_a_wrong_compact_range() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(6)]
    with pytest.raises(ValueError):
        consistency_proof_appended([leaves[0]], 3, leaves[3:])  # size 3 needs two subtree roots
