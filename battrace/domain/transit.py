"""Transit rules of one consignment, from its own GPS fixes: zone visits and dwell, stops, route deviation, handovers.

Geofencing rules for freight forwarders' GPS data, run per shipment in chain order over the fixes of its logistics
events (every Position, and the position each Departed, Arrived and Delivered carries). Zones come from the
registry records frozen for the trip (battrace/domain/zones.py); fixes sealed before the trip's zones are kept in the
state and run when they arrive, so the rows do not depend on which of the two topics reached the chain first.

- **Fix quality.** A fix at (0, 0) is ``filtered``, one not after the last accepted fix ``late`` (rules run on fix
  time, and a late fix never rewrites the past), one more than ``SPIKE_MIN_M`` away at an implied speed above
  ``MAX_SPEED_KMH`` a ``spike``. Those are recorded (a ``fix_<grade>`` row) and change no state.
- **Entry / exit with hysteresis.** ``CONFIRM_FIXES`` consecutive fixes the zone covers confirm an entry (at the
  first of them); as many beyond the zone plus a margin of max(``MIN_MARGIN_M``, 2 × reported accuracy) confirm
  the exit (at the first of them; at the last inside fix when a gap of ``GAP_S`` came first, ``closed_by = gap``).
  Visits open at delivery are closed at their last inside fix (``closed_by = delivered``).
- **Dwell.** exit − entry; shorter than ``MIN_DWELL_S`` is a pass-through. Longer than the zone's ``max_dwell_s``
  flags ``dwell_exceeded`` as soon as a fix shows it.
- **Unexpected stop.** Consecutive fixes within ``STOP_RADIUS_M`` of the first, the first step slower than
  ``STOP_SPEED_KMH``; recorded from ``STOP_RECORD_S``, flagged ``unplanned_stop`` once it reaches
  ``STOP_ALERT_S`` outside every zone where vehicles may stand (``zones.STOP_KINDS``).
- **Route deviation.** ``DEVIATION_FIXES`` consecutive fixes off the corridor and off every planned-stop zone,
  spanning at least ``DEVIATION_S``, flag ``route_deviation``; it closes after ``CONFIRM_FIXES`` fixes back on
  route and moving.
- **Handover at a facility.** A custody change (Departed: loading; Delivered: receiving) is valid only where a
  ``facility`` zone of the event's site, valid at the event's time, covers the event's position or a fix of the
  last ``HANDOVER_TOLERANCE_S``; else ``handover_outside_facility``.
- **The source's own geofence flags** are compared, not trusted: an ENTER at a fix beyond the zone's exit margin,
  an EXIT at a fix the zone covers, or a zone the trip does not know flags ``geofence_flag_disagrees``.

Thresholds are common defaults: Traccar's (traccar/traccar ``Keys.java``: 300 s parking, 3,600 s without data),
vendors' route compliance (500 m for 2 min: navixy, trackgpsfleet) and the EU driving breaks (Reg. (EC) 561/2006:
45 min after 4.5 h, so a stop is alerted only beyond an hour). They are constants, not settings: ``battrace verify``
must recompute the same rows anywhere. ``GAP_S`` is 3 × the slowest reporting interval of the telematics simulated
here (6 h at sea), not the hour that suits trucks reporting every few minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from battrace.domain.geodesy import haversine_m
from battrace.domain.zones import CORRIDOR, FACILITY, STOP_KINDS, Zone, ZoneError

CATEGORY = "transit"
DWELL_EXCEEDED = "dwell_exceeded"
ROUTE_DEVIATION = "route_deviation"
UNPLANNED_STOP = "unplanned_stop"
HANDOVER_OUTSIDE_FACILITY = "handover_outside_facility"
GEOFENCE_FLAG_DISAGREES = "geofence_flag_disagrees"
ZONE_INVALID = "zone_invalid"
CODES = (
    DWELL_EXCEEDED,
    ROUTE_DEVIATION,
    UNPLANNED_STOP,
    HANDOVER_OUTSIDE_FACILITY,
    GEOFENCE_FLAG_DISAGREES,
    ZONE_INVALID,
)

CONFIRM_FIXES = 2  # consecutive fixes to confirm an entry or an exit (industry guides: 2-3; one fix is noise)
MIN_MARGIN_M = 50.0  # hysteresis margin floor; widened to 2 x reported accuracy
MIN_DWELL_S = 300  # shorter visits are pass-throughs (Traccar's 300 s stop threshold)
STOP_SPEED_KMH = 3.0  # parked trackers report crawl speeds, so not "= 0"
STOP_RADIUS_M = 50.0
STOP_RECORD_S = 300  # stops are recorded from 5 min
STOP_ALERT_S = 3600  # and flagged from 60 min outside known zones (legal breaks are 15-45 min)
DEVIATION_FIXES = 3  # >= 3 fixes off route ...
DEVIATION_S = 120  # ... over > 2 min (vendor default: 500 m for 2 min)
MAX_SPEED_KMH = {"AIR": 1000.0}  # implied speeds beyond this are spikes
ROAD_MAX_SPEED_KMH = 200.0  # every other mode: no truck, train or ship does more
SPIKE_MIN_M = 1000.0  # a jump shorter than this is GPS scatter over seconds between fixes, not a teleport
GAP_S = 18 * 3600  # no fix for this long is a gap (3 x the 6 h reporting interval at sea)
HANDOVER_TOLERANCE_S = 900  # +-15 min around a handover: sparse parked reporting, no roadside transfers
PENDING_MAX = 1000  # fixes kept while a trip's zones have not arrived (bounds the state); later ones skip the rules
HANDOVER_KINDS = frozenset({"Departed", "Delivered"})


@dataclass(frozen=True)
class Fix:
    """One position of the consignment, with the event that carried it."""

    t: int  # fix time (the event time), UTC ms
    lon: float
    lat: float
    accuracy_m: float | None
    event_id: str
    seq: int  # the shipment chain's seq of that event
    kind: str  # Position, Departed, Arrived or Delivered
    transition: str = "NONE"  # the source's own geofence flag (Position)
    zone_id: str | None = None  # the zone it names
    site_id: str | None = None  # the site of a Departed, Arrived or Delivered

    def to_json(self) -> list[Any]:
        return [self.t, self.lon, self.lat, self.accuracy_m, self.event_id, self.seq, self.kind, self.transition,
                self.zone_id, self.site_id]  # fmt: skip

    @classmethod
    def from_json(cls, v: list[Any]) -> Fix:
        return cls(*v)

    @property
    def margin_m(self) -> float:
        return max(MIN_MARGIN_M, 2.0 * (self.accuracy_m or 0.0))


class Results:
    """Rows for ``transit_events`` and flags, one flag per (code, deciding event) whatever the zones involved."""

    def __init__(self, shipment_id: str) -> None:
        self.shipment_id = shipment_id
        self.rows: list[dict[str, Any]] = []
        self._flags: dict[tuple[str, str], dict[str, Any]] = {}

    @property
    def flags(self) -> list[dict[str, Any]]:
        return list(self._flags.values())

    def row(self, kind: str, fix: Fix, zone: Zone | None, start: int, end: int, **extra: Any) -> None:
        self.rows.append(
            {
                "shipment_id": self.shipment_id,
                "kind": kind,
                "zone_id": zone.zone_id if zone else "",
                "zone_version": zone.version if zone else 0,
                "start_time": start,
                "end_time": end,
                "duration_s": (end - start) / 1000.0,
                "distance_m": float(extra.get("distance_m", 0.0)),
                "code": extra.get("code", ""),
                "closed_by": extra.get("closed_by", ""),
                "detail": extra.get("detail", ""),
                "event_id": fix.event_id,
                "seq": fix.seq,
            }
        )

    def flag(self, fix: Fix, code: str, detail: str) -> None:
        key = (code, fix.event_id)
        if key in self._flags:  # another zone, the same finding of the same fix: one flag naming both
            self._flags[key]["detail"] += f"; {detail}"
            return
        self._flags[key] = {
            "entity_type": "shipment",
            "entity_id": self.shipment_id,
            "category": CATEGORY,
            "code": code,
            "detail": detail,
            "event_id": fix.event_id,
            "seq": fix.seq,
            "event_time": fix.t,
        }


def _zones(ts: dict[str, Any]) -> list[Zone]:
    return [Zone.of(z) for z in ts.get("zones", ())]


def plan(ts: dict[str, Any], records: list[dict[str, Any]], fix_of_plan: Fix, out: Results) -> None:
    """Add a trip's zones (the first version of each zone id stays: a trip keeps what it was planned with), then
    run the fixes that were waiting for them. ``fix_of_plan`` names the registry event (no position)."""
    known = {z["zone_id"] for z in ts.get("zones", ())}
    zones = ts.setdefault("zones", [])
    for record in records:
        if record["zone_id"] in known:
            continue
        try:
            Zone.of(record)
        except ZoneError as exc:
            out.flag(fix_of_plan, ZONE_INVALID, f"zone {record['zone_id']}: {exc}")
            continue
        zones.append({k: v for k, v in record.items() if k != "consignment_ids"})
        known.add(record["zone_id"])
    if zones:
        for raw in ts.pop("pending", []):
            _process(ts, Fix.from_json(raw), out)


def observe(ts: dict[str, Any], fix: Fix, out: Results) -> None:
    """Apply one fix: run it now if the trip's zones are known, else keep it until they are."""
    if not ts.get("zones"):
        pending = ts.setdefault("pending", [])
        if len(pending) < PENDING_MAX:
            pending.append(fix.to_json())
        return
    _process(ts, fix, out)


