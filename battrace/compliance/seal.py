"""The seal reference of one sealed record: its log entry and an inclusion proof to the latest checkpoint.

The worker asks for a seal reference on every traceability report (several times while inputs are in flight); the
proof reads the log's stored tiles and the leaves of at most two 256-entry blocks (battrace/store/log_trees.py), so
it costs a few small queries however long the log. A log whose beginning was archived and dropped is proven from its
archive cut on.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from battrace.compliance.tables import rows
from battrace.report.build import inclusion_from_row
from battrace.report.model import SealReference
from battrace.store import logs as log_store
from battrace.store.log_trees import held_tree


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
    proof = held_tree(client, log_id, checkpoint.size).inclusion_proof(index)
    entry = log_store.entries(client, log_id, index, index + 1)[0][1]
    inclusion = inclusion_from_row(f"{entity_type}:{entity_id}", log_id, index, checkpoint.size, entry, proof)
    return SealReference((checkpoint.note,), (inclusion,))
