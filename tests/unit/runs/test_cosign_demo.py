"""The demo counts refusals by kind: each custody reason the co-signer gives maps to its flag and role."""

from __future__ import annotations

from cosign_world import DAY, T0, world

from battrace.runs.cosign_demo import reason_kind
from battrace.verify.cosign_check import PinnedKeys, check_draft


def reasons(**broken) -> tuple[str, ...]:
    w = world(**broken)
    return check_draft(
        w.document, w.consignment, w.parties, PinnedKeys((w.log_signer.verifier(),), (w.qa.verifier(),))
    ).reasons


def test_custody_reasons_are_counted_by_flag_and_role() -> None:
    assert [reason_kind(r) for r in reasons(register_transporter=False)] == ["custody: unlisted transporter"]
    assert [reason_kind(r) for r in reasons(transporter_valid_to=T0 + 5 * DAY)] == ["custody: expired transporter"]


def test_other_reasons_are_counted_by_what_failed() -> None:
    assert reason_kind("manufacturer's QA signature: no verified signature") == "manufacturer's QA signature"
    assert reason_kind("seal (field 12): checkpoint 0: bad") == "seal (field 12)"
