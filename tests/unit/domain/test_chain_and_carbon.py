"""Chain determinism and carbon arithmetic against hand-computed values."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import pytest

from battrace.domain.carbon import refining_kg_co2e, transport_kg_co2e
from battrace.domain.chain import GENESIS, chain_step, event_hash
from battrace.domain.correlate import apply, new_state
from battrace.store.event_rows import edges
from schemas.envelope import ChainItem, Envelope

T = 1_767_225_600_000
CELL = "X12CEPM27KLPCLX2M2382320"


def test_chain_step_is_the_documented_formula() -> None:
    ev = hashlib.sha256(b"event").digest()
    expected = hashlib.sha256(GENESIS + ev + (1).to_bytes(8, "big")).digest()
    assert chain_step(GENESIS, ev, 1) == expected
    assert chain_step(GENESIS, ev, 2) != expected
    with pytest.raises(ValueError):
        chain_step(GENESIS[:31], ev, 1)
    with pytest.raises(ValueError):
        chain_step(GENESIS, ev, 0)


def test_transport_and_refining_arithmetic() -> None:
    # 10 t x 1000 km x 126 g/t.km = 1,260,000 g = 1,260 kg (road, DEFRA HGV average)
    assert transport_kg_co2e(10_000, 1000, "ROAD") == pytest.approx(1260.0)
    # 2 t x 18,000 km x 15.4 g/t.km = 554.4 kg (container ship >= 3000 TEU)
    assert transport_kg_co2e(2_000, 18_000, "SEA") == pytest.approx(554.4)
    assert refining_kg_co2e(0.5, 10.0) == pytest.approx(5.0)


def _item(entity: str, kind: str, body: dict[str, Any], event_id: str, offset: int, entities: list[str]) -> ChainItem:
    schema = "battrace.logistics.LogisticsEvent" if kind in {"ConsignmentCreated", "Position", "Delivered"} else ""
    record: dict[str, Any] = {"event_id": event_id, "event_time": T + offset, "body": [f"x.{kind}", body]}
    if schema:
        record["consignment_id"] = "C1"
    env = Envelope(
        event_id,
        schema or "battrace.mes.MesEvent",
        kind,
        T + offset,
        ("t", 0, offset, T),
        event_hash(event_id.encode()),
        record,
        entities,
    )
    return ChainItem.of(entity, env)


def test_apply_is_deterministic_and_skips_redeliveries() -> None:
    items = [
        _item(
            f"battery:{CELL}",
            "EnergyUsed",
            {"battery_id": CELL, "step": "formation", "energy_kwh": 2.0, "grid_factor_kg_per_kwh": 0.5},
            f"e{i}",
            i,
            [f"battery:{CELL}"],
        )
        for i in range(5)
    ]
    runs = []
    for _ in range(2):
        state = new_state(f"battery:{CELL}")
        runs.append([apply(state, it, "log/0", i, T).sealed for i, it in enumerate(items)])
    assert runs[0] == runs[1]
    assert [r["seq"] for r in runs[0]] == [1, 2, 3, 4, 5]
    assert runs[0][0]["event_hash"] == event_hash(b"e0").hex()
    assert all(b["prev_hash"] == a["chain_hash"] for a, b in zip(runs[0], runs[0][1:], strict=False))
    # the same source offset again (an at-least-once redelivery) changes nothing
    before = dict(state)
    out = apply(state, items[2], "log/0", 99, T)
    assert out.skipped and state == before


COMMISSIONED = {
    "chemistry": "NCM811",
    "model": "M",
    "capacity_ah": 50.0,
    "energy_kwh": 0.2,
    "mass_kg": 0.9,
    "certification_number": "C",
    "sgtin": None,
}


def _commissioned(code: str) -> dict[str, Any]:
    state = new_state(f"battery:{code}")
    body = {"battery_id": code, **COMMISSIONED}
    apply(state, _item(f"battery:{code}", "Commissioned", body, f"c-{code}", 0, [f"battery:{code}"]), "log/0", 0, T)
    return state


def test_energy_line_and_transport_line() -> None:
    state = _commissioned(CELL)
    out = apply(
        state,
        _item(
            f"battery:{CELL}",
            "EnergyUsed",
            {"battery_id": CELL, "step": "coating", "energy_kwh": 4.0, "grid_factor_kg_per_kwh": 0.6},
            "e1",
            1,
            [f"battery:{CELL}"],
        ),
        "log/0",
        0,
        T,
    )
    assert [(c["stage"], c["source"], c["kg_co2e"]) for c in out.carbon] == [
        ("production", "energy", pytest.approx(2.4))
    ]

    ship = new_state("shipment:C1")
    created = {
        "battery_ids": ["A", "B"],
        "lot_ids": [],
        "gross_mass_kg": 2000.0,
        "mode": "ROAD",
        "transporter_id": "T",
        "transporter_licence": "L",
        "origin_site": "O",
        "destination_site": "D",
    }
    apply(ship, _item("shipment:C1", "ConsignmentCreated", created, "c1", 1, ["shipment:C1"]), "log/0", 0, T)
    apply(ship, _item("shipment:C1", "Position", {"lat": 0.0, "lon": 0.0}, "c2", 2, ["shipment:C1"]), "log/0", 1, T)
    apply(ship, _item("shipment:C1", "Position", {"lat": 0.0, "lon": 1.0}, "c3", 3, ["shipment:C1"]), "log/0", 2, T)
    out = apply(
        ship,
        _item(
            "shipment:C1",
            "Delivered",
            {"lat": 0.0, "lon": 2.0, "site_id": "D", "receiver_id": "R"},
            "c4",
            4,
            ["shipment:C1"],
        ),
        "log/0",
        3,
        T,
    )
    km = 2 * 2 * math.pi * 6371.0088 / 360
    total = 2.0 * km * 126 / 1000  # 2 t x km x 126 g/t.km, in kg
    lines = {(c["entity_type"], c["entity_id"]): c["kg_co2e"] for c in out.carbon}
    assert lines == {("shipment", "C1"): pytest.approx(total)}  # allocated to batteries by mass in the audit
    assert all(c["factor_id"] == "defra.hgv.average" for c in out.carbon)


PACK = "X12PEPM27KLPCLX2M2382320"


def test_an_impossible_transition_is_flagged_on_the_battery_and_not_applied() -> None:
    pack = _commissioned(PACK)
    vi = {"battery_id": PACK, "vin": "VIN1", "vehicle_model": "V", "vehicle_category": "M1"}
    ok = apply(pack, _item(f"battery:{PACK}", "VehicleIntegrated", vi, "v1", 1, [f"battery:{PACK}"]), "l", 1, T)
    assert ok.flags == [] and pack["vin"] == "VIN1" and pack["phase"] == "vehicle_integration"
    again = {**vi, "vin": "VIN2"}
    out = apply(pack, _item(f"battery:{PACK}", "VehicleIntegrated", again, "v2", 2, [f"battery:{PACK}"]), "l", 2, T)
    assert [(f["category"], f["code"], f["entity_id"], f["event_id"]) for f in out.flags] == [
        ("lifecycle", "already_installed", PACK, "v2")
    ]
    assert out.sealed is not None  # the event is still sealed: the record of what was claimed stays
    assert pack["vin"] == "VIN1"  # ... but not applied
    dismantled = {"battery_id": PACK, "dismantler_id": "D", "output_lot_id": "BM1", "output_mass_kg": 0.5}
    out = apply(pack, _item(f"battery:{PACK}", "Dismantled", dismantled, "d1", 3, [f"battery:{PACK}"]), "l", 3, T)
    assert [f["code"] for f in out.flags] == ["recycled_without_collection"]


def test_recycling_records_yield_flags_mass_from_nowhere_and_emits_genealogy() -> None:
    body = {
        "recycler_id": "R",
        "inputs": [{"lot_id": "BM1", "mass_kg": 100.0}],
        "outputs": [{"lot_id": "NI1", "mass_kg": 30.0}, {"lot_id": "CO1", "mass_kg": 10.0}],
    }
    lot = new_state("lot:NI1")
    item = _item("lot:NI1", "Recycled", body, "r1", 1, ["lot:NI1", "lot:CO1", "lot:BM1"])
    out = apply(lot, item, "l", 0, T)
    assert out.flags == [] and lot["yield"] == pytest.approx(0.4) and lot["recovered"]
    assert sorted((e["from_id"], e["to_id"], e["relation"], e["mass_kg"]) for e in edges(item.envelope)) == [
        ("BM1", "CO1", "recycled_into", 25.0),  # the 100 kg input apportioned by output mass
        ("BM1", "NI1", "recycled_into", 75.0),
    ]
    heavy = {**body, "outputs": [{"lot_id": "NI1", "mass_kg": 130.0}]}
    lot = new_state("lot:NI1")
    out = apply(lot, _item("lot:NI1", "Recycled", heavy, "r2", 1, ["lot:NI1", "lot:BM1"]), "l", 0, T)
    assert [(f["category"], f["code"]) for f in out.flags] == [("mass_balance", "outputs_exceed_inputs")]


def test_refining_waits_for_a_late_assay() -> None:
    lot = new_state("lot:L1")
    consumed = {"battery_id": CELL, "inputs": [{"lot_id": "L1", "mass_kg": 0.5}]}
    out = apply(lot, _item("lot:L1", "MaterialConsumed", consumed, "m1", 1, [f"battery:{CELL}", "lot:L1"]), "l", 0, T)
    assert out.carbon == [] and lot["pending"]
    assay = {
        "event_id": "a1",
        "event_time": T,
        "lot_id": "L1",
        "product": "p",
        "lot_mass_kg": 10.0,
        "fractions": [],
        "smelter_id": None,
        "mine_licences": [],
        "origin_country": "CD",
        "refining_kgco2e_per_kg": 12.0,
        "recycled_pre_consumer": 0.0,
        "recycled_post_consumer": 0.0,
    }
    no_intensity = {**assay, "event_id": "a0", "refining_kgco2e_per_kg": None}
    env = Envelope(
        "a0", "battrace.assay.AssayResult", "Assay", T, ("t", 0, 2, T), event_hash(b"a0"), no_intensity, ["lot:L1"]
    )
    out = apply(lot, ChainItem.of("lot:L1", env), "l", 1, T)
    assert out.carbon == [] and len(lot["pending"]) == 1  # no intensity yet: still pending, never a crash
    env = Envelope("a1", "battrace.assay.AssayResult", "Assay", T, ("t", 0, 3, T), event_hash(b"a1"), assay, ["lot:L1"])
    out = apply(lot, ChainItem.of("lot:L1", env), "l", 2, T)
    assert [(c["entity_id"], c["kg_co2e"]) for c in out.carbon] == [(CELL, pytest.approx(6.0))]
    assert lot["pending"] == []
