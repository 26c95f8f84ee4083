"""Assemble the report from what the pipeline knows about a delivered shipment and its lots.

Each field is computed only when every input it needs is present; otherwise it becomes
``Missing(why)`` naming the lots or parties that lack it. Nothing is defaulted: no secondary refining
factor stands in for a smelter's own figure, no empty origin becomes a country.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from battrace.domain.footprint import allocate_by_mass
from battrace.domain.recycled import ELEMENTS, LotInput, recycled_content
from battrace.domain.transport import ChainElement
from battrace.report.model import (
    COUNTRY_PATTERN,
    CustodyParty,
    ElementalComposition,
    Inclusion,
    MaterialOrigin,
    Missing,
    RecycledShare,
    RefiningIntensity,
    SealReference,
    TraceabilityReport,
    TransportElement,
    TransportEmissions,
    VerificationEvent,
    is_smelter_id,
    rfc3339_ms,
)

_ELEMENT_NAMES = {"Co": "cobalt", "Ni": "nickel", "Li": "lithium"}


@dataclass(frozen=True)
class LotFacts:
    """One material lot behind the shipment's batteries; None = not known."""

    lot_id: str
    consumed_kg: float | None = None  # mass of this lot in the shipment's batteries
    product: str | None = None
    origin_country: str | None = None
    smelter_id: str | None = None
    mine_licences: tuple[str, ...] = ()
    refining_kgco2e_per_kg: float | None = None
    refining_factor_id: str | None = None
    fractions: Mapping[str, float] | None = None
    lab_id: str | None = None
    accreditation: str | None = None
    certificate_ref: str | None = None
    assayed_at_ms: int | None = None
    recycled_pre_consumer: float = 0.0
    recycled_post_consumer: float = 0.0
    recovered: bool = False  # output of one of our Recycled events


@dataclass(frozen=True)
class ShipmentFacts:
    """The delivered consignment: what was carried, by whom, to whom, and where it is sealed."""

    shipment_id: str
    delivered_at_ms: int  # the Delivered event's time: the report is as of delivery
    battery_ids: tuple[str, ...]
    transport: TransportEmissions | None = None
    custody: tuple[CustodyParty, ...] = ()
    verifications: tuple[VerificationEvent, ...] = field(default=())
    seal: SealReference | None = None


def transport_emissions(
    chain: Sequence[ChainElement],
    masses: Mapping[str, float | None],
    battery_ids: Iterable[str],
    distance_basis: str = "gps_haversine",
) -> TransportEmissions:
    """The consignment's chain of legs and hubs (ISO 14083), each at its own factor, summed and split over the
    batteries by mass (equal shares if masses are missing)."""
    if not chain:
        raise ValueError("a transport chain has at least one element")
    scopes = {e.factor.scope for e in chain}
    if len(scopes) != 1:
        raise ValueError(f"a transport chain mixes scopes: {sorted(scopes)}")
    legs = [e for e in chain if e.kind == "leg"]
    kg = sum(e.kg_co2e for e in chain)
    split = allocate_by_mass(kg, masses, battery_ids)
    return TransportEmissions(
        kg_co2e=kg,
        t_km=sum(e.quantity for e in legs),
        distance_km=sum(e.distance_km for e in legs),
        distance_basis=distance_basis,
        modes=tuple(e.what for e in legs),
        scope=scopes.pop(),
        allocation_method="equal_shares" if split.equal_shares else "mass",
        allocation_kg=dict(split),
        chain=tuple(
            TransportElement(
                e.kind, e.index, e.what, e.quantity, e.unit, e.distance_km, e.kg_co2e, e.factor.id, e.factor.version
            )
            for e in chain
        ),
    )


def inclusion_from_row(
    entity: str, log_id: str, leaf_index: int, tree_size: int, entry: bytes, proof: Sequence[bytes]
) -> Inclusion:
    """An :class:`Inclusion` from the log's raw values (entry bytes, proof node hashes)."""
    return Inclusion(entity, log_id, leaf_index, tree_size, entry.decode("utf-8"), tuple(h.hex() for h in proof))


