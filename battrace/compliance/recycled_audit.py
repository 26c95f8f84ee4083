"""Recycled content per battery and element by mass balance through the genealogy (EU 2023/1542 Art. 8).

A battery's inputs are the lots consumed by it or by any battery assembled into it, with the kg consumed.
What each lot may contribute is decided by ``battrace/domain/recycled_claims.py``: its origin (pre- or
post-consumer) follows the material that went into it, and a lot that is ineligible (custody gap) or behind a
transformation whose outputs exceeded its inputs counts as not recycled. Every recycled mass left out is a
``recycled_exclusions`` row (battery, element, lot, reasons, kg). Rows cover cells, modules and packs; the per
model x plant x year declaration is the view ``recycled_by_model_plant_year``. What cannot be known is NULL with
a ``missing_reason``, never 0: a lot without an assay makes the balance incomplete, and an incomplete balance
cannot say whether a minimum is met.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.compliance.materials import CONSUMED, DISMANTLED, RECYCLED, assembly, edges, subtree
from battrace.compliance.tables import rows
from battrace.domain.correlate import MASS_BALANCE
from battrace.domain.custody import Eligibility
from battrace.domain.entities import BATTERY, LOT
from battrace.domain.recycled import ELEMENTS, MINIMUM_SHARES, LotInput, recycled_content
from battrace.domain.recycled_claims import (
    UNKNOWN,
    ClaimLot,
    ExcludedMass,
    Exclusion,
    Genealogy,
    Origin,
    excluded_masses,
    lot_exclusions,
    lot_origins,
)

TARGET_YEARS = (2031, 2036)
_ELEMENT_NAMES = {"Co": "cobalt", "Ni": "nickel", "Li": "lithium"}


@dataclass(frozen=True)
class LotRecord:
    """What the mass balance needs of a lot: its assay (None = not assayed) and declared recycled shares."""

    lot_id: str
    fractions: Mapping[str, float] | None
    pre_consumer: float = 0.0
    post_consumer: float = 0.0


@dataclass(frozen=True)
class BatteryRecord:
    battery_id: str
    model: str = ""
    site_id: str = ""
    product_type: str = ""
    produced_at_ms: int = 0


@dataclass(frozen=True)
class ClaimBasis:
    """What decides how much of each lot a claim may count: the genealogy behind the lots, the first reason of
    every ineligible lot, and the mass-balance flag of every lot or pack flagged."""

    genealogy: Genealogy = field(default_factory=lambda: Genealogy({}, {}, {}, frozenset()))
    ineligible: Mapping[str, str] = field(default_factory=dict)
    unbalanced: Mapping[str, str] = field(default_factory=dict)


def battery_inputs(
    battery_id: str, children: Mapping[str, Sequence[str]], consumed: Mapping[str, Mapping[str, float]]
) -> dict[str, float]:
    """lot -> kg consumed by the battery and every battery assembled into it."""
    kg: dict[str, float] = {}
    for part in subtree(children, battery_id):
        for lot, mass in consumed.get(part, {}).items():
            kg[lot] = kg.get(lot, 0.0) + mass
    return kg


@dataclass(frozen=True)
class Judged:
    """Every lot's origin and exclusions, computed once for the store and shared by all its batteries."""

    origins: Mapping[str, Origin]
    exclusions: Mapping[str, tuple[Exclusion, ...]]


def judge_lots(lots: Mapping[str, LotRecord], basis: ClaimBasis) -> Judged:
    """Origins and exclusions of every lot; a lot with no genealogy behind it keeps what its assay declares."""
    declared = {lot: None if r.fractions is None else (r.pre_consumer, r.post_consumer) for lot, r in lots.items()}
    g = replace(basis.genealogy, declared={**declared, **basis.genealogy.declared})
    origins = lot_origins(g)
    names = set(origins) | set(lots)
    return Judged(origins, {lot: lot_exclusions(lot, g, basis.ineligible, basis.unbalanced) for lot in sorted(names)})


def claim_lots(inputs: Mapping[str, float], lots: Mapping[str, LotRecord], judged: Judged) -> list[ClaimLot]:
    """The battery's input lots with their origins and exclusions, in lot order."""
    return [
        ClaimLot(
            lot,
            kg,
            lots[lot].fractions if lot in lots else None,
            judged.origins.get(lot, UNKNOWN),
            judged.exclusions.get(lot, ()),
        )
        for lot, kg in sorted(inputs.items())
        if kg > 0
    ]


