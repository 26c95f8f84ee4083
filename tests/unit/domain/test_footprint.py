"""EU battery carbon footprint: functional unit, per-stage intensities and mass allocation, by hand."""

from __future__ import annotations

import math

import pytest

from battrace.domain.footprint import STAGES, Footprint, allocate_by_mass, cycles_for, functional_unit_kwh


def _line(stage: str, kg: float, factor: str = "f", version: str = "1", source: str = "") -> dict[str, object]:
    return {"stage": stage, "source": source, "kg_co2e": kg, "factor_id": factor, "factor_version": version}


def _end_of_life(*processes: str) -> list[dict[str, object]]:
    """Collection 24 kg, dismantling 40 kg, recycling 80 kg (144 kg for the three)."""
    kg = {"collection": 24.0, "dismantling": 40.0, "recycling": 80.0}
    return [_line("end_of_life", kg[p], f"eol.{p}", "1", p) for p in processes]


def test_functional_unit() -> None:
    """75 kWh x 60 cycles/year x 8 years = 36,000 kWh; 20 kWh x 250 x 10 = 50,000 kWh."""
    assert functional_unit_kwh(75, 60, 8) == 36_000
    assert functional_unit_kwh(20, 250, 10) == 50_000
    for bad in ((0, 60, 8), (75, -1, 8), (75, 60, math.nan), (75, 60, True)):
        with pytest.raises(ValueError):
            functional_unit_kwh(*bad)


def test_cycles_from_table_with_overrides() -> None:
    assert cycles_for("M1") == 60 and cycles_for("L") == 20 and cycles_for("N3") == 250
    assert cycles_for("M1", overrides={"M1": 80}) == 80
    assert cycles_for("N1", overrides={"M1": 80}) == 60  # overrides only the category named
    with pytest.raises(LookupError):
        cycles_for("X9")
    with pytest.raises(ValueError):
        cycles_for("M1", overrides={"M1": 0})


def test_footprint_per_stage_and_total() -> None:
    """A 75 kWh M1 pack, 8-year warranty: E_total = 75 x 60 x 8 = 36,000 kWh.

    raw_material: 2,700 + 900 = 3,600 kg -> 3,600 / 36,000 = 0.1 kg/kWh
    production:   3,000 kWh x 0.6 kg/kWh = 1,800 kg -> 0.05 kg/kWh
    distribution: 36 kg -> 0.001 kg/kWh
    end_of_life:  24 + 40 + 80 = 144 kg (collection, dismantling, recycling) -> 0.004 kg/kWh
    total: 5,580 kg -> 0.155 kg CO2e/kWh
    """
    lines = [
        _line("raw_material", 2700, "assay:L1:e1", "supplier"),
        _line("raw_material", 900, "assay:L2:e2", "supplier"),
        _line("production", 3000 * 0.6, "grid:S1:0.6", "supplier"),
        _line("distribution", 36, "defra.hgv.average", "2024"),
        *_end_of_life("collection", "dismantling", "recycling"),
    ]
    fp = Footprint.from_ledger("B1", lines, functional_unit_kwh(75, cycles_for("M1"), 8))
    assert fp.e_total_kwh == 36_000
    assert fp.complete and fp.missing_stages == ()
    assert fp.stage_kg == {"raw_material": 3600, "production": 1800, "distribution": 36, "end_of_life": 144}
    assert fp.per_kwh == pytest.approx(
        {"raw_material": 0.1, "production": 0.05, "distribution": 0.001, "end_of_life": 0.004}
    )
    assert fp.total_kg == pytest.approx(5580) and fp.total_per_kwh == pytest.approx(0.155)
    assert ("defra.hgv.average", "2024") in fp.factors_used and len(fp.factors_used) == 7
    assert tuple(fp.per_kwh) == STAGES


def test_a_stage_without_data_is_missing_not_zero() -> None:
    """No end-of-life line: reported missing; total covers the other stages (3,600 + 1,800 + 36 = 5,436 kg)."""
    lines = [_line("raw_material", 3600), _line("production", 1800), _line("distribution", 36)]
    fp = Footprint.from_ledger("B1", lines, 36_000)
    assert not fp.complete and fp.missing_stages == ("end_of_life",)
    assert fp.per_kwh["end_of_life"] is None
    assert fp.total_kg == pytest.approx(5436) and fp.total_per_kwh == pytest.approx(0.151)
    with pytest.raises(ValueError, match="unknown stage"):
        Footprint.from_ledger("B1", [_line("use", 1)], 36_000)


def test_an_end_of_life_without_recycling_is_missing_with_its_reason() -> None:
    """Collected and dismantled (24 + 40 kg) but not recycled: the stage is None, not 64 kg passing for the whole,
    and its lines' factors are not among those used; with the recycling line it is 144 kg and complete."""
    others = [_line("raw_material", 3600), _line("production", 1800), _line("distribution", 36)]
    fp = Footprint.from_ledger("B1", [*others, *_end_of_life("collection", "dismantling")], 36_000)
    assert fp.stage_kg["end_of_life"] is None and not fp.complete and fp.missing_stages == ("end_of_life",)
    assert fp.missing_reasons == ("end_of_life: no recycling line yet (has collection, dismantling)",)
    assert not any(f.startswith("eol.") for f, _ in fp.factors_used)
    assert fp.total_kg == pytest.approx(5436)
    whole = Footprint.from_ledger("B1", [*others, *_end_of_life("recycling", "collection", "dismantling")], 36_000)
    assert whole.complete and whole.stage_kg["end_of_life"] == pytest.approx(144) and whole.missing_reasons == ()
    bare = Footprint.from_ledger("B1", others, 36_000)
    assert bare.missing_reasons == ("end_of_life: no ledger line",)


def test_allocate_by_mass() -> None:
    """10 t x 100 km x 126 g/t.km = 126 kg over packs of 300, 500, 200 kg (1,000 kg):
    A 126 x 0.3 = 37.8, B 126 x 0.5 = 63.0, C 126 x 0.2 = 25.2.
    """
    split = allocate_by_mass(126.0, {"A": 300, "B": 500, "C": 200})
    assert split == pytest.approx({"A": 37.8, "B": 63.0, "C": 25.2})
    assert not split.equal_shares and split.missing == ()
    assert sum(split.values()) == pytest.approx(126.0)


def test_allocation_falls_back_to_equal_shares_and_says_so() -> None:
    """B's mass unknown: 126 / 3 = 42 kg each, flagged; an id absent from the masses counts as unknown."""
    split = allocate_by_mass(126.0, {"A": 300, "B": None, "C": 200})
    assert split == pytest.approx({"A": 42.0, "B": 42.0, "C": 42.0})
    assert split.equal_shares and split.missing == ("B",)
    split = allocate_by_mass(126.0, {"A": 300, "C": 200}, ids=["A", "C", "D"])
    assert split.equal_shares and split.missing == ("D",) and split["D"] == pytest.approx(42.0)
    with pytest.raises(ValueError):
        allocate_by_mass(126.0, {"A": -1.0})
    with pytest.raises(ValueError):
        allocate_by_mass(126.0, {})
