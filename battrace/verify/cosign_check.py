"""What the third-party verifier checks before it co-signs a drafted report: the reasons to refuse (none = sign).

The co-signer trusts nothing the operator serves except through keys it pinned itself: the operator's log key(s)
and the manufacturer's QA key. From the drafted document and the sealed records it fetched (bundles, battrace/verify/
bundle.py), it checks that

- the QA signature verifies with the pinned QA key;
- the consignment's bundle verifies with the pinned log key, and its newest ReportDrafted record carries this very
  report hash (the draft is in the log, and no newer draft replaced it);
- the report's seal (field 12) verifies with the pinned log key;
- every transporter and receiver held a licence for its step at the step's own time, judged from the sealed
  consignment records and the sealed registry records (``party:<id>`` bundles), never from the report's own claim;
  every custody party the report lists was found in those records.

Fields the report declares missing are no reason to refuse (the report says so itself); they are listed alongside.
Pure: the bundles are fetched by the caller (battrace/cli/cosign.py).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from battrace.compliance.custody_audit import check_steps, describe
from battrace.compliance.registry import RECORD_FIELDS, Registry
from battrace.compliance.steps import Step, steps_of
from battrace.domain.entities import PARTY, SHIPMENT
from battrace.domain.report_events import REPORT_DRAFTED
from battrace.report.canonical import CanonicalizationError, canonical_json
from battrace.report.model import rfc3339_ms
from battrace.report.seal import verify_seal
from battrace.report.signing import MANUFACTURER_QA, verify_report
from battrace.tlog import Verifier
from battrace.verify.bundle import MALFORMED, verify_bundle
from battrace.verify.derived import UndecodableEvent, envelope_of

CUSTODY_KINDS = {"ConsignmentCreated": "transporter", "Delivered": "receiver"}  # step kind -> report custody role


@dataclass(frozen=True)
class PinnedKeys:
    """The keys the co-signer pinned in its own home: the operator's log key(s) and the manufacturer's QA key(s)."""

    log: tuple[Verifier, ...]
    manufacturer_qa: tuple[Verifier, ...]


@dataclass(frozen=True)
class CosignCheck:
    """The verdict on one draft: ``reasons`` to refuse (empty = co-sign) and the fields the report lacks."""

    shipment_id: str
    report_hash: str
    reasons: tuple[str, ...]
    missing_fields: tuple[str, ...] = ()

    @property
    def sign(self) -> bool:
        return not self.reasons


Records = list[dict[str, Any]]  # decoded sealed records: event_id, kind, at_ms, record (as compliance.steps reads)


def decoded_records(bundle: Mapping[str, Any]) -> Records:
    """The bundle's records decoded from their canonical event bytes, in chain order."""
    out: Records = []
    for record in bundle["records"]:
        ev = envelope_of(base64.b64decode(record["event"]["canonical"], validate=True))
        out.append({"event_id": ev.event_id, "kind": ev.kind, "at_ms": ev.event_time_ms, "record": ev.record})
    return out


def _verified(bundle: Mapping[str, Any] | None, subject: tuple[str, str], keys: Sequence[Verifier]) -> str | None:
    """Why ``bundle`` cannot be relied on for ``subject`` (None = it verifies with the pinned keys)."""
    if bundle is None:
        return "no sealed records"
    result = verify_bundle(dict(bundle), list(keys))
    if not result.verified:
        first = result.failures[0]["problem"] if result.failures else "not checked against pinned keys"
        return f"its bundle does not verify with the pinned log key ({first})"
    if (bundle["subject"]["type"], bundle["subject"]["id"]) != subject:
        return f"the bundle is of {bundle['subject']['type']}:{bundle['subject']['id']}"
    return None


def _decode_or_reason(bundle: Mapping[str, Any], what: str) -> tuple[Records | None, str | None]:
    try:
        return decoded_records(bundle), None
    except (UndecodableEvent, *MALFORMED) as exc:
        return None, f"{what}: a sealed record does not decode ({str(exc)[:120]})"


def draft_in_log(records: Records, report_hash: str) -> str | None:
    """Why the consignment's records do not show this draft as its newest (None = they do)."""
    drafts = [r["record"] for r in records if r["kind"] == REPORT_DRAFTED]
    if not drafts:
        return "the draft is not in the log: the consignment's sealed records hold no ReportDrafted step"
    newest = drafts[-1].get("report_hash")
    if newest != report_hash:
        return f"the draft is not in the log: the consignment's newest sealed draft has hash {str(newest)[:16]}"
    return None


def custody_steps(records: Iterable[Records]) -> list[Step]:
    """Transporter and receiver steps of the given consignments' sealed records, each once."""
    found: dict[tuple[str, str], Step] = {}
    for recs in records:
        for step in steps_of([r for r in recs if r["kind"] in CUSTODY_KINDS]):
            found.setdefault((step.event_id, step.party_id), step)
    return sorted(found.values(), key=lambda s: (s.at_ms, s.event_id, s.party_id))


