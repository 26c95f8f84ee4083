"""Distances and paths on a spherical Earth, in (lon, lat) order as GeoJSON and shapely have it.

One definition for every rule that measures the ground: transport legs (battrace/domain/transport.py), geofences
and corridors (battrace/domain/zones.py) and transit rules. Spherical haversine with the IUGG mean radius is the
distance basis ISO 14083 reports as ``gps_haversine``; at the scales these rules use it is within 0.5 % of the
ellipsoid, which no factor here is precise to. The simulator keeps its own copy on purpose: test data made by an
independent implementation does not share a mistake with the code it tests.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius (also the PyPI haversine package's)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two (lon, lat) positions."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def along_great_circle(a: tuple[float, float], b: tuple[float, float], f: float) -> tuple[float, float]:
    """The (lon, lat) point a fraction f of the way from a to b on the great circle (spherical interpolation)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    d = haversine_m(*a, *b) / EARTH_RADIUS_M
    if d < 1e-12:
        return a
    s1, s2 = math.sin((1 - f) * d) / math.sin(d), math.sin(f * d) / math.sin(d)
    x = s1 * math.cos(lat1) * math.cos(lon1) + s2 * math.cos(lat2) * math.cos(lon2)
    y = s1 * math.cos(lat1) * math.sin(lon1) + s2 * math.cos(lat2) * math.sin(lon2)
    z = s1 * math.sin(lat1) + s2 * math.sin(lat2)
    return math.degrees(math.atan2(y, x)), math.degrees(math.atan2(z, math.hypot(x, y)))
