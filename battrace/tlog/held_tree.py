"""Proofs in a log whose first entries were archived and dropped, from the compact range at the cut.

The path of a leaf at or after the cut only needs, left of the cut, maximal perfect subtrees lying wholly before it,
which are exactly the compact range's nodes; everything else is hashed from the held leaves. So the proofs equal
those of the whole log (RFC 9162 PATH, battrace/tlog/tree.py ``path``) without the archived leaves. Range hashes are
memoised: a bundle proves every record of a chain against the same checkpoint. Consistency proofs from an old size at
or after the cut likewise need only those nodes; one from before the cut is the archive's to give.
"""

from __future__ import annotations

from collections.abc import Sequence

from battrace.tlog.proof import subproof
from battrace.tlog.rfc6962 import compact_range_nodes, node_hash, split_point
from battrace.tlog.tree import path


class HeldFromTree:
    """The tree of a log of ``size`` leaves whose leaves from ``start`` on are held, with the compact range at
    ``start``; answers inclusion proofs of held leaves like :class:`battrace.tlog.MerkleTree`."""

    def __init__(self, start: int, compact_range: Sequence[bytes], held: Sequence[bytes]) -> None:
        self.start, self.size = start, start + len(held)
        self._held = list(held)
        self._memo: dict[tuple[int, int], bytes] = {}
        self._memo.update(compact_range_nodes(start, compact_range))

    def extend(self, leaf_hashes: Sequence[bytes]) -> None:
        """Append leaves: the memoised ranges stay true, as a range's hash never changes once it is whole."""
        self._held.extend(leaf_hashes)
        self.size = self.start + len(self._held)

    def root(self, size: int | None = None) -> bytes:
        """The root of the first ``size`` leaves (at most the held end, at least the cut)."""
        size = self.size if size is None else size
        if not self.start <= size <= self.size or size == 0:
            raise IndexError(f"a tree of {size} is not held (held: [{self.start}, {self.size}))")
        return self._mth(0, size)

    def consistency_proof(self, old_size: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 PROOF(old_size, D[size]) for an old size at or after the cut."""
        size = self.size if size is None else size
        if not self.start <= old_size <= size <= self.size:
            raise IndexError(f"sizes {old_size} -> {size} are not both held (held: [{self.start}, {self.size}])")
        return [] if old_size == 0 else subproof(self._mth, old_size, 0, size, True)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        if not self.start <= index < size <= self.size:
            raise IndexError(f"leaf {index} of a tree of {size} is not held (held: [{self.start}, {self.size}))")
        return path(self._mth, index, size)

    def _mth(self, start: int, end: int) -> bytes:
        found = self._memo.get((start, end))
        if found is not None:
            return found
        if start >= self.start and end - start == 1:
            return self._held[start - self.start]
        if end <= self.start and end - start == 1:  # a range before the cut is made of compact range nodes, or not
            raise LookupError(f"leaf {start} is archived and no compact range node covers it")
        mid = start + split_point(end - start)
        h = self._memo[(start, end)] = node_hash(self._mth(start, mid), self._mth(mid, end))
        return h
