"""End-of-life stage lines (EU 2023/1542 Annex II, stage 4): collection transport, dismantling, recycling.

The end-of-life events say what happened but not what it emitted, so each line is the mass handled times a
factor of the shipped table (battrace/domain/data/factors.csv, kind ``end_of_life``, kg CO2e per kg handled),
which names how it was derived:

- ``EndOfLifeCollected``: the pack's mass (from its Commissioned event) x the collection transport factor;
- ``Dismantled``: the pack's mass x the dismantling energy factor;
- ``Recycled``: the mass of each black-mass lot fed in x the recycling energy factor, charged to the pack the
  lot was dismantled from.

A stage is complete when all three processes have a line (battrace/domain/footprint.py): collected and dismantled
but not yet recycled is a life that is not over, and its footprint says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from battrace.domain.factors import Factor, FactorTable, shipped_table

COLLECTION, DISMANTLING, RECYCLING = "collection", "dismantling", "recycling"
PROCESSES = (COLLECTION, DISMANTLING, RECYCLING)
"""Every end-of-life process a complete end-of-life stage has a line for, as the carbon table's ``source``."""


@dataclass(frozen=True)
class EndOfLifeCharge:
    """One end-of-life ledger line: the process, the mass handled (kg), its emissions and factor."""

    process: str
    mass_kg: float
    kg_co2e: float
    factor: Factor


def charge(process: str, mass_kg: float, table: FactorTable | None = None) -> EndOfLifeCharge:
    """``mass_kg`` handled by ``process`` x its factor (kg CO2e per kg)."""
    f = (table or shipped_table()).end_of_life(process)
    return EndOfLifeCharge(process, mass_kg, mass_kg * f.value, f)
