"""End-of-life ledger lines from the end-of-life events, worked by hand, in either order of a lot's events."""

from __future__ import annotations

from typing import Any

import pytest

from battrace.domain.chain import event_hash
from battrace.domain.correlate import apply, new_state
from battrace.domain.factors import shipped_table
from battrace.domain.footprint import Footprint
from schemas.envelope import ChainItem, Envelope

T = 1_767_225_600_000
PACK = "X12PEPM27KLPCLX2M2382320"
BLACK = "BM-LOT-1"
COMMISSIONED = {
    "battery_id": PACK,
    "chemistry": "NCM",
    "model": "P",
    "capacity_ah": 150.0,
    "energy_kwh": 60.0,
    "mass_kg": 400.0,
    "certification_number": "C",
    "sgtin": None,
}
DISMANTLED = {"battery_id": PACK, "dismantler_id": "D", "output_lot_id": BLACK, "output_mass_kg": 160.0}
RECYCLED = {
    "recycler_id": "R",
    "inputs": [{"lot_id": BLACK, "mass_kg": 150.0}],
    "outputs": [{"lot_id": "NI", "mass_kg": 20.0}],
}


def _item(entity: str, kind: str, body: dict[str, Any], offset: int, entities: list[str]) -> ChainItem:
    event_id = f"{kind}-{offset}"
    record = {"event_id": event_id, "event_time": T + offset, "site_id": "S", "body": [f"x.{kind}", body]}
    env = Envelope(
        event_id,
        "battrace.mes.MesEvent",
        kind,
        T + offset,
        ("mes.events", 0, offset, T),
        event_hash(event_id.encode()),
        record,
        entities,
    )
    return ChainItem.of(entity, env)


def _run(entity: str, events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    state, lines = new_state(entity), []
    for offset, (kind, body) in enumerate(events):
        lines += apply(state, _item(entity, kind, body, offset, [entity]), "log/0", offset, T).carbon
    return lines


def _pack_life() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("Commissioned", COMMISSIONED),
        ("VehicleIntegrated", {"battery_id": PACK, "vin": "V", "vehicle_model": "M", "vehicle_category": "M1"}),
        ("EndOfLifeCollected", {"battery_id": PACK, "collector_id": "COL", "reason": "end of life"}),
        ("Dismantled", DISMANTLED),
    ]


def test_collection_dismantling_and_recycling_lines() -> None:
    """A 400 kg pack: collection 400 x 0.0126 = 5.04 kg, dismantling 400 x 0.116 = 46.4 kg; its black-mass lot fed
    150 kg into recycling: 150 x 1.16 = 174.0 kg, charged to the pack from the lot's chain."""
    pack = _run(f"battery:{PACK}", _pack_life())
    lot = _run(f"lot:{BLACK}", [("Dismantled", DISMANTLED), ("Recycled", RECYCLED)])
    got = [(c["entity_id"], c["stage"], c["source"], c["quantity"], c["kg_co2e"], c["factor_id"]) for c in pack + lot]
    assert got == [
        (PACK, "end_of_life", "collection", 400.0, pytest.approx(5.04), "battrace.eol.collection"),
        (PACK, "end_of_life", "dismantling", 400.0, pytest.approx(46.4), "battrace.eol.dismantling"),
        (PACK, "end_of_life", "recycling", 150.0, pytest.approx(174.0), "battrace.eol.recycling_hydromet"),
    ]
    for c in pack + lot:  # every line names a factor of the shipped table, with its version
        assert shipped_table().lookup(c["factor_id"]).version == c["factor_version"]
    fp = Footprint.from_ledger(
        PACK,
        [*(pack + lot), *({"stage": s, "kg_co2e": 1.0} for s in ("raw_material", "production", "distribution"))],
        28_800,
    )
    assert fp.complete and fp.stage_kg["end_of_life"] == pytest.approx(5.04 + 46.4 + 174.0)


def test_recycling_before_the_lots_dismantling_waits_for_it() -> None:
    """The Recycled event may reach the lot before the Dismantled event (they travel under different keys)."""
    lot = _run(f"lot:{BLACK}", [("Recycled", RECYCLED), ("Dismantled", DISMANTLED)])
    assert [(c["entity_id"], c["source"], c["kg_co2e"]) for c in lot] == [(PACK, "recycling", pytest.approx(174.0))]
    assert lot[0]["line_id"].endswith(":Recycled-0")


def test_a_recovered_lot_refined_again_charges_no_pack() -> None:
    again = {
        "recycler_id": "R",
        "inputs": [{"lot_id": "NI", "mass_kg": 20.0}],
        "outputs": [{"lot_id": "NI2", "mass_kg": 19.0}],
    }
    assert _run("lot:NI", [("Recycled", RECYCLED), ("Recycled", again)]) == []


def test_a_pack_without_mass_or_a_refused_transition_has_no_line() -> None:
    no_mass = [("Commissioned", {**COMMISSIONED, "mass_kg": 0.0}), *_pack_life()[1:]]
    assert _run(f"battery:{PACK}", no_mass) == []
    never_installed = [("Commissioned", COMMISSIONED), ("Dismantled", DISMANTLED)]  # dismantled without collection
    assert [c["source"] for c in _run(f"battery:{PACK}", never_installed)] == []