def _grade(ts: dict[str, Any], fix: Fix, max_speed_kmh: float) -> str:
    if fix.lon == 0.0 and fix.lat == 0.0:
        return "filtered"
    last = ts.get("last")
    if last is None:
        return "accepted"
    if fix.t <= last[0]:
        return "late"
    metres = haversine_m(last[1], last[2], fix.lon, fix.lat)
    speed = metres / ((fix.t - last[0]) / 1000.0) * 3.6
    return "spike" if speed > max_speed_kmh and metres > SPIKE_MIN_M else "accepted"


def _process(ts: dict[str, Any], fix: Fix, out: Results) -> None:
    zones = _zones(ts)
    grade = _grade(ts, fix, MAX_SPEED_KMH.get(ts.get("mode") or "", ROAD_MAX_SPEED_KMH))
    if grade != "accepted":
        out.row(f"fix_{grade}", fix, None, fix.t, fix.t, detail=f"{fix.kind} at [{fix.lon}, {fix.lat}]")
        if fix.kind in HANDOVER_KINDS:
            _handover(ts, fix, zones, out, own_position=False)
        return
    last = ts.get("last")
    speed_kmh = None
    if last is not None:
        speed_kmh = haversine_m(last[1], last[2], fix.lon, fix.lat) / ((fix.t - last[0]) / 1000.0) * 3.6
    _compare_source(fix, zones, out)
    _visits(ts, fix, zones, out)
    _stop(ts, fix, zones, speed_kmh, out)
    _deviation(ts, fix, zones, speed_kmh, out)
    ts["last"] = [fix.t, fix.lon, fix.lat]
    recent = [r for r in ts.get("recent", []) if fix.t - r[0] <= HANDOVER_TOLERANCE_S * 1000]
    ts["recent"] = [*recent, [fix.t, fix.lon, fix.lat]]
    if fix.kind in HANDOVER_KINDS:
        _handover(ts, fix, zones, out, own_position=True)
    if fix.kind == "Delivered":
        _close_all(ts, fix, zones, out)


