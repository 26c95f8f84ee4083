"""A pack's end of life in the footprints: complete for the pack, shared with its modules and cells by mass."""

from __future__ import annotations

import pytest

from battrace.compliance.footprints import BatteryInfo, Consignment, end_of_life_parts, footprint_rows

# Pack P1 (300 kg) = module M1 (100 kg) = cells C1, C2 (40 kg each); C3 (no mass) is in M1 too.
BATTERIES = {
    "P1": BatteryInfo("P1", "PACK-A", "PLANT", "pack", 2.0, 300.0, "M1"),
    "M1": BatteryInfo("M1", "MOD-A", "PLANT", "module", 2.0, 100.0),
    "C1": BatteryInfo("C1", "CELL-A", "PLANT", "cell", 1.0, 40.0),
    "C2": BatteryInfo("C2", "CELL-A", "PLANT", "cell", 1.0, 40.0),
    "C3": BatteryInfo("C3", "CELL-A", "PLANT", "cell", 1.0, None),
}
CHILDREN = {"P1": ["M1"], "M1": ["C1", "C2", "C3"]}


def line(stage: str, source: str, kg: float) -> dict:
    return {"stage": stage, "source": source, "kg_co2e": kg, "factor_id": f"f.{source}", "factor_version": "1"}


# collection 300 x 0.0126 = 3.78, dismantling 300 x 0.116 = 34.8, recycling 120 kg black mass x 1.16 = 139.2
END = [line("end_of_life", "collection", 3.78), line("end_of_life", "dismantling", 34.8)]
RECYCLING = line("end_of_life", "recycling", 139.2)
MADE = {c: [line("raw_material", "refining", 10.0), line("production", "energy", 5.0)] for c in ("C1", "C2", "C3")}
TRUCK = Consignment("CONS-1", 30.0, "defra.hgv.average", "2024", ("P1",))


def rows(ledger: dict) -> dict[str, dict]:
    return {r["battery_id"]: r for r in footprint_rows(BATTERIES, ledger, [TRUCK], CHILDREN)}


def test_a_recycled_pack_is_complete_and_its_parts_take_their_share_by_mass() -> None:
    """177.78 kg over 300 kg: M1 (100 kg) 59.26 kg, each 40 kg cell 23.704 kg; C3 has no mass and says so."""
    got = rows({**MADE, "P1": [*END, RECYCLING]})
    assert got["P1"]["end_of_life_kg"] == pytest.approx(177.78) and got["P1"]["complete"]
    assert got["M1"]["end_of_life_kg"] == pytest.approx(177.78 / 3)
    assert got["C1"]["end_of_life_kg"] == pytest.approx(177.78 * 40 / 300) and got["C1"]["complete"]
    assert got["C3"]["end_of_life_kg"] is None and not got["C3"]["complete"]
    assert "end_of_life: no mass to take its part of P1" in got["C3"]["assumptions"]
    parts, _ = end_of_life_parts({"P1": [*END, RECYCLING]}, BATTERIES, CHILDREN)
    assert set(parts) == {"M1", "C1", "C2"}  # the pack's own lines are not shared with itself


def test_a_pack_not_yet_recycled_leaves_the_stage_missing_for_all() -> None:
    got = rows({**MADE, "P1": END})
    for b in ("P1", "M1", "C1"):
        assert got[b]["end_of_life_kg"] is None and not got[b]["complete"]
        assert got[b]["missing_reasons"] == ["end_of_life: no recycling line yet (has collection, dismantling)"]
