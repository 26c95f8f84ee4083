"""Bundles built by hand for the bundle verifier's tests: one entity's chain logged among other entities' entries,
with inclusion proofs under one signed checkpoint that commits to the log's heads, and the entity's head with its
proof. Shared by the unit and integration tests of battrace.verify.bundle."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from battrace.domain.chain import GENESIS, chain_step
from battrace.tlog import Checkpoint, CompactTree, Signer, inclusion_proof, leaf_hash, root_hash, sign_checkpoint
from battrace.verify.bundle import FORMAT
from schemas.heads import head_leaf, heads_line
from schemas.log_entries import sealed_entry

LOG = "test.example/log/0"


def other_entry(n: int) -> bytes:
    """The first sealed entry of another entity (``lot:other-<n>``): entities share the log and its heads."""
    fields = {"entity_type": "lot", "entity_id": f"other-{n}", "seq": 1, "event_id": f"other-ev-{n}"}
    return sealed_entry({**fields, "event_hash": "00" * 32, "chain_hash": f"{n:064x}"})


def sealed_chain(
    entity_type: str,
    entity_id: str,
    signer: Signer,
    extra: dict[str, Any] | None = None,
    length: int = 3,
    events: list[bytes] = (),  # type: ignore[assignment]
) -> tuple[list[dict[str, Any]], int, str, dict[str, Any]]:
    """(records, tree size, signed checkpoint note, head section) of a ``length``-event chain of stand-in event bytes,
    then one record per canonical event in ``events``; ``extra`` adds record fields. The log is [other 1, record 1,
    other 2, record 2, ...]; its heads are other 1, the entity, other 2, ..."""
    records, entries, prev = [], [], GENESIS
    canonicals = [f"event {seq} of {entity_id}".encode() for seq in range(1, length + 1)] + list(events)
    length = len(canonicals)
    for seq, canonical in enumerate(canonicals, start=1):
        entries.append(other_entry(seq))
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
    entity = f"{entity_type}:{entity_id}"
    head = {"entity": entity, "length": length, "chain_hash": records[-1]["chain_hash"]}
    others = [{"entity": f"lot:other-{n}", "length": 1, "chain_hash": f"{n:064x}"} for n in range(1, length + 1)]
    heads = [others[0], head, *others[1:]]  # in the order the entities first appear in the log
    heads_leaves = [leaf_hash(head_leaf(h["entity"], h["length"], h["chain_hash"])) for h in heads]
    line = heads_line(len(heads), root_hash(heads_leaves))
    note = sign_checkpoint(Checkpoint(LOG, tree.size, tree.root(), (line,)), signer)
    head_section = {
        "log_id": LOG,
        "index": 1,
        "leaf": head,
        "inclusion_proof": [h.hex() for h in inclusion_proof(heads_leaves, 1)],
    }
    return records, tree.size, note, head_section


def battery_bundle(battery_id: str, signer: Signer) -> dict[str, Any]:
    """Three events of one battery under one signed checkpoint, with the log's key."""
    records, _, note, head = sealed_chain("battery", battery_id, signer)
    for record in records:
        record["sealed_at_ms"] = 1_700_000_000_000 + record["seq"]
        record["event"] = {"kind": "Serviced", "event_time_ms": 0, **record["event"]}
    return {
        "format": FORMAT,
        "subject": {"type": "battery", "id": battery_id},
        "records": records,
        "checkpoints": {LOG: note},
        "head": head,
        "verifier_keys": [signer.verifier_key()],
    }