def _lots_lacking(lots: Sequence[LotFacts], has: Any, what: str) -> Missing | None:
    lacking = [lot.lot_id for lot in lots if not has(lot)]
    return Missing(f"{what} for lot(s) {', '.join(lacking)}") if lacking else None


def _origins(lots: Sequence[LotFacts]) -> tuple[MaterialOrigin, ...] | Missing:
    def has(lot: LotFacts) -> bool:
        return bool(lot.product) and bool(lot.origin_country and COUNTRY_PATTERN.fullmatch(lot.origin_country))

    gap = _lots_lacking(lots, has, "no product or ISO 3166-1 origin country")
    return gap or tuple(MaterialOrigin(lot.lot_id, lot.product or "", lot.origin_country or "") for lot in lots)


def _refining(lots: Sequence[LotFacts]) -> tuple[RefiningIntensity, ...] | Missing:
    gap = _lots_lacking(lots, lambda lot: lot.refining_kgco2e_per_kg is not None, "no supplier refining intensity")
    if gap:
        return gap
    return tuple(
        RefiningIntensity(
            lot_id=lot.lot_id,
            kg_co2e_per_kg=float(lot.refining_kgco2e_per_kg or 0.0),
            factor_id=lot.refining_factor_id or f"supplier:{lot.lot_id}",
            source="supplier",
            smelter_id=lot.smelter_id if is_smelter_id(lot.smelter_id) else None,
        )
        for lot in lots
    )


TRACED_ELEMENTS = frozenset({"Co", "Ni", "Li"})  # the mandatory traceability elements (cobalt, nickel, lithium)


def _mined(lots: Sequence[LotFacts]) -> list[LotFacts]:
    """Primary lots carrying cobalt, nickel or lithium: the ones whose smelter and mines must be named.

    Recovered lots come from our recyclers; lots without a traced element (graphite, copper foil) have no
    RMI smelter of these minerals. A lot not yet assayed is included: its elements are unknown.
    """
    return [
        lot
        for lot in lots
        if not lot.recovered and (lot.fractions is None or TRACED_ELEMENTS & {e for e, f in lot.fractions.items() if f})
    ]


def _smelters(lots: Sequence[LotFacts]) -> tuple[str, ...] | Missing:
    mined = _mined(lots)
    if not mined:
        return Missing("no primary lot of cobalt, nickel or lithium: no smelter to name")
    gap = _lots_lacking(mined, lambda lot: is_smelter_id(lot.smelter_id), "no valid RMI smelter id (CID + 6 digits)")
    return gap or tuple(sorted({lot.smelter_id or "" for lot in mined}))


def _mines(lots: Sequence[LotFacts]) -> tuple[str, ...] | Missing:
    mined = _mined(lots)
    if not mined:
        return Missing("no primary lot of cobalt, nickel or lithium: no mine of origin")
    gap = _lots_lacking(mined, lambda lot: any(m.strip() for m in lot.mine_licences), "no mine licence number")
    return gap or tuple(sorted({m for lot in mined for m in lot.mine_licences if m.strip()}))


def _recycled(lots: Sequence[LotFacts]) -> dict[str, RecycledShare | Missing]:
    """Fields 3, 8, 9 from one mass balance over the lots."""
    lacking = [lot.lot_id for lot in lots if not lot.consumed_kg or lot.fractions is None]
    if lacking:
        return dict.fromkeys(ELEMENTS, Missing(f"consumed mass or assay missing for lot(s) {', '.join(lacking)}"))
    try:
        content = recycled_content(
            LotInput(
                lot.lot_id,
                float(lot.consumed_kg or 0.0),
                lot.fractions,
                lot.recycled_pre_consumer,
                lot.recycled_post_consumer,
                lot.recovered,
            )
            for lot in lots
        )
    except ValueError as e:
        return dict.fromkeys(ELEMENTS, Missing(f"inconsistent assay data: {e}"))
    out: dict[str, RecycledShare | Missing] = {}
    for el, c in content.elements.items():
        if c.share is None:
            out[el] = Missing(f"no {_ELEMENT_NAMES.get(el, el)} in the assayed input lots")
        else:
            pre, post = c.pre_consumer_share or 0.0, c.post_consumer_share or 0.0
            out[el] = RecycledShare(el, _percent(c.share), _percent(pre), _percent(post), c.total_kg, c.recycled_kg)
    return out


