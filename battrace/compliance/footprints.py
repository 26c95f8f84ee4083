"""Carbon footprint per battery (EU 2023/1542 Art. 7): the four stages per kWh of lifetime energy.

A battery's raw-material and production lines are its own plus those of every battery assembled into it
(a pack carries its modules' and cells' refining and electricity). Distribution is the transport of every
consignment that carried the battery or a battery it was assembled into, split over the consignment's
batteries by mass (ISO 14083); a component's part of a carried pack is the pack's share times the
component's mass over the pack's. A consignment's lines are one per leg and one per hub
(battrace/domain/transport.py), each allocated on its own. Consignments of material lots are inbound
logistics, not distribution, and are not allocated here. A pack's end-of-life lines (collection,
dismantling, recycling) are shared with its components the same way, since a pack ends its life whole.
A stage without its ledger lines stays missing (NULL), never zero, and ``missing_reasons`` says why: the
end of life until the pack is collected, dismantled and recycled (battrace/domain/footprint.py states the
rule for ``complete``).

E_total = energy_kwh x cycles per year of the vehicle category (the battery's, else the pack's it is in;
M1 when unknown, recorded as an assumption) x service years (BATTRACE_SERVICE_YEARS).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.compliance.materials import assembly, parents_of, subtree
from battrace.compliance.tables import rows
from battrace.domain.factors import UnknownFactorError
from battrace.domain.footprint import STAGES, Footprint, allocate_by_mass, cycles_for, functional_unit_kwh

DEFAULT_CATEGORY = "M1"
DEFAULT_SERVICE_YEARS = 8.0


@dataclass(frozen=True)
class BatteryInfo:
    battery_id: str
    model: str = ""
    site_id: str = ""
    product_type: str = ""
    energy_kwh: float = 0.0
    mass_kg: float | None = None
    vehicle_category: str = ""


@dataclass(frozen=True)
class Consignment:
    """A delivered consignment's transport ledger line and the batteries it carried."""

    shipment_id: str
    kg_co2e: float
    factor_id: str
    factor_version: str
    battery_ids: tuple[str, ...]


Line = dict[str, Any]  # a ledger line: stage, kg_co2e, factor_id, factor_version


def distribution_lines(
    consignments: Iterable[Consignment], batteries: Mapping[str, BatteryInfo], children: Mapping[str, Sequence[str]]
) -> tuple[dict[str, list[Line]], dict[str, list[str]]]:
    """(battery -> distribution lines, battery -> assumptions) from the consignments that carried it or its pack."""
    lines: dict[str, list[Line]] = {}
    notes: dict[str, list[str]] = {}
    for c in consignments:
        if not c.battery_ids:
            continue
        masses = {b: batteries[b].mass_kg if b in batteries else None for b in c.battery_ids}
        split = allocate_by_mass(c.kg_co2e, masses, c.battery_ids)
        for carried, kg in split.items():
            for b in subtree(children, carried):
                share = kg
                if b != carried:
                    m, whole = (batteries[b].mass_kg if b in batteries else None), masses.get(carried)
                    if not m or not whole:
                        notes.setdefault(b, []).append(
                            f"distribution: no mass to take its part of {carried} in {c.shipment_id}"
                        )
                        continue
                    share = kg * m / whole
                line = {
                    "stage": "distribution",
                    "kg_co2e": share,
                    "factor_id": c.factor_id,
                    "factor_version": c.factor_version,
                }
                lines.setdefault(b, []).append(line)
                if split.equal_shares:
                    missing = ", ".join(split.missing)
                    notes.setdefault(b, []).append(
                        f"distribution: {c.shipment_id} split in equal shares (no mass for {missing})"
                    )
    return lines, notes


def end_of_life_parts(
    own_lines: Mapping[str, Sequence[Line]], batteries: Mapping[str, BatteryInfo], children: Mapping[str, Sequence[str]]
) -> tuple[dict[str, list[Line]], dict[str, list[str]]]:
    """(component -> its part of the end-of-life lines of the pack it was assembled into, component -> notes).

    A pack is collected, dismantled and recycled whole, so each of its modules and cells takes the pack's lines
    times its mass over the pack's, as it takes its part of the pack's transport."""
    lines: dict[str, list[Line]] = {}
    notes: dict[str, list[str]] = {}
    for pack in sorted(own_lines):
        eol = [line for line in own_lines[pack] if line["stage"] == "end_of_life"]
        if not eol:
            continue
        whole = batteries[pack].mass_kg if pack in batteries else None
        for b in subtree(children, pack)[1:]:
            m = batteries[b].mass_kg if b in batteries else None
            if not m or not whole:
                notes.setdefault(b, []).append(f"end_of_life: no mass to take its part of {pack}")
                continue
            lines.setdefault(b, []).extend({**line, "kg_co2e": line["kg_co2e"] * m / whole} for line in eol)
    return lines, notes


def vehicle_category(battery_id: str, batteries: Mapping[str, BatteryInfo], parents: Mapping[str, str]) -> str:
    """The battery's own UNECE category, else that of the nearest battery it was assembled into; '' if none."""
    node, seen = battery_id, set()
    while node and node not in seen:
        seen.add(node)
        info = batteries.get(node)
        if info is not None and info.vehicle_category:
            return info.vehicle_category
        node = parents.get(node, "")
    return ""


def _cycles(category: str, overrides: Mapping[str, float] | None) -> tuple[str, float, list[str]]:
    if category:
        try:
            return category, cycles_for(category, overrides=overrides), []
        except UnknownFactorError:
            note = f"vehicle category {category!r} has no cycles factor: {DEFAULT_CATEGORY} default assumed"
            return DEFAULT_CATEGORY, cycles_for(DEFAULT_CATEGORY, overrides=overrides), [note]
    cycles = cycles_for(DEFAULT_CATEGORY, overrides=overrides)
    note = f"vehicle category unknown (not integrated yet): {DEFAULT_CATEGORY} default, {cycles:g} cycles/year"
    return DEFAULT_CATEGORY, cycles, [note]


