"""The rules of the second-life and origin fields: a Repurposed names two different valid codes, a party and an
application; an origin VIN given at collection or dismantling has 17 characters."""

from __future__ import annotations

from typing import Any

import pytest

from processors.validate import Accepted, Rejected, Validator
from schemas.catalog import MES_EVENT
from schemas.codec import encode
from schemas.reasons import Reason
from streams import topics

T = 1_767_225_600_000
PACK = "X12MCPM27KLPCLX2M2382320"
SECOND = "X12PEPM27SL001N1A0000001"


def _mes(kind: str, body: dict[str, Any]) -> Accepted | Rejected:
    record = {"event_id": "e1", "event_time": T, "site_id": "S", "line_id": "L", "body": (f"battrace.mes.{kind}", body)}
    return Validator().validate(topics.MES.name, encode(MES_EVENT, record), T + 1000)


def _repurposed(**changes: Any) -> dict[str, Any]:
    body = {"battery_id": PACK, "new_battery_id": SECOND, "repurposer_id": "CN-MFR-001", "application": "storage"}
    return {**body, **changes}


def test_a_repurposed_pack_is_accepted_on_both_codes() -> None:
    accepted = _mes("Repurposed", _repurposed(state_of_health=0.8))
    assert isinstance(accepted, Accepted)
    assert accepted.entities == [f"battery:{PACK}", f"battery:{SECOND}"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"new_battery_id": PACK}, Reason.INVALID_IDENTIFIER),
        ({"new_battery_id": "X12PEPM27SL001N1A000000"}, Reason.INVALID_BATTERY_CODE),
        ({"repurposer_id": ""}, Reason.MISSING_VALUE),
        ({"application": ""}, Reason.MISSING_VALUE),
        ({"state_of_health": 1.5}, Reason.OUT_OF_RANGE),
    ],
)
def test_a_bad_repurposing_is_rejected_naming_the_field(changes: dict[str, Any], reason: Reason) -> None:
    rejected = _mes("Repurposed", _repurposed(**changes))
    assert isinstance(rejected, Rejected) and rejected.reason is reason


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("EndOfLifeCollected", {"battery_id": PACK, "collector_id": "C", "reason": "r"}),
        ("Dismantled", {"battery_id": PACK, "dismantler_id": "D", "output_lot_id": "BM", "output_mass_kg": 1.0}),
    ],
)
def test_an_origin_vin_is_optional_and_else_seventeen_characters(kind: str, body: dict[str, Any]) -> None:
    assert isinstance(_mes(kind, body), Accepted)
    assert isinstance(_mes(kind, {**body, "vin": "LSVAA4182E2184101"}), Accepted)
    rejected = _mes(kind, {**body, "vin": "LSVAA4182E218410"})
    assert isinstance(rejected, Rejected) and rejected.reason is Reason.INVALID_IDENTIFIER and "vin" in rejected.detail


def test_an_empty_transporter_licence_is_rejected() -> None:
    body = {"battery_id": PACK, "collector_id": "C", "reason": "r", "transporter_licence": ""}
    rejected = _mes("EndOfLifeCollected", body)
    assert isinstance(rejected, Rejected) and rejected.reason is Reason.MISSING_VALUE
