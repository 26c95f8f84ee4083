"""Battery carbon footprint as the EU Battery Regulation declares it (2023/1542 Art. 7, Annex II).

kg CO2e per kWh of the energy the battery delivers over its service life, per life-cycle stage. A stage
with no ledger line is reported as missing, not as zero: an empty end-of-life stage would otherwise
understate the declaration without anyone noticing.

The rule for ``complete``: every one of the four stages has data, and a stage made of several processes has a
line for each of them. The end-of-life stage needs collection, dismantling and recycling lines
(battrace/domain/end_of_life.py): a pack collected and dismantled but not yet recycled has not finished its life,
so its end-of-life stage is missing (None, with the reason), not a partial sum that would pass for the whole.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from battrace.domain.end_of_life import PROCESSES
from battrace.domain.factors import FactorTable, shipped_table

STAGES = ("raw_material", "production", "distribution", "end_of_life")
"""The four declared stages, spelled as in the ClickHouse ``carbon`` table (use stage excluded)."""

PARTS: Mapping[str, tuple[str, ...]] = {"end_of_life": PROCESSES}
"""Stages made of several processes: each needs a ledger line of every ``source`` listed before it counts."""


def _positive(name: str, x: float) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {x!r}")
    return float(x)


def functional_unit_kwh(usable_energy_kwh: float, cycles_per_year: float, service_years: float) -> float:
    """E_total = usable energy at beginning of life x full-equivalent cycles per year x service years."""
    return (
        _positive("usable_energy_kwh", usable_energy_kwh)
        * _positive("cycles_per_year", cycles_per_year)
        * _positive("service_years", service_years)
    )


def cycles_for(category: str, table: FactorTable | None = None, overrides: Mapping[str, float] | None = None) -> float:
    """Full-equivalent cycles per year for a vehicle category: an override first, else the table default."""
    if overrides and category in overrides:
        return _positive(f"cycles override for {category}", overrides[category])
    return (table or shipped_table()).cycles(category).value


@dataclass(frozen=True)
class Footprint:
    """One battery's footprint: kg CO2e per stage (None = no data) over E_total kWh."""

    battery_id: str
    e_total_kwh: float
    stage_kg: Mapping[str, float | None]
    factors_used: tuple[tuple[str, str], ...] = field(default=())
    """(factor_id, factor_version) of every ledger line that went in, sorted."""
    reasons: Mapping[str, str] = field(default_factory=dict)
    """Why each missing stage is missing (stage -> reason)."""

    def __post_init__(self) -> None:
        _positive("e_total_kwh", self.e_total_kwh)
        if set(self.stage_kg) != set(STAGES):
            raise ValueError(f"stage_kg must have exactly the stages {STAGES}")

    @classmethod
    def from_ledger(cls, battery_id: str, lines: Iterable[Mapping[str, Any]], e_total_kwh: float) -> Footprint:
        """Sum carbon ledger lines (dicts with stage, source, kg_co2e, factor_id, factor_version) per stage.

        A stage of :data:`PARTS` lacking a line of one of its processes is left missing, with the reason."""
        kg: dict[str, float | None] = dict.fromkeys(STAGES)
        sources: dict[str, set[str]] = {s: set() for s in STAGES}
        used: dict[str, set[tuple[str, str]]] = {s: set() for s in STAGES}
        for line in lines:
            stage = line["stage"]
            if stage not in kg:
                raise ValueError(f"unknown stage {stage!r}; declared stages are {STAGES}")
            kg[stage] = (kg[stage] or 0.0) + float(line["kg_co2e"])
            sources[stage].add(str(line.get("source", "")))
            used[stage].add((str(line.get("factor_id", "")), str(line.get("factor_version", ""))))
        reasons: dict[str, str] = {}
        for stage in STAGES:
            if kg[stage] is None:
                reasons[stage] = "no ledger line"
            elif lacking := [p for p in PARTS.get(stage, ()) if p not in sources[stage]]:
                present = ", ".join(p for p in PARTS[stage] if p in sources[stage]) or "none of its processes"
                reasons[stage] = f"no {', '.join(lacking)} line yet (has {present})"
                kg[stage] = None
        factors = {f for stage in STAGES if kg[stage] is not None for f in used[stage]}
        return cls(battery_id, e_total_kwh, kg, tuple(sorted(factors)), reasons)

    @property
    def missing_stages(self) -> tuple[str, ...]:
        return tuple(s for s in STAGES if self.stage_kg[s] is None)

    @property
    def missing_reasons(self) -> tuple[str, ...]:
        """One ``"stage: why"`` per missing stage, in stage order."""
        return tuple(f"{s}: {self.reasons.get(s, 'no ledger line')}" for s in self.missing_stages)

    @property
    def complete(self) -> bool:
        return not self.missing_stages

    @property
    def per_kwh(self) -> dict[str, float | None]:
        """kg CO2e per kWh of E_total, per stage."""
        return {s: None if (v := self.stage_kg[s]) is None else v / self.e_total_kwh for s in STAGES}

    @property
    def total_kg(self) -> float:
        """Sum of the stages that have data; check :attr:`complete` before declaring it."""
        return sum(v for v in self.stage_kg.values() if v is not None)

    @property
    def total_per_kwh(self) -> float:
        return self.total_kg / self.e_total_kwh


class Allocation(dict[str, float]):
    """kg CO2e per item; ``equal_shares`` says masses were missing and the split is equal, ``missing`` which."""

    def __init__(self, kg: Mapping[str, float], equal_shares: bool, missing: tuple[str, ...] = ()) -> None:
        super().__init__(kg)
        self.equal_shares = equal_shares
        self.missing = missing


def allocate_by_mass(
    total_kg: float, masses: Mapping[str, float | None], ids: Iterable[str] | None = None
) -> Allocation:
    """Split a consignment's emissions over its items in proportion to their mass (ISO 14083).

    ``ids`` are the items carried (default: the keys of ``masses``); an item without a positive mass
    makes the whole split fall back to equal shares, reported on the result, because a partial mass
    split cannot know the unknown items' share.
    """
    if isinstance(total_kg, bool) or not isinstance(total_kg, int | float) or not math.isfinite(total_kg):
        raise ValueError(f"total_kg must be a finite number, got {total_kg!r}")
    if total_kg < 0:
        raise ValueError("total_kg must be >= 0")
    items = list(dict.fromkeys(ids if ids is not None else masses))
    if not items:
        raise ValueError("nothing to allocate to")
    known: dict[str, float] = {}
    for i in items:
        m = masses.get(i)
        if m is None or (isinstance(m, float) and math.isnan(m)):
            continue
        if isinstance(m, bool) or not isinstance(m, int | float) or not math.isfinite(m) or m < 0:
            raise ValueError(f"mass of {i!r} must be a finite number >= 0, got {m!r}")
        if m > 0:
            known[i] = float(m)
    missing = tuple(i for i in items if i not in known)
    if missing:
        return Allocation({i: total_kg / len(items) for i in items}, True, missing)
    mass_sum = sum(known.values())
    return Allocation({i: total_kg * known[i] / mass_sum for i in items}, False)
