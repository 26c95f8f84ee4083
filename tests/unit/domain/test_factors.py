"""The emission-factor table: every row cited, scopes never mixed, primary values before secondary ones."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from battrace.domain.factors import COLUMNS, FactorTable, FactorTableError, MixedScopeError, UnknownFactorError

HEADER = ",".join(COLUMNS)


def _csv(tmp_path: Path, *rows: str) -> Path:
    p = tmp_path / "factors.csv"
    p.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return p


def test_shipped_table_cites_every_row() -> None:
    table = FactorTable.load()
    assert len(table) >= 20
    for f in table:
        assert f.source and f.scope and f.unit and f.version
        assert isinstance(f.year, int) and 2000 <= f.year <= 2100
        assert math.isfinite(f.value) and f.value >= 0
    assert table.scopes["transport"] == "TTW"  # one scope for the default transport table


def test_transport_rows_are_the_published_intensities() -> None:
    """The ledger's transport factors, as published by DEFRA 2024, GLEC v3.0 and UBA 2018 (g CO2e/t.km, TTW)."""
    table = FactorTable.load()
    published = {
        "ROAD": ("defra.hgv.average", "2024", 126.0),
        "RAIL": ("defra.rail.freight", "2024", 31.6),
        "SEA": ("defra.container.3000teu", "2024", 15.4),
        "AIR": ("glec.air.freighter.1500km", "3.0", 498.0),
        "INLAND_WATERWAY": ("uba.inland.2018", "2018", 34.0),
    }
    for mode, (factor_id, version, value) in published.items():
        f = table.transport(mode)
        assert (f.id, f.version, f.value, f.scope) == (factor_id, version, value, "TTW")
        assert f.unit == "g CO2e/t.km"
    assert table.transport("SEA_CONTAINER_GT_8000TEU").value == 12.7
    assert table.transport("SEA_BULK_35_60KDWT").value == 5.4


def test_lookup_and_unknown_ids() -> None:
    table = FactorTable.load()
    assert table.lookup("defra.hgv.average").value == 126.0
    with pytest.raises(UnknownFactorError, match="nope"):
        table.lookup("nope")
    with pytest.raises(UnknownFactorError, match=r"known: .*ROAD"):
        table.transport("TELEPORT")
    with pytest.raises(UnknownFactorError):
        table.cycles("X9")


def test_refining_secondary_default_and_supplier_precedence() -> None:
    table = FactorTable.load()
    secondary = table.refining("nickel_class1")
    assert (secondary.value, secondary.unit, secondary.is_supplier) == (13.0, "kg CO2e/kg Ni", False)
    assert table.refining("ferronickel").value == 45.0
    assert table.refining("lithium_carbonate_brine").value < table.refining("lithium_carbonate_spodumene").value
    primary = table.refining("nickel_class1", 7.5, ref="assay:LOT1:ev9")
    assert (primary.id, primary.value, primary.source, primary.version) == (
        "assay:LOT1:ev9",
        7.5,
        "supplier",
        "supplier",
    )
    assert primary.is_supplier and primary.scope == secondary.scope
    # a primary value needs no table row: lot products are free text
    assert table.refining("NCM811 cathode", 0.0).id == "supplier:NCM811 cathode"
    with pytest.raises(UnknownFactorError):
        table.refining("NCM811 cathode")
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError):
            table.refining("cobalt", bad)


def test_cycles_and_grid_defaults() -> None:
    table = FactorTable.load()
    assert {c: table.cycles(c).value for c in ("M1", "N1", "L", "M2", "M3", "N2", "N3")} == {
        "M1": 60,
        "N1": 60,
        "L": 20,
        "M2": 250,
        "M3": 250,
        "N2": 250,
        "N3": 250,
    }
    assert table.grid().unit == "kg CO2e/kWh" and table.grid().value > 0


def test_a_single_scope_table_loads(tmp_path: Path) -> None:
    p = _csv(
        tmp_path,
        "a.road,1,transport,ROAD,100,g CO2e/t.km,WTW,some source,2024",
        "a.rail,1,transport,RAIL,20,g CO2e/t.km,WTW,some source,2024",
        "a.grid,1,grid,default,0.5,kg CO2e/kWh,location-based,some source,2024",
    )
    table = FactorTable.load(p)
    assert table.transport("RAIL").value == 20.0 and table.scopes == {"transport": "WTW", "grid": "location-based"}


def test_mixed_transport_scopes_are_refused(tmp_path: Path) -> None:
    p = _csv(
        tmp_path,
        "a.road,1,transport,ROAD,100,g CO2e/t.km,TTW,some source,2024",
        "a.rail,1,transport,RAIL,25,g CO2e/t.km,WTW,some source,2024",
    )
    with pytest.raises(MixedScopeError, match="transport factors mix scopes 'TTW' and 'WTW'"):
        FactorTable.load(p)


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        (["a,1,transport,ROAD,100,g CO2e/t.km,TTW,,2024"], "every column"),  # no source
        (["a,1,transport,ROAD,100,g CO2e/t.km,TTW,src,"], "every column"),  # no year
        (["a,1,transport,ROAD,100,g CO2e/t.km,,src,2024"], "every column"),  # no scope
        (["a,1,transport,ROAD,-5,g CO2e/t.km,TTW,src,2024"], ">= 0"),
        (["a,1,transport,ROAD,x,g CO2e/t.km,TTW,src,2024"], "could not convert"),
        (["a,1,transport,ROAD,1,u,TTW,s,2024", "a,2,transport,RAIL,1,u,TTW,s,2024"], "duplicate factor id"),
        (["a,1,transport,ROAD,1,u,TTW,s,2024", "b,1,transport,ROAD,1,u,TTW,s,2024"], "two transport factors"),
    ],
)
def test_bad_rows_are_refused(tmp_path: Path, rows: list[str], match: str) -> None:
    with pytest.raises(FactorTableError, match=match):
        FactorTable.load(_csv(tmp_path, *rows))


def test_wrong_header_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_text("id,value\na,1\n", encoding="utf-8")
    with pytest.raises(FactorTableError, match="columns must be"):
        FactorTable.load(p)
