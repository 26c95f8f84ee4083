"""Offline verification bundles: one entity's sealed records with everything needed to check them.

A bundle is a JSON file: the records of one chain (battery or shipment) with the canonical bytes of
each event, an RFC 9162 inclusion proof per record, the signed checkpoint of the log they are in, the
entity's head in that checkpoint's heads tree (schemas/heads.py) with its inclusion proof, and the
verifier keys. :func:`verify_bundle` needs no Kafka, no ClickHouse and no network: it recomputes the
chain, the event hashes and the log entries, checks each inclusion proof against its checkpoint and
each checkpoint's signature, and checks completeness: the head the checkpoint commits to for the
entity is the bundle's last record (same length, same chain hash), so no record of the entity as of
that checkpoint is left out. Trust comes from the keys: pin the operator's published
verifier key (``--key``); keys carried in the bundle only prove the file is self-consistent.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from battrace.domain.chain import GENESIS, chain_step
from battrace.domain.entities import SHIPMENT
from battrace.report.canonical import CanonicalizationError
from battrace.tlog import InvalidKeyError, NoteError, Verifier, leaf_hash, open_checkpoint, verify_inclusion
from battrace.tlog.checkpoint import CheckpointError
from battrace.verify.bundle_report import check_report
from battrace.verify.witness_quorum import WitnessQuorum
from schemas.heads import head_leaf, parse_heads
from schemas.log_entries import sealed_entry

FORMAT = "battrace-bundle/1"
INCOMPLETE = "the bundle does not prove it is complete"
RECORD_FIELDS = ("entity_type", "entity_id", "seq", "event_id", "event_hash", "prev_hash", "chain_hash", "log_id")


class BundleError(ValueError):
    """The file is not a readable bundle (as opposed to a bundle that fails verification)."""


@dataclass
class BundleReport:
    subject: str = ""
    checked: int = 0
    report: dict[str, object] | None = None  # for a shipment bundle with its traceability report
    trust: str = ""  # "pinned" (keys given by the verifier) or "bundle" (keys carried in the file)
    checkpoints: dict[str, int] = field(default_factory=dict)  # log id -> size verified against
    failures: list[dict[str, object]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not self.failures

    @property
    def verified(self) -> bool:
        """Ok against keys the verifier pinned; ok against the bundle's own keys shows self-consistency only."""
        return self.ok and self.trust == "pinned"

    def fail(self, seq: int | None, problem: str) -> None:
        self.failures.append({"entity": self.subject, "seq": seq, "problem": problem})

    def to_json(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "checked": self.checked,
            "ok": self.ok,
            "verified": self.verified,
            "trust": self.trust,
            "checkpoints": self.checkpoints,
            "report": self.report,
            "failures": self.failures,
        }


# What hostile content can make checking code raise: each becomes a failure entry, never an exception.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError, NoteError)


def load_bundle(data: bytes | str) -> dict[str, Any]:
    try:
        bundle = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, huge integers, deep nesting
        raise BundleError(f"not a JSON bundle: {str(exc)[:200]}") from None
    problem = shape_problem(bundle)
    if problem is not None:
        raise BundleError(problem)
    return bundle


def shape_problem(bundle: object) -> str | None:
    """Why ``bundle`` does not have the shape of a bundle (format, subject, records, checkpoints, keys), or None."""
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        return f"not a {FORMAT} file (missing or different 'format')"
    for key, kind in (("subject", dict), ("records", list), ("checkpoints", dict), ("verifier_keys", list)):
        if not isinstance(bundle.get(key), kind):
            return f"bundle field {key!r} is missing or not a {kind.__name__}"
    subject = bundle["subject"]
    if not (isinstance(subject.get("type"), str) and isinstance(subject.get("id"), str)):
        return "bundle subject needs string 'type' and 'id'"
    if not all(isinstance(r, dict) for r in bundle["records"]):
        return "bundle records must be JSON objects"
    return None


def _verifiers(keys: Sequence[str | Verifier], report: BundleReport) -> list[Verifier]:
    out = []
    for key in keys:
        if not isinstance(key, str | Verifier):
            report.fail(None, f"unusable verifier key {str(key)[:40]!r}: not a name+keyid+key string")
            continue
        try:
            out.append(key if isinstance(key, Verifier) else Verifier.from_key(key))
        except InvalidKeyError as exc:
            report.fail(None, f"unusable verifier key {str(key)[:40]!r}: {exc}")
    return out


