"""Current-state rows of the batteries, lots and shipments tables, derived from entity state."""

from __future__ import annotations

from typing import Any

from battrace.domain.entities import BATTERY, LOT, SHIPMENT


def projection(state: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(table, row) for entity types that have a projection table, else None."""
    t, s = state["type"], state
    common = {"updated_at": s.get("updated_at", 0), "version": s["seq"]}
    if t == BATTERY:
        return "batteries", {
            "battery_id": s["id"],
            "product_type": s.get("product_type", "unknown"),
            "chemistry": s.get("chemistry", ""),
            "model": s.get("model", ""),
            "capacity_ah": s.get("capacity_ah", 0.0),
            "energy_kwh": s.get("energy_kwh", 0.0),
            "mass_kg": s.get("mass_kg", 0.0),
            "certification": s.get("certification_number", ""),
            "site_id": s.get("site_id", ""),
            "phase": s.get("phase") or "unknown",
            "status": s.get("status") or "unknown",
            "parent_id": s.get("parent_id", ""),
            "children": s.get("children", []),
            "lots": s.get("lots", []),
            "vin": s.get("vin", ""),
            "vehicle_category": s.get("vehicle_category", ""),
            "digital_link": s.get("sgtin") or "",
            "last_event": s.get("last_event", ""),
            **common,
        }
    if t == LOT:
        composition = s.get("composition", [])
        return "lots", {
            "lot_id": s["id"],
            "product": s.get("product") or "",
            "mass_kg": s.get("mass_kg", 0.0),
            "elements": [e for e, _ in composition],
            "fractions": [f for _, f in composition],
            "smelter_id": s.get("smelter_id") or "",
            "mine_licences": s.get("mine_licences", []),
            "origin_country": s.get("origin_country", ""),
            "refining_kgco2e_per_kg": s.get("refining_kgco2e_per_kg"),
            "recycled_pre_consumer": s.get("recycled_pre_consumer", 0.0),
            "recycled_post_consumer": s.get("recycled_post_consumer", 0.0),
            "parent_lots": s.get("parent_lots", []),
            "consumed_kg": s.get("consumed_kg", 0.0),
            "assayed": bool(s.get("assayed", False)),
            "lab_id": s.get("lab_id") or "",
            "accreditation": s.get("accreditation") or "",
            "certificate_ref": s.get("certificate_ref") or "",
            "assayed_at": s.get("assayed_at") or 0,
            "recovered": bool(s.get("recovered", False)),
            "yield_fraction": s.get("yield"),
            **common,
        }
    if t == SHIPMENT:
        return "shipments", {
            "shipment_id": s["id"],
            "mode": s.get("mode", ""),
            "gross_mass_kg": s.get("gross_mass_kg", 0.0),
            "battery_ids": s.get("battery_ids", []),
            "lot_ids": s.get("lot_ids", []),
            "transporter_id": s.get("transporter_id", ""),
            "transporter_licence": s.get("transporter_licence", ""),
            "origin_site": s.get("origin_site", ""),
            "destination_site": s.get("destination_site", ""),
            "status": s.get("status", "unknown"),
            "positions": s.get("positions", 0),
            "distance_km": s.get("distance_km", 0.0),
            "transport_kgco2e": s.get("transport_kgco2e", 0.0),
            **common,
        }
    return None
