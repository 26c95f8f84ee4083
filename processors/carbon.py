"""Carbon arithmetic: GPS track distance (haversine) and the default transport and refining factors.

Transport intensities are tank-to-wheel (TTW) g CO2e per tonne-km, the one scope of the default table
(../shared/domain/carbon.md); every ledger line records the factor id and version it used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius


@dataclass(frozen=True)
class TransportFactor:
    factor_id: str
    g_per_tkm: float
    scope: str
    source: str
    version: str


# One default per transport mode; TTW throughout so scopes never mix.
TRANSPORT_FACTORS: dict[str, TransportFactor] = {
    "ROAD": TransportFactor("defra.hgv.average", 126.0, "TTW", "UK DEFRA conversion factors", "2024"),
    "RAIL": TransportFactor("defra.rail.freight", 31.6, "TTW", "UK DEFRA", "2024"),
    "SEA": TransportFactor("defra.container.3000teu", 15.4, "TTW", "UK DEFRA", "2024"),
    "AIR": TransportFactor("glec.air.freighter.1500km", 498.0, "TTW", "GLEC v3.0 (IATA RP1678)", "3.0"),
    "INLAND_WATERWAY": TransportFactor("uba.inland.2018", 34.0, "TTW", "German Federal Environment Agency", "2018"),
}


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a spherical Earth."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def transport_kg_co2e(mass_kg: float, distance_km: float, mode: str) -> float:
    """emissions = mass (t) x distance (km) x intensity (g/t.km), in kg."""
    return mass_kg / 1000.0 * distance_km * TRANSPORT_FACTORS[mode].g_per_tkm / 1000.0


def refining_kg_co2e(consumed_kg: float, intensity_kg_per_kg: float) -> float:
    return consumed_kg * intensity_kg_per_kg
