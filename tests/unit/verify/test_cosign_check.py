"""The co-signer's check: a sound draft is signed; each deliberately broken input is a named reason to refuse."""

from __future__ import annotations

import copy

from cosign_world import DAY, SHIPMENT, T0, TRANSPORTER, World, world

from battrace.tlog import generate_signer
from battrace.verify.cosign_check import CosignCheck, PinnedKeys, check_draft


def pinned(w: World) -> PinnedKeys:
    return PinnedKeys((w.log_signer.verifier(),), (w.qa.verifier(),))


def check(w: World, keys: PinnedKeys | None = None) -> CosignCheck:
    return check_draft(w.document, w.consignment, w.parties, keys or pinned(w))


def only(result: CosignCheck, fragment: str) -> str:
    """The one reason, which must contain ``fragment``."""
    assert len(result.reasons) == 1, result.reasons
    assert fragment in result.reasons[0], result.reasons
    assert not result.sign
    return result.reasons[0]


def test_a_sound_draft_is_signed_and_its_missing_fields_are_listed() -> None:
    result = check(world())
    assert result.sign and result.reasons == ()
    assert result.shipment_id == SHIPMENT
    assert "elemental_composition" in result.missing_fields and "chain_of_custody" not in result.missing_fields


def test_a_draft_signed_by_a_foreign_qa_key_is_refused() -> None:
    w = world(qa=generate_signer("someone.example/qa"))
    only(check(w), "manufacturer's QA signature: no verified signature for role manufacturer_qa")


def test_a_draft_not_the_newest_in_the_log_is_refused() -> None:
    reason = only(check(world(redraft=True)), "the draft is not in the log")
    assert "newest sealed draft" in reason


def test_a_draft_whose_hash_is_in_no_sealed_record_is_refused() -> None:
    w, other = world(), world()  # other's draft: signed by a pinned QA key, but not what this consignment sealed
    keys = PinnedKeys((w.log_signer.verifier(),), (other.qa.verifier(),))
    result = check_draft(other.document, w.consignment, w.parties, keys)
    assert any("the draft is not in the log" in r for r in result.reasons), result.reasons
    assert not result.sign


def test_a_consignment_bundle_edited_after_sealing_is_refused() -> None:
    w = world()
    w.consignment = copy.deepcopy(w.consignment)
    w.consignment["records"][0]["event"]["canonical"] = w.consignment["records"][1]["event"]["canonical"]
    only(check(w), f"consignment {SHIPMENT}: its bundle does not verify with the pinned log key")


def test_a_log_key_other_than_the_pinned_one_is_refused() -> None:
    w = world()
    keys = PinnedKeys((generate_signer("cosign.example/log").verifier(),), (w.qa.verifier(),))
    result = check(w, keys)
    assert any("does not verify with the pinned log key" in r for r in result.reasons), result.reasons
    assert any(r.startswith("seal (field 12)") for r in result.reasons), result.reasons


def test_a_seal_not_signed_by_the_log_key_is_refused() -> None:
    result = check(world(seal_signer=generate_signer("cosign.example/log")))
    assert result.reasons and all(r.startswith("seal (field 12): ") for r in result.reasons), result.reasons
    assert "checkpoint 0: note has no signature from a known key" in result.reasons[0]


def test_a_seal_whose_proof_misses_the_root_is_refused() -> None:
    w = world()
    inclusion = w.document["report"]["fields"]["seal"]["inclusions"][0]
    inclusion["proof"][0] = "00" * 32
    reasons = check(w).reasons  # the edit also changes the report hash: the QA signature and the log disagree too
    assert any("seal (field 12)" in r and "inclusion proof does not reach the checkpoint root" in r for r in reasons)


def test_an_expired_transporter_is_refused() -> None:
    reason = only(
        check(world(transporter_valid_to=T0 + 5 * DAY)), f"custody: transporter ConsignmentCreated by {TRANSPORTER}"
    )
    assert "expired" in reason


def test_a_transporter_not_on_the_registry_is_refused() -> None:
    w = world(register_transporter=False)
    assert w.parties[TRANSPORTER] is None
    reason = only(check(w), f"custody: transporter ConsignmentCreated by {TRANSPORTER}")
    assert "not on the registry" in reason


def test_the_reports_own_licensed_claim_is_not_trusted() -> None:
    w = world(transporter_valid_to=T0 + 5 * DAY)
    custody = w.document["report"]["fields"]["chain_of_custody"]
    assert all(p["licensed"] for p in custody)  # the report claims every party licensed
    assert not check(w).sign


def test_registry_records_edited_by_the_operator_are_not_trusted() -> None:
    w = world(transporter_valid_to=T0 + 5 * DAY)
    fresh = world()  # a licence valid at custody, but from a log the co-signer never pinned
    w.parties[TRANSPORTER] = fresh.parties[TRANSPORTER]
    reasons = check(w).reasons
    assert any(f"registry records of {TRANSPORTER} cannot be trusted" in r for r in reasons), reasons


def test_a_listed_party_with_no_sealed_step_is_refused() -> None:
    other = copy.deepcopy(world())
    other.document["report"]["fields"]["chain_of_custody"].append(
        {"role": "transporter", "party_id": "T-9", "licence_number": "L-9", "licensed": True}
    )
    result = check(other)
    assert any("T-9 listed in field 11 has no sealed custody step" in r for r in result.reasons), result.reasons


def test_hostile_documents_and_bundles_are_reasons_not_exceptions() -> None:
    w = world()
    for document in ({}, {"report": []}, {"report": {"shipment_id": SHIPMENT}, "report_hash": 3}, {"report": None}):
        assert not check_draft(document, w.consignment, w.parties, pinned(w)).sign
    for bundle in ({}, {"format": "x"}, {**w.consignment, "records": "nope"}):
        assert not check_draft(w.document, bundle, w.parties, pinned(w)).sign
