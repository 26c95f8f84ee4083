"""The hub and end-of-life rows are battrace's own defaults: marked so, and equal to the derivation each one states."""

from __future__ import annotations

import pytest

from battrace.domain.factors import FactorTable


def test_defaults_say_they_are_defaults_and_keep_their_kinds_scope() -> None:
    table = FactorTable.load()
    for f in table:
        if f.kind in ("hub", "end_of_life"):
            assert f.source.startswith("battrace default assumption"), f.id
    assert table.scopes["hub"] == table.scopes["transport"] == "TTW"  # the distribution stage never mixes scopes
    assert table.hub("maritime_container_terminal").unit == "kg CO2e/t handled"


def test_end_of_life_rows_equal_the_derivation_they_cite() -> None:
    """collection: 100 km x 126 g/t.km = 0.1 t.km/kg x 0.126 kg/t.km = 0.0126 kg/kg;
    dismantling: 0.2 kWh/kg x 0.58 kg/kWh = 0.116; recycling: 2 kWh/kg x 0.58 kg/kWh = 1.16."""
    table = FactorTable.load()
    road, grid = table.transport("ROAD").value, table.grid().value
    collection = table.end_of_life("collection")
    assert collection.value == pytest.approx(100 / 1000 * road / 1000) and "100 km" in collection.source
    assert table.end_of_life("dismantling").value == pytest.approx(0.2 * grid)
    assert table.end_of_life("recycling").value == pytest.approx(2 * grid)
    for process in ("collection", "dismantling", "recycling"):
        assert table.end_of_life(process).unit.startswith("kg CO2e/kg")
