"""Reviews of a drafted report: what certifies it (both pinned roles, no pinned refusal) and what never does."""

from __future__ import annotations

import copy

from cosign_world import world

from battrace.report.canonical import canonical_json, report_hash
from battrace.report.reviews import Review, certify, cosignature, refusal, refusal_verifies
from battrace.report.signing import MANUFACTURER_QA, THIRD_PARTY_VERIFIER, add_signature, unsigned
from battrace.tlog import generate_signer

VERIFIER = generate_signer("verifier.example/report/third_party_verifier")


def draft_and_keys():
    w = world()
    keys = {MANUFACTURER_QA: [w.qa.verifier()], THIRD_PARTY_VERIFIER: [VERIFIER.verifier()]}
    return w.document, keys


def cosigned(document, signer=VERIFIER) -> Review:
    return Review(document["report_hash"], "cosigned", cosignature(document, THIRD_PARTY_VERIFIER, signer))


def refused(document, reasons=("custody: transporter T-1 expired",), signer=VERIFIER) -> Review:
    entry = refusal(document["report_hash"], THIRD_PARTY_VERIFIER, list(reasons), signer)
    return Review(document["report_hash"], "refused", entry, tuple(reasons))


def test_a_pinned_cosignature_certifies() -> None:
    draft, keys = draft_and_keys()
    result = certify(draft, [cosigned(draft)], keys)
    assert result.certified and result.problems == ()
    assert result.to_json()["verified_roles"] == [MANUFACTURER_QA, THIRD_PARTY_VERIFIER]
    assert [s["role"] for s in result.document["signatures"]] == [MANUFACTURER_QA, THIRD_PARTY_VERIFIER]


def test_a_report_signed_only_by_the_operator_is_not_certified() -> None:
    draft, keys = draft_and_keys()
    result = certify(draft, [], keys)
    assert not result.certified
    assert result.to_json()["verified_roles"] == [MANUFACTURER_QA]
    assert "no verified signature for role third_party_verifier" in result.problems


def test_a_cosignature_by_an_unpinned_key_does_not_certify() -> None:
    draft, keys = draft_and_keys()
    result = certify(draft, [cosigned(draft, generate_signer("someone.example/v"))], keys)
    assert not result.certified and THIRD_PARTY_VERIFIER not in result.verification.verified_roles


def test_a_forged_report_resigned_with_two_fresh_keys_is_not_certified() -> None:
    draft, keys = draft_and_keys()
    body = copy.deepcopy(draft["report"])
    body["fields"]["chain_of_custody"] = [body["fields"]["chain_of_custody"][1]]  # hide the transporter
    forged = unsigned(body)
    forged = add_signature(forged, MANUFACTURER_QA, generate_signer("forger.example/qa"))
    forged = add_signature(forged, THIRD_PARTY_VERIFIER, generate_signer("forger.example/v"))
    assert forged["report_hash"] == report_hash(body) != draft["report_hash"]
    result = certify({**forged, "signatures": forged["signatures"][:1]}, [cosigned_entry(forged)], keys)
    assert not result.certified
    assert result.verification.verified_roles == ()


def cosigned_entry(document) -> Review:
    return Review(document["report_hash"], "cosigned", document["signatures"][1])


def test_a_pinned_refusal_withdraws_certification_and_says_why() -> None:
    draft, keys = draft_and_keys()
    result = certify(draft, [refused(draft)], keys)
    assert not result.certified
    assert result.refusals[0]["verified"] and result.refusals[0]["reasons"] == ["custody: transporter T-1 expired"]
    assert any(p.startswith("refused by third_party_verifier") and "T-1 expired" in p for p in result.problems)


def test_a_refusal_by_an_unpinned_key_does_not_count() -> None:
    draft, keys = draft_and_keys()
    result = certify(draft, [cosigned(draft), refused(draft, signer=generate_signer("someone.example/v"))], keys)
    assert result.certified
    assert result.refusals and not result.refusals[0]["verified"]


def test_a_refusal_signature_covers_its_reasons_and_report() -> None:
    draft, keys = draft_and_keys()
    review = refused(draft)
    assert refusal_verifies(review.signature, draft["report_hash"], review.reasons, keys)
    assert not refusal_verifies(review.signature, draft["report_hash"], ("reworded",), keys)
    assert not refusal_verifies(review.signature, "00" * 32, review.reasons, keys)
    moved = {**review.signature, "role": MANUFACTURER_QA}
    assert not refusal_verifies(moved, draft["report_hash"], review.reasons, keys)


def test_reviews_of_another_report_hash_are_ignored() -> None:
    draft, keys = draft_and_keys()
    other = world().document
    result = certify(draft, [cosigned(other), refused(other)], keys)
    assert not result.certified and result.refusals == ()


def test_a_review_row_with_a_malformed_signature_reads_as_unsigned() -> None:
    draft, keys = draft_and_keys()
    row = {"report_hash": draft["report_hash"], "verdict": "cosigned", "signature": "{not json", "reasons": []}
    assert not certify(draft, [Review.from_row(row)], keys).certified
    good = cosigned(draft)
    row = {**row, "signature": canonical_json(dict(good.signature)).decode()}
    assert certify(draft, [Review.from_row(row)], keys).certified
