"""The per-shipment traceability report: the twelve fields of the customer's sources, each a value or missing.

A field with incomplete inputs is an explicit ``{"missing": "<why>"}``, never a default: a certified
report that silently filled a gap with a secondary number would certify something nobody measured.
Field numbers follow the customer's requirement list (docs/report.schema.json); JSON keys are the names in
:data:`FIELDS`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

REPORT_TYPE = "battrace.traceability_report"
REPORT_VERSION = 2

FIELDS = (
    "cathode_material_origin",  # 1 origin of cathode materials
    "refining_carbon_intensity",  # 2 carbon intensity of refining facilities
    "recycled_cobalt",  # 3 percentage of recycled cobalt
    "smelter_ids",  # 4 RMI smelter ids, CID + 6 digits
    "mine_licences",  # 5 mine licence numbers
    "transport_emissions",  # 6 transport emissions
    "verification_timestamps",  # 7 third-party verification timestamps
    "recycled_nickel",  # 8 recycled nickel share
    "recycled_lithium",  # 9 recycled lithium share
    "elemental_composition",  # 10 assayed Co, Ni, Li with the lab's accreditation
    "chain_of_custody",  # 11 licensed transporters and receiving facilities
    "seal",  # 12 log checkpoints and inclusion proofs
)

CID_PATTERN = re.compile(r"CID[0-9]{6}")
COUNTRY_PATTERN = re.compile(r"[A-Z]{2}")
TIMESTAMP_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
HEX_HASH_PATTERN = re.compile(r"[0-9a-f]{64}")
CUSTODY_ROLES = ("transporter", "receiver")


def rfc3339_ms(ms: int) -> str:
    """UTC milliseconds as the one timestamp spelling reports use: ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    if isinstance(ms, bool) or not isinstance(ms, int):
        raise ValueError(f"timestamp must be integer milliseconds, got {ms!r}")
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_rfc3339_ms(ts: str) -> int:
    """Inverse of :func:`rfc3339_ms`; any other spelling is rejected so one instant has one text."""
    if not isinstance(ts, str) or not TIMESTAMP_PATTERN.fullmatch(ts):
        raise ValueError(f"timestamp must look like 2026-01-31T12:00:00.000Z, got {ts!r}")
    dt = datetime.strptime(ts[:-5], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1000 + int(ts[-4:-1])


def is_smelter_id(s: object) -> bool:
    """RMI smelter / refiner id: ``CID`` followed by exactly six digits."""
    return isinstance(s, str) and CID_PATTERN.fullmatch(s) is not None


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


def _text(name: str, s: object) -> None:
    _check(isinstance(s, str) and s.strip() != "", f"{name} must be a non-empty string, got {s!r}")


def _number(name: str, x: object, lo: float = 0.0, hi: float = math.inf) -> None:
    ok = isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and lo <= x <= hi
    _check(ok, f"{name} must be a number in [{lo}, {hi}], got {x!r}")


@dataclass(frozen=True)
class Missing:
    """An input the field needs was not there; ``why`` says which and for what."""

    why: str

    def __post_init__(self) -> None:
        _text("missing reason", self.why)


@dataclass(frozen=True)
class MaterialOrigin:
    lot_id: str
    product: str
    origin_country: str  # ISO 3166-1 alpha-2

    def __post_init__(self) -> None:
        _text("product", self.product)
        _check(bool(COUNTRY_PATTERN.fullmatch(self.origin_country)), f"bad country code {self.origin_country!r}")


@dataclass(frozen=True)
class RefiningIntensity:
    lot_id: str
    kg_co2e_per_kg: float
    factor_id: str
    source: str  # "supplier" for primary data
    smelter_id: str | None = None

    def __post_init__(self) -> None:
        _number("refining intensity", self.kg_co2e_per_kg)
        _check(self.smelter_id is None or is_smelter_id(self.smelter_id), f"bad smelter id {self.smelter_id!r}")


@dataclass(frozen=True)
class RecycledShare:
    """Recycled share of one element across the shipment's inputs, in percent of the element mass."""

    element: str
    percent: float
    pre_consumer_percent: float
    post_consumer_percent: float
    element_kg: float
    recycled_kg: float

    def __post_init__(self) -> None:
        for name in ("percent", "pre_consumer_percent", "post_consumer_percent"):
            _number(name, getattr(self, name), 0.0, 100.0)
        _number("element_kg", self.element_kg)
        _number("recycled_kg", self.recycled_kg)


@dataclass(frozen=True)
class TransportElement:
    """One transport chain element (ISO 14083): a leg at its own mode (t.km), or a hub operation between legs (t)."""

    kind: str  # "leg" or "hub"
    index: int  # the leg's number from 1; a hub carries the number of the leg it ends
    what: str  # the leg's mode, or the hub's kind
    quantity: float
    unit: str  # "t.km" for a leg, "t" for a hub
    distance_km: float  # 0 for a hub
    kg_co2e: float
    factor_id: str
    factor_version: str

    def __post_init__(self) -> None:
        _check(self.kind in ("leg", "hub"), f"bad transport chain element {self.kind!r}")
        for name in ("quantity", "distance_km", "kg_co2e"):
            _number(name, getattr(self, name))


@dataclass(frozen=True)
class TransportEmissions:
    """The consignment's transport emissions (ISO 14083): its chain of legs and hubs, each at its own factor, and
    their sum split over the batteries carried. The totals are the chain's sums, checked when built."""

    kg_co2e: float
    t_km: float
    distance_km: float
    distance_basis: str  # e.g. "gps_haversine"
    modes: tuple[str, ...]  # the legs' modes in order
    scope: str  # e.g. "TTW"
    allocation_method: str  # "mass" or "equal_shares"
    allocation_kg: Mapping[str, float]
    chain: tuple[TransportElement, ...]

    def __post_init__(self) -> None:
        for name in ("kg_co2e", "t_km", "distance_km"):
            _number(name, getattr(self, name))
        _check(self.allocation_method in ("mass", "equal_shares"), f"bad allocation {self.allocation_method!r}")
        _check(bool(self.chain), "a transport chain has at least one element")
        legs = [e for e in self.chain if e.kind == "leg"]
        _check(math.isclose(self.kg_co2e, sum(e.kg_co2e for e in self.chain), rel_tol=1e-9, abs_tol=1e-9),
               "kg_co2e must be the sum of the chain's elements")  # fmt: skip
        _check(math.isclose(self.t_km, sum(e.quantity for e in legs), rel_tol=1e-9, abs_tol=1e-9),
               "t_km must be the sum of the legs' t.km")  # fmt: skip
        _check(self.modes == tuple(e.what for e in legs), "modes must be the legs' modes in order")


@dataclass(frozen=True)
class VerificationEvent:
    """A third party vouched for an input at a time (an accredited lab's assay, an audit, a licence check)."""

    party_id: str
    kind: str
    reference: str
    verified_at: str

    def __post_init__(self) -> None:
        parse_rfc3339_ms(self.verified_at)


@dataclass(frozen=True)
class ElementalComposition:
    lot_id: str
    lab_id: str
    accreditation: str
    certificate_ref: str
    fractions: Mapping[str, float]  # Co, Ni, Li mass fractions of the lot

    def __post_init__(self) -> None:
        for name in ("lab_id", "accreditation", "certificate_ref"):
            _text(name, getattr(self, name))
        for el, f in self.fractions.items():
            _number(f"fraction of {el}", f, 0.0, 1.0)


@dataclass(frozen=True)
class CustodyParty:
    role: str  # transporter or receiver
    party_id: str
    licence_number: str
    licensed: bool  # on the current public registry, valid and not revoked at delivery

    def __post_init__(self) -> None:
        _check(self.role in CUSTODY_ROLES, f"custody role must be one of {CUSTODY_ROLES}, got {self.role!r}")
        _text("licence_number", self.licence_number)


@dataclass(frozen=True)
class Inclusion:
    """One sealed record of the shipment: its log entry and the RFC 9162 audit path to a checkpoint."""

    entity: str
    log_id: str
    leaf_index: int
    tree_size: int
    entry: str  # the logged entry text (schemas.log_entries); its leaf hash is recomputed by verifiers
    proof: tuple[str, ...]  # hex node hashes

    def __post_init__(self) -> None:
        _check(0 <= self.leaf_index < self.tree_size, "leaf_index must be inside the tree")
        _check(all(HEX_HASH_PATTERN.fullmatch(h) for h in self.proof), "proof hashes must be 64 lowercase hex")


@dataclass(frozen=True)
class SealReference:
    checkpoints: tuple[str, ...]  # signed C2SP checkpoint notes, one per log involved
    inclusions: tuple[Inclusion, ...]

    def __post_init__(self) -> None:
        _check(bool(self.checkpoints) and bool(self.inclusions), "a seal needs checkpoints and inclusion proofs")


@dataclass(frozen=True)
class TraceabilityReport:
    """The report for one delivered shipment; every field is a value or :class:`Missing`."""

    shipment_id: str
    delivered_at: str
    battery_ids: tuple[str, ...]
    lot_ids: tuple[str, ...]
    cathode_material_origin: tuple[MaterialOrigin, ...] | Missing
    refining_carbon_intensity: tuple[RefiningIntensity, ...] | Missing
    recycled_cobalt: RecycledShare | Missing
    smelter_ids: tuple[str, ...] | Missing
    mine_licences: tuple[str, ...] | Missing
    transport_emissions: TransportEmissions | Missing
    verification_timestamps: tuple[VerificationEvent, ...] | Missing
    recycled_nickel: RecycledShare | Missing
    recycled_lithium: RecycledShare | Missing
    elemental_composition: tuple[ElementalComposition, ...] | Missing
    chain_of_custody: tuple[CustodyParty, ...] | Missing
    seal: SealReference | Missing

    def __post_init__(self) -> None:
        _text("shipment_id", self.shipment_id)
        parse_rfc3339_ms(self.delivered_at)
        if not isinstance(self.smelter_ids, Missing):
            bad = [s for s in self.smelter_ids if not is_smelter_id(s)]
            _check(not bad, f"smelter ids must be CID + 6 digits: {bad}")
        for name in FIELDS:
            value = getattr(self, name)
            _check(value is not None, f"{name}: use Missing(why), not None")
            if isinstance(value, tuple):
                _check(bool(value), f"{name}: an empty list is not a value, use Missing(why)")
        for name in ("smelter_ids", "mine_licences"):
            value = getattr(self, name)
            _check(isinstance(value, Missing) or len(set(value)) == len(value), f"{name} must not repeat")

    @property
    def missing_fields(self) -> tuple[str, ...]:
        return tuple(name for name in FIELDS if isinstance(getattr(self, name), Missing))

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON values (what is canonicalised, hashed and signed)."""
        return {
            "type": REPORT_TYPE,
            "version": REPORT_VERSION,
            "shipment_id": self.shipment_id,
            "delivered_at": self.delivered_at,
            "battery_ids": list(self.battery_ids),
            "lot_ids": list(self.lot_ids),
            "fields": {name: plain(getattr(self, name)) for name in FIELDS},
            "missing_fields": list(self.missing_fields),
        }


def plain(value: Any) -> Any:
    """Dataclasses, tuples and mappings to JSON values; :class:`Missing` to ``{"missing": why}``."""
    if isinstance(value, Missing):
        return {"missing": value.why}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
