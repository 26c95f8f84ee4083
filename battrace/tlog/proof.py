"""Merkle inclusion and consistency proofs (RFC 9162 §2.1.3 and §2.1.4).

Generators take the full list of leaf hashes: they are for the log side and for
tests. Verifiers take only hashes and sizes, so an auditor holding a signed
checkpoint can check a sealed battery record offline.

Verifiers are total functions: any malformed input (wrong types, hash lengths
other than 32, negative or out-of-range sizes, proofs of the wrong length) yields
``False`` rather than an exception, because their input arrives from outside.
Tree sizes are uint64 on every wire format, so sizes >= 2**64 are rejected too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from battrace.tlog.rfc6962 import (
    EMPTY_ROOT,
    HASH_SIZE,
    MAX_TREE_SIZE,
    check_hashes,
    node_hash,
    split_point,
    subtree_root,
)

_MAX_PROOF_LEN = 128
SubtreeRoot = Callable[[int, int], bytes]  # (start, end) -> MTH(D[start:end])


# --------------------------------------------------------------------------- generators


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D_n) of RFC 9162 §2.1.3.1: the audit path for leaf ``index``."""
    check_hashes(leaf_hashes)
    n = len(leaf_hashes)
    if not _is_uint(index) or index >= n:
        raise IndexError(f"leaf index {index!r} out of range for tree size {n}")
    return _path(leaf_hashes, index, 0, n)


def _path(leaves: Sequence[bytes], m: int, start: int, end: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return [*_path(leaves, m, start, start + k), subtree_root(leaves, start + k, end)]
    return [*_path(leaves, m - k, start + k, end), subtree_root(leaves, start, start + k)]


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, D_n) of RFC 9162 §2.1.4.1 between the prefix of ``old_size`` leaves and all of them.

    RFC 9162 defines the proof only for 0 < old_size < n; for old_size == n and for
    old_size == 0 the proof is empty (see :func:`verify_consistency`).
    """
    check_hashes(leaf_hashes)
    n = len(leaf_hashes)
    if not _is_uint(old_size) or old_size > n:
        raise ValueError(f"old_size {old_size!r} out of range for tree size {n}")
    if old_size == 0:
        return []
    return subproof(lambda lo, hi: subtree_root(leaf_hashes, lo, hi), old_size, 0, n, True)


def subproof(mth: SubtreeRoot, m: int, start: int, end: int, whole: bool) -> list[bytes]:
    """RFC 9162 SUBPROOF(m, D[start:end], whole) over any source of subtree roots."""
    n = end - start
    if m == n:
        return [] if whole else [mth(start, end)]
    k = split_point(n)
    if m <= k:
        return [*subproof(mth, m, start, start + k, whole), mth(start + k, end)]
    return [*subproof(mth, m - k, start + k, end, False), mth(start, start + k)]


def consistency_proof_appended(old_range: Sequence[bytes], old_size: int, appended: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D_n) from what an appending log keeps: the old tree's compact range and the new leaves.

    Every node of a consistency proof lies either wholly before ``old_size`` (and is then one of the
    old tree's perfect-subtree roots, ``CompactTree.hashes``) or wholly after it, so a sealing
    worker can prove its new checkpoint consistent with the last one without the full leaf list.
    """
    check_hashes(old_range)
    check_hashes(appended)
    if not _is_uint(old_size) or len(old_range) != old_size.bit_count():
        raise ValueError(f"a compact range of size {old_size!r} has {int(old_size).bit_count()} hashes")
    if old_size == 0:
        return []
    peaks: dict[tuple[int, int], bytes] = {}
    start = 0
    for bit, h in zip((b for b in range(64, -1, -1) if old_size >> b & 1), old_range, strict=True):
        peaks[(start, start + (1 << bit))] = h
        start += 1 << bit

    def mth(lo: int, hi: int) -> bytes:
        if lo >= old_size:
            return subtree_root(appended, lo - old_size, hi - old_size)
        return peaks[(lo, hi)]  # the proof never asks for a node straddling old_size

    return subproof(mth, old_size, 0, old_size + len(appended), True)


