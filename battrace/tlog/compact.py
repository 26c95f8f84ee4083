"""An append-only Merkle tree that keeps only its compact range.

A pipeline sealing millions of battery records cannot hold every leaf in memory
just to publish a root. Any tree of ``size`` leaves is fully summarised, for the
purpose of appending and computing the root, by the roots of its perfect
subtrees — one per set bit of ``size``, largest (leftmost) first. That is at
most 64 hashes, and it is exactly the state a worker must persist to resume.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from battrace.tlog.rfc6962 import EMPTY_ROOT, HASH_SIZE, MAX_TREE_SIZE, leaf_hash, node_hash
from battrace.tlog.tiles import TILE_HEIGHTS

_SIZE_BYTES = 8
_LOWEST_TILE = (1 << TILE_HEIGHTS[0]) - 1  # a size with these bits clear has just completed a tiled subtree

Tile = tuple[int, int, bytes]
"""(height, index, hash): a complete subtree of a tiled height (battrace/tlog/tiles.py)."""


class CompactTree:
    """Incremental RFC 6962 tree: O(log n) memory, amortised O(1) hashes per append."""

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """Roots of the perfect subtrees, left to right (the compact range [0, size))."""
        return tuple(self._hashes)

    def append(self, leaf_hash_: bytes, tiles: list[Tile] | None = None) -> None:
        """Append one leaf hash (see :func:`battrace.tlog.rfc6962.leaf_hash`).

        ``tiles``: gets (height, index, hash) of each subtree of a tiled height this leaf completes, the nodes a log
        stores so that proofs need not rehash its leaves (battrace/tlog/tiles.py). They are formed by the carry loop
        anyway; only one leaf in 256 can complete one, so the others pay a single test.
        """
        if not isinstance(leaf_hash_, bytes) or len(leaf_hash_) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes")
        if self._size >= MAX_TREE_SIZE:
            raise OverflowError("tree is full")
        h, s = leaf_hash_, self._size
        if tiles is not None and not (s + 1) & _LOWEST_TILE:
            self._append_completing(h, tiles)
            return
        # Each trailing 1-bit of the old size is a perfect subtree of the same
        # height as the one being carried: merge them, as in binary addition.
        while s & 1:
            h = node_hash(self._hashes.pop(), h)
            s >>= 1
        self._hashes.append(h)
        self._size += 1

    def _append_completing(self, h: bytes, tiles: list[Tile]) -> None:
        """The carry loop of :meth:`append`, reporting the subtrees of tiled heights it forms."""
        s, height, size = self._size, 0, self._size + 1
        while s & 1:
            h = node_hash(self._hashes.pop(), h)
            s >>= 1
            height += 1
            if height in TILE_HEIGHTS:
                tiles.append((height, (size >> height) - 1, h))
        self._hashes.append(h)
        self._size = size

    def append_entry(self, entry: bytes) -> bytes:
        """Hash ``entry`` as a leaf, append it and return its leaf hash."""
        h = leaf_hash(entry)
        self.append(h)
        return h

    def extend(self, leaf_hashes: Iterable[bytes], tiles: list[Tile] | None = None) -> None:
        """Append many leaf hashes in order (``tiles``: as for :meth:`append`)."""
        for h in leaf_hashes:
            self.append(h, tiles)

    def root(self) -> bytes:
        """The RFC 6962 root of the tree so far (equal to ``root_hash`` over all leaves)."""
        if not self._hashes:
            return EMPTY_ROOT
        r = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            r = node_hash(h, r)
        return r

    def copy(self) -> CompactTree:
        return self._restore(self._size, list(self._hashes))

    # ----------------------------------------------------------------- persistence

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly state: ``{"size": int, "hashes": [hex, ...]}``."""
        return {"size": self._size, "hashes": [h.hex() for h in self._hashes]}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> CompactTree:
        """Inverse of :meth:`to_dict`; raises ValueError on any inconsistency."""
        try:
            size, raw = state["size"], state["hashes"]
        except (KeyError, TypeError) as e:
            raise ValueError("compact tree state needs 'size' and 'hashes'") from e
        if not isinstance(raw, (list, tuple)) or not all(isinstance(h, str) for h in raw):
            raise ValueError("'hashes' must be a list of hex strings")
        try:
            hashes = [bytes.fromhex(h) for h in raw]
        except ValueError as e:
            raise ValueError("'hashes' must be a list of hex strings") from e
        return cls._validated(size, hashes)

    def to_bytes(self) -> bytes:
        """Compact binary state: uint64 big-endian size, then the subtree hashes."""
        return self._size.to_bytes(_SIZE_BYTES, "big") + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompactTree:
        """Inverse of :meth:`to_bytes`; raises ValueError on any inconsistency."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ValueError("state must be bytes")
        data = bytes(data)
        if len(data) < _SIZE_BYTES or (len(data) - _SIZE_BYTES) % HASH_SIZE:
            raise ValueError("truncated compact tree state")
        size = int.from_bytes(data[:_SIZE_BYTES], "big")
        body = data[_SIZE_BYTES:]
        hashes = [body[i : i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)]
        return cls._validated(size, hashes)

    @classmethod
    def _validated(cls, size: object, hashes: list[bytes]) -> CompactTree:
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_TREE_SIZE:
            raise ValueError(f"invalid tree size {size!r}")
        if len(hashes) != size.bit_count():
            raise ValueError(f"size {size} needs {size.bit_count()} subtree hashes, got {len(hashes)}")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"subtree hashes must be {HASH_SIZE} bytes")
        return cls._restore(size, hashes)

    @classmethod
    def _restore(cls, size: int, hashes: list[bytes]) -> CompactTree:
        tree = cls()
        tree._size = size
        tree._hashes = hashes
        return tree

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactTree):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"CompactTree(size={self._size}, root={self.root().hex()})"

