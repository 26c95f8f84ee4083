"""An RFC 6962 Merkle tree whose leaves can be replaced in place, rehashed lazily: once per root, not per change.

The log's trees only grow; a tree of *current values* (one leaf per entity, say) changes leaves it already
holds. Rebuilding such a tree for every signed root costs one hash per leaf; this one keeps every complete
subtree (as :class:`~battrace.tlog.tree.MerkleTree` does) and, when a root or proof is asked for, rehashes only
the ancestors of the leaves changed or appended since the last one, each ancestor once, level by level.
Between two roots, k changed leaves of an n-leaf tree cost at most k·log₂ n hashes, and fewer when they share
ancestors. The shape is RFC 6962's (split at the largest power of two below n), so roots and proofs are the
ones :func:`~battrace.tlog.rfc6962.root_hash` and :func:`~battrace.tlog.proof.verify_inclusion` speak about.
"""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import sha256

from battrace.tlog.rfc6962 import EMPTY_ROOT, HASH_SIZE, MAX_TREE_SIZE
from battrace.tlog.tree import path, stored_mth

_NODE_PREFIX = b"\x01"  # rfc6962.node_hash's, applied here to a pair read as one 64-byte slice


class MutableTree:
    """RFC 6962 tree over leaf hashes that may be replaced; node levels are brought up to date on demand."""

    __slots__ = ("_dirty", "_levels", "_size")

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._size = 0
        self._levels: list[bytearray] = [bytearray()]
        self._dirty: set[int] = set()  # leaf indexes changed or appended since the levels were last rehashed
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return self._size

    def append(self, leaf_hash_: bytes) -> int:
        """Add a leaf at the end; returns its index."""
        _check(leaf_hash_)
        if self._size >= MAX_TREE_SIZE:
            raise OverflowError("tree is full")
        self._levels[0] += leaf_hash_
        self._dirty.add(self._size)
        self._size += 1
        return self._size - 1

    def set(self, index: int, leaf_hash_: bytes) -> None:
        """Replace leaf ``index``."""
        _check(leaf_hash_)
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < self._size:
            raise IndexError(f"leaf index {index!r} out of range for tree size {self._size}")
        offset = index * HASH_SIZE
        self._levels[0][offset : offset + HASH_SIZE] = leaf_hash_
        self._dirty.add(index)

    def leaf(self, index: int) -> bytes:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < self._size:
            raise IndexError(f"leaf index {index!r} out of range for tree size {self._size}")
        return bytes(self._levels[0][index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def root(self) -> bytes:
        """MTH of the current leaves, equal to ``root_hash`` over them."""
        self._rehash()
        return self._mth(0, self._size) if self._size else EMPTY_ROOT

    def inclusion_proof(self, index: int) -> list[bytes]:
        """PATH(index, D_n) of RFC 9162 §2.1.3.1 over the current leaves."""
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < self._size:
            raise IndexError(f"leaf index {index!r} out of range for tree size {self._size}")
        self._rehash()
        return path(self._mth, index, self._size)

    def _rehash(self) -> None:
        """Recompute the complete nodes above the dirty leaves, one level at a time (each node once).

        The inner loop is the worker's cost of a checkpoint's heads (about a hash per dirty node): names are bound
        locally, each level's parents are the sorted list it hashed, and nodes completed by appended leaves (which
        come last, in index order) are appended in one go."""
        if not self._dirty:
            return
        levels, sha, prefix, size = self._levels, sha256, _NODE_PREFIX, HASH_SIZE
        dirty: list[int] = sorted(self._dirty)
        below_count = self._size  # nodes at the level below
        k = 0
        while dirty and below_count > 1:
            below = levels[k]
            if k + 1 == len(levels):
                levels.append(bytearray())
            above = levels[k + 1]
            stored = len(above) // size  # nodes above that exist; the rest are appended, in order
            parents = sorted({i >> 1 for i in dirty})
            if parents and 2 * parents[-1] + 1 >= below_count:
                parents.pop()  # an incomplete pair: its parent is folded on demand, never stored
            appended = bytearray()
            for j in parents:
                o = 2 * j * size
                h = sha(prefix + below[o : o + 2 * size]).digest()  # node_hash of the adjacent pair
                if j < stored:
                    above[j * size : (j + 1) * size] = h
                else:
                    appended += h
            above += appended
            dirty = parents
            below_count >>= 1
            k += 1
        self._dirty = set()

    def _mth(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) from stored complete nodes, folding the incomplete right edge."""
        return stored_mth(self._levels, start, end)

    def __repr__(self) -> str:
        return f"MutableTree(size={self._size})"


def _check(leaf_hash_: object) -> None:
    if not isinstance(leaf_hash_, bytes) or len(leaf_hash_) != HASH_SIZE:
        raise ValueError(f"leaf hash must be {HASH_SIZE} bytes")
