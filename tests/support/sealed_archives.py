"""A log built by hand for the archive tests: two entities' chains interleaved in one log, signed checkpoints that
commit to the log's heads, and the rows an archive of it holds (sealed, events, log entries, checkpoints)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from battrace.domain.chain import GENESIS, chain_step
from battrace.store.heads import Heads
from battrace.tlog import Checkpoint, CompactTree, Signer, leaf_hash, sign_checkpoint
from schemas.log_entries import sealed_entry

LOG = "test.example/log/0"
ENTITIES = (("battery", "X12MCPM27KLPCLX2M2382320"), ("lot", "LOT-1"))


@dataclass
class SyntheticLog:
    """The rows of one log, per table, as an archive holds them; ``trees``: the compact range at each checkpoint."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    trees: dict[int, CompactTree] = field(default_factory=dict)
    heads: dict[int, Heads] = field(default_factory=dict)

    def rows_under(self, size: int) -> dict[str, list[dict[str, Any]]]:
        """The rows an archive ending at the checkpoint of ``size`` holds."""
        sealed = [r for r in self.tables["sealed"] if r["log_index"] < size]
        ids = {r["event_id"] for r in sealed}
        return {
            "sealed": sealed,
            "events": [e for e in self.tables["events"] if e["event_id"] in ids],
            "log_entries": [e for e in self.tables["log_entries"] if e["log_index"] < size],
            "checkpoints": [c for c in self.tables["checkpoints"] if c["size"] <= size],
        }

    def checkpoint(self, size: int) -> dict[str, Any]:
        return next(c for c in self.tables["checkpoints"] if c["size"] == size)


def synthetic_log(signer: Signer, length: int = 3, checkpoints: tuple[int, ...] = (2, 4, 6)) -> SyntheticLog:
    """``length`` events of each entity, alternating, one log entry each; a signed checkpoint at each size."""
    log = SyntheticLog({"sealed": [], "events": [], "log_entries": [], "checkpoints": []})
    prev = {entity: GENESIS for entity in ENTITIES}
    for seq in range(1, length + 1):
        for entity_type, entity_id in ENTITIES:
            canonical = f"event {seq} of {entity_type}:{entity_id}".encode()
            event_hash = hashlib.sha256(canonical).digest()
            chain = chain_step(prev[(entity_type, entity_id)], event_hash, seq)
            index = len(log.tables["log_entries"])
            row = {
                "entity_type": entity_type,
                "entity_id": entity_id,
                "seq": seq,
                "event_id": f"ev-{entity_id}-{seq}",
                "event_hash": event_hash.hex(),
                "prev_hash": prev[(entity_type, entity_id)].hex(),
                "chain_hash": chain.hex(),
                "log_id": LOG,
                "log_index": index,
                "sealed_at_ms": 1_700_000_000_000 + index,
            }
            prev[(entity_type, entity_id)] = chain
            entry = sealed_entry(row)
            log.tables["sealed"].append(row)
            log.tables["events"].append(
                {
                    "event_id": row["event_id"],
                    "kind": "Serviced",
                    "event_time_ms": 0,
                    "canonical": canonical,
                    "event_hash": row["event_hash"],
                }
            )
            log.tables["log_entries"].append(
                {"log_id": LOG, "log_index": index, "entry": entry, "leaf_hash": leaf_hash(entry).hex()}
            )
    tree, heads, observed = CompactTree(), Heads(keep_values=True), 0
    for size in checkpoints:
        for e in log.tables["log_entries"][observed:size]:
            tree.append(leaf_hash(e["entry"]))
            heads.observe_entry(e["entry"])
        observed = size
        note = sign_checkpoint(Checkpoint(LOG, size, tree.root(), (heads.line(),)), signer)
        log.trees[size] = tree.copy()
        log.heads[size] = _copy_heads(heads)
        log.tables["checkpoints"].append(
            {
                "log_id": LOG,
                "size": size,
                "root": tree.root().hex(),
                "note": note,
                "compact_range": [h.hex() for h in tree.hashes],
                "created_at_ms": 1_700_000_000_000 + size,
            }
        )
    return log


def _copy_heads(heads: Heads) -> Heads:
    copy = Heads(keep_values=True)
    for _, entity, length, chain_hash in heads.leaves():
        copy.observe(entity, length, chain_hash)
    copy.commit()
    return copy
