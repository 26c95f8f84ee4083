"""Carbon arithmetic: one leg's transport emissions, refining emissions.

Transport intensities come from the shipped factor table (battrace/domain/data/factors.csv), the one source of
truth for every factor: tank-to-wheel (TTW) g CO2e per tonne-km, one scope throughout, and every ledger line
records the id and version of the factor it used. A consignment's chain of legs and hubs is
battrace/domain/transport.py.
"""

from __future__ import annotations

from battrace.domain.factors import shipped_table


def transport_kg_co2e(mass_kg: float, distance_km: float, mode: str) -> float:
    """emissions = mass (t) x distance (km) x intensity (g/t.km), in kg."""
    return mass_kg / 1000.0 * distance_km * shipped_table().transport(mode).value / 1000.0


def refining_kg_co2e(consumed_kg: float, intensity_kg_per_kg: float) -> float:
    return consumed_kg * intensity_kg_per_kg