def _compare_source(fix: Fix, zones: list[Zone], out: Results) -> None:
    if fix.transition not in ("ENTER", "EXIT"):
        return
    zone = next((z for z in zones if z.zone_id == fix.zone_id), None)
    if zone is None:
        out.flag(fix, GEOFENCE_FLAG_DISAGREES, f"source says {fix.transition} {fix.zone_id}: no such zone on the trip")
        out.row("source_check", fix, None, fix.t, fix.t, code=GEOFENCE_FLAG_DISAGREES, detail=f"unknown {fix.zone_id}")
        return
    excess = zone.excess_m(fix.lon, fix.lat)
    wrong = excess > fix.margin_m if fix.transition == "ENTER" else excess == 0.0
    if wrong:
        where = f"{excess:.0f} m outside" if excess else "inside"
        detail = f"source says {fix.transition} {zone.zone_id}, the fix is {where}"
        out.flag(fix, GEOFENCE_FLAG_DISAGREES, detail)
        out.row("source_check", fix, zone, fix.t, fix.t, distance_m=excess, code=GEOFENCE_FLAG_DISAGREES, detail=detail)


def _visits(ts: dict[str, Any], fix: Fix, zones: list[Zone], out: Results) -> None:
    visits = ts.setdefault("visits", {})
    for zone in sorted((z for z in zones if z.kind != CORRIDOR), key=lambda z: z.zone_id):
        excess = zone.excess_m(fix.lon, fix.lat) if zone.valid_at(fix.t) else math.inf
        v = visits.setdefault(zone.zone_id, {"in": False, "run": None})
        if not v["in"]:
            if excess == 0.0:
                run = v["run"] or [fix.t, 0]
                run[1] += 1
                v["run"] = run
                if run[1] >= CONFIRM_FIXES:
                    v.update({"in": True, "enter": run[0], "last_in": fix.t, "run": None, "dwell_flagged": False})
                    _check_dwell(v, zone, fix, fix.t, out)
            else:
                v["run"] = None
            continue
        if excess > fix.margin_m:
            run = v["run"] or [fix.t, 0, fix.t - v["last_in"] > GAP_S * 1000]
            run[1] += 1
            v["run"] = run
            if run[1] >= CONFIRM_FIXES:
                gap = run[2]
                _close_visit(v, zone, fix, run[0] if not gap else v["last_in"], "gap" if gap else "exit", out)
                visits[zone.zone_id] = {"in": False, "run": None}
            continue
        v["run"], v["last_in"] = None, fix.t
        _check_dwell(v, zone, fix, fix.t, out)


