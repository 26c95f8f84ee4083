"""A repurposed pack: its event extends both codes' chains, links them in the genealogy and moves both lifecycles; a
collected pack keeps the VIN it came from on its projection."""

from __future__ import annotations

from typing import Any

from battrace.domain.chain import event_hash
from battrace.domain.correlate import apply, new_state
from battrace.domain.custody import check_custody, custody_parties
from battrace.domain.entities import entities_of
from battrace.domain.genealogy import REPURPOSED_INTO, edges_of
from battrace.domain.projections import projection
from schemas.catalog import MES_EVENT
from schemas.envelope import ChainItem, Envelope

T = 1_767_225_600_000
PACK = "X12PEPM27KLPCLX2M2382320"
SECOND = "X12PEPM27SL001N1A0000001"
VIN = "LSVAA4182E2184101"
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
INSTALLED = {"battery_id": PACK, "vin": VIN, "vehicle_model": "M", "vehicle_category": "M1"}
COLLECTED = {"battery_id": PACK, "collector_id": "COL", "reason": "end of life", "vin": VIN}
DISMANTLED = {"battery_id": PACK, "dismantler_id": "D", "output_lot_id": "BM", "output_mass_kg": 160.0, "vin": VIN}
REPURPOSED = {
    "battery_id": PACK,
    "new_battery_id": SECOND,
    "repurposer_id": "CN-MFR-001",
    "application": "stationary energy storage",
    "state_of_health": 0.8,
}


def _item(entity: str, kind: str, body: dict[str, Any], offset: int) -> ChainItem:
    event_id = f"{kind}-{offset}"
    record = {"event_id": event_id, "event_time": T + offset, "site_id": "SITE-ESS", "body": [f"x.{kind}", body]}
    entities = entities_of(MES_EVENT, record)
    env = Envelope(
        event_id,
        MES_EVENT,
        kind,
        T + offset,
        ("mes.events", 0, offset, T),
        event_hash(event_id.encode()),
        record,
        entities,
    )
    return ChainItem.of(entity, env)


def _run(entity: str, events: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    state, flags = new_state(entity), []
    for offset, (kind, body) in enumerate(events):
        flags += apply(state, _item(entity, kind, body, offset), "log/0", offset, T).flags
    return state, flags


def test_the_vin_stays_on_the_projection_after_collection_and_dismantling() -> None:
    state, flags = _run(
        f"battery:{PACK}",
        [("Commissioned", COMMISSIONED), ("VehicleIntegrated", INSTALLED), ("EndOfLifeCollected", COLLECTED)],
    )
    assert flags == [] and projection(state)[1]["vin"] == VIN and projection(state)[1]["status"] == "waste"
    state, _ = _run(
        f"battery:{PACK}",
        [("Commissioned", COMMISSIONED), ("EndOfLifeCollected", COLLECTED), ("Dismantled", DISMANTLED)],
    )
    assert projection(state)[1]["vin"] == VIN  # never integrated here: the collection's VIN is the origin


def test_the_repurposed_event_extends_both_codes_and_links_them_one_way_in_the_genealogy() -> None:
    record = {"event_id": "e", "event_time": T, "site_id": "S", "body": ("battrace.mes.Repurposed", REPURPOSED)}
    assert entities_of(MES_EVENT, record) == [f"battery:{PACK}", f"battery:{SECOND}"]
    (edge,) = edges_of("Repurposed", REPURPOSED, "e", T)
    assert (edge["from_id"], edge["to_id"], edge["relation"], edge["mass_kg"]) == (PACK, SECOND, REPURPOSED_INTO, None)


def test_both_codes_show_the_second_life_and_the_original_takes_no_more_events() -> None:
    life = [("Commissioned", COMMISSIONED), ("VehicleIntegrated", INSTALLED), ("Repurposed", REPURPOSED)]
    original, flags = _run(f"battery:{PACK}", [*life, ("EndOfLifeCollected", COLLECTED)])
    row = projection(original)[1]
    assert (row["phase"], row["status"], row["vin"]) == ("second_life", "repurposed", VIN)
    assert original["lifecycle"]["successor"] == SECOND
    assert [f["code"] for f in flags] == ["event_after_repurposing"]
    new, flags = _run(f"battery:{SECOND}", [("Repurposed", REPURPOSED)])
    row = projection(new)[1]
    assert flags == [] and (row["phase"], row["status"], row["product_type"], row["site_id"]) == (
        "second_life",
        "repurposed",
        "pack",
        "SITE-ESS",
    )
    assert new["lifecycle"]["predecessor"] == PACK


def test_the_repurposer_must_be_a_licensed_manufacturer_at_the_time() -> None:
    ((party, roles),) = custody_parties("Repurposed", REPURPOSED)
    registry = {"CN-MFR-001": {"role": "MANUFACTURER", "licence_number": "L", "valid_from": 0, "valid_to": 2 * T}}
    assert party == "CN-MFR-001" and check_custody(party, roles, T, registry) is None
    wrong = {"CN-MFR-001": {**registry["CN-MFR-001"], "role": "RECYCLER"}}
    assert check_custody(party, roles, T, wrong).code == "wrong_role"
