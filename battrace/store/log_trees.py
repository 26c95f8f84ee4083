"""The Merkle tree of a stored log's first entries, from its stored tiles and the few leaves a proof needs.

Every reader that proves something about a live log builds its tree here: the tree reads stored tiles
(battrace/store/log_tiles.py) and leaf ranges of at most two 256-entry blocks per proof, not the whole log
(battrace/tlog/tiles.py). A tile the store lacks is hashed from its leaves. After `battrace archive --drop` a log's
entries before the cut are gone; its archive mark keeps the compact range at the cut, which with the tiles is all an
inclusion proof of a later leaf, or a consistency proof from a later size, needs, so no reader reads from entry 0 of a
log whose beginning was archived. Proofs are checked against signed roots, so a wrong stored hash (tile, compact
range or leaf) makes them fail, never pass.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from battrace.store import archive_marks
from battrace.store import logs as log_store
from battrace.store.log_tiles import TileReader
from battrace.tlog.tiles import TiledTree

LogTree = TiledTree


def held_tree(client: Client, log_id: str, size: int) -> LogTree:
    """The tree of the log's first ``size`` entries, held from entry 0 or, when its beginning was archived and
    dropped, from its archive mark's cut (the proofs are the same)."""
    start, compact_range = 0, []
    mark = archive_marks.marks(client).get(log_id)
    if mark is not None and mark.size <= size and log_store.log_starts(client).get(log_id, 0) > 0:
        start, compact_range = mark.size, [bytes.fromhex(h) for h in mark.compact_range]
    tiles = TileReader(client, log_id)
    return TiledTree(
        size, tiles.node, lambda first, end: log_store.leaf_hashes(client, log_id, first, end), start, compact_range
    )


def held_from(tree: LogTree) -> int:
    """The first leaf the tree holds: 0, or the archive cut."""
    return tree.start
