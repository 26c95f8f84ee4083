"""Everything the traceability report of one delivered consignment needs, as of its delivery.

Facts are read from the sealed store and limited to what was recorded up to the Delivered event's time,
so the report says what was known at delivery (not at order or dispatch, and not what came later). What
is absent is passed as absent (None, empty) and ``build_report`` marks the field missing; nothing is
defaulted here. Only the seal reference looks at the latest checkpoint, as the proof must reach one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.compliance.assays import latest_assays
from battrace.compliance.custody_audit import CheckedStep, check_steps
from battrace.compliance.materials import RECYCLED, LotInBattery, edges, lots_in_batteries
from battrace.compliance.registry import Registry, load_registry
from battrace.compliance.seal import seal_reference
from battrace.compliance.steps import load_steps
from battrace.compliance.tables import IN_CHAINS_OF, rows
from battrace.domain.entities import BATTERY, LOT, SHIPMENT, entity_key
from battrace.domain.factors import UnknownFactorError, shipped_table
from battrace.domain.transport import ChainElement
from battrace.report.build import LotFacts, ShipmentFacts, build_report, transport_emissions
from battrace.report.model import CustodyParty, TraceabilityReport, TransportEmissions, VerificationEvent, rfc3339_ms

_ROLE = {"ConsignmentCreated": "transporter", "Delivered": "receiver"}


class NotDelivered(LookupError):
    """The consignment has no Delivered event: a report is made at delivery only."""


def _delivery(client: Client, shipment_id: str) -> dict[str, Any]:
    found = rows(
        client,
        "SELECT event_id, toUnixTimestamp64Milli(event_time) AS at_ms FROM battrace.event_store "
        f"WHERE {IN_CHAINS_OF} AND shipment_id = {{s:String}} AND kind = 'Delivered' "
        "ORDER BY event_time, event_id LIMIT 1",
        chain_type=SHIPMENT,
        chain_ids=[shipment_id],
        s=shipment_id,
    )
    if not found:
        raise NotDelivered(f"consignment {shipment_id!r} has no Delivered event")
    return found[0]


def _shipment(client: Client, shipment_id: str) -> dict[str, Any]:
    found = rows(client, "SELECT * FROM battrace.shipments FINAL WHERE shipment_id = {s:String}", s=shipment_id)
    return found[0] if found else {}


def _masses(client: Client, table: str, key: str, ids: Sequence[str]) -> dict[str, float | None]:
    found = rows(
        client,
        f"SELECT {key} AS id, mass_kg FROM battrace.{table} FINAL WHERE has({{ids:Array(String)}}, {key})",
        ids=list(ids),
    )
    return {r["id"]: (float(r["mass_kg"]) if r["mass_kg"] else None) for r in found}


def _transport(
    client: Client,
    ship: Mapping[str, Any],
    delivery_event_id: str,
    items: Sequence[str],
    masses: Mapping[str, float | None],
) -> TransportEmissions | None:
    """The consignment's legs and hubs as its ledger lines recorded them at delivery, split over what it carried by
    mass; None without a track or a chain. The ledger is the one source: the report and the footprints agree."""
    if not items or ship.get("positions", 0) < 2 or not ship.get("distance_km"):
        return None
    chain = _chain(client, ship["shipment_id"], delivery_event_id, ship.get("gross_mass_kg") or 0.0)
    return transport_emissions(chain, masses, items) if chain else None


def _chain(client: Client, shipment_id: str, delivery_event_id: str, gross_mass_kg: float) -> list[ChainElement]:
    """The transport chain from the shipment's distribution ledger lines (battrace/domain/correlate.py writes them
    at delivery, line ids ending ``:leg<n>`` or ``:hub<n>``)."""
    found = rows(
        client,
        "SELECT line_id, quantity, unit, kg_co2e, factor_id, factor_version FROM battrace.carbon FINAL "
        "WHERE entity_type = {t:String} AND entity_id = {s:String} AND stage = 'distribution' "
        "AND event_id = {e:String}",
        t=SHIPMENT,
        s=shipment_id,
        e=delivery_event_id,
    )
    table, tonnes = shipped_table(), gross_mass_kg / 1000.0
    chain = []
    for r in found:
        element = r["line_id"].rsplit(":", 1)[-1]
        kind, index = element.rstrip("0123456789"), element[len(element.rstrip("0123456789")) :]
        if kind not in ("leg", "hub") or not index:
            continue
        try:
            factor = replace(table.lookup(r["factor_id"]), version=r["factor_version"])
        except UnknownFactorError:
            return []  # a factor this build does not know: the field is missing rather than half a chain
        km = float(r["quantity"]) / tonnes if kind == "leg" and tonnes else 0.0
        chain.append(
            ChainElement(kind, int(index), factor.key, float(r["quantity"]), r["unit"], float(r["kg_co2e"]), factor, km)
        )
    return sorted(chain, key=lambda e: (e.index, e.kind != "leg"))


def lot_facts(lot_id: str, consumed_kg: float | None, assay: Mapping[str, Any] | None, recovered: bool) -> LotFacts:
    """LotFacts from the lot's assay record (None = not assayed by then: every assayed field stays absent)."""
    if assay is None:
        return LotFacts(lot_id, consumed_kg=consumed_kg, recovered=recovered)
    return LotFacts(
        lot_id=lot_id,
        consumed_kg=consumed_kg,
        product=assay.get("product") or None,
        origin_country=assay.get("origin_country") or None,
        smelter_id=assay.get("smelter_id") or None,
        mine_licences=tuple(assay.get("mine_licences") or ()),
        refining_kgco2e_per_kg=assay.get("refining_kgco2e_per_kg"),
        refining_factor_id=f"assay:{lot_id}:{assay['event_id']}",
        fractions={f["element"]: f["fraction"] for f in assay.get("fractions") or ()},
        lab_id=assay.get("lab_id") or None,
        accreditation=assay.get("accreditation") or None,
        certificate_ref=assay.get("certificate_ref") or None,
        assayed_at_ms=assay.get("sampled_at") or assay["at_ms"],
        recycled_pre_consumer=assay.get("recycled_pre_consumer") or 0.0,
        recycled_post_consumer=assay.get("recycled_post_consumer") or 0.0,
        recovered=recovered,
    )