def _check_dwell(v: dict[str, Any], zone: Zone, fix: Fix, until: int, out: Results) -> None:
    if zone.max_dwell_s is None or v.get("dwell_flagged"):
        return
    dwell_s = (until - v["enter"]) / 1000.0
    if dwell_s > zone.max_dwell_s:
        v["dwell_flagged"] = True
        out.flag(fix, DWELL_EXCEEDED, f"{zone.zone_id}: {dwell_s / 3600:.1f} h > {zone.max_dwell_s / 3600:g} h")


def _close_visit(v: dict[str, Any], zone: Zone, fix: Fix, exit_t: int, closed_by: str, out: Results) -> None:
    _check_dwell(v, zone, fix, exit_t, out)
    dwell_s = (exit_t - v["enter"]) / 1000.0
    code = DWELL_EXCEEDED if v.get("dwell_flagged") else ""
    detail = "pass-through" if dwell_s < MIN_DWELL_S else "arrival"
    out.row("visit", fix, zone, v["enter"], exit_t, code=code, closed_by=closed_by, detail=detail)


def _known_zone(zones: list[Zone], t: int, lon: float, lat: float, margin_m: float) -> Zone | None:
    """The first zone (by id) where vehicles may stand that covers the position (within the margin)."""
    for zone in sorted(zones, key=lambda z: z.zone_id):
        if zone.kind in STOP_KINDS and zone.valid_at(t) and zone.excess_m(lon, lat) <= margin_m:
            return zone
    return None


def _stop(ts: dict[str, Any], fix: Fix, zones: list[Zone], speed_kmh: float | None, out: Results) -> None:
    stop, last = ts.get("stop"), ts.get("last")
    if stop is None:
        if last is None or speed_kmh is None:
            return
        if haversine_m(last[1], last[2], fix.lon, fix.lat) < STOP_RADIUS_M and speed_kmh < STOP_SPEED_KMH:
            ts["stop"] = stop = {"anchor": last, "until": fix.t, "flagged": False}
            _alert_stop(stop, fix, zones, out)
        return
    anchor = stop["anchor"]
    if haversine_m(anchor[1], anchor[2], fix.lon, fix.lat) < STOP_RADIUS_M:
        stop["until"] = fix.t
        _alert_stop(stop, fix, zones, out)
        return
    _close_stop(ts, fix, zones, "moved", out)


def _alert_stop(stop: dict[str, Any], fix: Fix, zones: list[Zone], out: Results) -> None:
    t0, lon, lat = stop["anchor"]
    if stop["flagged"] or stop["until"] - t0 < STOP_ALERT_S * 1000:
        return
    if _known_zone(zones, t0, lon, lat, fix.margin_m) is None:
        stop["flagged"] = True
        minutes = (stop["until"] - t0) / 60000.0
        out.flag(fix, UNPLANNED_STOP, f"stopped {minutes:.0f} min at [{lon}, {lat}] outside every known zone")


def _close_stop(ts: dict[str, Any], fix: Fix, zones: list[Zone], closed_by: str, out: Results) -> None:
    stop = ts.pop("stop", None)
    if stop is None:
        return
    t0, lon, lat = stop["anchor"]
    if stop["until"] - t0 >= STOP_RECORD_S * 1000:
        zone = _known_zone(zones, t0, lon, lat, fix.margin_m)
        code = UNPLANNED_STOP if stop["flagged"] else ""
        detail = f"at [{lon}, {lat}]"
        out.row("stop", fix, zone, t0, stop["until"], code=code, closed_by=closed_by, detail=detail)


