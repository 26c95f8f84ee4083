"""A consignment's transport chain (ISO 14083 / GLEC v3) worked by hand: legs at their own modes, hubs between."""

from __future__ import annotations

import math
from typing import Any

import pytest

from battrace.domain.chain import event_hash
from battrace.domain.correlate import apply, new_state
from battrace.domain.factors import FactorTable
from battrace.domain.transport import MARITIME_TERMINAL, TRANSHIPMENT, hub_kind, planned_legs, transport_chain
from schemas.envelope import ChainItem, Envelope

T = 1_767_225_600_000
SHIP = "shipment:C1"
K = 2 * math.pi * 6371.0088 / 360  # km per degree of longitude on the equator (IUGG mean radius)

CREATED = {
    "battery_ids": ["A", "B"],
    "lot_ids": [],
    "gross_mass_kg": 2000.0,
    "mode": "SEA",
    "transporter_id": "T",
    "transporter_licence": "L",
    "origin_site": "PLANT",
    "destination_site": "VEH",
    "legs": [
        {"mode": "ROAD", "to_site": "PORT-P", "to_geofence_id": "GF-P"},
        {"mode": "SEA", "to_site": "PORT-Q", "to_geofence_id": "GF-Q"},
        {"mode": "RAIL", "to_site": "VEH", "to_geofence_id": None},
    ],
}


def _item(kind: str, body: dict[str, Any], offset: int) -> ChainItem:
    event_id = f"ev{offset}"
    record = {"event_id": event_id, "event_time": T + offset, "consignment_id": "C1", "body": [f"x.{kind}", body]}
    env = Envelope(
        event_id,
        "battrace.logistics.LogisticsEvent",
        kind,
        T + offset,
        ("logistics.events", 0, offset, T),
        event_hash(event_id.encode()),
        record,
        [SHIP],
    )
    return ChainItem.of(SHIP, env)


def _fix(lon: float, transition: str = "NONE", geofence: str | None = None) -> dict[str, Any]:
    return {"lat": 0.0, "lon": lon, "geofence": transition, "geofence_id": geofence}


