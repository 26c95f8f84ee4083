"""Great-circle distance and interpolation.

Independent vector: the haversine package's README, Lyon -> Paris, 392.2172595594006 km with the IUGG mean radius
(https://pypi.org/project/haversine/); hand values from the sphere's circumference.
"""

from __future__ import annotations

import math

import pytest

from battrace.domain.geodesy import EARTH_RADIUS_M, along_great_circle, haversine_m

LYON, PARIS = (4.8422, 45.7597), (2.3508, 48.8567)  # (lon, lat); the README gives them as (lat, lon)
DEGREE_M = 2 * math.pi * EARTH_RADIUS_M / 360


def test_haversine_matches_the_published_lyon_paris_distance() -> None:
    assert haversine_m(*LYON, *PARIS) == pytest.approx(392_217.2595594006, abs=1e-3)
    assert haversine_m(*reversed(LYON), *reversed(PARIS)) != pytest.approx(392_217.26, abs=1000)  # (lat, lon) is wrong


def test_haversine_hand_values() -> None:
    assert EARTH_RADIUS_M == 6_371_008.8
    assert haversine_m(0, 0, 1, 0) == pytest.approx(DEGREE_M, rel=1e-12)  # a degree of longitude on the equator
    assert haversine_m(0, 0, 0, 90) == pytest.approx(90 * DEGREE_M, rel=1e-12)  # equator to pole
    assert haversine_m(121.47, 31.23, 121.47, 31.23) == 0.0
    assert haversine_m(179.5, 0, -179.5, 0) == pytest.approx(DEGREE_M, rel=1e-9)  # across the antimeridian


def test_a_point_along_the_great_circle_splits_the_distance_and_leaves_the_straight_line() -> None:
    mid = along_great_circle(LYON, PARIS, 0.5)
    assert haversine_m(*LYON, *mid) == pytest.approx(haversine_m(*mid, *PARIS), rel=1e-9)
    assert haversine_m(*LYON, *mid) == pytest.approx(haversine_m(*LYON, *PARIS) / 2, rel=1e-9)
    assert along_great_circle(LYON, PARIS, 0.0) == pytest.approx(LYON) and along_great_circle(LYON, LYON, 0.3) == LYON
    # on the equator's great circle from 0 to 90 degrees east, a third of the way is 30 degrees east
    assert along_great_circle((0.0, 0.0), (90.0, 0.0), 1 / 3) == pytest.approx((30.0, 0.0), abs=1e-12)
