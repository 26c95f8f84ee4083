"""The Merkle tree and the heads of a signed checkpoint, built once and kept for the next bundle that needs them.

Both are fixed once a checkpoint is signed (its entries never change), and building them reads and hashes the
whole log up to it: tens of milliseconds per thousand entries. A server exports many bundles against the same few
checkpoints (a co-signer reviewing a day's reports fetches dozens), so it keeps the newest few; the CLI exports one
bundle and needs no cache. The tree keeps every complete subtree, so each record's proof is O(log² n) lookups
rather than a rehash of the log.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from clickhouse_connect.driver.client import Client

from battrace.store import archive_marks
from battrace.store import logs as log_store
from battrace.store.heads import Heads, stored_heads
from battrace.tlog import MerkleTree
from battrace.verify.archive_tree import HeldFromTree

KEPT = 8  # checkpoints whose proofs are kept (a few logs' newest)


class CheckpointProofs:
    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._trees: OrderedDict[tuple[str, int], MerkleTree] = OrderedDict()
        self._heads: OrderedDict[tuple[str, int], Heads] = OrderedDict()
        self._lock = threading.Lock()  # the API exports from a thread pool

    def tree(self, client: Client, log_id: str, size: int) -> MerkleTree | HeldFromTree:
        """The RFC 6962 tree of the log's first ``size`` entries."""
        return self._get(self._trees, (log_id, size), lambda: held_tree(client, log_id, size))

    def heads(self, client: Client, log_id: str, size: int) -> Heads:
        """The heads the checkpoint of ``size`` commits to, with their values (for a bundle's head section)."""
        return self._get(self._heads, (log_id, size), lambda: stored_heads(client, log_id, size, keep_values=True))

    def _get(self, cache: OrderedDict, key: tuple[str, int], build):  # type: ignore[no-untyped-def]
        with self._lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        value = build()  # outside the lock: two threads may build one tree, never block each other on I/O
        with self._lock:
            cache[key] = value
            while len(cache) > self._kept:
                cache.popitem(last=False)
        return value


def held_tree(client: Client, log_id: str, size: int) -> MerkleTree | HeldFromTree:
    """The tree of the log's first ``size`` entries from every leaf or, when its beginning was archived and dropped,
    from its archive mark's compact range and the leaves held after it (the proofs are the same)."""
    mark = archive_marks.marks(client).get(log_id)
    if mark is not None and mark.size <= size and log_store.log_starts(client).get(log_id, 0) > 0:
        compact_range = [bytes.fromhex(h) for h in mark.compact_range]
        return HeldFromTree(mark.size, compact_range, log_store.leaf_hashes(client, log_id, mark.size, size))
    return MerkleTree(log_store.leaf_hashes(client, log_id, 0, size))
