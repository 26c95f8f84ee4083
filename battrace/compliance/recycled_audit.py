"""Recycled content per battery and element by mass balance through the genealogy (EU 2023/1542 Art. 8).

A battery's inputs are the lots consumed by it or by any battery assembled into it, with the kg consumed;
``recycled.recycled_content`` weighs them (recovered lots count as post-consumer in full, pre- and
post-consumer kept apart). Rows cover cells, modules and packs; the per model x plant x year declaration
is the view ``recycled_by_model_plant_year``. A lot without an assay makes the balance incomplete, and an
incomplete balance never meets a minimum.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.compliance.materials import CONSUMED, assembly, edges, subtree
from battrace.compliance.tables import rows
from battrace.domain.recycled import ELEMENTS, MINIMUM_SHARES, LotInput, recycled_content

TARGET_YEARS = (2031, 2036)


@dataclass(frozen=True)
class LotRecord:
    """What the mass balance needs of a lot: its assay (None = not assayed) and recycled shares."""

    lot_id: str
    fractions: Mapping[str, float] | None
    pre_consumer: float = 0.0
    post_consumer: float = 0.0
    recovered: bool = False


@dataclass(frozen=True)
class BatteryRecord:
    battery_id: str
    model: str = ""
    site_id: str = ""
    product_type: str = ""
    produced_at_ms: int = 0


def battery_inputs(
    battery_id: str, children: Mapping[str, Sequence[str]], consumed: Mapping[str, Mapping[str, float]]
) -> dict[str, float]:
    """lot -> kg consumed by the battery and every battery assembled into it."""
    kg: dict[str, float] = {}
    for part in subtree(children, battery_id):
        for lot, mass in consumed.get(part, {}).items():
            kg[lot] = kg.get(lot, 0.0) + mass
    return kg


def content_rows(
    battery: BatteryRecord, inputs: Mapping[str, float], lots: Mapping[str, LotRecord]
) -> list[dict[str, Any]]:
    """One row per element (Co, Ni, Li) of the battery's recycled content."""
    note = ""
    try:
        content = recycled_content(
            LotInput(
                lot,
                kg,
                lots[lot].fractions if lot in lots else None,
                lots[lot].pre_consumer if lot in lots else 0.0,
                lots[lot].post_consumer if lot in lots else 0.0,
                lots[lot].recovered if lot in lots else False,
            )
            for lot, kg in sorted(inputs.items())
            if kg > 0
        )
    except ValueError as e:  # inconsistent assay data: reported, not weighed
        content, note = None, str(e)
    out = []
    for el in ELEMENTS:
        c = content.elements[el] if content else None
        met = {y: (content.targets_met(y).get(el) if content else False) for y in TARGET_YEARS}
        out.append(
            {
                "battery_id": battery.battery_id,
                "element": el,
                "model": battery.model,
                "site_id": battery.site_id,
                "product_type": battery.product_type,
                "produced_at": battery.produced_at_ms,
                "element_kg": c.total_kg if c else 0.0,
                "pre_consumer_kg": c.pre_consumer_kg if c else 0.0,
                "post_consumer_kg": c.post_consumer_kg if c else 0.0,
                "share": c.share if c else None,
                "min_share_2031": MINIMUM_SHARES[2031].get(el),
                "min_share_2036": MINIMUM_SHARES[2036].get(el),
                "meets_2031": met[2031],
                "meets_2036": met[2036],
                "complete": bool(content and content.complete),
                "unassayed_lots": list(content.unassayed_lots) if content else [],
                "note": note,
            }
        )
    return out


def recycled_rows(
    batteries: Iterable[BatteryRecord],
    children: Mapping[str, Sequence[str]],
    consumed: Mapping[str, Mapping[str, float]],
    lots: Mapping[str, LotRecord],
) -> list[dict[str, Any]]:
    """Rows for every battery that consumed material itself or through its components."""
    out = []
    for b in batteries:
        inputs = battery_inputs(b.battery_id, children, consumed)
        if inputs:
            out += content_rows(b, inputs, lots)
    return out


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
)


def load_lots(client: Client) -> dict[str, LotRecord]:
    found = rows(
        client,
        "SELECT lot_id, assayed, elements, fractions, recycled_pre_consumer, recycled_post_consumer, recovered, "
        "parent_lots FROM battrace.lots FINAL",
    )
    return {
        r["lot_id"]: LotRecord(
            r["lot_id"],
            dict(zip(r["elements"], r["fractions"], strict=True)) if r["assayed"] else None,
            r["recycled_pre_consumer"],
            r["recycled_post_consumer"],
            bool(r["recovered"] or r["parent_lots"]),
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
        "FROM battrace.events FINAL WHERE kind = 'Commissioned' GROUP BY battery_id) AS c "
        "ON c.battery_id = b.battery_id ORDER BY battery_id",
    )
    return [BatteryRecord(r["battery_id"], r["model"], r["site_id"], r["product_type"], r["at_ms"] or 0) for r in found]


def compute_recycled(client: Client) -> list[dict[str, Any]]:
    """``recycled_content`` rows for every battery in the store."""
    consumed: dict[str, dict[str, float]] = {}
    for e in edges(client, CONSUMED):
        if e.mass_kg:
            consumed.setdefault(e.to_id, {})[e.from_id] = e.mass_kg
    return recycled_rows(load_battery_records(client), assembly(client), consumed, load_lots(client))