def verify_bundle(
    bundle: dict[str, Any],
    pinned_keys: Sequence[str | Verifier] = (),
    report_keys: Mapping[str, Sequence[str | Verifier]] | None = None,
    witnesses: WitnessQuorum | None = None,
) -> BundleReport:
    """Check every record of the bundle; never raises on hostile content (any shape, any value), reports it.

    ``report_keys``: per report role, the keys the verifier pinned (battrace/verify/bundle_report.py);
    ``witnesses``: the cosignatures every checkpoint of the bundle must carry."""
    problem = shape_problem(bundle)
    if problem is not None:
        report = BundleReport(subject="?", trust="pinned" if pinned_keys else "bundle")
        report.fail(None, problem)
        return report
    subject = bundle["subject"]
    report = BundleReport(subject=f"{subject['type']}:{subject['id']}")
    report.trust = "pinned" if pinned_keys else "bundle"
    verifiers = _verifiers(pinned_keys or bundle["verifier_keys"], report)
    checkpoints = {}
    for log_id, note in bundle["checkpoints"].items():
        try:
            checkpoints[log_id] = open_checkpoint(note, verifiers, origin=log_id)
            report.checkpoints[log_id] = checkpoints[log_id].size
        except (*MALFORMED, CheckpointError) as exc:
            report.fail(None, f"checkpoint of {log_id}: {_short(exc)}")
    if not bundle["records"]:
        report.fail(None, "the bundle holds no records")
    prev = GENESIS
    for expected_seq, record in enumerate(bundle["records"], start=1):
        try:
            _check_record(record, expected_seq, prev, subject, checkpoints, report)
            prev = bytes.fromhex(record["chain_hash"])
        except MALFORMED as exc:
            report.fail(expected_seq, f"malformed record: {_short(exc)}")
            return report
        if report.failures:
            return report
    if bundle["records"]:
        try:
            _check_head(bundle, checkpoints, report)
        except MALFORMED as exc:
            report.fail(None, f"{INCOMPLETE}: malformed head: {_short(exc)}")
    if witnesses is not None:
        for log_id, cp in checkpoints.items():
            short = witnesses.problem(bundle["checkpoints"][log_id])
            if short is not None:
                report.fail(None, f"checkpoint {cp.size} of {log_id}: {short}")
    if "report" in bundle and subject["type"] != SHIPMENT:
        report.fail(None, "a report belongs in its consignment's bundle, not in a bundle of a " + str(subject["type"]))
    elif subject["type"] == SHIPMENT:
        try:
            report.report, problems = check_report(bundle, dict(report_keys or {}), verifiers)
        except (*MALFORMED, InvalidKeyError, CanonicalizationError) as exc:
            report.report, problems = None, [f"malformed report: {_short(exc)}"]
        for problem in problems:
            report.fail(None, problem)
    return report


def _short(exc: BaseException) -> str:
    """The exception as one bounded line: hostile input can make messages huge."""
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _check_head(bundle: dict[str, Any], checkpoints: dict, report: BundleReport) -> None:
    """Completeness: the checkpoint's heads tree holds the bundle's last record as the entity's newest."""
    head, records = bundle.get("head"), bundle["records"]
    if not isinstance(head, dict):
        report.fail(None, f"{INCOMPLETE}: it has no head (the entity's chain length under a signed checkpoint)")
        return
    leaf, log_id, last = head["leaf"], head["log_id"], records[-1]
    if not isinstance(leaf, dict) or not isinstance(log_id, str):
        report.fail(None, f"{INCOMPLETE}: its head is malformed")
        return
    cp = checkpoints.get(log_id)
    if cp is None:
        report.fail(None, f"{INCOMPLETE}: no verified checkpoint for the head's log {log_id}")
        return
    others = sorted({str(r["log_id"]) for r in records} - {log_id})
    if others:
        report.fail(None, f"{INCOMPLETE}: records lie in logs {others}, the head in {log_id}")
        return
    committed = parse_heads(cp.extensions)
    if committed is None:
        report.fail(None, f"{INCOMPLETE}: checkpoint {cp.size} of {log_id} commits to no heads")
        return
    count, root = committed
    entity, length, chain_hash = leaf["entity"], leaf["length"], leaf["chain_hash"]
    if entity != report.subject:
        report.fail(None, f"{INCOMPLETE}: its head is {str(entity)[:100]!r}'s, not the subject's")
    elif type(length) is not int or not isinstance(chain_hash, str):
        report.fail(None, f"{INCOMPLETE}: its head's length or chain hash is malformed")
    elif length != len(records) or chain_hash != last["chain_hash"]:
        report.fail(
            len(records),
            f"{INCOMPLETE}: checkpoint {cp.size} of {log_id} says the chain has {length} records "
            f"(head {chain_hash[:16]}...), the bundle holds {len(records)}",
        )
    else:
        proof = [bytes.fromhex(h) for h in head["inclusion_proof"]]
        if not verify_inclusion(leaf_hash(head_leaf(entity, length, chain_hash)), head["index"], count, proof, root):
            report.fail(
                None,
                f"{INCOMPLETE}: the head's inclusion proof does not reach the heads root of checkpoint "
                f"{cp.size} of {log_id}",
            )


def _check_record(
    record: dict[str, Any], seq: int, prev: bytes, subject: dict[str, Any], checkpoints: dict, report: BundleReport
) -> None:
    if (record["entity_type"], record["entity_id"]) != (subject.get("type"), subject.get("id")):
        report.fail(seq, "record belongs to another entity")
    elif record["seq"] != seq:
        report.fail(seq, f"sequence gap: expected {seq}, found {record['seq']}")
    elif record["prev_hash"] != prev.hex():
        report.fail(seq, "prev_hash does not match the previous chain_hash")
    elif (
        hashlib.sha256(base64.b64decode(record["event"]["canonical"], validate=True)).hexdigest()
        != record["event_hash"]
    ):
        report.fail(seq, "event bytes do not hash to event_hash")
    elif chain_step(prev, bytes.fromhex(record["event_hash"]), seq).hex() != record["chain_hash"]:
        report.fail(seq, "chain_hash does not recompute")
    elif record["log_id"] not in checkpoints:
        report.fail(seq, f"no verified checkpoint for log {record['log_id']}")
    else:
        cp = checkpoints[record["log_id"]]
        leaf = leaf_hash(sealed_entry(record))
        proof = [bytes.fromhex(h) for h in record["inclusion_proof"]]
        if not verify_inclusion(leaf, record["log_index"], cp.size, proof, cp.root):
            report.fail(seq, f"inclusion proof against checkpoint {cp.size} of {record['log_id']} does not verify")
    report.checked += 1
