"""The third-party verifier's review of a drafted report: a co-signature, or a signed refusal with reasons.

A report counts as *certified* only when every required role signed it with a key the reader pinned for that role,
and no pinned reviewer refused it. The manufacturer drafts and signs; the verifier is another party, in another home,
with its own key: it reads the draft, checks it (battrace/verify/cosign_check.py), and sends back either a signature
entry over the report hash (:func:`cosignature`) or a refusal (:func:`refusal`), whose signature covers the report
hash, its role, its time and its reasons, so neither can be moved to another report or reworded.
Both go into the consignment's chain as report steps (battrace/domain/report_events.py).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from battrace.report.canonical import canonical_json
from battrace.report.model import rfc3339_ms
from battrace.report.signing import (
    ROLES,
    KeySet,
    ReportVerification,
    SigningError,
    add_signature,
    load_signed,
    verify_report,
)
from battrace.tlog.note import InvalidKeyError, Signer, Verifier, canonical_b64decode

REFUSAL_CONTEXT = "battrace.report.refusal.v1"
SIGNATURE_FIELDS = ("role", "key", "key_id", "signed_at", "signature")


def cosignature(
    document: Mapping[str, Any], role: str, signer: Signer, signed_at_ms: int | None = None
) -> dict[str, Any]:
    """The signature entry ``signer`` adds to the drafted ``document`` in ``role`` (the draft's hash must hold)."""
    signed = add_signature(document, role, signer, signed_at_ms)
    return dict(signed["signatures"][-1])


def refusal_message(report_hash_hex: str, role: str, signed_at: str, reasons: Sequence[str]) -> bytes:
    """The exact bytes a refusing role signs."""
    return canonical_json(
        {
            "context": REFUSAL_CONTEXT,
            "report_hash": report_hash_hex,
            "role": role,
            "signed_at": signed_at,
            "reasons": list(reasons),
        }
    )


def refusal(
    report_hash_hex: str, role: str, reasons: Sequence[str], signer: Signer, signed_at_ms: int | None = None
) -> dict[str, Any]:
    """The signature entry of a refusal; ``reasons`` must say why (at least one)."""
    if role not in ROLES:
        raise SigningError(f"role must be one of {ROLES}, got {role!r}")
    if not reasons or not all(isinstance(r, str) and r for r in reasons):
        raise SigningError("a refusal needs at least one non-empty reason")
    ts = rfc3339_ms(int(time.time() * 1000) if signed_at_ms is None else signed_at_ms)
    sig = signer.sign(refusal_message(report_hash_hex, role, ts, reasons))
    return {
        "role": role,
        "key": signer.verifier_key(),
        "key_id": signer.key_id.hex(),
        "signed_at": ts,
        "signature": base64.b64encode(sig).decode(),
    }


def refusal_verifies(
    entry: Mapping[str, Any], report_hash_hex: str, reasons: Sequence[str], trusted: Mapping[str, KeySet]
) -> bool:
    """The refusal entry is well formed and signed, over these reasons, by a key pinned for its role."""
    if not isinstance(entry, Mapping) or set(entry) != set(SIGNATURE_FIELDS):
        return False
    if not all(isinstance(entry[f], str) for f in SIGNATURE_FIELDS):
        return False
    try:
        verifier = Verifier.from_key(entry["key"])
    except InvalidKeyError:
        return False
    if entry["key_id"] != verifier.key_id.hex() or verifier not in _pinned(trusted.get(entry["role"], ())):
        return False
    raw = canonical_b64decode(entry["signature"])
    message = refusal_message(report_hash_hex, entry["role"], entry["signed_at"], reasons)
    return raw is not None and verifier.verify(message, raw)


def _pinned(keys: KeySet) -> list[Verifier]:
    items = [keys] if isinstance(keys, str | Verifier) else list(keys)
    return [k if isinstance(k, Verifier) else Verifier.from_key(k) for k in items]


@dataclass(frozen=True)
class Review:
    """One sealed review of a report: ``verdict`` cosigned or refused, with the reviewer's signature entry."""

    report_hash: str
    verdict: str  # "cosigned" | "refused"
    signature: Mapping[str, Any]
    reasons: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Review:
        """From a ``report_reviews`` row (battrace/store/report_rows.py); a malformed signature reads as empty."""
        try:
            signature = load_signed(row["signature"])
        except ValueError:
            signature = {}
        return cls(
            row["report_hash"], row["verdict"], signature if isinstance(signature, dict) else {}, tuple(row["reasons"])
        )


@dataclass(frozen=True)
class Certification:
    """What a reader with pinned role keys may say of a report: certified, or why not."""

    document: dict[str, Any]  # the draft with every co-signature of its hash appended
    verification: ReportVerification
    refusals: tuple[dict[str, Any], ...]  # each refusal of this report: role, key_id, signed_at, reasons, verified

    @property
    def certified(self) -> bool:
        return self.verification.ok and not any(r["verified"] for r in self.refusals)

    @property
    def problems(self) -> tuple[str, ...]:
        refused = tuple(
            f"refused by {r['role']} ({r['key_id'][:8]}): {'; '.join(r['reasons'])}"
            for r in self.refusals
            if r["verified"]
        )
        return self.verification.problems + refused

    def to_json(self) -> dict[str, Any]:
        return {
            "certified": self.certified,
            "verified_roles": list(self.verification.verified_roles),
            "problems": list(self.problems),
            "refusals": list(self.refusals),
        }


def with_cosignatures(draft: Mapping[str, Any], reviews: Iterable[Review]) -> dict[str, Any]:
    """The draft with the signature entries of the co-signatures of its own hash appended, in review order."""
    extra = [
        dict(r.signature) for r in reviews if r.verdict == "cosigned" and r.report_hash == draft.get("report_hash")
    ]
    return {**draft, "signatures": [*draft.get("signatures", []), *extra]}


def certify(
    draft: Mapping[str, Any],
    reviews: Sequence[Review],
    role_keys: Mapping[str, KeySet],
    required_roles: Iterable[str] = ROLES,
) -> Certification:
    """Compose the draft with its co-signatures and check it against the pinned ``role_keys`` (never keys the
    document carries); refusals of the same report are listed, and one signed by a pinned key withdraws
    certification."""
    document = with_cosignatures(draft, reviews)
    check = verify_report(canonical_json(document), role_keys, required_roles)
    refusals = tuple(
        {
            "role": str(r.signature.get("role", "")),
            "key_id": str(r.signature.get("key_id", "")),
            "signed_at": str(r.signature.get("signed_at", "")),
            "reasons": list(r.reasons),
            "verified": refusal_verifies(r.signature, r.report_hash, r.reasons, role_keys),
        }
        for r in reviews
        if r.verdict == "refused" and r.report_hash == draft.get("report_hash")
    )
    return Certification(document, check, refusals)
