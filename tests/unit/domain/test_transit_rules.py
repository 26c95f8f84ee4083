"""Transit rules of a consignment, through the correlation step the worker and `verify` run (correlate.apply).

One synthetic road trip along the 51st parallel, from facility A (7.0 E) to facility B (8.0 E), through a hub and
past a rest area, inside a 300 m corridor. The clean trip raises nothing; each variant breaks one rule and must
raise exactly its flag; late, spiking and contradicting fixes are graded, not believed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from battrace.domain import transit
from battrace.domain.chain import event_hash
from battrace.domain.correlate import apply, new_state
from battrace.domain.lifecycle import ARRIVED_LATE
from schemas.envelope import ChainItem, Envelope

T0 = 1_767_225_600_000
MIN = 60_000
LAT = 51.0
SHIPMENT = "shipment:C1"
LOGISTICS, REGISTRY = "battrace.logistics.LogisticsEvent", "battrace.registry.LicensedEntity"


def circle(zone_id: str, kind: str, lon: float, radius_m: float, **extra: Any) -> dict[str, Any]:
    geometry = json.dumps({"type": "Point", "coordinates": [lon, LAT]})
    return {"zone_id": zone_id, "kind": kind, "geometry": geometry, "radius_m": radius_m, **extra}


def zones(max_dwell_s: int = 4 * 3600) -> list[dict[str, Any]]:
    hub = {
        "type": "Polygon",
        "coordinates": [[[7.49, 50.995], [7.51, 50.995], [7.51, 51.005], [7.49, 51.005], [7.49, 50.995]]],
    }
    corridor = {"type": "LineString", "coordinates": [[7.0, LAT], [8.0, LAT]]}
    out = [
        circle("F-A", "FACILITY", 7.0, 300.0, site_id="S-A", licence_number="L-A"),
        circle("F-B", "FACILITY", 8.0, 300.0, site_id="S-B", licence_number="L-B"),
        {"zone_id": "H-1", "kind": "HUB", "geometry": json.dumps(hub), "max_dwell_s": max_dwell_s},
        circle("R-1", "REST_AREA", 7.8, 200.0),
        {"zone_id": "K-C1", "kind": "CORRIDOR", "geometry": json.dumps(corridor), "half_width_m": 300.0},
    ]
    for z in out:
        z.update(version=1, valid_from=T0 - 86_400_000, valid_to=None, consignment_ids=["C1"])
        for f in ("radius_m", "half_width_m", "site_id", "licence_number", "max_dwell_s"):
            z.setdefault(f, None)
    return out


class Trip:
    """The consignment's events in the order they are sealed into its chain."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int, dict[str, Any]]] = []  # (schema, kind, time, body)
        self.t = T0

    def at(self, kind: str, lon: float, after_min: float = 30, **body: Any) -> Trip:
        self.t += round(after_min * MIN)
        fields = {"lat": LAT, "lon": lon, **body}
        if kind == "Position":
            fields = {"geofence": "NONE", "geofence_id": None, "accuracy_m": None, **fields}
        self.events.append((LOGISTICS, kind, self.t, fields))
        return self

    def plan(self, records: list[dict[str, Any]], first: bool = True) -> Trip:
        licence = {
            "entity_id": "TRN",
            "name": "Haulier",
            "role": "TRANSPORTER",
            "licence_number": "L-T",
            "valid_from": 0,
            "valid_to": T0 * 2,
            "region": "DE-NW",
            "revoked": False,
            "zones": records,
        }
        entry = (REGISTRY, "Licence", T0 - MIN, licence)
        self.events.insert(0, entry) if first else self.events.append(entry)
        return self

    def clean(self, hub_stay_min: float = 120) -> Trip:
        """Departed at A, east at 14 km/h, two fixes in the hub, on to B, arrived and delivered there."""
        self.at("Departed", 7.0, 0, site_id="S-A")
        for lon in (7.1, 7.2, 7.3, 7.4):
            self.at("Position", lon)
        self.at("Position", 7.495, geofence="ENTER", geofence_id="H-1")
        self.at("Position", 7.5, hub_stay_min / 2)
        self.at("Position", 7.5, hub_stay_min / 2)
        for lon in (7.6, 7.7, 7.8, 7.9):
            self.at("Position", lon)
        self.at("Arrived", 8.0, site_id="S-B")
        return self.at("Delivered", 8.0, 60, site_id="S-B", receiver_id="RCV")


def run(trip: Trip) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    state, rows, flags = new_state(SHIPMENT), [], []
    for i, (schema, kind, t, body) in enumerate(trip.events, start=1):
        record: dict[str, Any] = {"event_id": f"e{i:03d}", "event_time": t}
        if schema == LOGISTICS:
            record.update(consignment_id="C1", body=[f"battrace.logistics.{kind}", body])
        else:
            record.update(body)
        ev = Envelope(
            f"e{i:03d}", schema, kind, t, ("t", 0, i, t), event_hash(record["event_id"].encode()), record, [SHIPMENT]
        )
        out = apply(state, ChainItem(SHIPMENT, ("t", 0, i), ev), "log", i, 0)
        rows += out.transit
        flags += [f for f in out.flags if f["code"] != ARRIVED_LATE]  # arrival order: test_arrived_late.py
    return rows, flags, state


