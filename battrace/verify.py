"""Recompute every per-entity chain from ClickHouse and cross-check it against the accepted events.

Detects altered rows (hashes no longer recompute), deleted rows (a gap, or an event that names an
entity with no sealed row for it), reordered and inserted rows (prev/chain hashes break).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client

from processors.chain import GENESIS, chain_step
from processors.entities import BATTERY, entity_key, split_key


@dataclass
class VerifyReport:
    checked: int = 0
    failures: list[dict[str, object]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not self.failures

    def fail(self, entity: str, seq: int | None, problem: str) -> None:
        self.failures.append({"entity": entity, "seq": seq, "problem": problem})

    def to_json(self) -> dict[str, object]:
        return {"checked": self.checked, "ok": self.ok, "failures": self.failures}


def _events(client: Client, where: str, params: dict[str, object]) -> dict[str, tuple[str, bytes, list[str]]]:
    result = client.query(
        f"SELECT event_id, event_hash, canonical, entities FROM battrace.events FINAL {where}",
        parameters=params,
        column_formats={"canonical": "bytes"},
    )
    return {r[0]: (r[1], r[2], r[3]) for r in result.result_rows}


def verify(client: Client, battery_id: str | None = None) -> VerifyReport:
    """Check one battery's chain (and the events in it) or, with no id, every chain."""
    if battery_id is None:
        sealed_where, params = "", {}
        events = _events(client, "", {})
    else:
        sealed_where = "WHERE entity_type = {t:String} AND entity_id = {i:String}"
        params = {"t": BATTERY, "i": battery_id}
        events = _events(client, "WHERE has(entities, {e:String})", {"e": entity_key(BATTERY, battery_id)})
    rows = client.query(
        "SELECT entity_type, entity_id, seq, event_id, event_hash, prev_hash, chain_hash "
        f"FROM battrace.sealed FINAL {sealed_where} ORDER BY entity_type, entity_id, seq",
        parameters=params,
    ).result_rows
    report = VerifyReport()
    chains: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        chains[entity_key(row[0], row[1])].append(row)
    if battery_id is not None and not chains and not events:
        report.fail(entity_key(BATTERY, battery_id), None, "no sealed records for this battery")
        return report
    sealed_pairs: set[tuple[str, str]] = set()
    for entity, chain in chains.items():
        report.checked += 1
        _verify_chain(entity, chain, events, report)
        sealed_pairs.update((entity, r[3]) for r in chain)
    for event_id, (_, _, entities) in events.items():
        for entity in entities:
            if battery_id is not None and split_key(entity) != (BATTERY, battery_id):
                continue
            if (entity, event_id) not in sealed_pairs:
                report.fail(entity, None, f"event {event_id} names this entity but no sealed row holds it")
    return report


def _verify_chain(entity: str, chain: list[tuple], events: dict, report: VerifyReport) -> None:
    prev = GENESIS
    for expected_seq, (_, _, seq, event_id, ev_hash, prev_hash, chain_hash) in enumerate(chain, start=1):
        if seq != expected_seq:
            report.fail(entity, seq, f"sequence gap: expected {expected_seq}, found {seq}")
            return
        if prev_hash != prev.hex():
            report.fail(entity, seq, "prev_hash does not match the previous chain_hash")
            return
        try:
            recomputed = chain_step(prev, bytes.fromhex(ev_hash), seq)
        except ValueError:
            report.fail(entity, seq, "event_hash is not a 32-byte hex digest")
            return
        if recomputed.hex() != chain_hash:
            report.fail(entity, seq, "chain_hash does not recompute")
            return
        event = events.get(event_id)
        if event is None:
            report.fail(entity, seq, f"event {event_id} is not among the accepted events")
        elif event[0] != ev_hash or hashlib.sha256(event[1]).hexdigest() != ev_hash:
            report.fail(entity, seq, f"event {event_id}: stored bytes do not hash to event_hash")
        prev = recomputed
