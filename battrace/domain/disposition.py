"""The disposition report of a recycled batch: which vehicles its material came from, and whether every link holds.

China's enforcement campaign on spent traction batteries asks that each recycled batch link back to its origin
vehicle, dismantling date, transporter licence number, receiving facility and final disposition. A recycled batch is
a recovered lot (an output of ``Recycled``); its material came from the black-mass lots fed in (each the output of
one ``Dismantled`` pack) or from recovered lots refined again (followed to their own inputs). For each pack the
report gives the VIN it came from (declared at collection or dismantling, else the vehicle it was last installed
in), its collection with the transporter's licence, its dismantling date and the facility that received and
dismantled it. A link that is missing or contradicts another makes the batch ineligible, with a reason naming the
lot or pack and what is missing, like ``custody.lot_eligibility`` does for licences.

Pure: the facts are gathered from the sealed events (battrace/compliance/disposition.py), so the report is a
function of rows that ``battrace verify --all`` recomputes from the seal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

GAPS = (
    "unknown_origin",
    "missing_collection",
    "missing_transporter_licence",
    "missing_vin",
    "vin_mismatch",
    "missing_facility",
)


@dataclass(frozen=True)
class RecyclingStep:
    """A ``Recycled`` event: who refined which lots into which, where and when."""

    event_id: str
    at_ms: int
    recycler_id: str
    site_id: str
    inputs: tuple[tuple[str, float], ...]  # (lot id, kg fed)
    outputs: tuple[tuple[str, float], ...]  # (lot id, kg recovered)


@dataclass(frozen=True)
class DismantlingStep:
    """A ``Dismantled`` event: the pack taken apart into a black-mass lot, where, when, from which vehicle."""

    event_id: str
    at_ms: int
    battery_id: str
    dismantler_id: str
    site_id: str
    output_lot_id: str
    vin: str | None


@dataclass(frozen=True)
class CollectionStep:
    """An ``EndOfLifeCollected`` event: the pack handed to a collector, carried by a licensed transporter."""

    event_id: str
    at_ms: int
    collector_id: str
    site_id: str
    vin: str | None
    transporter_licence: str | None


@dataclass(frozen=True)
class PackHistory:
    """What the sealed events say of one pack before it was dismantled."""

    collections: tuple[CollectionStep, ...] = ()
    installed_vins: tuple[str, ...] = ()  # VehicleIntegrated VINs in event-time order


@dataclass(frozen=True)
class Facts:
    """Everything the report of one batch reads: the recycling steps by output lot, the dismantlings by black-mass
    lot, and the packs' histories."""

    recycled_into: Mapping[str, RecyclingStep]
    dismantled_into: Mapping[str, DismantlingStep]
    packs: Mapping[str, PackHistory]


@dataclass(frozen=True)
class Gap:
    """One missing or contradicting link: the lot or pack ``node``, a code of GAPS and what was seen."""

    node: str
    code: str
    detail: str

    def reason(self) -> str:
        return f"{self.node}: {self.code}: {self.detail}"


@dataclass(frozen=True)
class PackOrigin:
    """One pack whose black mass went into the batch, with its links (None where the events give none)."""

    battery_id: str
    black_mass_lot: str
    vin: str | None
    dismantled_at_ms: int
    dismantler_id: str
    receiving_facility: str
    collected_at_ms: int | None
    collector_id: str | None
    transporter_licence: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "battery_id": self.battery_id,
            "black_mass_lot": self.black_mass_lot,
            "vin": self.vin,
            "dismantled_at_ms": self.dismantled_at_ms,
            "dismantler_id": self.dismantler_id,
            "receiving_facility": self.receiving_facility,
            "collected_at_ms": self.collected_at_ms,
            "collector_id": self.collector_id,
            "transporter_licence": self.transporter_licence,
        }


@dataclass(frozen=True)
class Report:
    """The disposition report of a recycled batch; ``eligible`` only when every link of every pack holds."""

    lot_id: str
    recovered_kg: float
    recycler_id: str
    facility: str
    recycled_at_ms: int
    disposition: str
    packs: tuple[PackOrigin, ...]
    gaps: tuple[Gap, ...] = field(default=())

    @property
    def eligible(self) -> bool:
        return not self.gaps

    @property
    def vins(self) -> list[str]:
        return sorted({p.vin for p in self.packs if p.vin})

    def to_json(self) -> dict[str, Any]:
        return {
            "lot_id": self.lot_id,
            "eligible": self.eligible,
            "reasons": [g.reason() for g in self.gaps],
            "disposition": self.disposition,
            "recovered_kg": self.recovered_kg,
            "recycler_id": self.recycler_id,
            "facility": self.facility,
            "recycled_at_ms": self.recycled_at_ms,
            "vins": self.vins,
            "packs": [p.to_json() for p in self.packs],
        }