# --------------------------------------------------------------------------- verifiers


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """True iff ``proof`` shows ``leaf_hash`` at ``index`` in the tree of ``size`` leaves with ``root``.

    The algorithm is RFC 9162 §2.1.3.2, step for step. A proof binds ``index`` and
    ``size`` only together with ``root`` (leaf 1 of 2 and leaf 2 of 3 have the same
    path shape), so take ``size`` and ``root`` from the same signed checkpoint.
    """
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_uint(index) and _is_uint(size)):
        return False
    if not _is_proof(proof):
        return False
    # 1. If leaf_index >= tree_size, fail.
    if index >= size:
        return False
    # 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
    fn, sn, r = index, size - 1, leaf_hash
    # 4. For each p in the inclusion path:
    for p in proof:
        # a. If sn is 0, stop and fail.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or fn == sn:
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # ... if LSB(fn) is not set, right-shift both until LSB(fn) is set or fn is 0.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        # c. Right-shift both one time.
        fn >>= 1
        sn >>= 1
    # 5. sn must be 0 and r must equal the root.
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes) -> bool:
    """True iff ``proof`` shows the tree (old_size, old_root) is a prefix of (new_size, new_root).

    For 0 < old_size < new_size the algorithm is RFC 9162 §2.1.4.2, step for step.
    As with inclusion, sizes are bound only through the roots, so each (size, root)
    pair must come from one signed checkpoint.
    The RFC leaves the edges undefined; the choices here are:

    * old_size == new_size: the proof must be empty and the roots equal (and, for
      size 0, equal to the empty-tree root).
    * old_size == 0 < new_size: every tree extends the empty tree, so this is
      trivially consistent — accepted iff the proof is empty and old_root is the
      empty-tree root. (transparency-dev/merkle rejects this case as
      "meaningless"; accepting it lets a fresh witness or worker start from size 0
      without special-casing. It proves nothing about new_root beyond its shape.)
    * old_size > new_size: rejected.
    """
    if not (_is_uint(old_size) and _is_uint(new_size) and _is_hash(old_root) and _is_hash(new_root)):
        return False
    if not _is_proof(proof):
        return False
    if old_size > new_size:
        return False
    if old_size == 0:
        return len(proof) == 0 and old_root == EMPTY_ROOT and (new_size > 0 or new_root == EMPTY_ROOT)
    if old_size == new_size:
        return len(proof) == 0 and old_root == new_root
    # 1. An empty consistency path fails.
    if len(proof) == 0:
        return False
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = old_size - 1, new_size - 1
    # 4. If LSB(fn) is set, right-shift both until it is not.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = the first value of the path.
    fr = sr = path[0]
    # 6. For each subsequent value c:
    for c in path[1:]:
        # a. If sn is 0, stop and fail.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or fn == sn:
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            # iii. If LSB(fn) is not set, right-shift both until LSB(fn) is set or fn is 0.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        # Finally, right-shift both one time.
        fn >>= 1
        sn >>= 1
    # 7. fr == first_hash, sr == second_hash, and sn == 0.
    return fr == old_root and sr == new_root and sn == 0


# --------------------------------------------------------------------------- input checks


def _is_uint(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= MAX_TREE_SIZE


def _is_hash(x: object) -> bool:
    return isinstance(x, bytes) and len(x) == HASH_SIZE


def _is_proof(proof: object) -> bool:
    # No proof in a uint64-sized tree needs more than 65 hashes; the cap bounds the
    # work an adversarial proof can cause before the RFC loop rejects it anyway.
    if not isinstance(proof, (list, tuple)) or len(proof) > _MAX_PROOF_LEN:
        return False
    return all(_is_hash(p) for p in proof)