def _custody(checked: Sequence[CheckedStep], shipment_id: str) -> tuple[CustodyParty, ...]:
    """Transporters and receivers: this consignment's first, then those of earlier consignments of the same
    batteries and lots, each with the licence it acted under and whether it was licensed at that step."""
    own = entity_key(SHIPMENT, shipment_id)
    ordered = sorted(
        (c for c in checked if c.step.kind in _ROLE),
        key=lambda c: (own not in c.step.subjects, c.step.at_ms, c.step.event_id),
    )
    parties = (
        CustodyParty(_ROLE[c.step.kind], c.step.party_id, c.licence or "not on the register", c.flag is None)
        for c in ordered
    )
    return tuple(dict.fromkeys(parties))


def _verifications(
    upstream: Sequence[LotInBattery], assays: Mapping[str, Mapping[str, Any]]
) -> tuple[VerificationEvent, ...]:
    """Assays of the inputs of recovered lots (the feedstock's verification; direct lots are added by the report)."""
    out = []
    for lot_id in sorted({u.lot_id for u in upstream}):
        a = assays.get(lot_id)
        if a and a.get("lab_id"):
            at = a.get("sampled_at") or a["at_ms"]
            out.append(VerificationEvent(a["lab_id"], "assay", a.get("certificate_ref") or lot_id, rfc3339_ms(at)))
    return tuple(out)


def shipment_facts(
    client: Client, shipment_id: str, registry: Registry | None = None
) -> tuple[ShipmentFacts, list[LotFacts]]:
    """The delivered consignment's facts and its lots' facts, as recorded up to its delivery.

    Lots are those consumed into the batteries carried (through modules and cells), with the mass that went
    into these batteries; a consignment of lots (recovered material) reports those lots with their mass.
    ``registry`` defaults to the register as published up to the delivery.
    """
    delivery = _delivery(client, shipment_id)
    as_of = delivery["at_ms"]
    ship = _shipment(client, shipment_id)
    battery_ids = tuple(ship.get("battery_ids") or ())
    carried_lots = tuple(ship.get("lot_ids") or ())
    traced = lots_in_batteries(client, battery_ids, as_of) if battery_ids else []
    consumed: dict[str, float | None] = {}
    for t in traced:
        if not t.upstream_of:
            prev = consumed.get(t.lot_id, 0.0)
            consumed[t.lot_id] = None if prev is None or t.consumed_kg is None else prev + t.consumed_kg
    lot_masses = _masses(client, "lots", "lot_id", carried_lots) if carried_lots else {}
    for lot_id in carried_lots:
        consumed.setdefault(lot_id, lot_masses.get(lot_id))
    upstream_rows = [t for t in traced if t.upstream_of]
    lot_ids = sorted(consumed)
    assays = latest_assays(client, [*lot_ids, *(u.lot_id for u in upstream_rows)], as_of)
    recovered = {e.to_id for e in edges(client, RECYCLED, to_ids=lot_ids, as_of_ms=as_of)} if lot_ids else set()
    lots = [lot_facts(i, consumed[i], assays.get(i), i in recovered) for i in lot_ids]

    items = battery_ids or carried_lots
    masses = _masses(client, "batteries", "battery_id", battery_ids) if battery_ids else lot_masses
    keys = {
        entity_key(SHIPMENT, shipment_id),
        *(entity_key(BATTERY, b) for b in battery_ids),
        *(entity_key(LOT, i) for i in [*lot_ids, *(u.lot_id for u in upstream_rows)]),
    }
    registry = registry if registry is not None else load_registry(client, as_of)
    checked = check_steps(load_steps(client, keys, as_of), registry)
    facts = ShipmentFacts(
        shipment_id=shipment_id,
        delivered_at_ms=as_of,
        battery_ids=battery_ids,
        transport=_transport(client, ship, delivery["event_id"], items, masses),
        custody=_custody(checked, shipment_id),
        verifications=_verifications(upstream_rows, assays),
        seal=seal_reference(client, SHIPMENT, shipment_id, delivery["event_id"]),
    )
    return facts, lots


def report_for(client: Client, shipment_id: str) -> TraceabilityReport:
    """The traceability report of a delivered consignment (raises NotDelivered otherwise)."""
    return build_report(*shipment_facts(client, shipment_id))
