"""The geofence zones a forwarder freezes for a trip when it plans it: the sites at both ends, the hubs on the way,
a rest area before a road delivery, and the planned corridor.

The simulator's points are (lat, lon); every zone record is GeoJSON, (lon, lat): the conversion happens here, once.
Sizes are common geofencing defaults: facility circles of 300 m (sites use 100-500 m), rail terminals 1 km, port
terminals drawn as 4 x 2 km outlines, rest areas 250 m, and a corridor half-width of 500 m (general long haul: the
simulated fixes scatter about 100 m around the track, so 300 m would put a fix in twenty outside).
"""

from __future__ import annotations

import json
import math
from typing import Any

from streams.simulator.geo import Leg, Point, Route, Site

FACILITY_RADIUS_M = 300.0
TERMINAL_RADIUS_M = 1000.0
PORT_HALF_SIZE_M = (2000.0, 1000.0)  # east-west, north-south
REST_AREA_RADIUS_M = 250.0
REST_AREA_BEFORE_KM = 8.0  # where a road leg's rest area sits, before its end
CORRIDOR_HALF_WIDTH_M = 500.0
HUB_MAX_DWELL_S = 96 * 3600  # transshipments take 24-72 h in the story; four days is overdue
HUB_EXIT_KM = 3.0  # where a vehicle leaving a hub reports EXIT: beyond every hub outline plus its margin
METRES_PER_DEGREE = 6_371_008.8 * math.pi / 180.0


def _point(lat: float, lon: float) -> str:
    return json.dumps({"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]})


def _rectangle(lat: float, lon: float, half_east_m: float, half_north_m: float) -> str:
    """A lon/lat rectangle of the given half-sizes in metres (degrees of longitude shrink with cos(lat))."""
    dlon = half_east_m / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    dlat = half_north_m / METRES_PER_DEGREE
    ring = [(lon - dlon, lat - dlat), (lon + dlon, lat - dlat), (lon + dlon, lat + dlat), (lon - dlon, lat + dlat)]
    coords = [[round(x, 6), round(y, 6)] for x, y in [*ring, ring[0]]]  # counter-clockwise, closed (RFC 7946)
    return json.dumps({"type": "Polygon", "coordinates": [coords]})


def _zone(zone_id: str, kind: str, geometry: str, valid_from: int, cid: str, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "zone_id": zone_id,
        "version": 1,
        "kind": kind,
        "geometry": geometry,
        "radius_m": None,
        "half_width_m": None,
        "site_id": None,
        "licence_number": None,
        "valid_from": valid_from,
        "valid_to": None,
        "max_dwell_s": None,
        "consignment_ids": [cid],
    }
    record.update(extra)
    return record


def rest_area(leg: Leg) -> Point:
    """The rest area of a road leg, shortly before its end."""
    return leg.point_at(max(0.0, leg.length_km - REST_AREA_BEFORE_KM))


def hub_exit(next_leg: Leg) -> Point:
    """Where a vehicle leaving a hub along its next leg reports EXIT."""
    return next_leg.point_at(HUB_EXIT_KM)


def offset(before: Point, at: Point, after: Point, metres: float) -> Point:
    """``at`` moved ``metres`` to the left of the direction from ``before`` to ``after`` (a detour)."""
    k = math.cos(math.radians(at[0]))
    east, north = (after[1] - before[1]) * k, after[0] - before[0]
    norm = math.hypot(east, north) or 1.0
    left_east, left_north = -north / norm, east / norm
    return (at[0] + left_north * metres / METRES_PER_DEGREE, at[1] + left_east * metres / (METRES_PER_DEGREE * k))


def trip_zones(
    cid: str, route: Route, licences: dict[str, tuple[str, int, int]], since_ms: int
) -> list[dict[str, Any]]:
    """The zones frozen for consignment ``cid``: ``licences`` maps a site to its operator's (licence, from, to)."""

    def facility(site: Site) -> dict[str, Any]:
        licence, valid_from, valid_to = licences.get(site.site_id, (None, since_ms, None))
        return _zone(
            f"F-{site.site_id}",
            "FACILITY",
            _point(site.lat, site.lon),
            valid_from,
            cid,
            radius_m=FACILITY_RADIUS_M,
            site_id=site.site_id,
            licence_number=licence,
            valid_to=valid_to,
        )

    zones = [facility(route.origin), facility(route.destination)]
    for leg in route.legs[:-1]:
        hub = leg.end
        if "PORT" in hub.site_id:
            geometry, kind, size = _rectangle(hub.lat, hub.lon, *PORT_HALF_SIZE_M), "PORT", {}
        else:
            geometry, kind, size = _point(hub.lat, hub.lon), "HUB", {"radius_m": TERMINAL_RADIUS_M}
        zone_id = hub.geofence_id or f"H-{hub.site_id}"
        zones.append(
            _zone(zone_id, kind, geometry, since_ms, cid, site_id=hub.site_id, max_dwell_s=HUB_MAX_DWELL_S, **size)
        )
    last = route.legs[-1]
    if last.mode == "ROAD":
        lat, lon = rest_area(last)
        zones.append(_zone(f"R-{cid}", "REST_AREA", _point(lat, lon), since_ms, cid, radius_m=REST_AREA_RADIUS_M))
    centre: list[list[float]] = []
    for leg in route.legs:
        for lat, lon in leg.path:
            if not centre or centre[-1] != [round(lon, 6), round(lat, 6)]:
                centre.append([round(lon, 6), round(lat, 6)])
    line = json.dumps({"type": "LineString", "coordinates": centre})
    zones.append(_zone(f"K-{cid}", "CORRIDOR", line, since_ms, cid, half_width_m=CORRIDOR_HALF_WIDTH_M))
    return zones