def _percent(share: float) -> float:
    return min(100.0, 100.0 * share)  # a share of 1 + float noise is still 100 %


def _verifications(shipment: ShipmentFacts, lots: Sequence[LotFacts]) -> tuple[VerificationEvent, ...] | Missing:
    gap = _lots_lacking(lots, lambda lot: bool(lot.lab_id) and lot.assayed_at_ms is not None, "no lab assay timestamp")
    if gap:
        return gap
    assays = [
        VerificationEvent(lot.lab_id or "", "assay", lot.certificate_ref or lot.lot_id, rfc3339_ms(lot.assayed_at_ms))
        for lot in lots
        if lot.lab_id and lot.assayed_at_ms is not None
    ]
    events = sorted([*assays, *shipment.verifications], key=lambda v: (v.verified_at, v.party_id, v.reference))
    return tuple(events) if events else Missing("no third-party verification recorded")


def _composition(lots: Sequence[LotFacts]) -> tuple[ElementalComposition, ...] | Missing:
    def has(lot: LotFacts) -> bool:
        return lot.fractions is not None and bool(lot.lab_id and lot.accreditation and lot.certificate_ref)

    gap = _lots_lacking(lots, has, "no assay with lab, accreditation and certificate")
    if gap:
        return gap
    return tuple(
        ElementalComposition(
            lot.lot_id,
            lot.lab_id or "",
            lot.accreditation or "",
            lot.certificate_ref or "",
            {el: f for el, f in (lot.fractions or {}).items() if el in ELEMENTS},  # unreported stays absent
        )
        for lot in lots
    )


def _custody(shipment: ShipmentFacts) -> tuple[CustodyParty, ...] | Missing:
    roles = {p.role for p in shipment.custody}
    absent = [r for r in ("transporter", "receiver") if r not in roles]
    if absent:
        return Missing(f"no licensed {' or '.join(absent)} recorded for the consignment")
    return shipment.custody


def build_report(shipment: ShipmentFacts, lots: Iterable[LotFacts]) -> TraceabilityReport:
    """The report as of delivery; fields whose inputs are incomplete are :class:`Missing`."""
    lots = list(lots)
    no_lots = Missing("no material lot is traced to the shipment's batteries")

    def per_lot(fn: Any) -> Any:
        return fn(lots) if lots else no_lots

    recycled = _recycled(lots) if lots else dict.fromkeys(ELEMENTS, no_lots)
    return TraceabilityReport(
        shipment_id=shipment.shipment_id,
        delivered_at=rfc3339_ms(shipment.delivered_at_ms),
        battery_ids=tuple(shipment.battery_ids),
        lot_ids=tuple(lot.lot_id for lot in lots),
        cathode_material_origin=per_lot(_origins),
        refining_carbon_intensity=per_lot(_refining),
        recycled_cobalt=recycled["Co"],
        smelter_ids=per_lot(_smelters),
        mine_licences=per_lot(_mines),
        transport_emissions=shipment.transport or Missing("no transport emissions: consignment mode or track unknown"),
        verification_timestamps=_verifications(shipment, lots),
        recycled_nickel=recycled["Ni"],
        recycled_lithium=recycled["Li"],
        elemental_composition=per_lot(_composition),
        chain_of_custody=_custody(shipment),
        seal=shipment.seal or Missing("the shipment's records are not sealed in a signed checkpoint yet"),
    )
