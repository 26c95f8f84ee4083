"""Footprint rows: pack roll-up of component lines, transport allocated by mass, E_total per kWh."""

from __future__ import annotations

import pytest

from battrace.compliance.footprints import BatteryInfo, Consignment, distribution_lines, footprint_rows

# Pack P1 (300 kg, 2 kWh, installed in an N1 van) = module M1 (100 kg) = cells C1, C2 (40 kg, 1 kWh each).
# Pack P2 (200 kg, 1 kWh) has never been installed.
BATTERIES = {
    "P1": BatteryInfo("P1", "PACK-A", "PLANT", "pack", 2.0, 300.0, "N1"),
    "M1": BatteryInfo("M1", "MOD-A", "PLANT", "module", 2.0, 100.0),
    "C1": BatteryInfo("C1", "CELL-A", "PLANT", "cell", 1.0, 40.0),
    "C2": BatteryInfo("C2", "CELL-A", "PLANT", "cell", 1.0, 40.0),
    "P2": BatteryInfo("P2", "PACK-A", "PLANT", "pack", 1.0, 200.0),
}
CHILDREN = {"P1": ["M1"], "M1": ["C1", "C2"]}


def line(stage: str, kg: float, factor: str) -> dict:
    return {"stage": stage, "kg_co2e": kg, "factor_id": factor, "factor_version": "v"}


LEDGER = {
    "C1": [line("raw_material", 10.0, "assay:L1"), line("production", 5.0, "grid:S")],
    "C2": [line("raw_material", 12.0, "assay:L2"), line("production", 6.0, "grid:S")],
    "M1": [line("production", 1.0, "grid:S")],
    "P1": [line("production", 2.0, "grid:S")],
}
TRUCK = Consignment("CONS-1", 10.0, "defra.hgv.average", "2024", ("P1", "P2"))


def rows(**kw) -> dict[str, dict]:
    return {r["battery_id"]: r for r in footprint_rows(BATTERIES, LEDGER, [TRUCK], CHILDREN, **kw)}


def test_transport_is_split_by_mass_and_components_take_their_part_of_the_pack() -> None:
    lines, notes = distribution_lines([TRUCK], BATTERIES, CHILDREN)
    kg = {b: sum(x["kg_co2e"] for x in ls) for b, ls in lines.items()}
    # 10 kg over 300 + 200 kg: P1 6, P2 4; M1 = 6 x 100/300, each cell 6 x 40/300
    assert kg == pytest.approx({"P1": 6.0, "P2": 4.0, "M1": 2.0, "C1": 0.8, "C2": 0.8})
    assert notes == {}


def test_missing_mass_falls_back_to_equal_shares_and_says_so() -> None:
    batteries = {**BATTERIES, "P2": BatteryInfo("P2", energy_kwh=1.0)}
    lines, notes = distribution_lines([TRUCK], batteries, CHILDREN)
    assert lines["P1"][0]["kg_co2e"] == lines["P2"][0]["kg_co2e"] == 5.0
    assert notes["P1"] == ["distribution: CONS-1 split in equal shares (no mass for P2)"]


def test_a_pack_rolls_up_its_modules_and_cells_lines() -> None:
    p1 = rows()["P1"]
    assert (p1["raw_material_kg"], p1["production_kg"]) == pytest.approx((22.0, 14.0))
    assert p1["distribution_kg"] == pytest.approx(6.0)
    assert p1["end_of_life_kg"] is None and p1["missing_stages"] == ["end_of_life"] and not p1["complete"]
    assert p1["factor_ids"] == ["assay:L1@v", "assay:L2@v", "defra.hgv.average@2024", "grid:S@v"]


def test_e_total_and_kg_per_kwh() -> None:
    p1, c1 = rows()["P1"], rows()["C1"]
    # N1: 60 cycles/year; 2 kWh x 60 x 8 years = 960 kWh; (22 + 14 + 6) kg / 960 kWh
    assert (p1["vehicle_category"], p1["cycles_per_year"], p1["e_total_kwh"]) == ("N1", 60.0, 960.0)
    assert p1["total_per_kwh"] == pytest.approx(42.0 / 960.0)
    assert p1["distribution_per_kwh"] == pytest.approx(6.0 / 960.0)
    # a cell takes its pack's category: 1 kWh x 60 x 8 = 480 kWh; (10 + 5 + 0.8) kg
    assert (c1["vehicle_category"], c1["e_total_kwh"]) == ("N1", 480.0)
    assert c1["total_per_kwh"] == pytest.approx(15.8 / 480.0)


def test_unknown_category_assumes_m1_and_service_years_and_overrides_apply() -> None:
    p2 = rows(service_years=10.0)["P2"]
    assert (p2["vehicle_category"], p2["e_total_kwh"]) == ("M1", 1.0 * 60 * 10)
    assert p2["assumptions"][0].startswith("vehicle category unknown")
    assert "service life 10 years (BATTRACE_SERVICE_YEARS)" in p2["assumptions"]
    assert p2["raw_material_kg"] is None and p2["missing_stages"] == ["raw_material", "production", "end_of_life"]
    assert rows(cycles_overrides={"N1": 100.0})["P1"]["e_total_kwh"] == 2.0 * 100 * 8


def test_batteries_without_energy_get_no_row() -> None:
    batteries = {**BATTERIES, "X": BatteryInfo("X")}
    assert "X" not in {r["battery_id"] for r in footprint_rows(batteries, LEDGER, [], CHILDREN)}
