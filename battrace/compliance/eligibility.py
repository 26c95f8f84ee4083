"""Which lots may go into a compliant output batch, and why not (chain-of-custody gaps).

Each lot's provenance is its custody steps (with their flags from ``custody_audit``), its parents in the
genealogy (the input lots it was recycled from, the pack it was dismantled from) and the steps it must
have, by what it is:

- ``recovered`` (an output of Recycled): Recycled by a licensed recycler and an Assay by a licensed lab;
- ``black_mass`` (an output of Dismantled) and ``feedstock`` (an input of Recycled that was neither
  dismantled nor recovered, e.g. a pre-2026 inventory): Dismantled and Assay; a feedstock lot therefore
  always lacks its dismantling, which is exactly the gap the customer's sources name;
- ``primary`` (mined and refined material): an Assay, and, when the assay reports cobalt, nickel or lithium,
  the licensed smelter it names (step ``Refined``): lab assays alone are not enough without provenance.

A dismantled pack (parent of black mass) must have been collected (EndOfLifeCollected); its provenance
holds the custody steps from its end of life on (collection, consignments after it). The freight of the
pack when new is custody of a product, flagged on its consignment by ``custody_audit``; the waste stream's
chain of custody starts when the pack is collected. ``custody.lot_eligibility`` then walks each lot and all
its ancestors; any flagged step, missing required step or ancestor without records is a gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.compliance.custody_audit import CheckedStep
from battrace.compliance.materials import DISMANTLED, RECYCLED, edges
from battrace.compliance.steps import REFINED
from battrace.compliance.tables import rows as query_rows
from battrace.domain.custody import CustodyStep, Eligibility, Provenance, lot_eligibility
from battrace.domain.entities import BATTERY, LOT, entity_key
from battrace.domain.recycled import ELEMENTS

CATEGORY = "eligibility"
PRIMARY, BLACK_MASS, FEEDSTOCK, RECOVERED = "primary", "black_mass", "feedstock", "recovered"


@dataclass(frozen=True)
class LotInfo:
    lot_id: str
    elements: tuple[str, ...] = ()  # elements the lot's assay reports with a fraction > 0
    recovered: bool = False  # marked recovered by the stream (an output of Recycled)


def lot_class(lot_id: str, recovered: set[str], black_mass: set[str], feedstock: set[str]) -> str:
    if lot_id in recovered:
        return RECOVERED
    if lot_id in black_mass:
        return BLACK_MASS
    return FEEDSTOCK if lot_id in feedstock else PRIMARY


def required_steps(cls: str, elements: Iterable[str]) -> tuple[str, ...]:
    if cls == RECOVERED:
        return ("Recycled", "Assay")
    if cls in (BLACK_MASS, FEEDSTOCK):
        return ("Dismantled", "Assay")
    return ("Assay", REFINED) if set(elements) & set(ELEMENTS) else ("Assay",)


_NEVER = 2**62
END_OF_LIFE_KINDS = ("EndOfLifeCollected", "Dismantled")


def _end_of_life_starts(checked: Sequence[CheckedStep]) -> dict[str, int]:
    """battery key -> time of its first end-of-life step (collection, else dismantling)."""
    starts: dict[str, int] = {}
    for c in checked:
        if c.step.kind in END_OF_LIFE_KINDS:
            for key in c.step.subjects:
                starts[key] = min(starts.get(key, _NEVER), c.step.at_ms)
    return starts


@dataclass(frozen=True)
class LotProvenance:
    """The provenance map of every lot and dismantled pack, and each lot's class."""

    provenance: dict[str, Provenance]
    classes: dict[str, str]


