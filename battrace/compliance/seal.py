"""The seal reference of one sealed record: its log entry and an inclusion proof to the latest checkpoint.

The worker asks for a seal reference on every traceability report (several times while inputs are in
flight), so rebuilding each log's tree from all of its stored entries per call grew quadratic over a run.
Each process instead keeps one tree per client and log, extended with only the entries it lacks; those leaf hashes
are still recomputed from the stored entries. A log whose beginning was archived and dropped is proven from its
archive cut on (battrace/store/log_trees.py).
"""

from __future__ import annotations

import threading
import weakref

from clickhouse_connect.driver.client import Client

from battrace.compliance.tables import rows
from battrace.report.build import inclusion_from_row
from battrace.report.model import SealReference
from battrace.store import logs as log_store
from battrace.store.log_trees import LogTree, held_tree

# Keyed on the client so a tree never outlives the store it was read from; the lock keeps two threads
# from extending one tree at once.
_trees: weakref.WeakKeyDictionary[Client, dict[str, LogTree]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def seal_reference(client: Client, entity_type: str, entity_id: str, event_id: str) -> SealReference | None:
    """None while the record is not sealed or no signed checkpoint covers it yet (the report marks it missing)."""
    found = rows(
        client,
        "SELECT log_id, log_index FROM battrace.sealed FINAL WHERE entity_type = {t:String} "
        "AND entity_id = {i:String} AND event_id = {e:String} ORDER BY seq LIMIT 1",
        t=entity_type,
        i=entity_id,
        e=event_id,
    )
    if not found:
        return None
    log_id, index = found[0]["log_id"], found[0]["log_index"]
    signed = log_store.checkpoints(client, log_id)
    if not signed or signed[-1].size <= index:
        return None
    checkpoint = signed[-1]
    proof = _inclusion_proof(client, log_id, index, checkpoint.size, checkpoint.root)
    entry = log_store.entries(client, log_id, index, index + 1)[0][1]
    inclusion = inclusion_from_row(f"{entity_type}:{entity_id}", log_id, index, checkpoint.size, entry, proof)
    return SealReference((checkpoint.note,), (inclusion,))


def _inclusion_proof(client: Client, log_id: str, index: int, size: int, root: str) -> list[bytes]:
    """The proof of leaf ``index`` in the log's first ``size`` entries, from the cached tree where it can be.

    A cached tree whose root at ``size`` is not the checkpoint's was read from a store that has since changed
    (rewritten or replaced): it is rebuilt from the store, which yields exactly the proof a full read gives.
    """
    with _lock:
        trees = _trees.setdefault(client, {})
        tree = trees.get(log_id)
        if tree is not None and tree.size < size:
            tree.extend(log_store.leaf_hashes(client, log_id, tree.size, size))
        if tree is None or tree.root(size).hex() != root:
            tree = trees[log_id] = held_tree(client, log_id, size)
        return tree.inclusion_proof(index, size)
