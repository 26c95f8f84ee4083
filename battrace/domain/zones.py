"""Geofence zones as the registry publishes them, and how far a GPS fix lies outside each one, in metres.

Geometry is shapely's (2.x); only the choice of metric frame is ours:
- a **circle** (GeoJSON Point + ``radius_m``) is measured by haversine distance from its centre (IUGG mean radius),
  so no circle is ever buffered in degrees;
- a **polygon** is projected once into a local equirectangular frame around its centroid (x = R·Δλ·cos φ0,
  y = R·Δφ), where shapely's ``covers`` and ``distance`` work in metres; for site-sized outlines (a few km) this
  matches haversine to millimetres (about 2 mm at 10 km and 2 m at 100 km, at 52° N);
- a **corridor** (GeoJSON LineString + ``half_width_m``) is densified along great circles to vertices at most
  ``CORRIDOR_STEP_KM`` apart, and each fix measures its distance to that centre line in an equirectangular frame
  centred on the fix itself, so long sea and rail corridors are never projected as a whole.

Coordinates are (lon, lat) everywhere in this module, as in GeoJSON and shapely; ranges are checked when a zone is
read. Pure functions; the compiled shapes are cached by the zone's content, never by anything else. numpy and
shapely are imported where a zone is compiled or measured, not with the module: most events carry no zone, and the
two cost a fifth of a second of every worker's start-up.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from battrace.domain.geodesy import EARTH_RADIUS_M, along_great_circle, haversine_m

CORRIDOR_STEP_KM = 5.0  # densification of corridor centre lines: chords this short stay within ~1 m of the arc
CORRIDOR_CELL_DEG = 0.25  # grid of the index that finds the corridor segments near a fix
CORRIDOR = "corridor"
# Zones where a vehicle may stand still or hand over goods: a stop inside one is planned.
STOP_KINDS = frozenset({"facility", "gate", "hub", "port", "border", "rest_area"})
FACILITY = "facility"


class ZoneError(ValueError):
    """A zone record whose geometry cannot be used (bad GeoJSON, coordinates out of range, a missing radius)."""


def _check_position(lon: float, lat: float) -> None:
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ZoneError(f"position [{lon}, {lat}] is out of range (GeoJSON positions are [lon, lat])")


@dataclass(frozen=True)
class Zone:
    """One version of a zone, read from a registry record's ``zones`` entry (schemas/registry_entity.avsc)."""

    zone_id: str
    version: int
    kind: str  # lower case: facility, gate, hub, port, border, rest_area, corridor, restricted
    geometry: str  # GeoJSON text, as published
    radius_m: float | None
    half_width_m: float | None
    site_id: str | None
    licence_number: str | None
    valid_from: int
    valid_to: int | None
    max_dwell_s: int | None

    @classmethod
    def of(cls, record: dict[str, Any]) -> Zone:
        """The zone of a registry ``zones`` entry; ZoneError when its geometry is unusable."""
        zone = cls(
            zone_id=record["zone_id"],
            version=int(record.get("version", 1)),
            kind=str(record["kind"]).lower(),
            geometry=record["geometry"],
            radius_m=record.get("radius_m"),
            half_width_m=record.get("half_width_m"),
            site_id=record.get("site_id"),
            licence_number=record.get("licence_number"),
            valid_from=int(record["valid_from"]),
            valid_to=None if record.get("valid_to") is None else int(record["valid_to"]),
            max_dwell_s=record.get("max_dwell_s"),
        )
        _compiled(zone.geometry, zone.kind, zone.radius_m, zone.half_width_m)  # raises ZoneError now, not per fix
        return zone

    def valid_at(self, t_ms: int) -> bool:
        """Half-open validity [valid_from, valid_to), compared with the fix time."""
        return self.valid_from <= t_ms and (self.valid_to is None or t_ms < self.valid_to)

    def excess_m(self, lon: float, lat: float) -> float:
        """Metres the position lies outside the zone's boundary; 0 when the zone covers it (boundary included).

        For a corridor: metres beyond its half-width from the centre line."""
        return _compiled(self.geometry, self.kind, self.radius_m, self.half_width_m).excess_m(lon, lat)

    def surely_covers(self, lon: float, lat: float) -> bool:
        """True only when ``excess_m`` is 0, found cheaply; False means "measure it" (corridors only)."""
        compiled = _compiled(self.geometry, self.kind, self.radius_m, self.half_width_m)
        return isinstance(compiled, _Corridor) and compiled.surely_covers(lon, lat)