def listed_custody(document: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    """(role, party id) of each custody party field 11 lists; None when the field is missing (or not a list)."""
    fields = document["report"].get("fields") if isinstance(document.get("report"), Mapping) else None
    custody = fields.get("chain_of_custody") if isinstance(fields, Mapping) else None
    if not isinstance(custody, list):
        return None
    return [(str(p.get("role")), str(p.get("party_id"))) for p in custody if isinstance(p, Mapping)]


def registry_of(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A party's licence records, oldest first, from its verified ``party:<id>`` bundle."""
    ordered = sorted(decoded_records(bundle), key=lambda r: (r["at_ms"], r["event_id"]))
    return [{f: r["record"].get(f) for f in RECORD_FIELDS} for r in ordered if r["kind"] == "Licence"]


def check_custody_steps(
    steps: Sequence[Step], party_bundles: Mapping[str, Mapping[str, Any] | None], log_keys: Sequence[Verifier]
) -> list[str]:
    """Reasons against the custody steps: a party not on the (verified) registry, or not licensed at its step."""
    reasons: list[str] = []
    registry: Registry = {}
    untrusted: set[str] = set()
    for party in dict.fromkeys(s.party_id for s in steps):
        bundle = party_bundles.get(party)
        if bundle is None:
            continue  # not on the registry: check_custody names it unlisted
        problem = _verified(bundle, (PARTY, party), log_keys)
        if problem is None:
            try:
                registry[party] = registry_of(bundle)
                continue
            except (UndecodableEvent, *MALFORMED) as exc:
                problem = f"a sealed record does not decode ({str(exc)[:120]})"
        untrusted.add(party)
        reasons.append(f"custody: registry records of {party} cannot be trusted: {problem}")
    for checked in check_steps([s for s in steps if s.party_id not in untrusted], registry):
        if checked.flag is not None:
            role = CUSTODY_KINDS.get(checked.step.kind, checked.step.kind)
            reasons.append(f"custody: {role} {describe(checked)} (at {_iso(checked.step.at_ms)})")
    return reasons


def _iso(ms: int) -> str:
    return rfc3339_ms(int(ms))


def check_draft(
    document: Mapping[str, Any],
    consignment: Mapping[str, Any],
    party_bundles: Mapping[str, Mapping[str, Any] | None],
    keys: PinnedKeys,
    earlier_consignments: Sequence[Mapping[str, Any]] = (),
) -> CosignCheck:
    """Every reason to refuse the drafted ``document`` (see the module's docstring); never raises on bad input.

    ``consignment`` is the bundle of the report's consignment; ``earlier_consignments`` bundles of earlier
    consignments of the same batteries and lots (their parties appear in field 11 too); ``party_bundles`` maps each
    custody party to its ``party:<id>`` bundle, or None when the operator has no sealed record of it."""
    try:
        body = document["report"]
        shipment_id, report_hash = str(body["shipment_id"]), str(document["report_hash"])
        missing = tuple(str(m) for m in body.get("missing_fields") or ())
        canonical = canonical_json(document)
    except (*MALFORMED, CanonicalizationError) as exc:
        return CosignCheck("?", "?", (f"not a report document: {str(exc)[:120]}",))
    reasons = list(_signature_reasons(canonical, keys))
    problem = _verified(consignment, (SHIPMENT, shipment_id), keys.log)
    records = None
    if problem is not None:
        reasons.append(f"consignment {shipment_id}: {problem}")
    else:
        records, problem = _decode_or_reason(consignment, f"consignment {shipment_id}")
        problem = problem or (draft_in_log(records, report_hash) if records is not None else None)
        if problem:
            reasons.append(problem)
    reasons += _seal_reasons(body, keys.log)
    if records is not None:
        reasons += _custody_reasons(document, records, earlier_consignments, party_bundles, keys.log)
    return CosignCheck(shipment_id, report_hash, tuple(reasons), missing)


def _signature_reasons(canonical: bytes, keys: PinnedKeys) -> list[str]:
    check = verify_report(canonical, {MANUFACTURER_QA: list(keys.manufacturer_qa)}, required_roles=[MANUFACTURER_QA])
    return [f"manufacturer's QA signature: {p}" for p in check.problems]


def _seal_reasons(body: Mapping[str, Any], log_keys: Sequence[Verifier]) -> list[str]:
    fields = body.get("fields")
    seal = fields.get("seal") if isinstance(fields, Mapping) else None
    if isinstance(seal, Mapping) and "missing" in seal:
        return []  # declared missing: listed with the missing fields, not a reason by itself
    if not isinstance(seal, Mapping):
        return ["seal (field 12): not an object"]
    try:
        return [f"seal (field 12): {p}" for p in verify_seal(seal, list(log_keys))]
    except MALFORMED as exc:
        return [f"seal (field 12): malformed ({str(exc)[:120]})"]


def _custody_reasons(
    document: Mapping[str, Any],
    records: Records,
    earlier: Sequence[Mapping[str, Any]],
    party_bundles: Mapping[str, Mapping[str, Any] | None],
    log_keys: Sequence[Verifier],
) -> list[str]:
    listed = listed_custody(document)
    if listed is None:
        return []  # declared missing
    reasons: list[str] = []
    found = [records]
    for bundle in earlier:
        subject = (SHIPMENT, str(bundle.get("subject", {}).get("id", "")))
        problem = _verified(bundle, subject, log_keys)
        decoded, problem = (None, problem) if problem else _decode_or_reason(bundle, f"consignment {subject[1]}")
        if problem:
            reasons.append(f"custody: consignment {subject[1]}: {problem}")
        elif decoded is not None:
            found.append(decoded)
    steps = custody_steps(found)
    seen = {(CUSTODY_KINDS[s.kind], s.party_id) for s in steps}
    reasons += [
        f"custody: {role} {party} listed in field 11 has no sealed custody step in the consignments checked"
        for role, party in listed
        if (role, party) not in seen
    ]
    return reasons + check_custody_steps(steps, party_bundles, log_keys)