class NotRecycled(LookupError):
    """The lot is no output of a Recycled event: it is not a recycled batch."""


def report(lot_id: str, facts: Facts) -> Report:
    """The batch's report: every pack upstream of it through black mass and re-refined recovered lots.

    Raises NotRecycled when ``lot_id`` is not a recovered lot."""
    step = facts.recycled_into.get(lot_id)
    if step is None:
        raise NotRecycled(lot_id)
    recovered = sum(kg for lot, kg in step.outputs if lot == lot_id)
    packs: list[PackOrigin] = []
    gaps: list[Gap] = []
    seen = {lot_id}
    queue = [lot for lot, _ in step.inputs]
    while queue:
        lot = queue.pop(0)
        if lot in seen:
            continue
        seen.add(lot)
        dismantled = facts.dismantled_into.get(lot)
        upstream = facts.recycled_into.get(lot)
        if dismantled is not None:
            origin, pack_gaps = _pack(dismantled, facts.packs.get(dismantled.battery_id, PackHistory()))
            packs.append(origin)
            gaps += pack_gaps
        elif upstream is not None:
            queue += [parent for parent, _ in upstream.inputs]
        else:
            gaps.append(Gap(lot, "unknown_origin", "fed into the batch, but no pack was dismantled into it"))
    if not packs and not gaps:  # only itself upstream (a cycle the audit flags): no origin at all
        gaps.append(Gap(lot_id, "unknown_origin", "no pack was dismantled into any lot upstream of it"))
    disposition = f"recovered {recovered:g} kg by {step.recycler_id} at {step.site_id or 'an unnamed site'}"
    return Report(lot_id, recovered, step.recycler_id, step.site_id, step.at_ms, disposition, tuple(packs), tuple(gaps))


def _pack(dismantled: DismantlingStep, history: PackHistory) -> tuple[PackOrigin, list[Gap]]:
    pack = dismantled.battery_id
    gaps: list[Gap] = []
    collection = _last_before(history.collections, dismantled.at_ms)
    if collection is None:
        gaps.append(Gap(pack, "missing_collection", "dismantled without a collection: no transporter, no intake"))
    elif not collection.transporter_licence:
        gaps.append(Gap(pack, "missing_transporter_licence", "its collection names no transporter licence"))
    declared = {v for v in (dismantled.vin, collection.vin if collection else None) if v}
    installed = history.installed_vins[-1] if history.installed_vins else None
    vin = _origin_vin(declared, installed, pack, gaps)
    if not dismantled.site_id:
        gaps.append(Gap(pack, "missing_facility", "its dismantling names no receiving facility"))
    origin = PackOrigin(
        battery_id=pack,
        black_mass_lot=dismantled.output_lot_id,
        vin=vin,
        dismantled_at_ms=dismantled.at_ms,
        dismantler_id=dismantled.dismantler_id,
        receiving_facility=dismantled.site_id,
        collected_at_ms=collection.at_ms if collection else None,
        collector_id=collection.collector_id if collection else None,
        transporter_licence=collection.transporter_licence if collection else None,
    )
    return origin, gaps


def _origin_vin(declared: set[str], installed: str | None, pack: str, gaps: list[Gap]) -> str | None:
    """The vehicle the pack came from: what collection and dismantling declare, which must agree with each other and
    with the vehicle it was last installed in; the installation alone when nothing was declared."""
    if len(declared) > 1:
        gaps.append(Gap(pack, "vin_mismatch", f"collection and dismantling name different VINs: {sorted(declared)}"))
        return None
    vin = next(iter(declared), None)
    if vin and installed and vin != installed:
        gaps.append(Gap(pack, "vin_mismatch", f"declared VIN {vin}, but it was last installed in {installed}"))
        return None
    if not (vin or installed):
        gaps.append(Gap(pack, "missing_vin", "no VIN at collection or dismantling and no vehicle installation"))
    return vin or installed


def _last_before(collections: Sequence[CollectionStep], at_ms: int) -> CollectionStep | None:
    """The pack's latest collection at or before its dismantling."""
    before = [c for c in collections if c.at_ms <= at_ms]
    return max(before, key=lambda c: (c.at_ms, c.event_id)) if before else None
