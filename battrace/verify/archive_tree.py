"""Inclusion proofs in a log whose first entries were archived and dropped, from the archive mark's compact range.

The path of a leaf at or after the cut only needs, left of the cut, maximal perfect subtrees lying wholly before it,
which are exactly the compact range's nodes; everything else is hashed from the held leaves. So the proofs equal
those of the whole log (RFC 9162 PATH, battrace/tlog/tree.py ``path``) without the archived leaves. Range hashes are
memoised: a bundle proves every record of a chain against the same checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

from battrace.tlog.rfc6962 import node_hash, split_point
from battrace.tlog.tree import path


class HeldFromTree:
    """The tree of a log of ``size`` leaves whose leaves from ``start`` on are held, with the compact range at
    ``start``; answers inclusion proofs of held leaves like :class:`battrace.tlog.MerkleTree`."""

    def __init__(self, start: int, compact_range: Sequence[bytes], held: Sequence[bytes]) -> None:
        self.start, self.size = start, start + len(held)
        self._held = list(held)
        self._memo: dict[tuple[int, int], bytes] = {}
        subtrees = [1 << bit for bit in reversed(range(start.bit_length())) if start >> bit & 1]  # largest first
        if len(compact_range) != len(subtrees):
            raise ValueError(f"a compact range at {start} has {len(subtrees)} hashes, not {len(compact_range)}")
        offset = 0
        for width, h in zip(subtrees, compact_range, strict=True):
            self._memo[(offset, offset + width)] = h
            offset += width

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
        if end <= self.start:
            raise LookupError(f"leaves [{start}, {end}) are archived and no compact range node covers them")
        mid = start + split_point(end - start)
        h = self._memo[(start, end)] = node_hash(self._mth(start, mid), self._mth(mid, end))
        return h
