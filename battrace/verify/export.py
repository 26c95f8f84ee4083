"""Build an offline verification bundle (battrace/verify/bundle.py) for one entity from ClickHouse."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.domain.entities import entity_key
from battrace.store import logs as log_store
from battrace.store.heads import Heads
from battrace.tlog import MerkleTree, Verifier
from battrace.tlog.held_tree import HeldFromTree
from battrace.tlog.tiles import TiledTree
from battrace.verify.bundle import FORMAT
from battrace.verify.bundle_report import certification_of, report_steps
from battrace.verify.checkpoint_proofs import CheckpointProofs


class NothingToExport(LookupError):
    pass


def build_bundle(
    client: Client,
    entity_type: str,
    entity_id: str,
    verifiers: list[Verifier],
    proofs: CheckpointProofs | None = None,
) -> dict[str, Any]:
    """Records of the entity's chain, each with an inclusion proof against its log's latest checkpoint, and the
    entity's head in that checkpoint's heads tree (the proof that no record of the entity is left out).
    ``proofs``: checkpoints' trees and heads kept between bundles (a server's)."""
    proofs = proofs or CheckpointProofs(kept=1)
    latest = log_store.latest_checkpoints(client)  # before the records: a newer checkpoint could cover newer records
    rows = entity_rows(client, entity_type, entity_id)
    return assemble_bundle(
        entity_type,
        entity_id,
        rows,
        latest,
        lambda log_id, size: proofs.tree(client, log_id, size),
        lambda log_id, size: proofs.heads(client, log_id, size),
        verifiers,
    )


def entity_rows(client: Client, entity_type: str, entity_id: str, from_index: int = 0) -> list[tuple[Any, ...]]:
    """The entity's sealed rows (from log index ``from_index`` on) joined with their events, in seq order, as
    assemble_bundle takes them. Only the entity's events are read, from the table under the events view (its FINAL
    would merge every event of the store on each export); the rows of one event id are identical."""
    result = client.query(
        "SELECT s.entity_type, s.entity_id, s.seq, s.event_id, s.event_hash, s.prev_hash, s.chain_hash, "
        "s.log_id, s.log_index, toUnixTimestamp64Milli(s.sealed_at), e.kind, "
        "toUnixTimestamp64Milli(e.event_time), e.canonical "
        "FROM (SELECT * FROM battrace.sealed FINAL WHERE entity_type = {t:String} AND entity_id = {i:String} "
        "AND log_index >= {f:UInt64}) AS s "
        "LEFT JOIN (SELECT event_id, kind, event_time, canonical FROM battrace.event_store "
        "WHERE event_id IN (SELECT event_id FROM battrace.sealed_store WHERE entity_type = {t:String} "
        "AND entity_id = {i:String}) LIMIT 1 BY event_id) AS e "
        "ON e.event_id = s.event_id ORDER BY s.seq",
        parameters={"t": entity_type, "i": entity_id, "f": from_index},
        column_formats={"canonical": "bytes"},
    )
    return [tuple(r) for r in result.result_rows]


def assemble_bundle(
    entity_type: str,
    entity_id: str,
    rows: Sequence[Sequence[Any]],
    latest: Mapping[str, log_store.StoredCheckpoint],
    tree_of: Callable[[str, int], MerkleTree | HeldFromTree | TiledTree],
    heads_of: Callable[[str, int], Heads],
    verifiers: list[Verifier],
) -> dict[str, Any]:
    """The bundle of one entity from its sealed rows joined with their events, wherever they are read from (the
    store, an archive): (entity_type, entity_id, seq, event_id, event_hash, prev_hash, chain_hash, log_id,
    log_index, sealed_at ms, kind, event_time ms, canonical) in seq order; ``latest``: each log's newest checkpoint;
    ``tree_of``/``heads_of``: a log's tree and heads at a checkpoint size."""
    if not rows:
        raise NothingToExport(f"no sealed records for {entity_type} {entity_id}")
    logs = sorted({r[7] for r in rows})
    if len(logs) != 1:  # an entity's packs go to the partition its key hashes to: one log holds its chain
        raise NothingToExport(f"{entity_type} {entity_id} has records in several logs ({', '.join(logs)})")
    log_id = logs[0]
    cp = latest.get(log_id)
    # The bundle is as of the log's newest checkpoint: the records it covers (a prefix of the chain, which the log
    # holds in seq order); newer ones wait for the next checkpoint.
    rows = [r for r in rows if r[8] < cp.size] if cp is not None else []
    if cp is None or not rows:
        raise NothingToExport(f"{entity_type} {entity_id} is not under a signed checkpoint yet; retry")
    if rows[0][2] != 1:  # the chain's beginning was archived and dropped (battrace/store/archive_marks.py)
        raise NothingToExport(
            f"{entity_type} {entity_id}: records 1 to {rows[0][2] - 1} are archived; export the whole chain with "
            f"`battrace export --{entity_type} {entity_id} --archive DIR [--archive DIR ...] --out FILE`, giving "
            f"every archive of {log_id} since its beginning"
        )
    tree = tree_of(log_id, cp.size)
    records = []
    for r in rows:
        index = r[8]
        records.append(
            {
                "entity_type": r[0],
                "entity_id": r[1],
                "seq": r[2],
                "event_id": r[3],
                "event_hash": r[4],
                "prev_hash": r[5],
                "chain_hash": r[6],
                "log_id": log_id,
                "log_index": index,
                "sealed_at_ms": r[9],
                "event": {"kind": r[10], "event_time_ms": r[11], "canonical": base64.b64encode(r[12]).decode()},
                "inclusion_proof": [h.hex() for h in tree.inclusion_proof(index, cp.size)],
            }
        )
    head = _head(heads_of(log_id, cp.size), entity_key(entity_type, entity_id), log_id, cp.size, len(records))
    bundle = {
        "format": FORMAT,
        "subject": {"type": entity_type, "id": entity_id},
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "records": records,
        "checkpoints": {log_id: cp.note},
        "head": head,
        "verifier_keys": [v.to_key() for v in verifiers],
    }
    return bundle


def _head(heads: Heads, entity: str, log_id: str, size: int, records: int) -> dict[str, Any]:
    """The entity's head in the heads tree of the log's checkpoint of ``size``, with its inclusion proof."""
    proof = heads.proof(entity)
    length = proof["leaf"]["length"] if proof is not None else 0  # type: ignore[index]
    if length != records:  # the rows under a checkpoint never change: the store disagrees with itself
        raise NothingToExport(
            f"{entity}: checkpoint {size} of {log_id} logs {length} of its records, the sealed table {records}; "
            "run `battrace verify --all`"
        )
    return {"log_id": log_id, **proof}


def add_report(bundle: dict[str, Any]) -> dict[str, Any]:
    """Attach a consignment's traceability report, as its sealed records compose it (the newest draft and its
    co-signatures; battrace/verify/bundle_report.py). No role keys travel with it: a verifier pins its own."""
    certification = certification_of(report_steps(bundle["records"]), {})
    if certification is None:
        shipment = bundle["subject"]["id"]
        raise NothingToExport(f"no report sealed for consignment {shipment} yet (it is drafted at delivery)")
    return {**bundle, "report": certification.document}