def build_provenance(
    lots: Mapping[str, LotInfo],
    recycled_edges: Iterable[tuple[str, str]],
    dismantled_edges: Iterable[tuple[str, str]],
    checked: Sequence[CheckedStep],
) -> LotProvenance:
    """Provenance per node id (lot id or battery id), from (input, output) and (pack, black mass) edges."""
    parents: dict[str, list[str]] = {}
    recovered, black_mass, feedstock, packs = set(), set(), set(), set()
    for src, dst in recycled_edges:
        parents.setdefault(dst, []).append(src)
        recovered.add(dst)
        feedstock.add(src)
    for pack, lot in dismantled_edges:
        parents.setdefault(lot, []).append(pack)
        black_mass.add(lot)
        packs.add(pack)
    recovered |= {i for i, lot in lots.items() if lot.recovered}
    end_of_life = _end_of_life_starts(checked)
    held: dict[str, list[CustodyStep]] = {}
    for c in checked:
        step = CustodyStep(c.step.kind, c.step.party_id, c.flag, c.step.event_id)
        for key in c.step.holders:
            if key.startswith(f"{BATTERY}:") and c.step.at_ms < end_of_life.get(key, _NEVER):
                continue  # a battery's steps before its end of life are not the waste stream's custody
            held.setdefault(key, []).append(step)
    ids = sorted(set(lots) | recovered | black_mass | feedstock)
    provenance: dict[str, Provenance] = {}
    classes: dict[str, str] = {}
    for lot_id in ids:
        cls = classes[lot_id] = lot_class(lot_id, recovered, black_mass, feedstock)
        provenance[lot_id] = Provenance(
            steps=tuple(held.get(entity_key(LOT, lot_id), ())),
            parents=tuple(dict.fromkeys(sorted(parents.get(lot_id, ())))),
            required=required_steps(cls, lots[lot_id].elements if lot_id in lots else ()),
        )
    for pack in sorted(packs):
        provenance[pack] = Provenance(
            steps=tuple(held.get(entity_key(BATTERY, pack), ())), required=("EndOfLifeCollected",)
        )
    return LotProvenance(provenance, classes)


def eligibility_rows(known: LotProvenance) -> tuple[list[dict[str, Any]], list[Eligibility]]:
    """``lot_eligibility`` rows for every lot, and the verdicts."""
    rows, verdicts = [], []
    for lot_id, cls in sorted(known.classes.items()):
        verdict = lot_eligibility(lot_id, known.provenance)
        verdicts.append(verdict)
        rows.append(
            {
                "lot_id": lot_id,
                "lot_class": cls,
                "required": list(known.provenance[lot_id].required),
                "eligible": verdict.eligible,
                "reasons": list(verdict.reasons),
                "gaps": [g.code for g in verdict.gaps],
                "gap_nodes": [g.node for g in verdict.gaps],
            }
        )
    return rows, verdicts


COLUMNS = ("lot_id", "lot_class", "required", "eligible", "reasons", "gaps", "gap_nodes")


def eligibility_flag_rows(verdicts: Iterable[Eligibility], first_seen_ms: Mapping[str, int]) -> list[dict[str, Any]]:
    """One ``flags`` row per ineligible lot: the first gap's code, its reason, and how many more there are."""
    out = []
    for v in verdicts:
        if v.eligible:
            continue
        more = len(v.reasons) - 1
        detail = v.reasons[0] + (f" (+{more} more reason{'s' * (more > 1)} in lot_eligibility)" if more else "")
        out.append(
            {
                "entity_type": LOT,
                "entity_id": v.lot_id,
                "category": CATEGORY,
                "code": v.gaps[0].code,
                "detail": detail,
                "event_id": "",
                "seq": 0,
                "event_time": first_seen_ms.get(v.lot_id, 0),
            }
        )
    return out


def load_lots(client: Client) -> dict[str, LotInfo]:
    found = query_rows(
        client, "SELECT lot_id, assayed, elements, fractions, recovered, parent_lots FROM battrace.lots FINAL"
    )
    return {
        r["lot_id"]: LotInfo(
            r["lot_id"],
            tuple(e for e, f in zip(r["elements"], r["fractions"], strict=True) if f > 0) if r["assayed"] else (),
            bool(r["recovered"] or r["parent_lots"]),
        )
        for r in found
    }


def first_seen(client: Client) -> dict[str, int]:
    """lot -> time of the first event naming it (the time an eligibility flag is dated)."""
    found = query_rows(
        client,
        "SELECT lot, min(toUnixTimestamp64Milli(event_time)) AS at_ms FROM battrace.event_store "
        "ARRAY JOIN lot_ids AS lot GROUP BY lot",
    )
    return {r["lot"]: r["at_ms"] for r in found}


def compute_eligibility(
    client: Client, checked: Sequence[CheckedStep]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Eligibility]]:
    """(``lot_eligibility`` rows, eligibility ``flags`` rows, verdicts) for every lot in the store."""
    known = build_provenance(
        load_lots(client),
        [(e.from_id, e.to_id) for e in edges(client, RECYCLED)],
        [(e.from_id, e.to_id) for e in edges(client, DISMANTLED)],
        checked,
    )
    table, verdicts = eligibility_rows(known)
    return table, eligibility_flag_rows(verdicts, first_seen(client)), verdicts