def footprint_rows(
    batteries: Mapping[str, BatteryInfo],
    own_lines: Mapping[str, Sequence[Line]],
    consignments: Iterable[Consignment],
    children: Mapping[str, Sequence[str]],
    service_years: float = DEFAULT_SERVICE_YEARS,
    cycles_overrides: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """One ``footprints`` row per battery with energy, in battery id order."""
    parents = parents_of(children)
    transport, transport_notes = distribution_lines(consignments, batteries, children)
    recycled, recycled_notes = end_of_life_parts(own_lines, batteries, children)
    out = []
    for b in sorted(batteries):
        info = batteries[b]
        if not info.energy_kwh or info.energy_kwh <= 0:
            continue
        category, cycles, notes = _cycles(vehicle_category(b, batteries, parents), cycles_overrides)
        lines = [
            *(line for part in subtree(children, b) for line in own_lines.get(part, ())),
            *transport.get(b, []),
            *recycled.get(b, []),
        ]
        fp = Footprint.from_ledger(b, lines, functional_unit_kwh(info.energy_kwh, cycles, service_years))
        per_kwh = fp.per_kwh
        out.append(
            {
                "battery_id": b,
                "model": info.model,
                "site_id": info.site_id,
                "product_type": info.product_type,
                "vehicle_category": category,
                "energy_kwh": info.energy_kwh,
                "cycles_per_year": cycles,
                "service_years": float(service_years),
                "e_total_kwh": fp.e_total_kwh,
                **{f"{s}_kg": fp.stage_kg[s] for s in STAGES},
                "total_kg": fp.total_kg,
                **{f"{s}_per_kwh": per_kwh[s] for s in STAGES},
                "total_per_kwh": fp.total_per_kwh,
                "complete": fp.complete,
                "missing_stages": list(fp.missing_stages),
                "missing_reasons": list(fp.missing_reasons),
                "assumptions": [
                    *notes,
                    f"service life {service_years:g} years (BATTRACE_SERVICE_YEARS)",
                    *dict.fromkeys(transport_notes.get(b, [])),
                    *dict.fromkeys(recycled_notes.get(b, [])),
                ],
                "factor_ids": [f"{fid}@{version}" for fid, version in fp.factors_used],
            }
        )
    return out


COLUMNS = (
    "battery_id",
    "model",
    "site_id",
    "product_type",
    "vehicle_category",
    "energy_kwh",
    "cycles_per_year",
    "service_years",
    "e_total_kwh",
    *(f"{s}_kg" for s in STAGES),
    "total_kg",
    *(f"{s}_per_kwh" for s in STAGES),
    "total_per_kwh",
    "complete",
    "missing_stages",
    "missing_reasons",
    "assumptions",
    "factor_ids",
)


def load_batteries(client: Client) -> dict[str, BatteryInfo]:
    found = rows(
        client,
        "SELECT battery_id, model, site_id, product_type, energy_kwh, mass_kg, vehicle_category "
        "FROM battrace.batteries FINAL ORDER BY battery_id",
    )
    return {
        r["battery_id"]: BatteryInfo(**{**r, "mass_kg": r["mass_kg"] if r["mass_kg"] and r["mass_kg"] > 0 else None})
        for r in found
    }


def load_battery_lines(client: Client) -> dict[str, list[Line]]:
    """battery -> its own ledger lines, summed per stage, source and factor (all a footprint needs)."""
    found = rows(
        client,
        "SELECT entity_id, stage, source, factor_id, factor_version, sum(kg_co2e) AS kg_co2e "
        "FROM battrace.carbon FINAL WHERE entity_type = 'battery' "
        "GROUP BY entity_id, stage, source, factor_id, factor_version "
        "ORDER BY entity_id, stage, source, factor_id, factor_version",
    )
    out: dict[str, list[Line]] = {}
    for r in found:
        out.setdefault(r.pop("entity_id"), []).append(r)
    return out


def load_consignments(client: Client) -> list[Consignment]:
    """Consignments with a transport ledger line (made at delivery) and the batteries they carried."""
    found = rows(
        client,
        "SELECT c.entity_id AS shipment_id, c.kg AS kg, c.factor_id AS factor_id, c.factor_version AS factor_version, "
        "s.battery_ids AS battery_ids FROM (SELECT entity_id, factor_id, factor_version, sum(kg_co2e) AS kg "
        "FROM battrace.carbon FINAL WHERE entity_type = 'shipment' AND stage = 'distribution' "
        "GROUP BY entity_id, factor_id, factor_version) AS c "
        "INNER JOIN (SELECT shipment_id, battery_ids FROM battrace.shipments FINAL) AS s "
        "ON s.shipment_id = c.entity_id "
        "ORDER BY shipment_id, factor_id",
    )
    return [
        Consignment(r["shipment_id"], float(r["kg"]), r["factor_id"], r["factor_version"], tuple(r["battery_ids"]))
        for r in found
    ]


def compute_footprints(
    client: Client, service_years: float = DEFAULT_SERVICE_YEARS, cycles_overrides: Mapping[str, float] | None = None
) -> list[dict[str, Any]]:
    """``footprints`` rows for every battery with energy in the store."""
    return footprint_rows(
        load_batteries(client),
        load_battery_lines(client),
        load_consignments(client),
        assembly(client),
        service_years,
        cycles_overrides,
    )
