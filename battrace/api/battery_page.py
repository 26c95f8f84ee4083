"""What the human passport page of one battery says, built from its verified facts: identity, lifecycle, genealogy,
carbon per stage, recycled content, custody, and two verdicts kept apart on purpose.

**Integrity** answers "are these the records that were sealed?" (chain, inclusion proofs, signed checkpoints, every
derived row recomputed: ``battrace verify --battery``). **Compliance** answers "do the records show a problem?"
(flags, lot eligibility). A battery can verify perfectly and still be non-compliant: its records faithfully show an
expired licence, say. Merging them into one badge would hide exactly that case. Pure: no I/O; the route gathers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from battrace.api.carbon_chart import Chart, stage_chart, stage_label
from battrace.domain.custody import custody_parties
from battrace.domain.footprint import STAGES
from battrace.passport.facts import PassportFacts

CUSTODY = "custody"  # the flags category of a custody step by a party not licensed for it
RECYCLED_CLASSES = ("black_mass", "recovered")  # lot classes made from recycled batteries (lot_eligibility)
IDENTITY = (  # projection column, label, unit
    ("product_type", "Product type", None),
    ("model", "Model", None),
    ("chemistry", "Chemistry", None),
    ("site_id", "Manufacturing site", None),
    ("mass_kg", "Mass", "kg"),
    ("energy_kwh", "Rated energy", "kWh"),
    ("capacity_ah", "Rated capacity", "Ah"),
    ("certification", "Certification", None),
    ("status", "Status", None),
    ("phase", "Lifecycle phase", None),
    ("vin", "Vehicle (VIN)", None),
    ("vehicle_category", "Vehicle category", None),
    ("digital_link", "GS1 Digital Link", None),
)
EVENT_FIELDS = (
    "site_id",
    "collector_id",
    "dismantler_id",
    "recycler_id",
    "transporter_id",
    "receiver_id",
    "vin",
    "consignment_id",
    "reason",
    "state_of_health",
)


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class TimelineEntry:
    time: str
    kind: str
    details: tuple[Fact, ...]


@dataclass(frozen=True)
class LotNode:
    lot_id: str
    lot_class: str | None  # primary | black_mass | feedstock | recovered; None: the audit did not judge it
    recycled: bool
    eligible: bool | None


@dataclass
class ComponentNode:
    battery_id: str
    product_type: str
    children: list[ComponentNode] = field(default_factory=list)
    lots: list[LotNode] = field(default_factory=list)


@dataclass(frozen=True)
class CustodyStep:
    time: str
    step: str
    party: str
    licensed: bool
    detail: str  # the flag's reason when not licensed


@dataclass(frozen=True)
class RecycledElement:
    element: str
    element_kg: float | None
    pre_consumer: str
    post_consumer: str
    complete: bool


@dataclass(frozen=True)
class LogSeal:
    log_id: str
    records: int
    checkpoint_size: int | None
    checkpoint_root: str | None
    signed_by: str | None


@dataclass(frozen=True)
class Integrity:
    verified: bool
    chain_length: int = 0
    chain_head: str = ""
    logs: tuple[LogSeal, ...] = ()
    trusted_keys: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reason:
    subject: str
    code: str
    detail: str


@dataclass(frozen=True)
class Compliance:
    status: str  # compliant | flagged | not_assessed
    reasons: tuple[Reason, ...] = ()
    eligible_lots: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class CarbonView:
    chart: Chart | None
    total_kg: float | None
    per_kwh: float | None
    missing_stages: tuple[str, ...]
    why_none: str = ""


@dataclass(frozen=True)
class BatteryView:
    battery_id: str
    identity: tuple[Fact, ...]
    timeline: tuple[TimelineEntry, ...]
    genealogy: ComponentNode | None
    parent_id: str | None
    carbon: CarbonView
    recycled: tuple[RecycledElement, ...]
    custody: tuple[CustodyStep, ...]
    integrity: Integrity
    compliance: Compliance
    bundle_url: str
    json_url: str
    shipments: tuple[str, ...] = ()
    outputs: tuple[LotNode, ...] = ()  # lots recovered from this battery (its Dismantled events' output lots)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _shown(value: Any) -> bool:
    return value not in (None, "", 0, 0.0, "unknown", [], ())


def _format(value: Any, unit: str | None) -> str:
    text = f"{value:,.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return f"{text} {unit}" if unit else text


def identity(projection: Mapping[str, Any]) -> tuple[Fact, ...]:
    """The projection's columns the sources gave (the worker's defaults 0, "" and "unknown" are left out)."""
    return tuple(
        Fact(label, _format(projection[column], unit))
        for column, label, unit in IDENTITY
        if _shown(projection.get(column))
    )


def timeline(facts: PassportFacts) -> tuple[TimelineEntry, ...]:
    entries = []
    for event in facts.events:
        details = tuple(
            Fact(k.replace("_", " "), str(event.body[k])) for k in EVENT_FIELDS if _shown(event.body.get(k))
        )
        entries.append(TimelineEntry(iso(event.time_ms), event.kind, details))
    return tuple(entries)


def genealogy(
    battery_id: str,
    components: Mapping[str, Mapping[str, Any]],
    eligibility: Mapping[str, Mapping[str, Any]],
    recomputed_lots: Mapping[str, Mapping[str, Any] | None],
) -> ComponentNode | None:
    """The battery and everything under it (modules, cells, the lots each consumed); each id appears once."""
    seen: set[str] = set()

    def lot(lot_id: str) -> LotNode:
        judged = eligibility.get(lot_id)
        own = recomputed_lots.get(lot_id) or {}
        lot_class = judged["lot_class"] if judged else None
        recycled = lot_class in RECYCLED_CLASSES or bool(own.get("recovered"))
        return LotNode(lot_id, lot_class, recycled, bool(judged["eligible"]) if judged else None)

    def node(component_id: str) -> ComponentNode | None:
        row = components.get(component_id)
        if row is None or component_id in seen:
            return None
        seen.add(component_id)
        children = [n for n in (node(c) for c in row.get("children") or ()) if n is not None]
        return ComponentNode(
            component_id, row.get("product_type") or "", children, [lot(i) for i in row.get("lots") or ()]
        )

    return node(battery_id)


def lots_in(tree: ComponentNode | None) -> list[LotNode]:
    if tree is None:
        return []
    return [*tree.lots, *(lot for child in tree.children for lot in lots_in(child))]


def output_lots(facts: PassportFacts) -> list[str]:
    """The lots this battery was dismantled into, as its own sealed Dismantled events name them."""
    found = [
        str(e.body["output_lot_id"]) for e in facts.events if e.kind == "Dismantled" and e.body.get("output_lot_id")
    ]
    return list(dict.fromkeys(found))


def _lot_node(lot_id: str, eligibility: Mapping[str, Mapping[str, Any]], recycled: bool) -> LotNode:
    judged = eligibility.get(lot_id)
    return LotNode(
        lot_id, judged["lot_class"] if judged else None, recycled, bool(judged["eligible"]) if judged else None
    )


def carbon(facts: PassportFacts) -> CarbonView:
    """The footprint the audit computed for the battery (its ``footprints`` row: for a pack, everything that went
    into it), not the battery's own ledger lines, which for a pack leave out its cells' materials."""
    fp = facts.footprint
    if fp is None:
        why = "`battrace audit` has not run on this store" if not facts.audited else "the audit computed no footprint"
        return CarbonView(None, None, None, (), why)
    values = {stage: fp.get(f"{stage}_kg") for stage in STAGES}
    return CarbonView(
        stage_chart(values, STAGES, "kg CO2e"),
        fp.get("total_kg"),
        fp.get("total_per_kwh"),
        tuple(stage_label(s) for s in fp.get("missing_stages") or ()),
    )


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f} %"


def recycled(facts: PassportFacts) -> tuple[RecycledElement, ...]:
    out = []
    for row in sorted(facts.recycled, key=lambda r: r["element"]):
        kg = row.get("element_kg") or 0.0
        if kg:
            pre, post = _share(row["pre_consumer_kg"], kg), _share(row["post_consumer_kg"], kg)
        else:
            pre = post = "—"
        out.append(RecycledElement(row["element"], kg or None, pre, post, bool(row.get("complete"))))
    return tuple(out)


def custody(facts: PassportFacts) -> tuple[CustodyStep, ...]:
    """Every step of the battery's events that hands it to a party, with that party's licence status at the step
    (a custody flag on the step's event names what was wrong)."""
    flagged = {(f["event_id"], f["detail"]): f for f in facts.flags if f["category"] == CUSTODY and f.get("event_id")}
    by_event: dict[str, list[Mapping[str, Any]]] = {}
    for (event_id, _), flag in flagged.items():
        by_event.setdefault(event_id, []).append(flag)
    steps = []
    for event in facts.events:
        for party, _ in custody_parties(event.kind, event.body):
            problems = [f for f in by_event.get(event.event_id, []) if party in f["detail"]]
            detail = "; ".join(f"{f['code']}: {f['detail']}" for f in problems)
            steps.append(CustodyStep(iso(event.time_ms), event.kind, party, not problems, detail))
    return tuple(steps)


def compliance(
    facts: PassportFacts, tree: ComponentNode | None, eligibility: Mapping[str, Mapping[str, Any]]
) -> Compliance:
    """Flagged when any flag names the battery or a lot in it is not eligible for compliant output, with each
    reason; not assessed when the audit has not run (eligibility and custody are the audit's)."""
    reasons = [Reason(facts.battery_id, f"{f['category']}/{f['code']}", f["detail"]) for f in facts.flags]
    eligible = []
    for lot in lots_in(tree):
        judged = eligibility.get(lot.lot_id)
        if judged is None:
            continue
        if judged["eligible"]:
            eligible.append(lot.lot_id)
        else:
            reasons += [Reason(lot.lot_id, "eligibility", why) for why in judged["reasons"] or ["not eligible"]]
    if not facts.audited:
        note = "`battrace audit` has not run on this store: custody and eligibility are not assessed"
        status = "flagged" if reasons else "not_assessed"
        return Compliance(status, tuple(reasons), tuple(eligible), note)
    return Compliance("flagged" if reasons else "compliant", tuple(reasons), tuple(dict.fromkeys(eligible)))


def integrity(facts: PassportFacts, seals: Sequence[Mapping[str, Any]], trusted_keys: Sequence[str]) -> Integrity:
    logs = tuple(
        LogSeal(r["log_id"], int(r["records"]), r.get("size") or None, r.get("root") or None, r.get("key_id") or None)
        for r in seals
    )
    return Integrity(True, facts.chain_length, facts.chain_head, logs, tuple(trusted_keys))


def battery_view(
    facts: PassportFacts,
    *,
    seals: Sequence[Mapping[str, Any]],
    trusted_keys: Sequence[str],
    components: Mapping[str, Mapping[str, Any]],
    eligibility: Mapping[str, Mapping[str, Any]],
    shipments: Sequence[str] = (),
) -> BatteryView:
    """The page of a battery whose ``verify --battery`` passed (``gather`` raised otherwise)."""
    tree = genealogy(facts.battery_id, components, eligibility, facts.lots)
    parent = facts.projection.get("parent_id") or None
    return BatteryView(
        battery_id=facts.battery_id,
        identity=identity(facts.projection),
        timeline=timeline(facts),
        genealogy=tree,
        parent_id=parent,
        carbon=carbon(facts),
        recycled=recycled(facts),
        custody=custody(facts),
        integrity=integrity(facts, seals, trusted_keys),
        compliance=compliance(facts, tree, eligibility),
        bundle_url=facts.bundle,
        json_url=f"/passport/{facts.battery_id}",
        shipments=tuple(shipments),
        outputs=tuple(_lot_node(lot, eligibility, True) for lot in output_lots(facts)),
    )
