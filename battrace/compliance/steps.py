"""Custody steps read from the sealed events: who took custody of what, when, under which declared licence.

A step is one (event, party) pair of ``custody.ROLES``: the transporter of a consignment (with the licence
it declared), its receiver, the collector, dismantler and recycler of end-of-life material, the repurposer of a
second-life battery, and the lab of an assay. battrace adds one step of its own: the smelter an assay names
(``Refined``, role SMELTER, at the sampling time), because the customer's sources require smelters to be
licensed too and the assay is the only record of which smelter refined a mined lot.

``subjects`` are the entities a flag is recorded on (the consignment, the battery of a MES battery event,
the output lots of Recycled, the assayed lot); ``holders`` are the entities whose provenance includes the
step (a consignment's step also belongs to every battery and lot it carried; a dismantling belongs to the
black-mass lot it produced).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.compliance.tables import IN_CHAINS_OF, distinct_events, rows
from battrace.domain.custody import ROLES, custody_parties
from battrace.domain.entities import BATTERY, LOT, SHIPMENT, body_of, entity_key

REFINED = "Refined"
"""Step kind of the smelter named by an assay (not an event kind of its own)."""
SMELTER_ROLES = frozenset(["SMELTER"])
KINDS = tuple(sorted({kind for kind, _ in ROLES}))


@dataclass(frozen=True)
class Step:
    event_id: str
    kind: str
    party_id: str
    roles: frozenset[str] | None
    at_ms: int
    licence_number: str | None  # declared with the step (a transporter's licence); None = not declared
    subjects: tuple[str, ...]  # entity keys a flag is recorded on
    holders: tuple[str, ...]  # entity keys whose provenance includes the step


def _keys(entity_type: str, ids: Collection[str]) -> tuple[str, ...]:
    return tuple(entity_key(entity_type, i) for i in dict.fromkeys(ids))


def _places(
    kind: str, record: dict[str, Any], carried: dict[str, tuple[str, ...]]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(subjects, holders) of the event's custody step."""
    b = body_of(record)
    if kind in ("ConsignmentCreated", "Delivered"):
        shipment = entity_key(SHIPMENT, record["consignment_id"])
        return (shipment,), (shipment, *carried.get(record["consignment_id"], ()))
    if kind == "EndOfLifeCollected":
        battery = entity_key(BATTERY, b["battery_id"])
        return (battery,), (battery,)
    if kind == "Dismantled":
        return (entity_key(BATTERY, b["battery_id"]),), (entity_key(LOT, b["output_lot_id"]),)
    if kind == "Repurposed":  # flagged on both codes; the second life holds the step in its provenance
        original, new = entity_key(BATTERY, b["battery_id"]), entity_key(BATTERY, b["new_battery_id"])
        return (original, new), (new,)
    if kind == "Recycled":
        outputs = _keys(LOT, [o["lot_id"] for o in b["outputs"]])
        return outputs, outputs
    if kind == "Assay":
        lot = entity_key(LOT, record["lot_id"])
        return (lot,), (lot,)
    return (), ()


def _consignment_contents(found: list[dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    carried: dict[str, tuple[str, ...]] = {}
    for r in found:
        if r["kind"] == "ConsignmentCreated":
            b = body_of(r["record"])
            carried[r["record"]["consignment_id"]] = (*_keys(BATTERY, b["battery_ids"]), *_keys(LOT, b["lot_ids"]))
    return carried


def steps_of(found: list[dict[str, Any]]) -> list[Step]:
    """Steps from event rows (dicts with event_id, kind, at_ms and the decoded ``record``), in row order."""
    carried = _consignment_contents(found)
    out: list[Step] = []
    for r in found:
        kind, record = r["kind"], r["record"]
        b = body_of(record)
        subjects, holders = _places(kind, record, carried)
        licence = b.get("transporter_licence") if kind == "ConsignmentCreated" else None
        for party, roles in custody_parties(kind, b):
            out.append(Step(r["event_id"], kind, party, roles, r["at_ms"], licence or None, subjects, holders))
        if kind == "Assay" and record.get("smelter_id"):
            at = record.get("sampled_at") or r["at_ms"]
            out.append(Step(r["event_id"], REFINED, record["smelter_id"], SMELTER_ROLES, at, None, subjects, holders))
    return out


def load_steps(client: Client, entities: Collection[str] | None = None, as_of_ms: int | None = None) -> list[Step]:
    """Every custody step (or those concerning ``entities``, keys like ``lot:X``), ordered by event time.

    With ``entities``, the consignments that carried any of them are included with all their steps.
    """
    until = as_of_ms if as_of_ms is not None else 2**62
    select = (
        "SELECT event_id, kind, toUnixTimestamp64Milli(event_time) AS at_ms, payload, shipment_id "
        "FROM battrace.event_store WHERE has({kinds:Array(String)}, kind) AND "
    )
    order = " ORDER BY event_time, event_id"
    if entities is None:
        found = rows(client, select + "at_ms <= {until:Int64}" + order, kinds=list(KINDS), until=until)
    else:
        keys = sorted(set(entities))
        # Not limited in time: a consignment created later adds none of its steps (they are later still).
        found = rows(client, select + "hasAny(entities, {keys:Array(String)})" + order, kinds=list(KINDS), keys=keys)
        shipments = {k.partition(":")[2] for k in keys if k.startswith(f"{SHIPMENT}:")}
        shipments |= {r["shipment_id"] for r in found if r["kind"] == "ConsignmentCreated"}
        if shipments:  # every step of those consignments: their chains hold them (a short primary-key read)
            ships = sorted(shipments)
            found += rows(
                client,
                select + IN_CHAINS_OF + " AND has({ships:Array(String)}, shipment_id)" + order,
                kinds=list(KINDS),
                chain_type=SHIPMENT,
                chain_ids=ships,
                ships=ships,
            )
        found = sorted((r for r in found if r["at_ms"] <= until), key=lambda r: (r["at_ms"], r["event_id"]))
    found = distinct_events(found)
    for r in found:
        r["record"] = json.loads(r.pop("payload"))
    return steps_of(found)
