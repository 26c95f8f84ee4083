"""Zone geometry: circles by haversine, polygons in a local metric frame, corridors along great circles.

Independent vector: RFC 7946 Appendix A.3's polygon ([lon, lat] positions); distances are battrace/domain/geodesy.py's
(tests/unit/domain/test_geodesy.py).
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from shapely.geometry import LineString, Point

from battrace.domain.zones import Zone, ZoneError, _compiled

RFC7946_POLYGON = {
    "type": "Polygon",
    "coordinates": [[[100.0, 0.0], [101.0, 0.0], [101.0, 1.0], [100.0, 1.0], [100.0, 0.0]]],
}


def zone(geometry: dict, kind: str = "FACILITY", **extra: object) -> Zone:
    return Zone.of({"zone_id": "Z", "kind": kind, "geometry": json.dumps(geometry), "valid_from": 0, **extra})


def corridor_shape(z: Zone) -> Any:
    """The compiled corridor, to compare with the whole line."""
    return _compiled(z.geometry, z.kind, z.radius_m, z.half_width_m)


def test_a_circle_is_metres_from_its_centre_not_degrees() -> None:
    """At 51.956 N a degree of longitude is ~0.62 of a degree of latitude: a degree-buffer would be an ellipse."""
    rotterdam = zone({"type": "Point", "coordinates": [4.045, 51.956]}, radius_m=500.0)
    east = 600.0 / (111_195.0 * math.cos(math.radians(51.956)))  # 600 m east, in degrees of longitude
    north = 600.0 / 111_195.0
    assert rotterdam.excess_m(4.045 + east, 51.956) == pytest.approx(100.0, abs=1.0)
    assert rotterdam.excess_m(4.045, 51.956 + north) == pytest.approx(100.0, abs=1.0)
    assert rotterdam.excess_m(4.045, 51.956) == 0.0
    assert rotterdam.excess_m(51.956, 4.045) > 1_000_000  # swapped order lands in the Arabian Sea


def test_a_polygon_covers_its_boundary_and_measures_outside_in_metres() -> None:
    square = zone(RFC7946_POLYGON)
    assert square.excess_m(100.5, 0.5) == 0.0
    assert square.excess_m(101.0, 0.5) == 0.0  # covers, not contains: the boundary is inside
    assert square.excess_m(101.01, 0.5) == pytest.approx(1_112.0, rel=0.01)  # 0.01 deg at the equator
    assert square.excess_m(0.5, 100.5) == math.inf or square.excess_m(0.5, 100.5) > 1e6


def test_a_corridor_follows_the_great_circle_between_its_vertices() -> None:
    """Rotterdam -> Duisburg: the great circle's midpoint is on the corridor, the planar midpoint off it."""
    line = {"type": "LineString", "coordinates": [[4.0, 51.9], [6.7, 51.4]]}
    corridor = zone(line, kind="CORRIDOR", half_width_m=300.0)
    lon, lat = 5.35, 51.65  # planar midpoint of the two positions
    assert corridor.excess_m(lon, lat) > 300.0
    # the great circle passes north of the planar midpoint; walk north until the corridor covers
    covered = [d for d in range(0, 3000, 50) if corridor.excess_m(lon, lat + d / 111_195.0) == 0.0]
    assert covered and 300 < covered[0] < 2000


@pytest.mark.parametrize(
    ("geometry", "extra", "problem"),
    [
        ({"type": "Point", "coordinates": [4.0, 51.0]}, {}, "radius_m"),
        ({"type": "Point", "coordinates": [190.0, 51.0]}, {"radius_m": 100.0}, "out of range"),
        ({"type": "Point", "coordinates": [4.0, 95.0]}, {"radius_m": 100.0}, "out of range"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, {}, "not valid"),
        ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, {}, "a LineString cannot be"),
        ({"type": "Nonsense"}, {}, "not GeoJSON"),
    ],
)
def test_unusable_zones_are_refused_with_the_reason(geometry: dict, extra: dict, problem: str) -> None:
    with pytest.raises(ZoneError, match=problem):
        zone(geometry, **extra)


def test_validity_is_half_open_on_fix_time() -> None:
    z = zone({"type": "Point", "coordinates": [4.0, 51.0]}, radius_m=100.0, valid_from=1_000, valid_to=2_000)
    assert [z.valid_at(t) for t in (999, 1_000, 1_999, 2_000)] == [False, True, True, False]


def test_a_long_corridor_measures_only_nearby_segments_and_agrees_with_the_whole_line() -> None:
    """Shanghai -> Singapore -> Suez: the distance over the near segments equals the distance to the whole line."""
    coords = [[122.07, 30.62], [119.6, 24.5], [110.5, 12.0], [103.6, 1.2], [80.5, 5.6], [43.35, 12.55], [32.32, 30.6]]
    corridor = zone({"type": "LineString", "coordinates": coords}, kind="CORRIDOR", half_width_m=500.0)
    compiled = corridor_shape(corridor)
    rng = random.Random(3)
    for _ in range(200):
        i = rng.randrange(len(compiled.lons))
        lon, lat = compiled.lons[i] + rng.uniform(-0.3, 0.3), compiled.lats[i] + rng.uniform(-0.3, 0.3)
        scale = 6_371_008.8 * math.pi / 180.0
        xs = (compiled.lons - lon) * scale * math.cos(math.radians(lat))
        whole = LineString(list(zip(xs, (compiled.lats - lat) * scale, strict=True))).distance(Point(0, 0))
        assert corridor.excess_m(lon, lat) == pytest.approx(max(0.0, whole - 500.0), abs=1e-6)


def test_the_quick_look_near_a_fix_agrees_with_measuring_the_whole_corridor() -> None:
    """Ningbo -> Rotterdam by sea, about 4,000 vertices: ``surely_covers`` may only say True where ``excess_m``
    is 0, and on the centre line it must say True."""
    line = {
        "type": "LineString",
        "coordinates": [[121.9, 29.9], [114.2, 22.2], [103.8, 1.2], [80.1, 5.8], [43.4, 12.6], [32.5, 30.0],
                        [11.0, 37.5], [-9.5, 38.7], [-5.6, 36.0], [-1.0, 50.0], [4.0, 51.9]],
    }  # fmt: skip
    corridor = zone(line, kind="CORRIDOR", half_width_m=5_000.0)
    vertices = list(zip(*_compiled(corridor.geometry, "corridor", None, 5_000.0).lons_lats(), strict=True))
    rng = random.Random(11)
    near = [(lon + rng.uniform(-0.08, 0.08), lat + rng.uniform(-0.08, 0.08)) for lon, lat in rng.sample(vertices, 400)]
    anywhere = [(rng.uniform(-20.0, 130.0), rng.uniform(-40.0, 60.0)) for _ in range(100)]
    quick = [corridor.surely_covers(lon, lat) for lon, lat in near + anywhere]
    full = [corridor.excess_m(lon, lat) == 0.0 for lon, lat in near + anywhere]
    assert all(f for q, f in zip(quick, full, strict=True) if q)  # never claims a cover that is not there
    assert sum(quick) == sum(full) and 50 < sum(full) < 400  # and misses none here, with both kinds present
    assert all(corridor.surely_covers(lon, lat) for lon, lat in vertices[::50])
