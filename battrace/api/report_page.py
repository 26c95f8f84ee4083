"""What the human page of a consignment's traceability report says (the page the invoice's QR code opens), built from
the same answer as ``GET /reports/{id}`` as JSON. Pure: no I/O.

As on a battery's page the verdicts are kept apart: **integrity** is the report's certification (its hash signed by
both pinned roles, no pinned refusal), **compliance** is what the certified content says (custody parties without a
valid licence, fields the report could not fill).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from battrace.api.battery_page import Compliance, Fact, Reason


@dataclass(frozen=True)
class ReportIntegrity:
    verified: bool
    report_hash: str
    verified_roles: tuple[str, ...]
    problems: tuple[str, ...]
    checkpoints: tuple[str, ...]  # the first line (origin) and size of each signed checkpoint the seal reaches


@dataclass(frozen=True)
class CustodyParty:
    role: str
    party_id: str
    licence_number: str
    licensed: bool


@dataclass(frozen=True)
class ReportView:
    shipment_id: str
    delivered_at: str
    battery_ids: tuple[str, ...]
    lot_ids: tuple[str, ...]
    custody: tuple[CustodyParty, ...]
    facts: tuple[Fact, ...]
    integrity: ReportIntegrity
    compliance: Compliance
    json_url: str
    bundle_url: str


def _field(fields: Mapping[str, Any], name: str) -> Any:
    value = fields.get(name)
    return None if isinstance(value, Mapping) and "missing" in value else value


def _recycled(fields: Mapping[str, Any], name: str) -> Fact:
    value = fields.get(name)
    label = name.replace("_", " ").capitalize()
    if not isinstance(value, Mapping) or "missing" in value:
        return Fact(label, f"missing: {value.get('missing')}" if isinstance(value, Mapping) else "missing")
    return Fact(
        label,
        f"{value['percent']} % ({value['pre_consumer_percent']} % pre-, "
        f"{value['post_consumer_percent']} % post-consumer)",
    )


def _checkpoint_heads(seal: Any) -> tuple[str, ...]:
    if not isinstance(seal, Mapping):
        return ()
    out = []
    for note in seal.get("checkpoints") or ():
        lines = str(note).split("\n")
        out.append(f"{lines[0]} at size {lines[1]}" if len(lines) > 1 else lines[0])
    return tuple(out)


def report_view(answer: Mapping[str, Any]) -> ReportView:
    """From the JSON answer of ``GET /reports/{id}`` (its signed ``document`` and what the pinned keys make of it)."""
    report = answer["document"].get("report") or {}
    fields = report.get("fields") or {}
    custody = tuple(
        CustodyParty(p.get("role", ""), p.get("party_id", ""), p.get("licence_number", ""), bool(p.get("licensed")))
        for p in (_field(fields, "chain_of_custody") or ())
    )
    transport = _field(fields, "transport_emissions")
    facts = [
        Fact("Smelters", ", ".join(_field(fields, "smelter_ids") or ()) or "missing"),
        Fact("Mine licences", ", ".join(_field(fields, "mine_licences") or ()) or "missing"),
        *(_recycled(fields, f"recycled_{e}") for e in ("cobalt", "nickel", "lithium")),
    ]
    if isinstance(transport, Mapping):
        facts.append(
            Fact(
                "Transport",
                f"{transport.get('kg_co2e', '?')} kg CO2e, {transport.get('distance_km')} km "
                f"by {transport.get('mode')}",
            )
        )
    reasons = [
        Reason(p.party_id, "custody/unlicensed", f"{p.role} {p.party_id} (licence {p.licence_number}) is not licensed")
        for p in custody
        if not p.licensed
    ]
    reasons += [Reason(answer["shipment_id"], "refused", str(r)) for r in answer.get("refusals") or ()]
    reasons += [
        Reason(answer["shipment_id"], "missing", f"the report could not fill {m}")
        for m in answer.get("missing_fields") or ()
    ]
    status = "flagged" if any(r.code != "missing" for r in reasons) else "compliant"
    integrity = ReportIntegrity(
        bool(answer.get("certified")),
        str(answer.get("report_hash", "")),
        tuple(answer.get("verified_roles") or ()),
        tuple(str(p) for p in answer.get("problems") or ()),
        _checkpoint_heads(fields.get("seal")),
    )
    shipment_id = answer["shipment_id"]
    return ReportView(
        shipment_id=shipment_id,
        delivered_at=str(report.get("delivered_at", "")),
        battery_ids=tuple(report.get("battery_ids") or ()),
        lot_ids=tuple(report.get("lot_ids") or ()),
        custody=custody,
        facts=tuple(facts),
        integrity=integrity,
        compliance=Compliance(status, tuple(reasons)),
        json_url=f"/reports/{shipment_id}",
        bundle_url=f"/shipments/{shipment_id}/bundle",
    )
