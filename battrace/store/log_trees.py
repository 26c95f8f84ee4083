"""The Merkle tree of a stored log's first entries: from every leaf, or from the archive cut on.

After `battrace archive --drop` a log's entries before the cut are gone from the live store; its archive mark keeps
the compact range at the cut, which is all an inclusion proof of a later leaf, or a consistency proof from a later
size, needs (battrace/tlog/held_tree.py). Every reader that proves something about a live log builds its tree here,
so none of them reads from entry 0 of a log whose beginning was archived.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from battrace.store import archive_marks
from battrace.store import logs as log_store
from battrace.tlog import MerkleTree
from battrace.tlog.held_tree import HeldFromTree

LogTree = MerkleTree | HeldFromTree


def held_tree(client: Client, log_id: str, size: int) -> LogTree:
    """The tree of the log's first ``size`` entries from every leaf or, when its beginning was archived and dropped,
    from its archive mark's compact range and the leaves held after it (the proofs are the same)."""
    mark = archive_marks.marks(client).get(log_id)
    if mark is not None and mark.size <= size and log_store.log_starts(client).get(log_id, 0) > 0:
        compact_range = [bytes.fromhex(h) for h in mark.compact_range]
        return HeldFromTree(mark.size, compact_range, log_store.leaf_hashes(client, log_id, mark.size, size))
    return MerkleTree(log_store.leaf_hashes(client, log_id, 0, size))


def held_from(tree: LogTree) -> int:
    """The first leaf the tree holds: 0, or the archive cut."""
    return tree.start if isinstance(tree, HeldFromTree) else 0
