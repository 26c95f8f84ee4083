"""An append-only Merkle tree that keeps every complete subtree, for proofs without rehashing the log.

:func:`~battrace.tlog.proof.inclusion_proof` rehashes the whole tree on every call, which made proving
each sealed record O(log size). This tree pays one node hash per leaf (amortised) as leaves arrive and
then answers roots and inclusion proofs for *any* size it holds from stored nodes: only the incomplete
right edge of the requested tree is folded, O(log² n) hashes at most.

Storage is one ``bytearray`` of 32-byte hashes per level (about 64 bytes per leaf in all): level 0 holds
the leaf hashes, and node ``j`` of level ``k`` is the root of the perfect subtree over leaves
``[j * 2**k, (j + 1) * 2**k)``, stored as soon as its last leaf arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from battrace.tlog.proof import subproof
from battrace.tlog.rfc6962 import EMPTY_ROOT, HASH_SIZE, MAX_TREE_SIZE, node_hash, split_point


class MerkleTree:
    """Incremental RFC 6962 tree with every complete subtree stored: proofs for any prefix in O(log² n)."""

    __slots__ = ("_levels", "_size")

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._size = 0
        self._levels: list[bytearray] = [bytearray()]
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf_hash_: bytes) -> None:
        """Append one leaf hash (see :func:`battrace.tlog.rfc6962.leaf_hash`)."""
        if not isinstance(leaf_hash_, bytes) or len(leaf_hash_) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes")
        if self._size >= MAX_TREE_SIZE:
            raise OverflowError("tree is full")
        levels = self._levels
        levels[0] += leaf_hash_
        self._size += 1
        # An even node count at a level means its last two nodes just became a complete pair: store their parent.
        h, count, k = leaf_hash_, self._size, 0
        while not count & 1:
            h = node_hash(levels[k][-2 * HASH_SIZE : -HASH_SIZE], h)
            k += 1
            count >>= 1
            if k == len(levels):
                levels.append(bytearray())
            levels[k] += h

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes in order."""
        for h in leaf_hashes:
            self.append(h)

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all), equal to ``root_hash(leaves[:size])``."""
        size = self._checked_size(size)
        return self._mth(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[:size]) of RFC 9162 §2.1.3.1, equal to ``inclusion_proof(leaves[:size], index)``.

        ``size`` defaults to all leaves; a smaller one proves against an older checkpoint of the same log.
        Raises ValueError for a size beyond the tree and, like :func:`~battrace.tlog.proof.inclusion_proof`,
        IndexError for an index outside ``[0, size)``.
        """
        size = self._checked_size(size)
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < size:
            raise IndexError(f"leaf index {index!r} out of range for tree size {size}")
        return path(self._mth, index, size)

    def consistency_proof(self, old_size: int, size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[:size]) of RFC 9162 §2.1.4.1, equal to ``consistency_proof(leaves[:size], old_size)``."""
        size = self._checked_size(size)
        old_size = self._checked_size(old_size)
        if old_size > size:
            raise ValueError(f"old size {old_size} is past size {size}")
        return subproof(self._mth, old_size, 0, size, True) if old_size else []

    def _checked_size(self, size: int | None) -> int:
        if size is None:
            return self._size
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= self._size:
            raise ValueError(f"tree size {size!r} out of range for a tree of {self._size} leaves")
        return size

    def _mth(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for end <= size: a stored node if the range is a perfect subtree, else folded."""
        return stored_mth(self._levels, start, end)

    def __repr__(self) -> str:
        return f"MerkleTree(size={self._size}, root={self.root().hex()})"


def stored_mth(levels: Sequence[bytes | bytearray], start: int, end: int) -> bytes:
    """MTH(D[start:end]) from complete subtrees stored level by level (``levels[k]``: the hashes of the complete
    subtrees of 2**k leaves, concatenated), folding the incomplete right edge; shared by the append-only and the
    mutable tree."""
    n = end - start
    if not n & (n - 1) and not start % n:
        k = n.bit_length() - 1
        offset = (start >> k) * HASH_SIZE
        return bytes(levels[k][offset : offset + HASH_SIZE])
    mid = start + split_point(n)
    return node_hash(stored_mth(levels, start, mid), stored_mth(levels, mid, end))


def path(mth: Callable[[int, int], bytes], index: int, size: int) -> list[bytes]:
    """PATH(index, D[:size]) of RFC 9162 §2.1.3.1 from ``mth(start, end)``, the hash of any range of leaves.

    The RFC recursion walks top-down: siblings come out root-first, the proof lists them leaf-first."""
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        mid = start + split_point(end - start)
        if index < mid:
            proof.append(mth(mid, end))
            end = mid
        else:
            proof.append(mth(start, mid))
            start = mid
    proof.reverse()
    return proof
