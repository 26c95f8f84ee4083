"""A delivered consignment built by hand, as the co-signer sees it: real Avro events sealed into chains of one signed
log, the drafted report (with its seal of the delivery) signed by the manufacturer's QA, and the registry records of
its transporter and receiver as ``party:<id>`` bundles. Each piece can be rebuilt with one thing broken."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from battrace.compliance.issue import drafted_step
from battrace.domain.chain import GENESIS, chain_step
from battrace.domain.sources import LICENSED_ENTITY, LOGISTICS_EVENT, REPORT_EVENT
from battrace.report.model import CustodyParty, Inclusion, Missing, SealReference, TraceabilityReport, rfc3339_ms
from battrace.store.heads import Heads
from battrace.tlog import Checkpoint, CompactTree, Signer, generate_signer, inclusion_proof, leaf_hash, sign_checkpoint
from battrace.verify.bundle import FORMAT
from schemas.codec import canonical_bytes
from schemas.log_entries import sealed_entry

LOG = "cosign.example/log/0"
DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01
SHIPMENT = "SHIP-1"
TRANSPORTER, RECEIVER = "T-1", "R-1"


@dataclass
class Log:
    """One Merkle log; records of several chains go into it in order."""

    signer: Signer
    entries: list[bytes] = field(default_factory=list)
    heads: dict[str, bytes] = field(default_factory=dict)  # entity key -> chain head
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def seal(self, entity_type: str, entity_id: str, schema: str, record: dict[str, Any]) -> dict[str, Any]:
        key = f"{entity_type}:{entity_id}"
        canonical = canonical_bytes(schema, record)
        ev_hash = hashlib.sha256(canonical).digest()
        chain = self.records.setdefault(key, [])
        prev = self.heads.get(key, GENESIS)
        head = chain_step(prev, ev_hash, len(chain) + 1)
        row = {
            "entity_type": entity_type,
            "entity_id": entity_id,
            "seq": len(chain) + 1,
            "event_id": record["event_id"],
            "event_hash": ev_hash.hex(),
            "prev_hash": prev.hex(),
            "chain_hash": head.hex(),
            "log_id": LOG,
            "log_index": len(self.entries),
            "sealed_at_ms": record["event_time"],
            "event": {
                "kind": "",
                "event_time_ms": record["event_time"],
                "canonical": base64.b64encode(canonical).decode(),
            },
        }
        self.entries.append(sealed_entry(row))
        self.heads[key] = head
        chain.append(row)
        return row

    def _heads(self) -> Heads:
        heads = Heads(keep_values=True)
        for entry in self.entries:
            heads.observe_entry(entry)
        heads.commit()
        return heads

    def checkpoint(self) -> tuple[int, str]:
        """The log's checkpoint now, committing to its heads as the worker's do."""
        tree = CompactTree()
        tree.extend([leaf_hash(e) for e in self.entries])
        line = self._heads().line()
        return tree.size, sign_checkpoint(Checkpoint(LOG, tree.size, tree.root(), (line,)), self.signer)

    def inclusion(self, row: dict[str, Any], size: int) -> Inclusion:
        proof = inclusion_proof([leaf_hash(e) for e in self.entries[:size]], row["log_index"])
        entry = self.entries[row["log_index"]].decode()
        return Inclusion(
            f"{row['entity_type']}:{row['entity_id']}",
            LOG,
            row["log_index"],
            size,
            entry,
            tuple(h.hex() for h in proof),
        )

    def bundle(self, entity_type: str, entity_id: str) -> dict[str, Any]:
        _, note = self.checkpoint()
        leaves = [leaf_hash(e) for e in self.entries]
        records = [
            {**r, "inclusion_proof": [h.hex() for h in inclusion_proof(leaves, r["log_index"])]}
            for r in self.records[f"{entity_type}:{entity_id}"]
        ]
        return {
            "format": FORMAT,
            "subject": {"type": entity_type, "id": entity_id},
            "records": records,
            "checkpoints": {LOG: note},
            "head": {"log_id": LOG, **(self._heads().proof(f"{entity_type}:{entity_id}") or {})},
            "verifier_keys": [self.signer.verifier_key()],
        }


def licence(party: str, role: str, number: str, valid_from: int, valid_to: int, at: int, revoked: bool = False) -> dict:
    return {
        "event_id": f"lic-{party}-{at}-{revoked}",
        "event_time": at,
        "entity_id": party,
        "name": f"{party} Ltd",
        "role": role,
        "licence_number": number,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "region": "CN-GD",
        "revoked": revoked,
    }


def logistics(event_id: str, at: int, body: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"event_id": event_id, "event_time": at, "tz_offset": "+00:00", "consignment_id": SHIPMENT, "body": body}


@dataclass
class World:
    log_signer: Signer
    qa: Signer
    document: dict[str, Any]
    consignment: dict[str, Any]
    parties: dict[str, dict[str, Any] | None]


def world(
    *,
    transporter_valid_to: int = T0 + 365 * DAY,
    register_transporter: bool = True,
    qa: Signer | None = None,
    redraft: bool = False,
    seal_signer: Signer | None = None,
) -> World:
    """The consignment SHIP-1: created at T0+10d with transporter T-1, delivered at T0+12d to R-1, report drafted.

    ``transporter_valid_to`` ends T-1's licence (before T0+10d: expired at custody); ``register_transporter`` False
    leaves T-1 off the registry; ``qa`` signs the draft (default: the world's own QA key); ``redraft`` seals a newer
    draft after this one, so this one is no longer the consignment's current draft; ``seal_signer`` signs the
    checkpoint the report's seal (field 12) holds, instead of the log's key."""
    log = Log(generate_signer("cosign.example/log"))
    own_qa = generate_signer("cosign.example/qa")
    created, delivered = T0 + 10 * DAY, T0 + 12 * DAY
    if register_transporter:
        log.seal(
            "party",
            TRANSPORTER,
            LICENSED_ENTITY,
            licence(TRANSPORTER, "TRANSPORTER", "L-T1", T0, transporter_valid_to, T0),
        )
    log.seal("party", RECEIVER, LICENSED_ENTITY, licence(RECEIVER, "MANUFACTURER", "L-R1", T0, T0 + 365 * DAY, T0))
    body = (
        "battrace.logistics.ConsignmentCreated",
        {
            "battery_ids": [],
            "lot_ids": ["LOT-1"],
            "gross_mass_kg": 100.0,
            "mode": "ROAD",
            "transporter_id": TRANSPORTER,
            "transporter_licence": "L-T1",
            "origin_site": "S1",
            "destination_site": "S2",
        },
    )
    log.seal("shipment", SHIPMENT, LOGISTICS_EVENT, logistics("ev-created", created, body))
    delivered_body = (
        "battrace.logistics.Delivered",
        {"site_id": "S2", "receiver_id": RECEIVER, "lat": 1.0, "lon": 2.0},
    )
    delivery = log.seal("shipment", SHIPMENT, LOGISTICS_EVENT, logistics("ev-delivered", delivered, delivered_body))
    size, note = Log(seal_signer or log.signer, log.entries).checkpoint()
    seal = SealReference((note,), (log.inclusion(delivery, size),))
    report = _report(seal, delivered)
    step = drafted_step(report, qa or own_qa, delivered + 1000)
    log.seal("shipment", SHIPMENT, REPORT_EVENT, step)
    if redraft:
        newer = drafted_step(_report(seal, delivered, "LOT-2"), own_qa, delivered + 2000)
        log.seal("shipment", SHIPMENT, REPORT_EVENT, newer)
    parties = {p: (log.bundle("party", p) if f"party:{p}" in log.records else None) for p in (TRANSPORTER, RECEIVER)}
    return World(log.signer, own_qa, json.loads(step["document"]), log.bundle("shipment", SHIPMENT), parties)


def _report(seal: SealReference, delivered: int, lot: str = "LOT-1") -> TraceabilityReport:
    gap = Missing("not part of this test")
    return TraceabilityReport(
        shipment_id=SHIPMENT,
        delivered_at=rfc3339_ms(delivered),
        battery_ids=(),
        lot_ids=(lot,),
        cathode_material_origin=gap,
        refining_carbon_intensity=gap,
        recycled_cobalt=gap,
        smelter_ids=gap,
        mine_licences=gap,
        transport_emissions=gap,
        verification_timestamps=gap,
        recycled_nickel=gap,
        recycled_lithium=gap,
        elemental_composition=gap,
        chain_of_custody=(
            CustodyParty("transporter", TRANSPORTER, "L-T1", True),
            CustodyParty("receiver", RECEIVER, "L-R1", True),
        ),
        seal=seal,
    )
