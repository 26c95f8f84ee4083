"""Proofs of a long log from stored subtree hashes ("tiles") and a few leaves, instead of every leaf.

A log kept for ten years cannot be rehashed for every proof. As in C2SP tlog-tiles and transparency-dev/merkle, the
root of every complete aligned subtree whose height is a tiled height (8, 16, 24, 32, 40: node ``index`` of height
``h`` covers leaves ``[index * 2**h, (index + 1) * 2**h)``) is stored once, when its last leaf arrives
(:meth:`battrace.tlog.CompactTree.append` reports them). A proof then reads, per tiled height, hashes from one run of
256 neighbouring stored nodes, plus the leaves of at most two blocks of 256: the proven leaf's own and the partial one
at the right edge of the tree. A stored node that is missing (an older store, a worker that stopped before storing
it) is computed from the level below, down to the leaves, so a missing tile is slower, never an error.

Stored hashes are not trusted: the proofs are checked against a signed root, so a wrong stored hash makes the
proofs that use it fail verification; it cannot make one pass. Written here because no maintained Python package
builds RFC 9162 proofs from stored subtrees (transparency-dev/merkle is Go); the recursions are the ones of
battrace/tlog/tree.py and battrace/tlog/proof.py over another source of subtree hashes, so proofs are byte-identical.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from battrace.tlog.proof import subproof
from battrace.tlog.rfc6962 import EMPTY_ROOT, compact_range_nodes, node_hash, split_point, subtree_root
from battrace.tlog.tree import path

KEPT_BLOCKS = 8  # leaf blocks a tree keeps: the right edge and the last few proven ones (a server proves many)

TILE_HEIGHTS = (8, 16, 24, 32, 40)
"""Heights whose complete subtrees are stored: every 8 levels, as tlog-tiles' tiles of 256 hashes."""

StoredNode = Callable[[int, int], "bytes | None"]
"""(height, index) -> the stored root of that complete subtree, or None when none is stored."""

LeafRange = Callable[[int, int], Sequence[bytes]]
"""(start, end) -> the leaf hashes of [start, end); raises LookupError when the store lacks some."""


def node_range(height: int, index: int) -> tuple[int, int]:
    """The leaves [start, end) under stored node ``index`` of ``height``."""
    return index << height, (index + 1) << height


class TiledTree:
    """The tree of a log's first ``size`` leaves, answering like :class:`battrace.tlog.MerkleTree` from stored nodes
    (``stored``) and leaf ranges (``leaves``). ``start`` and ``compact_range``: for a log whose leaves before
    ``start`` are gone (archived and dropped), the roots of the perfect subtrees left of ``start``, largest first;
    proofs of leaves from ``start`` on then equal those of the whole log (battrace/tlog/held_tree.py)."""

    def __init__(
        self,
        size: int,
        stored: StoredNode,
        leaves: LeafRange,
        start: int = 0,
        compact_range: Sequence[bytes] = (),
        heights: Sequence[int] = TILE_HEIGHTS,
    ) -> None:
        if not 0 <= start <= size:
            raise ValueError(f"a tree of {size} leaves cannot hold leaves from {start} on")
        self.start, self.size = start, size
        self._stored, self._leaves = stored, leaves
        self._heights = frozenset(heights)
        self._block = 1 << min(heights)  # leaves under one node of the lowest tiled height
        self._blocks: OrderedDict[int, tuple[int, list[bytes]]] = OrderedDict()  # block -> (first leaf, leaf hashes)
        # Only ranges of at least a block are remembered: smaller ones are rehashed from their block's leaves, so a
        # tree without stored nodes keeps about size / 256 hashes, not size.
        self._memo: dict[tuple[int, int], bytes] = {}
        self._memo.update(compact_range_nodes(start, compact_range))

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all)."""
        size = self._checked_size(size)
        return self.mth(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[:size]) of RFC 9162 §2.1.3.1; IndexError for a leaf outside [start, size)."""
        size = self._checked_size(size)
        if not isinstance(index, int) or isinstance(index, bool) or not self.start <= index < size:
            raise IndexError(f"leaf {index!r} of a tree of {size} is not held (held: [{self.start}, {self.size}))")
        return path(self.mth, index, size)

    def consistency_proof(self, old_size: int, size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[:size]) of RFC 9162 §2.1.4.1, for an old size of 0 or from the first held leaf on."""
        size = self._checked_size(size)
        if not isinstance(old_size, int) or isinstance(old_size, bool) or not 0 <= old_size <= size:
            raise ValueError(f"old size {old_size!r} out of range for a tree of {size} leaves")
        if old_size == 0:
            return []
        if old_size < self.start:
            raise IndexError(f"size {old_size} is before the first held leaf {self.start}")
        return subproof(self.mth, old_size, 0, size, True)

    def mth(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for end <= size: a remembered or stored node where the range is one, else hashed from
        its halves, and within one block from that block's leaves."""
        n = end - start
        found = self._memo.get((start, end))
        if found is not None:
            return found
        if not n & (n - 1) and not start % n:
            height = n.bit_length() - 1
            if height in self._heights:
                found = self._stored(height, start >> height)
                if found is not None:
                    self._memo[(start, end)] = found
                    return found
        block = start // self._block
        if start >= self.start and (end - 1) // self._block == block:
            first, leaves = self._leaf_block(block, end)
            return subtree_root(leaves, start - first, end - first)
        if n == 1:
            raise LookupError(f"leaf {start} is not held and no stored node covers it")
        mid = start + split_point(n)
        found = node_hash(self.mth(start, mid), self.mth(mid, end))
        self._memo[(start, end)] = found
        return found

    def _leaf_block(self, block: int, end: int) -> tuple[int, list[bytes]]:
        """The held leaves of ``block`` up to at least ``end``; the last few blocks read are kept."""
        cached = self._blocks.get(block)
        if cached is not None and cached[0] + len(cached[1]) >= end:
            self._blocks.move_to_end(block)
            return cached
        first = max(block * self._block, self.start)
        last = min((block + 1) * self._block, self.size)
        leaves = list(self._leaves(first, last))
        if len(leaves) != last - first:
            raise LookupError(f"leaves [{first}, {last}) are not all held ({len(leaves)} found)")
        self._blocks[block] = (first, leaves)
        self._blocks.move_to_end(block)
        while len(self._blocks) > KEPT_BLOCKS:
            self._blocks.popitem(last=False)
        return first, leaves

    def _checked_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= self.size:
            raise ValueError(f"tree size {size!r} out of range for a tree of {self.size} leaves")
        if 0 < size < self.start:
            raise IndexError(f"a tree of {size} is not held (held: [{self.start}, {self.size}])")
        return size

    def __repr__(self) -> str:
        return f"TiledTree(size={self.size}, start={self.start})"