def _deviation(ts: dict[str, Any], fix: Fix, zones: list[Zone], speed_kmh: float | None, out: Results) -> None:
    corridors = [z for z in zones if z.kind == CORRIDOR and z.valid_at(fix.t)]
    if not corridors:
        return
    # On the route is the common case: a cheap look near the fix settles it without measuring every corridor.
    on_route = any(z.surely_covers(fix.lon, fix.lat) for z in corridors)
    if not on_route:
        excess, _, nearest = min((z.excess_m(fix.lon, fix.lat), z.zone_id, z) for z in corridors)
        on_route = excess == 0.0 or _known_zone(zones, fix.t, fix.lon, fix.lat, 0.0) is not None
    dev = ts.setdefault("deviation", {"out": None, "open": None, "back": None})
    if not on_route:
        dev["back"] = None
        if dev["open"] is not None:
            dev["open"]["max"] = max(dev["open"]["max"], excess)
            return
        run = dev["out"] or {"start": fix.t, "n": 0, "max": 0.0}
        run["n"], run["max"] = run["n"] + 1, max(run["max"], excess)
        dev["out"] = run
        if run["n"] >= DEVIATION_FIXES and fix.t - run["start"] >= DEVIATION_S * 1000:
            dev["open"], dev["out"] = {"start": run["start"], "max": run["max"], "zone": nearest.zone_id}, None
            detail = f"{run['n']} fixes up to {run['max']:.0f} m beyond corridor {nearest.zone_id}"
            out.flag(fix, ROUTE_DEVIATION, detail)
        return
    dev["out"] = None
    if dev["open"] is None:
        return
    if speed_kmh is None or speed_kmh < STOP_SPEED_KMH:
        dev["back"] = None
        return
    back = dev["back"] or {"start": fix.t, "n": 0}
    back["n"] += 1
    dev["back"] = back
    if back["n"] >= CONFIRM_FIXES:
        _close_deviation(dev, fix, zones, back["start"], "back_on_route", out)


def _close_deviation(dev: dict[str, Any], fix: Fix, zones: list[Zone], end: int, closed_by: str, out: Results) -> None:
    opened = dev["open"]
    zone = next((z for z in zones if z.zone_id == opened["zone"]), None)
    detail = f"up to {opened['max']:.0f} m beyond the corridor"
    out.row("deviation", fix, zone, opened["start"], end, distance_m=opened["max"], code=ROUTE_DEVIATION,
            closed_by=closed_by, detail=detail)  # fmt: skip
    dev.update({"out": None, "open": None, "back": None})


def _handover(ts: dict[str, Any], fix: Fix, zones: list[Zone], out: Results, own_position: bool) -> None:
    facilities = [z for z in zones if z.kind == FACILITY and z.site_id == fix.site_id and z.valid_at(fix.t)]
    positions = [r for r in ts.get("recent", []) if abs(fix.t - r[0]) <= HANDOVER_TOLERANCE_S * 1000]
    if own_position:
        positions.append([fix.t, fix.lon, fix.lat])
    for zone in sorted(facilities, key=lambda z: z.zone_id):
        if any(zone.excess_m(lon, lat) == 0.0 for _, lon, lat in positions):
            out.row("handover", fix, zone, fix.t, fix.t, detail=f"{fix.kind} at {fix.site_id}")
            return
    if facilities:
        nearest = min((z.excess_m(fix.lon, fix.lat), z.zone_id) for z in facilities)
        why = f"{nearest[0]:.0f} m outside facility zone {nearest[1]}"
    else:
        why = f"no facility zone of {fix.site_id} valid at the time"
    detail = f"{fix.kind} at {fix.site_id}: {why}"
    out.flag(fix, HANDOVER_OUTSIDE_FACILITY, detail)
    out.row("handover", fix, None, fix.t, fix.t, code=HANDOVER_OUTSIDE_FACILITY, detail=detail)


def _close_all(ts: dict[str, Any], fix: Fix, zones: list[Zone], out: Results) -> None:
    """Delivery ends the trip: open visits close at their last inside fix, an open stop and deviation at this fix."""
    visits = ts.get("visits", {})
    by_id = {z.zone_id: z for z in zones}
    for zone_id in sorted(visits):
        v = visits[zone_id]
        if v["in"] and zone_id in by_id:
            _close_visit(v, by_id[zone_id], fix, v["last_in"], "delivered", out)
            visits[zone_id] = {"in": False, "run": None}
    _close_stop(ts, fix, zones, "delivered", out)
    dev = ts.get("deviation")
    if dev and dev["open"] is not None:
        _close_deviation(dev, fix, zones, fix.t, "delivered", out)
