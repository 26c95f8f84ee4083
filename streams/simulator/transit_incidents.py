"""Transit incidents the story plants on a few consignments (``violations=True``), one kind per consignment, so the
geofence rules (battrace/domain/transit.py) have each case to find, and only those:

- ``route_deviation``: four consecutive fixes in the middle of the trip's longest leg, 5 km to the left of the track;
- ``unplanned_stop``: the vehicle stands still for two hours (or two reporting intervals) mid-leg, outside any zone;
- ``dwell_exceeded``: the first hub stay lasts 100 h longer than usual, beyond the hubs' four-day limit;
- ``handover_outside_facility``: arrival and delivery happen at the rest area before the receiver's site.

Which consignment gets which is fixed by its number (the story's consignment counter), so every seed plants them at
the same places of the story; a case the route cannot carry (no hub, no road delivery, too few fixes) is not planted.
The drafts that must raise a flag say so (``Draft.transit``): the fix that completes the deviation's third fix, the
first stopped fix an hour or more after the stop began, the first parked fix beyond the dwell limit, the delivery.
"""

from __future__ import annotations

from dataclasses import dataclass

from battrace.domain.transit import DWELL_EXCEEDED as DWELL
from battrace.domain.transit import HANDOVER_OUTSIDE_FACILITY as HANDOVER
from battrace.domain.transit import ROUTE_DEVIATION as DEVIATION
from battrace.domain.transit import STOP_ALERT_S
from battrace.domain.transit import UNPLANNED_STOP as STOP
from streams.simulator import zones
from streams.simulator.geo import FIX_EVERY_H, Leg, Point, Route

__all__ = ["DEVIATION", "DWELL", "HANDOVER", "PARKED_EVERY_H", "STOP", "STOP_ALERT_S", "Incident", "Track", "choose"]

EVERY = 8  # of every eight consignments, numbers 2-5 carry one incident each (1, 6, 7 and 8 travel clean)
CASES = {2: DEVIATION, 3: STOP, 4: DWELL, 5: HANDOVER}
DETOUR_M = 5000.0
DETOUR_FIXES = 4
STOP_H = 2.0
EXTRA_STAY_S = 100 * 3600.0
PARKED_EVERY_H = 6.0  # a parked tracker's heartbeat


@dataclass(frozen=True)
class Incident:
    code: str
    leg: int  # the leg it happens on (for a dwell: the leg that ends at the hub)


def choose(number: int, route: Route) -> Incident | None:
    """The incident of consignment ``number`` on ``route``, if any."""
    code = CASES.get(number % EVERY)
    legs = route.legs
    if code == DEVIATION:
        return Incident(code, max(range(len(legs)), key=lambda i: _expected_fixes(legs[i])))
    if code == STOP:
        roads = [i for i, leg in enumerate(legs) if leg.mode == "ROAD"] or list(range(len(legs)))
        return Incident(code, max(roads, key=lambda i: _expected_fixes(legs[i])))
    if code == DWELL and len(legs) > 1:
        return Incident(code, 0)
    if code == HANDOVER and legs[-1].mode == "ROAD":
        return Incident(code, len(legs) - 1)
    return None


def _expected_fixes(leg: Leg) -> float:
    return leg.length_km / (FIX_EVERY_H[leg.mode] * 40.0)


def handover_point(incident: Incident | None, route: Route) -> Point | None:
    """Where a misplaced handover happens: the rest area of the last (road) leg."""
    return zones.rest_area(route.legs[-1]) if incident is not None and incident.code == HANDOVER else None


class Track:
    """One leg's fixes as the incident bends them."""

    def __init__(self, incident: Incident | None, leg_index: int, leg: Leg, fixes: list[tuple[float, Point]]) -> None:
        here = incident if incident is not None and incident.leg == leg_index else None
        self.code = here.code if here else None
        self.leg, self.fixes = leg, fixes
        self.detour = range(0)
        if self.code == DEVIATION and len(fixes) >= 2 * DETOUR_FIXES:
            first = len(fixes) // 2 - DETOUR_FIXES // 2
            self.detour = range(first, first + DETOUR_FIXES)
        self.stop_at = len(fixes) // 2 if self.code == STOP and len(fixes) >= 4 else None

    def position(self, j: int, noisy: Point) -> Point:
        if j not in self.detour:
            return noisy
        before = self.fixes[j - 1][1] if j > 0 else self.leg.path[0]
        after = self.fixes[j + 1][1] if j + 1 < len(self.fixes) else self.leg.path[-1]
        return zones.offset(before, noisy, after, DETOUR_M)

    def flags_at(self, j: int) -> tuple[str, ...]:
        return (DEVIATION,) if self.detour and j == self.detour.start + 2 else ()

    def stop_after(self, j: int) -> float:
        """Hours the vehicle stands still after fix ``j``."""
        return max(STOP_H, 2 * FIX_EVERY_H[self.leg.mode]) if j == self.stop_at else 0.0

    def extra_stay_s(self) -> float:
        return EXTRA_STAY_S if self.code == DWELL else 0.0

    def dwell_limit_s(self) -> float | None:
        return float(zones.HUB_MAX_DWELL_S) if self.code == DWELL else None
