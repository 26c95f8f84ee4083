"""The traceability report inside a consignment's bundle, recomposed from the bundle's own sealed records.

The report's draft and every review of it are report steps in the consignment's chain (battrace/domain/
report_events.py), so a bundle whose records verify already carries them, under the log's seal. The report shown is
the newest draft with the co-signatures of its hash; whether it is *certified* is decided by the role keys the
verifier pinned (``--report-key``, or the keys of the verifier's own home), never by keys the bundle carries: a
report re-signed with fresh keys proves nothing. A bundle that also carries a ``report`` section (``battrace export
--report``) must carry exactly the recomposed document, and then the report must be certified and its seal (field 12)
must verify for the bundle to pass.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from battrace.domain.report_events import REPORT_COSIGNED, REPORT_DRAFTED, REVIEW_KINDS
from battrace.domain.sources import REPORT_EVENT
from battrace.report.canonical import canonical_json
from battrace.report.reviews import Certification, Review, certify
from battrace.report.seal import verify_seal
from battrace.report.signing import KeySet, load_signed
from battrace.tlog import Verifier
from battrace.verify.derived import UndecodableEvent, envelope_of
from schemas.envelope import Envelope


def report_steps(records: Sequence[Mapping[str, Any]]) -> list[Envelope]:
    """The report steps among the records, in chain order (records are already checked: bytes hash to the seal)."""
    steps = []
    for record in records:
        try:
            ev = envelope_of(base64.b64decode(record["event"]["canonical"], validate=True))
        except UndecodableEvent:
            continue
        if ev.schema == REPORT_EVENT:
            steps.append(ev)
    return steps


def certification_of(steps: Sequence[Envelope], role_keys: Mapping[str, KeySet]) -> Certification | None:
    """The newest draft with its reviews, checked against ``role_keys``; None if no report was drafted."""
    drafts = [s for s in steps if s.kind == REPORT_DRAFTED]
    if not drafts:
        return None
    draft = load_signed(drafts[-1].record["document"])
    reviews = [
        Review(
            s.record["report_hash"],
            "cosigned" if s.kind == REPORT_COSIGNED else "refused",
            load_signed(s.record["signature"]),
            tuple(s.record["reasons"]),
        )
        for s in steps
        if s.kind in REVIEW_KINDS
    ]
    return certify(draft, reviews, role_keys)


def check_report(
    bundle: Mapping[str, Any], role_keys: Mapping[str, KeySet], log_keys: list[Verifier]
) -> tuple[dict[str, object] | None, list[str]]:
    """(the report summary, problems that fail the bundle). Problems arise only for a bundle that carries a report
    section: a plain consignment bundle shows its report's status without being judged by it."""
    certification = certification_of(report_steps(bundle["records"]), role_keys)
    claimed = "report" in bundle
    if certification is None:
        return None, (["the bundle carries a report, but its records hold no sealed draft"] if claimed else [])
    doc = certification.document
    body = doc["report"]
    seal = body.get("fields", {}).get("seal") if isinstance(body.get("fields"), dict) else None
    seal_problems = list(verify_seal(seal, log_keys)) if isinstance(seal, dict) else ["field 12 (seal) is missing"]
    summary: dict[str, object] = {
        "shipment_id": body.get("shipment_id"),
        "report_hash": doc.get("report_hash"),
        **certification.to_json(),
        "missing_fields": list(body.get("missing_fields", [])),
        "seal_ok": not seal_problems,
    }
    if not role_keys:
        summary["problems"] = ["no report role keys pinned: pass --report-key ROLE=KEY", *certification.problems]
    if not claimed:
        return summary, []
    problems = []
    if canonical_json(bundle["report"]) != canonical_json(doc):
        problems.append("the bundle's report is not the report sealed in its records")
    if not role_keys:
        problems.append("no report role keys pinned: the report cannot be certified (pass --report-key ROLE=KEY)")
    problems += [f"report: {p}" for p in certification.problems]
    problems += [f"report seal: {p}" for p in seal_problems]
    return summary, problems