class _Circle:
    def __init__(self, lon: float, lat: float, radius_m: float) -> None:
        self.lon, self.lat, self.radius_m = lon, lat, radius_m

    def excess_m(self, lon: float, lat: float) -> float:
        return max(0.0, haversine_m(self.lon, self.lat, lon, lat) - self.radius_m)


class _Area:
    """A polygon in the equirectangular frame of its centroid, prepared for repeated point queries."""

    def __init__(self, geom: Any) -> None:
        import shapely

        centre = geom.centroid
        self.lon0, self.lat0 = centre.x, centre.y
        self.k = math.cos(math.radians(self.lat0))
        self.area = shapely.transform(geom, self._xy, interleaved=False)
        shapely.prepare(self.area)

    def _xy(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        import numpy as np

        scale = EARTH_RADIUS_M * math.pi / 180.0
        return (np.asarray(lon) - self.lon0) * scale * self.k, (np.asarray(lat) - self.lat0) * scale

    def excess_m(self, lon: float, lat: float) -> float:
        from shapely.geometry import Point

        x, y = self._xy(lon, lat)
        pt = Point(float(x), float(y))
        return 0.0 if self.area.covers(pt) else float(self.area.distance(pt))


class _Corridor:
    """A centre line densified along great circles; distances are taken in a frame centred on each fix."""

    def __init__(self, coords: list[tuple[float, float]], half_width_m: float) -> None:
        import numpy as np

        lons, lats = _densified(coords)
        self.lons, self.lats, self.half_width_m = np.asarray(lons), np.asarray(lats), half_width_m
        self._segments = list(pairwise(zip(lons, lats, strict=True)))
        self._cells = _segment_cells(self._segments, half_width_m)

    def lons_lats(self) -> tuple[list[float], list[float]]:
        """The densified centre line's vertices."""
        return self.lons.tolist(), self.lats.tolist()

    def surely_covers(self, lon: float, lat: float) -> bool:
        """Whether a segment listed in the fix's grid cell lies within the half-width, in ``excess_m``'s frame.

        A vehicle on its route is covered by the segment it is on: a dictionary lookup and a few segments in plain
        Python, instead of ``excess_m``'s pass over every vertex of a corridor thousands of vertices long."""
        segments = self._cells.get(_cell(lon, lat))
        if not segments:
            return False
        scale = EARTH_RADIUS_M * math.pi / 180.0
        kx = scale * math.cos(math.radians(lat))
        limit = self.half_width_m**2
        for i in segments:
            (lon1, lat1), (lon2, lat2) = self._segments[i]
            x1, y1 = ((lon1 - lon + 180.0) % 360.0 - 180.0) * kx, (lat1 - lat) * scale
            x2, y2 = ((lon2 - lon + 180.0) % 360.0 - 180.0) * kx, (lat2 - lat) * scale
            dx, dy = x2 - x1, y2 - y1
            length2 = dx * dx + dy * dy
            f = 0.0 if length2 == 0.0 else min(1.0, max(0.0, -(x1 * dx + y1 * dy) / length2))
            px, py = x1 + f * dx, y1 + f * dy
            if px * px + py * py <= limit:
                return True
        return False

    def excess_m(self, lon: float, lat: float) -> float:
        import numpy as np
        import shapely
        from shapely.geometry import Point

        scale = EARTH_RADIUS_M * math.pi / 180.0
        dlon = (self.lons - lon + 180.0) % 360.0 - 180.0  # across the antimeridian too
        xs, ys = dlon * scale * math.cos(math.radians(lat)), (self.lats - lat) * scale
        # Only segments with an end within (nearest vertex + longest segment) can hold the nearest point: measure
        # those (a long sea corridor has thousands of vertices, a fix is near a handful).
        reach = np.hypot(xs, ys)
        near = reach <= reach.min() + CORRIDOR_STEP_KM * 1000.0 + 1.0
        ends = np.flatnonzero(near[:-1] | near[1:]) if len(xs) > 1 else np.array([], dtype=int)
        if len(ends) == 0:
            return max(0.0, float(reach.min()) - self.half_width_m)
        segments = shapely.linestrings(np.stack([np.column_stack([xs[ends], ys[ends]]),
                                                 np.column_stack([xs[ends + 1], ys[ends + 1]])], axis=1))  # fmt: skip
        distance = float(shapely.distance(segments, Point(0.0, 0.0)).min())
        return max(0.0, distance - self.half_width_m)


def _cell(lon: float, lat: float) -> tuple[int, int]:
    return math.floor(lon / CORRIDOR_CELL_DEG), math.floor(lat / CORRIDOR_CELL_DEG)


def _segment_cells(segments: list[tuple[tuple[float, float], tuple[float, float]]], half_width_m: float) -> dict:
    """Grid cell -> the segments whose box, widened by the half-width, reaches into it. Segments across the
    antimeridian or near a pole are left out: a fix near them is measured in full."""
    cells: dict[tuple[int, int], list[int]] = {}
    pad_lat = half_width_m / (EARTH_RADIUS_M * math.pi / 180.0) * 1.01
    for i, ((lon1, lat1), (lon2, lat2)) in enumerate(segments):
        top = max(abs(lat1), abs(lat2)) + pad_lat
        if abs(lon2 - lon1) > 180.0 or top > 80.0:
            continue
        pad_lon = pad_lat / math.cos(math.radians(top))
        (x0, y0), (x1, y1) = (
            _cell(min(lon1, lon2) - pad_lon, min(lat1, lat2) - pad_lat),
            _cell(max(lon1, lon2) + pad_lon, max(lat1, lat2) + pad_lat),
        )
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                cells.setdefault((x, y), []).append(i)
    return cells


def _densified(coords: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    lons, lats = [coords[0][0]], [coords[0][1]]
    for a, b in pairwise(coords):
        n = max(1, math.ceil(haversine_m(*a, *b) / 1000.0 / CORRIDOR_STEP_KM))
        for i in range(1, n + 1):
            lon, lat = along_great_circle(a, b, i / n)
            lons.append(lon)
            lats.append(lat)
    return lons, lats


@lru_cache(maxsize=4096)
def _compiled(geometry: str, kind: str, radius_m: float | None, half_width_m: float | None) -> Any:
    """The zone's shape in metres, cached by content (a trip's zones are checked against every one of its fixes)."""
    import shapely
    from shapely.geometry import Polygon, shape

    try:
        geom = shape(json.loads(geometry))
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise ZoneError(f"geometry is not GeoJSON: {exc}") from None
    if geom.is_empty:
        raise ZoneError("geometry is empty")
    coords = shapely.get_coordinates(geom)
    for lon, lat in coords:
        _check_position(float(lon), float(lat))
    if kind == CORRIDOR:
        if geom.geom_type != "LineString" or not half_width_m or half_width_m <= 0:
            raise ZoneError("a corridor is a LineString with half_width_m > 0")
        return _Corridor([(float(x), float(y)) for x, y in coords], float(half_width_m))
    if geom.geom_type == "Point":
        if not radius_m or radius_m <= 0:
            raise ZoneError("a circle zone (Point) needs radius_m > 0")
        return _Circle(geom.x, geom.y, float(radius_m))
    if isinstance(geom, Polygon) or geom.geom_type == "MultiPolygon":
        if not geom.is_valid:
            raise ZoneError(f"polygon is not valid: {shapely.is_valid_reason(geom)}")
        return _Area(geom)
    raise ZoneError(f"a {geom.geom_type} cannot be a {kind} zone")
