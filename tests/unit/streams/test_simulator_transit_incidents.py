"""The story's transit incidents: the geofence rules, replayed per consignment as the worker runs them, raise exactly
the planted flags (``SimEvent.expected_transit``), at the planted events, and nothing in the world without them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from battrace.domain.chain import event_hash
from battrace.domain.correlate import apply, new_state
from battrace.domain.entities import SHIPMENT, entities_of, kind_of
from battrace.domain.transit import CATEGORY, DWELL_EXCEEDED, HANDOVER_OUTSIDE_FACILITY, ROUTE_DEVIATION, UNPLANNED_STOP
from processors.validate import Accepted, Validator
from schemas.codec import Decoder
from schemas.envelope import ChainItem, Envelope
from streams.simulator import SimEvent, simulate
from streams.simulator.geo import SITES

Found = set[tuple[str, str, str]]  # (consignment, code, event id)


def replay(events: list[SimEvent]) -> tuple[Found, Found, list[dict[str, Any]]]:
    """(planted, raised, registry records with zones): every shipment chain in publication order."""
    decoder, states = Decoder(), {}
    planted: Found = set()
    raised: Found = set()
    plans = []
    for i, ev in enumerate(e for e in events if e.expected_reason is None):
        decoded = decoder.decode(ev.value)
        record, entities = decoded.record, entities_of(decoded.schema, decoded.record)
        if record.get("zones"):
            plans.append(record)
        for code in ev.expected_transit:
            planted.add((record["consignment_id"], code, record["event_id"]))
        env = Envelope(
            record["event_id"], decoded.schema, kind_of(record), record["event_time"], ("t", 0, i, 0),
            event_hash(ev.value), record, entities,
        )  # fmt: skip
        for entity in entities:
            if entity.startswith(f"{SHIPMENT}:"):
                state = states.setdefault(entity, new_state(entity))
                out = apply(state, ChainItem(entity, ("t", 0, i), env), "log", i, 0)
                raised |= {(f["entity_id"], f["code"], f["event_id"]) for f in out.flags if f["category"] == CATEGORY}
    return planted, raised, plans


@pytest.fixture(scope="module")
def long_run() -> tuple[list[SimEvent], Found, Found, list[dict[str, Any]]]:
    events = list(simulate(20_000, seed=7))
    return events, *replay(events)


@pytest.mark.parametrize(("events", "seed"), [(3_000, 7), (6_000, 23), (20_000, 7)])
def test_exactly_the_planted_transit_incidents_are_flagged(events: int, seed: int) -> None:
    planted, raised, _ = replay(list(simulate(events, seed=seed)))
    assert raised == planted


def test_a_long_run_plants_every_kind_on_a_few_consignments(long_run: Any) -> None:
    _, planted, _, plans = long_run
    kinds = {code for _, code, _ in planted}
    assert kinds == {ROUTE_DEVIATION, UNPLANNED_STOP, DWELL_EXCEEDED, HANDOVER_OUTSIDE_FACILITY}
    trips = {c for plan in plans for z in plan["zones"] for c in z["consignment_ids"]}
    assert len({c for c, _, _ in planted}) <= len(trips) // 2


def test_the_world_without_incidents_raises_no_transit_flag() -> None:
    planted, raised, plans = replay(list(simulate(20_000, seed=7, violations=False)))
    assert plans and planted == set() and raised == set()


def test_incident_events_and_trip_plans_pass_validation(long_run: Any) -> None:
    events, planted, _, _ = long_run
    validator = Validator()
    ids = {event_id for _, _, event_id in planted}
    checked = [ev for ev in events if ev.event_id in ids or (ev.expected_reason is None and ev.topic.startswith("reg"))]
    assert len(checked) > len(ids)
    for ev in checked:
        assert isinstance(validator.validate(ev.topic, ev.value, ev.timestamp_ms), Accepted)


def test_trip_zones_are_geojson_lon_lat(long_run: Any) -> None:
    """Site (lat, lon) becomes GeoJSON [lon, lat]: Ningde's facility circle is centred at [119.5477, 26.6617]."""
    _, _, _, plans = long_run
    zones = {z["zone_id"]: z for plan in plans for z in plan["zones"]}
    ningde = json.loads(zones["F-CN-FJ-NINGDE-CELL"]["geometry"])
    assert ningde == {"type": "Point", "coordinates": [119.5477, 26.6617]}
    site = SITES["CN-FJ-NINGDE-CELL"]
    assert (site.lat, site.lon) == (26.6617, 119.5477)
    corridor = next(z for z in zones.values() if z["kind"] == "CORRIDOR")
    first = json.loads(corridor["geometry"])["coordinates"][0]
    assert -180 <= first[0] <= 180 and -90 <= first[1] <= 90 and abs(first[0]) != abs(first[1])
