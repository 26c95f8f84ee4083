"""A multimodal consignment's legs and hubs, allocated to the packs it carried by mass (ISO 14083)."""

from __future__ import annotations

import pytest

from battrace.compliance.footprints import BatteryInfo, Consignment, distribution_lines, footprint_rows
from battrace.domain.transport import transport_chain

# 2 t gross: road 600 km, sea 19,000 km, rail 700 km; packs A 600 kg and B 400 kg (the rest is crates and pallets).
LEGS = [["ROAD", "PORT-P", "GF-P"], ["SEA", "PORT-Q", "GF-Q"], ["RAIL", "VEH", None]]
KM = [600.0, 19_000.0, 700.0]
BATTERIES = {
    "A": BatteryInfo("A", "PACK-A", "PLANT", "pack", 60.0, 600.0, "M1"),
    "B": BatteryInfo("B", "PACK-A", "PLANT", "pack", 40.0, 400.0, "M1"),
}


def _consignments() -> list[Consignment]:
    """The consignment's ledger lines as battrace/compliance/footprints.py loads them: summed per factor."""
    per_factor: dict[tuple[str, str], float] = {}
    for e in transport_chain(2000.0, LEGS, KM):
        key = (e.factor.id, e.factor.version)
        per_factor[key] = per_factor.get(key, 0.0) + e.kg_co2e
    return [Consignment("CONS-1", kg, fid, version, ("A", "B")) for (fid, version), kg in sorted(per_factor.items())]


def test_legs_and_hubs_are_split_by_mass() -> None:
    """road 2 x 600 x 0.126 = 151.2; sea 2 x 19,000 x 0.0154 = 585.2; rail 2 x 700 x 0.0316 = 44.24;
    two maritime terminals 2 x 2 x 2.0 = 8.0 -> 788.64 kg; A (600 of 1,000 kg) 473.184, B 315.456."""
    consignments = _consignments()
    assert sum(c.kg_co2e for c in consignments) == pytest.approx(788.64)
    assert {c.factor_id for c in consignments} == {
        "defra.hgv.average",
        "defra.container.3000teu",
        "defra.rail.freight",
        "battrace.hub.maritime_container_terminal",
    }
    lines, notes = distribution_lines(consignments, BATTERIES, {})
    kg = {b: sum(x["kg_co2e"] for x in ls) for b, ls in lines.items()}
    assert kg == pytest.approx({"A": 473.184, "B": 315.456}) and notes == {}
    row = {r["battery_id"]: r for r in footprint_rows(BATTERIES, {}, consignments, {})}["A"]
    assert row["distribution_kg"] == pytest.approx(473.184)
    assert "battrace.hub.maritime_container_terminal@1" in row["factor_ids"]
    assert row["missing_stages"] == ["raw_material", "production", "end_of_life"]
    assert row["missing_reasons"] == [
        "raw_material: no ledger line",
        "production: no ledger line",
        "end_of_life: no ledger line",
    ]
