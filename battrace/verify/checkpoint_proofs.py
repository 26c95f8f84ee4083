"""The Merkle tree and the heads of a signed checkpoint, built once and kept for the next bundle that needs them.

Both are fixed once a checkpoint is signed (its entries never change). The tree reads stored tiles and leaf blocks as
proofs need them and keeps what it read, so the records of one chain are proven with a few queries; the heads read
and group the whole log up to the checkpoint. A server exports many bundles against the same few checkpoints (a
co-signer reviewing a day's reports fetches dozens), so it keeps the newest few; the CLI exports one bundle and needs
no cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from clickhouse_connect.driver.client import Client

from battrace.store.heads import Heads, stored_heads
from battrace.store.log_trees import LogTree, held_tree

KEPT = 8  # checkpoints whose proofs are kept (a few logs' newest)


class CheckpointProofs:
    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._trees: OrderedDict[tuple[str, int], LogTree] = OrderedDict()
        self._heads: OrderedDict[tuple[str, int], Heads] = OrderedDict()
        self._lock = threading.Lock()  # the API exports from a thread pool

    def tree(self, client: Client, log_id: str, size: int) -> LogTree:
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
