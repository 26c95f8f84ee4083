"""A consignment's transport chain (ISO 14083:2023, GLEC Framework v3): each leg at its own mode, hubs between.

A consignment declares its legs when it is created: the mode of each and the site it ends at, with that site's
geofence. The GPS track (haversine segments between successive fixes) is cut into legs where the consignment enters
the geofence of the hub its current leg ends at; the last leg runs to the destination. Then, per transport chain
element:

- leg: ``mass (t) x its track distance (km) x its mode's intensity (g CO2e per t.km) / 1000`` kg CO2e;
- hub: every boundary between two declared legs is a change of vehicle, so a hub operation:
  ``mass (t) x the hub kind's intensity (kg CO2e per t handled)``. A hub next to a sea leg is a maritime container
  terminal, any other a transhipment terminal (rail to rail at a gauge change, rail to road).

Transport and hub factors come from the shipped table (battrace/domain/data/factors.csv), tank-to-wheel (TTW)
both, so the distribution stage never mixes scopes. A consignment that declares no legs (a producer that predates
them) is one leg at its declared mode over the whole track. A leg whose hub geofence is never entered keeps
accruing distance, so the rest of the track is charged at its mode: the chain is never shorter than the track.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from battrace.domain.factors import Factor, FactorTable, UnknownFactorError, shipped_table
from battrace.domain.geodesy import haversine_m

MARITIME_TERMINAL, TRANSHIPMENT = "maritime_container_terminal", "transhipment"
WATERBORNE = ("SEA",)

PlannedLeg = list[Any]
"""[mode, to_site, to_geofence_id or None]: JSON-able, as the shipment's state keeps it."""


def planned_legs(created: Mapping[str, Any]) -> list[PlannedLeg]:
    """The legs a ConsignmentCreated body declares, else one leg at its declared mode to its destination."""
    declared = created.get("legs") or ()
    if declared:
        return [[leg["mode"], leg["to_site"], leg.get("to_geofence_id")] for leg in declared]
    return [[created["mode"], created["destination_site"], None]]


def hub_kind(mode_in: str, mode_out: str) -> str:
    """The kind of hub between two legs: a maritime container terminal next to a sea leg, else transhipment."""
    if mode_in.startswith(WATERBORNE) or mode_out.startswith(WATERBORNE):
        return MARITIME_TERMINAL
    return TRANSHIPMENT


def follow_fix(state: dict[str, Any], lat: float, lon: float, geofence: str | None, geofence_id: str | None) -> None:
    """Add the segment to this fix to the current leg (and the total); entering the leg's end hub starts the next.

    ``state`` is the shipment's state: ``legs`` (planned), ``leg`` (current index), ``leg_km`` (per leg),
    ``distance_km`` (whole track), ``last_pos``.
    """
    legs: list[PlannedLeg] = state.get("legs") or [[state.get("mode"), state.get("destination_site"), None]]
    leg_km: list[float] = state.setdefault("leg_km", [])
    leg_km.extend([0.0] * (len(legs) - len(leg_km)))
    current = min(state.get("leg", 0), len(leg_km) - 1)
    last = state.get("last_pos")
    if last is not None:
        d = haversine_m(last[1], last[0], lon, lat) / 1000.0
        state["distance_km"] = state.get("distance_km", 0.0) + d
        leg_km[current] += d
    state["last_pos"] = [lat, lon]
    end_geofence = legs[current][2]
    if geofence == "ENTER" and end_geofence is not None and geofence_id == end_geofence and current < len(legs) - 1:
        state["leg"] = current + 1


@dataclass(frozen=True)
class ChainElement:
    """One transport chain element: a leg (t.km) or a hub operation (t), with its emissions and factor."""

    kind: str  # "leg" or "hub"
    index: int  # leg number from 1; a hub's number is that of the leg it ends
    what: str  # the leg's mode or the hub's kind
    quantity: float
    unit: str  # "t.km" or "t"
    kg_co2e: float
    factor: Factor
    distance_km: float = 0.0


def transport_chain(
    gross_mass_kg: float, legs: Sequence[PlannedLeg], leg_km: Sequence[float], table: FactorTable | None = None
) -> list[ChainElement]:
    """The consignment's legs and hubs in order; an element whose mode or hub kind has no factor is left out."""
    table = table or shipped_table()
    tonnes = gross_mass_kg / 1000.0
    out: list[ChainElement] = []
    for i, leg in enumerate(legs):
        mode, km = leg[0], (leg_km[i] if i < len(leg_km) else 0.0)
        try:
            f = table.transport(mode)
        except UnknownFactorError:
            f = None
        if f is not None:
            tkm = tonnes * km
            out.append(ChainElement("leg", i + 1, mode, tkm, "t.km", tkm * f.value / 1000.0, f, km))
        if i + 1 < len(legs):
            kind = hub_kind(mode, legs[i + 1][0])
            try:
                h = table.hub(kind)
            except UnknownFactorError:
                continue
            out.append(ChainElement("hub", i + 1, kind, tonnes, "t", tonnes * h.value, h))
    return out