def _missing_reason(element: str, share: float | None, unassayed: Sequence[str], note: str) -> str:
    if note:
        return f"inconsistent assay data: {note}"
    if unassayed:
        return f"unassayed input lot(s) {', '.join(unassayed)}: the balance is incomplete"
    if share is None:
        return f"no {_ELEMENT_NAMES.get(element, element)} in the assayed input lots"
    return ""


def content_rows(
    battery: BatteryRecord,
    inputs: Mapping[str, float],
    lots: Mapping[str, LotRecord],
    judged: Judged,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One ``recycled_content`` row per element (Co, Ni, Li) of the battery, and its ``recycled_exclusions`` rows."""
    claimed = claim_lots(inputs, lots, judged)
    note = ""
    try:
        content = recycled_content(LotInput(c.lot_id, c.consumed_kg, c.fractions, *c.counted) for c in claimed)
    except ValueError as e:  # inconsistent assay data: reported, not weighed
        content, note = None, str(e)
    excluded = excluded_masses(claimed, ELEMENTS) if content else []
    out = []
    for el in ELEMENTS:
        c = content.elements[el] if content else None
        unassayed = list(content.unassayed_lots) if content else []
        share = c.share if c else None
        reason = _missing_reason(el, share, unassayed, note)
        met = {y: (content.targets_met(y).get(el) if content and not unassayed else None) for y in TARGET_YEARS}
        mine = [x for x in excluded if x.element == el]
        out.append(
            {
                "battery_id": battery.battery_id,
                "element": el,
                "model": battery.model,
                "site_id": battery.site_id,
                "product_type": battery.product_type,
                "produced_at": battery.produced_at_ms,
                "element_kg": c.total_kg if c else None,
                "pre_consumer_kg": c.pre_consumer_kg if c else None,
                "post_consumer_kg": c.post_consumer_kg if c else None,
                "share": share,
                "min_share_2031": MINIMUM_SHARES[2031].get(el),
                "min_share_2036": MINIMUM_SHARES[2036].get(el),
                "meets_2031": met[2031],
                "meets_2036": met[2036],
                "complete": bool(content and content.complete),
                "unassayed_lots": unassayed,
                "note": note,
                "excluded_kg": sum(x.kg for x in mine) if content else None,
                "excluded_lots": sorted({x.lot_id for x in mine}),
                "missing_reason": reason,
            }
        )
    return out, [_exclusion_row(battery.battery_id, x) for x in excluded]


def _exclusion_row(battery_id: str, x: ExcludedMass) -> dict[str, Any]:
    return {
        "battery_id": battery_id,
        "element": x.element,
        "lot_id": x.lot_id,
        "reasons": [r.code for r in x.reasons],
        "details": [r.detail for r in x.reasons],
        "excluded_kg": x.kg,
    }


def recycled_rows(
    batteries: Iterable[BatteryRecord],
    children: Mapping[str, Sequence[str]],
    consumed: Mapping[str, Mapping[str, float]],
    lots: Mapping[str, LotRecord],
    basis: ClaimBasis | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(``recycled_content``, ``recycled_exclusions``) rows for every battery that consumed material itself or
    through its components."""
    judged = judge_lots(lots, basis or ClaimBasis())
    content, excluded = [], []
    for b in batteries:
        inputs = battery_inputs(b.battery_id, children, consumed)
        if inputs:
            found, left_out = content_rows(b, inputs, lots, judged)
            content += found
            excluded += left_out
    return content, excluded


COLUMNS = (
    "battery_id",
    "element",
    "model",
    "site_id",
    "product_type",
    "produced_at",
    "element_kg",
    "pre_consumer_kg",
    "post_consumer_kg",
    "share",
    "min_share_2031",
    "min_share_2036",
    "meets_2031",
    "meets_2036",
    "complete",
    "unassayed_lots",
    "note",
    "excluded_kg",
    "excluded_lots",
    "missing_reason",
)
EXCLUSION_COLUMNS = ("battery_id", "element", "lot_id", "reasons", "details", "excluded_kg")
EXCLUSION_KEY = ("battery_id", "element", "lot_id")


def load_lots(client: Client) -> dict[str, LotRecord]:
    found = rows(
        client,
        "SELECT lot_id, assayed, elements, fractions, recycled_pre_consumer, recycled_post_consumer "
        "FROM battrace.lots FINAL",
    )
    return {
        r["lot_id"]: LotRecord(
            r["lot_id"],
            dict(zip(r["elements"], r["fractions"], strict=True)) if r["assayed"] else None,
            r["recycled_pre_consumer"],
            r["recycled_post_consumer"],
        )
        for r in found
    }


def load_battery_records(client: Client) -> list[BatteryRecord]:
    """Batteries with when they were commissioned (the production year the declaration is per)."""
    found = rows(
        client,
        "SELECT b.battery_id AS battery_id, b.model AS model, b.site_id AS site_id, b.product_type AS product_type, "
        "c.at_ms AS at_ms FROM (SELECT battery_id, model, site_id, product_type FROM battrace.batteries FINAL) AS b "
        "LEFT JOIN (SELECT battery_ids[1] AS battery_id, min(toUnixTimestamp64Milli(event_time)) AS at_ms "
        "FROM battrace.event_store WHERE kind = 'Commissioned' GROUP BY battery_id) AS c "
        "ON c.battery_id = b.battery_id ORDER BY battery_id",
    )
    return [BatteryRecord(r["battery_id"], r["model"], r["site_id"], r["product_type"], r["at_ms"] or 0) for r in found]


def _packs_in_use(client: Client) -> frozenset[str]:
    """Batteries that reached a user: integrated into a vehicle at least once."""
    found = rows(
        client,
        "SELECT DISTINCT battery_id FROM battrace.event_store ARRAY JOIN battery_ids AS battery_id "
        "WHERE kind = 'VehicleIntegrated'",
    )
    return frozenset(r["battery_id"] for r in found)


def _unbalanced(client: Client) -> dict[str, str]:
    """lot or pack -> its mass-balance flag: recovered lots that outweigh their inputs, packs whose black mass
    outweighs them (flags the seal stage raised, which ``battrace verify`` recomputes)."""
    found = rows(
        client,
        "SELECT entity_type, entity_id, min(detail) AS detail FROM battrace.flags FINAL "
        "WHERE category = 'mass_balance' AND code = {code:String} AND entity_type IN ({lot:String}, {battery:String}) "
        "GROUP BY entity_type, entity_id",
        code=MASS_BALANCE,
        lot=LOT,
        battery=BATTERY,
    )
    return {r["entity_id"]: f"{r['entity_id']}: {MASS_BALANCE}: {r['detail']}" for r in found}


def load_basis(client: Client, verdicts: Iterable[Eligibility]) -> ClaimBasis:
    """The genealogy, eligibility and mass-balance facts every battery's claim is judged by."""
    dismantled: dict[str, list[tuple[str, float | None]]] = {}
    for e in edges(client, DISMANTLED):
        dismantled.setdefault(e.to_id, []).append((e.from_id, e.mass_kg))
    recycled: dict[str, list[tuple[str, float | None]]] = {}
    for e in edges(client, RECYCLED):
        recycled.setdefault(e.to_id, []).append((e.from_id, e.mass_kg))
    return ClaimBasis(
        Genealogy(dismantled, recycled, {}, _packs_in_use(client)),
        {v.lot_id: v.reasons[0] if v.reasons else f"{v.lot_id}: ineligible" for v in verdicts if not v.eligible},
        _unbalanced(client),
    )


def compute_recycled(
    client: Client, verdicts: Iterable[Eligibility]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(``recycled_content``, ``recycled_exclusions``) rows for every battery in the store, judged by the lots'
    eligibility ``verdicts`` (``eligibility.compute_eligibility``)."""
    consumed: dict[str, dict[str, float]] = {}
    for e in edges(client, CONSUMED):
        if e.mass_kg:
            consumed.setdefault(e.to_id, {})[e.from_id] = e.mass_kg
    lots = load_lots(client)
    basis = load_basis(client, verdicts)
    return recycled_rows(load_battery_records(client), assembly(client), consumed, lots, basis)
