"""RFC 6962 / RFC 9162 Merkle tree hashing.

The 0x00 / 0x01 prefixes domain-separate leaves from interior nodes, so a
node can never be passed off as a leaf (second-preimage resistance). Every
other module in this package builds on these three definitions, and they are
pinned against the transparency-dev/merkle reference vectors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
"""Size in bytes of every hash handled by this package (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) — the root of the tree with no leaves."""

MAX_TREE_SIZE = 2**64 - 1
"""Tree sizes are uint64 in every wire format (checkpoints, proofs, tiles)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(_LEAF_PREFIX + bytes(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the parent of two subtrees."""
    return hashlib.sha256(_NODE_PREFIX + bytes(left) + bytes(right)).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2): where MTH splits."""
    if n < 2:
        raise ValueError(f"split_point needs n >= 2, got {n}")
    return 1 << ((n - 1).bit_length() - 1)


def check_hashes(hashes: Sequence[bytes]) -> None:
    """Raise ValueError unless every item is a HASH_SIZE-byte ``bytes`` value.

    Builders raise on bad input (a caller bug); verifiers use their own checks and return False.
    """
    for i, h in enumerate(hashes):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise ValueError(f"leaf hash #{i} is not {HASH_SIZE} bytes")


def subtree_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH of the leaves ``leaf_hashes[start:end]`` (end > start), without copying the list."""
    n = end - start
    if n == 1:
        return leaf_hashes[start]
    k = split_point(n)
    return node_hash(subtree_root(leaf_hashes, start, start + k), subtree_root(leaf_hashes, start + k, end))


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """RFC 6962 §2.1 Merkle Tree Hash over already-hashed leaves.

    Takes leaf *hashes* rather than entries because that is what a log stores and
    what inclusion proofs speak about; use :func:`leaf_hash` on raw entries first.
    """
    check_hashes(leaf_hashes)
    if not leaf_hashes:
        return EMPTY_ROOT
    return subtree_root(leaf_hashes, 0, len(leaf_hashes))


def compact_range_nodes(start: int, compact_range: Sequence[bytes]) -> dict[tuple[int, int], bytes]:
    """The leaf range [a, b) each hash of the compact range at ``start`` is the root of (one per set bit of
    ``start``, largest first); a readers' tree that holds leaves only from ``start`` on seeds its memo with them."""
    subtrees = [1 << bit for bit in reversed(range(start.bit_length())) if start >> bit & 1]
    if len(compact_range) != len(subtrees):
        raise ValueError(f"a compact range at {start} has {len(subtrees)} hashes, not {len(compact_range)}")
    nodes, offset = {}, 0
    for width, h in zip(subtrees, compact_range, strict=True):
        nodes[(offset, offset + width)] = h
        offset += width
    return nodes
