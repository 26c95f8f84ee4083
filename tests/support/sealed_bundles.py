"""Bundles built by hand for the bundle verifier's tests: one entity's chain logged among other entries, with
inclusion proofs under one signed checkpoint. Shared by the unit and integration tests of battrace.verify.bundle."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from battrace.domain.chain import GENESIS, chain_step
from battrace.tlog import Checkpoint, CompactTree, Signer, inclusion_proof, leaf_hash, sign_checkpoint
from battrace.verify.bundle import FORMAT
from schemas.log_entries import sealed_entry

LOG = "test.example/log/0"


def sealed_chain(
    entity_type: str,
    entity_id: str,
    signer: Signer,
    extra: dict[str, Any] | None = None,
    length: int = 3,
    events: list[bytes] = (),  # type: ignore[assignment]
) -> tuple[list[dict[str, Any]], int, str]:
    """(records, tree size, signed checkpoint note) of a ``length``-event chain, then one record per canonical event
    in ``events``; ``extra`` adds record fields. Events of the first ``length`` are stand-in bytes."""
    records, entries, prev = [], [], GENESIS
    canonicals = [f"event {seq} of {entity_id}".encode() for seq in range(1, length + 1)] + list(events)
    for seq, canonical in enumerate(canonicals, start=1):
        entries.append(f"another entry {seq}".encode())  # other entities share the log
        ev_hash = hashlib.sha256(canonical).digest()
        head = chain_step(prev, ev_hash, seq)
        record = {
            "entity_type": entity_type,
            "entity_id": entity_id,
            "seq": seq,
            "event_id": f"ev-{seq}",
            "event_hash": ev_hash.hex(),
            "prev_hash": prev.hex(),
            "chain_hash": head.hex(),
            "log_id": LOG,
            "log_index": len(entries),
            "event": {"canonical": base64.b64encode(canonical).decode()},
            **(extra or {}),
        }
        entries.append(sealed_entry(record))
        records.append(record)
        prev = head
    leaves = [leaf_hash(e) for e in entries]
    tree = CompactTree()
    tree.extend(leaves)
    for record in records:
        record["inclusion_proof"] = [h.hex() for h in inclusion_proof(leaves, record["log_index"])]
    return records, tree.size, sign_checkpoint(Checkpoint(LOG, tree.size, tree.root()), signer)


def battery_bundle(battery_id: str, signer: Signer) -> dict[str, Any]:
    """Three events of one battery under one signed checkpoint, with the log's key."""
    records, _, note = sealed_chain("battery", battery_id, signer)
    for record in records:
        record["sealed_at_ms"] = 1_700_000_000_000 + record["seq"]
        record["event"] = {"kind": "Serviced", "event_time_ms": 0, **record["event"]}
    return {
        "format": FORMAT,
        "subject": {"type": "battery", "id": battery_id},
        "records": records,
        "checkpoints": {LOG: note},
        "verifier_keys": [signer.verifier_key()],
    }