def content(rows: list[dict[str, Any]]) -> list[tuple]:
    """The rows without the graded fixes."""
    return [(r["kind"], r["zone_id"], r["start_time"], r["end_time"]) for r in rows if not r["kind"].startswith("fix_")]


def codes(flags: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((f["code"], f["event_id"]) for f in flags)


def test_a_clean_trip_raises_nothing_and_records_its_visits_stops_and_handovers() -> None:
    rows, flags, _ = run(Trip().plan(zones()).clean())
    assert flags == []
    assert all(r["code"] == "" for r in rows)
    visits = {r["zone_id"]: r for r in rows if r["kind"] == "visit"}
    assert visits["H-1"]["start_time"] == T0 + 150 * MIN  # the first of the two confirming fixes
    assert visits["H-1"]["duration_s"] == 150 * 60  # exit at the first of the two fixes beyond the margin
    assert visits["H-1"]["closed_by"] == "exit"
    assert visits["F-B"]["closed_by"] == "delivered" and visits["F-B"]["duration_s"] == 3600
    assert [(r["kind"], r["zone_id"]) for r in rows if r["kind"] == "handover"] == [
        ("handover", "F-A"),
        ("handover", "F-B"),
    ]
    stops = [r for r in rows if r["kind"] == "stop"]
    assert [(s["zone_id"], s["duration_s"]) for s in stops] == [("H-1", 3600.0), ("F-B", 3600.0)]


def test_an_over_long_dwell_is_flagged_once_at_the_fix_that_shows_it() -> None:
    rows, flags, _ = run(Trip().plan(zones(max_dwell_s=4 * 3600)).clean(hub_stay_min=10 * 60))
    assert codes(flags) == [("dwell_exceeded", "e008")]  # the fix confirming the entry, 5 h after it
    assert [r["code"] for r in rows if r["kind"] == "visit" and r["zone_id"] == "H-1"] == ["dwell_exceeded"]


def test_a_long_stop_outside_known_zones_is_flagged_and_a_break_in_a_rest_area_is_not() -> None:
    trip = Trip().plan(zones())
    trip.at("Departed", 7.0, 0, site_id="S-A").at("Position", 7.1).at("Position", 7.2)
    for _ in range(3):  # parked on the corridor, no zone: 90 min
        trip.at("Position", 7.2)
    for lon in (7.3, 7.4, 7.6, 7.7, 7.8):
        trip.at("Position", lon)
    for _ in range(3):  # in the rest area: 90 min, planned
        trip.at("Position", 7.8)
    trip.at("Position", 7.9).at("Arrived", 8.0, site_id="S-B").at("Delivered", 8.0, 60, site_id="S-B")
    rows, flags, _ = run(trip)
    assert codes(flags) == [("unplanned_stop", "e006")]  # 60 min after the stop began
    stops = [(r["zone_id"], r["code"], r["duration_s"]) for r in rows if r["kind"] == "stop"]
    assert stops == [("", "unplanned_stop", 5400.0), ("R-1", "", 5400.0), ("F-B", "", 3600.0)]


def test_a_detour_of_three_fixes_is_a_deviation_and_one_stray_fix_is_not() -> None:
    trip = Trip().plan(zones())
    trip.at("Departed", 7.0, 0, site_id="S-A").at("Position", 7.1).at("Position", 7.2, lat=LAT + 0.02)  # 2 km stray
    trip.at("Position", 7.3)
    for lon in (7.35, 7.4, 7.45):  # 5 km north for three fixes
        trip.at("Position", lon, lat=LAT + 0.045)
    for lon in (7.6, 7.7, 7.8, 7.9):
        trip.at("Position", lon)
    trip.at("Arrived", 8.0, site_id="S-B").at("Delivered", 8.0, 60, site_id="S-B")
    rows, flags, _ = run(trip)
    assert codes(flags) == [("route_deviation", "e008")]
    (dev,) = [r for r in rows if r["kind"] == "deviation"]
    assert (dev["start_time"], dev["end_time"], dev["closed_by"]) == (T0 + 120 * MIN, T0 + 210 * MIN, "back_on_route")
    assert 4500 < dev["distance_m"] < 5000  # 5 km from the centre line less the 300 m half-width


def test_a_handover_outside_the_receivers_facility_is_flagged() -> None:
    trip = Trip().plan(zones())
    trip.at("Departed", 7.0, 0, site_id="S-A")
    for lon in (7.2, 7.4, 7.6):
        trip.at("Position", lon)
    trip.at("Arrived", 7.8, site_id="S-B").at("Delivered", 7.8, 60, site_id="S-B")  # in the rest area, 14 km short
    rows, flags, _ = run(trip)
    assert codes(flags) == [("handover_outside_facility", "e007")]
    assert "m outside facility zone F-B" in flags[0]["detail"]
    assert [r["code"] for r in rows if r["kind"] == "handover"] == ["", "handover_outside_facility"]


def test_a_licence_expired_facility_zone_does_not_make_a_handover_valid() -> None:
    expired = zones()
    expired[1]["valid_to"] = T0  # F-B's licence ran out before the trip
    _, flags, _ = run(Trip().plan(expired).clean())
    # and the hour parked there is a stop outside every zone that counts
    assert codes(flags) == [("handover_outside_facility", "e015"), ("unplanned_stop", "e015")]
    (handover,) = [f for f in flags if f["code"] == "handover_outside_facility"]
    assert "no facility zone of S-B valid at the time" in handover["detail"]


def test_source_geofence_flags_are_compared_not_trusted() -> None:
    trip = Trip().plan(zones())
    trip.at("Departed", 7.0, 0, site_id="S-A")
    trip.at("Position", 7.1, geofence="ENTER", geofence_id="H-1")  # 27 km from the hub
    trip.at("Position", 7.2, geofence="EXIT", geofence_id="GF-NOWHERE")
    trip.at("Position", 7.3).at("Position", 7.4).at("Position", 7.5).at("Position", 7.5)
    trip.at("Position", 7.5, geofence="EXIT", geofence_id="H-1")  # still parked in it
    trip.at("Position", 7.6).at("Position", 7.8).at("Position", 7.9)
    trip.at("Arrived", 8.0, site_id="S-B").at("Delivered", 8.0, 60, site_id="S-B")
    _, flags, _ = run(trip)
    assert codes(flags) == [
        ("geofence_flag_disagrees", "e003"),
        ("geofence_flag_disagrees", "e004"),
        ("geofence_flag_disagrees", "e009"),
    ]


def test_late_and_spiking_fixes_are_graded_and_change_nothing() -> None:
    clean_rows, _, _ = run(Trip().plan(zones()).clean())
    trip = Trip().plan(zones()).clean()
    t_hub = trip.events[7][2]
    trip.events.insert(8, (LOGISTICS, "Position", t_hub - 90 * MIN, {"lat": LAT + 0.5, "lon": 7.3}))  # late
    trip.events.insert(9, (LOGISTICS, "Position", t_hub + 1, {"lat": LAT + 3.0, "lon": 7.5}))  # 330 km in 1 ms
    rows, flags, _ = run(trip)
    assert flags == []
    graded = sorted(r["kind"] for r in rows if r["kind"].startswith("fix_"))
    assert graded == ["fix_late", "fix_spike"]
    assert content(rows) == content(clean_rows)


def test_zones_arriving_after_the_fixes_give_the_same_rows_and_flags() -> None:
    def content(rows: list[dict[str, Any]]) -> list[tuple]:
        return sorted((r["kind"], r["zone_id"], r["start_time"], r["end_time"], r["code"], r["detail"]) for r in rows)

    early_rows, early_flags, _ = run(Trip().plan(zones(max_dwell_s=3600)).clean())
    late_rows, late_flags, state = run(Trip().clean().plan(zones(max_dwell_s=3600), first=False))
    assert content(late_rows) == content(early_rows) and early_rows
    assert [(f["code"], f["detail"]) for f in late_flags] == [(f["code"], f["detail"]) for f in early_flags]
    assert "pending" not in state["transit"]


def test_a_replay_is_byte_identical() -> None:
    assert repr(run(Trip().plan(zones(max_dwell_s=3600)).clean())) == repr(
        run(Trip().plan(zones(max_dwell_s=3600)).clean())
    )


def test_an_unusable_zone_is_flagged_on_the_trip_and_the_others_still_apply() -> None:
    broken = [*zones(), {**zones()[0], "zone_id": "BAD", "geometry": '{"type": "Point", "coordinates": [7, 95]}'}]
    rows, flags, _ = run(Trip().plan(broken).clean())
    assert codes(flags) == [("zone_invalid", "e001")]
    assert any(r["kind"] == "visit" and r["zone_id"] == "H-1" for r in rows)


def test_a_trip_without_zones_keeps_its_fixes_bounded_and_raises_nothing() -> None:
    rows, flags, state = run(Trip().clean())
    assert (rows, flags) == ([], [])
    assert len(state["transit"]["pending"]) == 14 <= transit.PENDING_MAX


@pytest.mark.parametrize("accuracy", [None, 200.0])
def test_poor_accuracy_widens_the_exit_margin(accuracy: float | None) -> None:
    """A fix 150 m beyond the hub exits it with a 50 m margin, not with 2 x 200 m."""
    trip = Trip().plan(zones())
    trip.at("Departed", 7.0, 0, site_id="S-A").at("Position", 7.5).at("Position", 7.5, 60)
    beyond = 7.51 + 150 / 70_000
    trip.at("Position", beyond, accuracy_m=accuracy).at("Position", beyond, 1, accuracy_m=accuracy)
    rows, _, _ = run(trip)
    exited = [r for r in rows if r["kind"] == "visit" and r["zone_id"] == "H-1"]
    assert bool(exited) is (accuracy is None)