def _deliver(created: dict[str, Any], track: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Apply ConsignmentCreated, the track and Delivered at lon 25; the Delivered event's ledger lines."""
    state = new_state(SHIP)
    events = [
        ("ConsignmentCreated", created),
        *track,
        ("Delivered", {**_fix(25.0), "site_id": "VEH", "receiver_id": "R"}),
    ]
    out = None
    for offset, (kind, body) in enumerate(events):
        out = apply(state, _item(kind, body, offset), "log/0", offset, T)
    assert out is not None
    return out.carbon


TRACK = [
    ("Departed", {"site_id": "PLANT", "lat": 0.0, "lon": 0.0}),
    ("Position", _fix(1.0)),
    ("Position", _fix(2.0, "ENTER", "GF-P")),  # road ends: 2 degrees
    ("Position", _fix(2.0, "EXIT", "GF-P")),
    ("Position", _fix(12.0)),
    ("Position", _fix(15.0, "ENTER", "GF-SUEZ")),  # another geofence on the way does not end the sea leg
    ("Position", _fix(22.0, "ENTER", "GF-Q")),  # sea ends: 20 degrees
    ("Position", _fix(22.0, "EXIT", "GF-Q")),
    ("Arrived", {"site_id": "VEH", "lat": 0.0, "lon": 24.0}),
]


def test_each_leg_at_its_own_mode_plus_hubs_equals_the_ledger() -> None:
    """2 t along the equator; K = 111.195 km per degree.

    road  2 t x  2K km x 126  g/t.km = 0.504 K  kg = 56.042 kg (defra.hgv.average)
    sea   2 t x 20K km x 15.4 g/t.km = 0.616 K  kg = 68.496 kg (defra.container.3000teu)
    rail  2 t x  3K km x 31.6 g/t.km = 0.1896 K kg = 21.083 kg (defra.rail.freight)
    hub P (road -> sea): 2 t x 2.0 kg/t = 4 kg; hub Q (sea -> rail): 2 t x 2.0 kg/t = 4 kg (maritime terminal)
    total 1.3096 K + 8 = 153.621 kg, against 2 t x 25K km x 15.4 g = 85.623 kg at the main mode (sea) alone.
    """
    lines = _deliver(CREATED, TRACK)
    got = [(c["source"], c["factor_id"], c["quantity"], c["unit"], c["kg_co2e"]) for c in lines]
    assert got == [
        ("transport", "defra.hgv.average", pytest.approx(2 * 2 * K), "t.km", pytest.approx(2 * 2 * K * 0.126)),
        ("hub", "battrace.hub.maritime_container_terminal", 2.0, "t", pytest.approx(4.0)),
        ("transport", "defra.container.3000teu", pytest.approx(2 * 20 * K), "t.km", pytest.approx(2 * 20 * K * 0.0154)),
        ("hub", "battrace.hub.maritime_container_terminal", 2.0, "t", pytest.approx(4.0)),
        ("transport", "defra.rail.freight", pytest.approx(2 * 3 * K), "t.km", pytest.approx(2 * 3 * K * 0.0316)),
    ]
    total = sum(c["kg_co2e"] for c in lines)
    assert total == pytest.approx(1.3096 * K + 8) and total == pytest.approx(153.621, abs=1e-3)
    assert {c["stage"] for c in lines} == {"distribution"} and {c["entity_id"] for c in lines} == {"C1"}
    assert {c["factor_version"] for c in lines} == {"2024", "1"}
    assert len({c["line_id"] for c in lines}) == 5


def test_a_hub_geofence_never_entered_keeps_the_leg_going() -> None:
    """Without the ENTER at GF-Q the sea leg runs to the destination: road 2K, sea 23K, rail 0 km."""
    track = [t for t in TRACK if t[1].get("geofence_id") != "GF-Q"]
    lines = [c for c in _deliver(CREATED, track) if c["source"] == "transport"]
    assert [c["quantity"] / 2 / K for c in lines] == pytest.approx([2.0, 23.0, 0.0])


def test_without_declared_legs_one_leg_at_the_main_mode() -> None:
    """A producer that declares no legs: 2 t x 25K km x 15.4 g/t.km = 0.77 K kg, no hub."""
    lines = _deliver({**CREATED, "legs": []}, TRACK)
    assert [(c["source"], c["factor_id"]) for c in lines] == [("transport", "defra.container.3000teu")]
    assert lines[0]["kg_co2e"] == pytest.approx(0.77 * K)


def test_hub_kinds_and_planned_legs() -> None:
    assert hub_kind("ROAD", "SEA") == hub_kind("SEA", "RAIL") == MARITIME_TERMINAL
    assert hub_kind("RAIL", "RAIL") == hub_kind("RAIL", "ROAD") == TRANSHIPMENT
    assert planned_legs({**CREATED, "legs": []}) == [["SEA", "VEH", None]]
    assert planned_legs(CREATED)[0] == ["ROAD", "PORT-P", "GF-P"]


def test_rail_rail_road_chain_and_unknown_modes() -> None:
    """1 t: rail 1000 km x 31.6 = 31.6 kg, transhipment 1 kg, rail 500 km = 15.8 kg, transhipment 1 kg,
    road 100 km x 126 = 12.6 kg; a mode the table does not know is left out, its hubs still charged."""
    legs = [["RAIL", "H1", "G1"], ["RAIL", "H2", "G2"], ["ROAD", "D", None]]
    chain = transport_chain(1000.0, legs, [1000.0, 500.0, 100.0])
    assert [(e.kind, e.what, round(e.kg_co2e, 6)) for e in chain] == [
        ("leg", "RAIL", 31.6),
        ("hub", TRANSHIPMENT, 1.0),
        ("leg", "RAIL", 15.8),
        ("hub", TRANSHIPMENT, 1.0),
        ("leg", "ROAD", 12.6),
    ]
    odd = transport_chain(1000.0, [["TELEPORT", "H", None], ["ROAD", "D", None]], [10.0, 10.0], FactorTable.load())
    assert [(e.kind, e.what) for e in odd] == [("hub", TRANSHIPMENT), ("leg", "ROAD")]
