"""Licensed custody: each flag with a passing and a flagged case; lot eligibility through the whole ancestry."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from battrace.domain.custody import (
    FLAGS,
    CustodyFlag,
    CustodyStep,
    Eligibility,
    Provenance,
    check_custody,
    custody_parties,
    lot_eligibility,
)

DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01
FIVE_YEARS = 5 * 365 * DAY


def licence(
    entity_id: str,
    role: str,
    valid_from: int = T0,
    valid_to: int = T0 + FIVE_YEARS,
    revoked: bool = False,
    event_time: int | None = None,
    number: str = "LIC-1",
) -> dict[str, Any]:
    return {
        "event_id": f"{entity_id}-{valid_from}",
        "event_time": valid_from if event_time is None else event_time,
        "entity_id": entity_id,
        "name": entity_id,
        "role": role,
        "licence_number": number,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "region": "CN-JS",
        "revoked": revoked,
    }


REGISTRY = {
    "DSM": licence("DSM", "DISMANTLER"),
    "TRN": licence("TRN", "TRANSPORTER", number="RTL-7"),
    "COL": licence("COL", "COLLECTOR"),
}


def code(party: str, role: Any, at: int, registry: Any = REGISTRY, **kw: Any) -> str | None:
    flag = check_custody(party, role, at, registry, **kw)
    return flag.code if flag else None


def test_licensed_party_passes() -> None:
    assert check_custody("DSM", "DISMANTLER", T0 + DAY, REGISTRY) is None
    assert code("DSM", None, T0 + DAY) is None
    assert code("COL", {"COLLECTOR", "DISMANTLER"}, T0 + DAY) is None


def test_unlisted() -> None:
    flag = check_custody("DSM-9", "DISMANTLER", T0 + DAY, REGISTRY)
    assert flag == CustodyFlag("unlisted", "DSM-9", "party 'DSM-9' is not on the registry")
    assert code("", None, T0) == "unlisted"


def test_wrong_role() -> None:
    flag = check_custody("TRN", "DISMANTLER", T0 + DAY, REGISTRY)
    assert flag is not None and flag.code == "wrong_role" and "TRANSPORTER" in flag.detail
    assert code("TRN", {"COLLECTOR", "DISMANTLER"}, T0 + DAY) == "wrong_role"


def test_validity_is_half_open() -> None:
    assert code("DSM", "DISMANTLER", T0) is None
    assert code("DSM", "DISMANTLER", T0 - 1) == "not_yet_valid"
    assert code("DSM", "DISMANTLER", T0 + FIVE_YEARS - 1) is None
    assert code("DSM", "DISMANTLER", T0 + FIVE_YEARS) == "expired"


def test_revocation_counts_from_when_it_was_published() -> None:
    revoked = {"DSM": licence("DSM", "DISMANTLER", revoked=True, event_time=T0 + 100 * DAY)}
    assert code("DSM", "DISMANTLER", T0 + 99 * DAY, revoked) is None
    flag = check_custody("DSM", "DISMANTLER", T0 + 100 * DAY, revoked)
    assert flag is not None and flag.code == "revoked" and "revoked 2026-04-11T00:00:00Z" in flag.detail


def test_declared_licence_must_match() -> None:
    assert code("TRN", "TRANSPORTER", T0 + DAY, licence_number="RTL-7") is None
    flag = check_custody("TRN", "TRANSPORTER", T0 + DAY, REGISTRY, licence_number="RTL-8")
    assert flag is not None and flag.code == "licence_mismatch" and "RTL-7" in flag.detail


def test_history_covers_steps_before_a_renewal() -> None:
    first = licence("DSM", "DISMANTLER", T0, T0 + 400 * DAY)
    renewed = licence("DSM", "DISMANTLER", T0 + 300 * DAY, T0 + 700 * DAY)
    at = T0 + 100 * DAY
    assert code("DSM", "DISMANTLER", at, {"DSM": renewed}) == "not_yet_valid"  # the compacted view alone
    assert code("DSM", "DISMANTLER", at, {"DSM": [renewed, first]}) is None
    assert code("DSM", "DISMANTLER", T0 + 700 * DAY, {"DSM": [first, renewed]}) == "expired"


def test_a_lapse_between_licences_is_expired() -> None:
    history = [licence("DSM", "DISMANTLER", T0, T0 + 100 * DAY), licence("DSM", "DISMANTLER", T0 + 200 * DAY)]
    assert code("DSM", "DISMANTLER", T0 + 150 * DAY, {"DSM": history}) == "expired"
    assert code("DSM", "DISMANTLER", T0 + 250 * DAY, {"DSM": history}) is None


def test_a_revocation_ends_every_record_of_that_licence_number() -> None:
    history = [
        licence("DSM", "DISMANTLER", T0, T0 + 400 * DAY),
        licence("DSM", "DISMANTLER", T0, T0 + 400 * DAY, revoked=True, event_time=T0 + 50 * DAY),
    ]
    assert code("DSM", "DISMANTLER", T0 + 10 * DAY, {"DSM": history}) is None
    assert code("DSM", "DISMANTLER", T0 + 60 * DAY, {"DSM": history}) == "revoked"


@given(st.integers(T0 - FIVE_YEARS, T0 + 2 * FIVE_YEARS))
def test_the_verdict_depends_only_on_time_and_records(at: int) -> None:
    result = code("DSM", "DISMANTLER", at)
    assert result == code("DSM", "DISMANTLER", at)
    assert result in (None, *FLAGS)
    assert (result is None) == (T0 <= at < T0 + FIVE_YEARS)


def test_custody_parties_name_the_roles_each_step_needs() -> None:
    assert custody_parties("Dismantled", {"dismantler_id": "DSM"}) == [("DSM", frozenset(["DISMANTLER"]))]
    assert custody_parties("EndOfLifeCollected", {"collector_id": "COL"}) == [
        ("COL", frozenset(["COLLECTOR", "DISMANTLER"]))
    ]
    assert custody_parties("Delivered", {"receiver_id": "MFR"}) == [("MFR", None)]
    assert custody_parties("Position", {"lat": 0.0}) == []


def test_flag_json_round_trip() -> None:
    flag = CustodyFlag("expired", "DSM", "detail")
    assert CustodyFlag.from_json(flag.to_json()) == flag


# --- lot eligibility -------------------------------------------------------------------------------------


def ok(kind: str, party: str) -> CustodyStep:
    return CustodyStep(kind, party)


def flagged(kind: str, party: str, flag_code: str) -> CustodyStep:
    return CustodyStep(kind, party, CustodyFlag(flag_code, party, f"{party} is {flag_code}"))


def chain(**overrides: Provenance) -> dict[str, Provenance]:
    """Pack -> black mass -> recovered nickel sulphate, each with its custody steps."""
    base = {
        "battery:P1": Provenance(steps=(ok("EndOfLifeCollected", "COL"),), required=("EndOfLifeCollected",)),
        "lot:BM-1": Provenance(
            steps=(ok("Dismantled", "DSM"), ok("ConsignmentCreated", "TRN")),
            parents=("battery:P1",),
            required=("Dismantled",),
        ),
        "lot:NI-1": Provenance(steps=(ok("Recycled", "RCY"),), parents=("lot:BM-1",), required=("Recycled",)),
    }
    return {**base, **overrides}


def test_an_unbroken_chain_is_eligible() -> None:
    result = lot_eligibility("lot:NI-1", chain())
    assert result == Eligibility("lot:NI-1", True, [], ())
    assert result.to_json() == {"lot_id": "lot:NI-1", "eligible": True, "reasons": [], "gaps": []}


def test_a_flagged_ancestor_step_makes_the_output_ineligible() -> None:
    bm = Provenance(steps=(flagged("Dismantled", "DSM-9", "unlisted"),), parents=("battery:P1",))
    result = lot_eligibility("lot:NI-1", chain(**{"lot:BM-1": bm}))
    assert not result.eligible
    assert result.reasons == ["lot:BM-1 (input of lot:NI-1): unlisted: Dismantled by DSM-9: DSM-9 is unlisted"]
    assert [(g.node, g.code) for g in result.gaps] == [("lot:BM-1", "unlisted")]


def test_a_gap_two_generations_up_names_the_path() -> None:
    pack = Provenance(steps=(flagged("EndOfLifeCollected", "COL", "expired"),))
    result = lot_eligibility("lot:NI-1", chain(**{"battery:P1": pack}))
    assert result.reasons == [
        "battery:P1 (input of lot:BM-1 -> lot:NI-1): expired: EndOfLifeCollected by COL: COL is expired"
    ]


def test_a_flag_on_the_lot_itself() -> None:
    own = Provenance(steps=(flagged("Recycled", "RCY", "revoked"),), parents=("lot:BM-1",))
    result = lot_eligibility("lot:NI-1", chain(**{"lot:NI-1": own}))
    assert not result.eligible and result.reasons[0].startswith("lot:NI-1: revoked:")


def test_unknown_ancestor_is_a_gap() -> None:
    bm = Provenance(steps=(ok("Dismantled", "DSM"),), parents=("battery:P1", "lot:OLD-2019"))
    result = lot_eligibility("lot:NI-1", chain(**{"lot:BM-1": bm}))
    assert [(g.node, g.code) for g in result.gaps] == [("lot:OLD-2019", "unknown_lot")]
    assert "lot:OLD-2019 (input of lot:BM-1 -> lot:NI-1): unknown_lot" in result.reasons[0]


def test_missing_required_step_is_a_gap() -> None:
    bm = Provenance(steps=(ok("ConsignmentCreated", "TRN"),), parents=("battery:P1",), required=("Dismantled",))
    result = lot_eligibility("lot:NI-1", chain(**{"lot:BM-1": bm}))
    assert [(g.node, g.code, g.detail) for g in result.gaps] == [
        ("lot:BM-1", "missing_step", "no Dismantled step recorded")
    ]


def test_lot_without_any_record_is_a_gap() -> None:
    result = lot_eligibility("lot:PRE-2026", {"lot:PRE-2026": Provenance()})
    assert not result.eligible and result.gaps[0].code == "no_custody_record"
    assert lot_eligibility("lot:NOWHERE", {}).gaps[0].code == "unknown_lot"


def test_step_without_party_is_a_gap() -> None:
    result = lot_eligibility("lot:X", {"lot:X": Provenance(steps=(CustodyStep("Recycled", ""),))})
    assert [g.code for g in result.gaps] == ["missing_party"]


def test_every_gap_is_reported_and_shared_ancestors_once() -> None:
    provenance = {
        "lot:OUT": Provenance(steps=(ok("Recycled", "RCY"),), parents=("lot:A", "lot:B")),
        "lot:A": Provenance(steps=(flagged("Dismantled", "D1", "expired"),), parents=("battery:P",)),
        "lot:B": Provenance(steps=(flagged("Dismantled", "D2", "wrong_role"),), parents=("battery:P",)),
        "battery:P": Provenance(steps=(flagged("EndOfLifeCollected", "C", "unlisted"),), parents=("lot:OUT",)),
    }  # a (nonsensical) cycle back to the output must not loop
    result = lot_eligibility("lot:OUT", provenance)
    assert [(g.node, g.code) for g in result.gaps] == [
        ("lot:A", "expired"),
        ("lot:B", "wrong_role"),
        ("battery:P", "unlisted"),
    ]
    assert result == lot_eligibility("lot:OUT", provenance)


@pytest.mark.parametrize("flag_code", FLAGS)
def test_every_custody_flag_breaks_eligibility(flag_code: str) -> None:
    lot = Provenance(steps=(flagged("ConsignmentCreated", "TRN", flag_code),), parents=("lot:BM-1",))
    assert not lot_eligibility("lot:NI-1", chain(**{"lot:NI-1": lot})).eligible
