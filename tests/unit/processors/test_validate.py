"""Business rules: each with a passing case and a rejected case with its machine-readable reason."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from battrace.domain.battery_code import code_error
from processors.validate import Accepted, Rejected, Validator
from schemas.catalog import ASSAY_RESULT, LOGISTICS_EVENT, MES_EVENT
from schemas.codec import encode
from schemas.reasons import Reason
from streams import topics

T = 1_767_225_600_000
CODE = "X12MCPM27KLPCLX2M2382320"  # the public Catena-X example
COMMISSIONED: dict[str, Any] = {
    "event_id": "e1",
    "event_time": T,
    "tz_offset": "+08:00",
    "site_id": "S",
    "line_id": "L",
    "body": (
        "battrace.mes.Commissioned",
        {
            "battery_id": CODE,
            "sgtin": None,
            "chemistry": "NCM",
            "model": "M1",
            "capacity_ah": 50.0,
            "energy_kwh": 2.0,
            "mass_kg": 12.0,
            "certification_number": "CERT-1",
        },
    ),
}
ASSAY: dict[str, Any] = {
    "event_id": "a1",
    "event_time": T,
    "tz_offset": "+00:00",
    "lot_id": "LOT",
    "product": "NCM811",
    "lot_mass_kg": 1000.0,
    "lab_id": "LAB",
    "accreditation": "CNAS",
    "certificate_ref": "C",
    "sampled_at": T,
    "sample_lat": 1.0,
    "sample_lon": 2.0,
    "fractions": [{"element": "Ni", "fraction": 0.48}, {"element": "Co", "fraction": 0.06}],
    "smelter_id": "CID000468",
    "mine_licences": ["PE 123"],
    "origin_country": "CD",
    "refining_kgco2e_per_kg": 12.5,
    "recycled_pre_consumer": 0.0,
    "recycled_post_consumer": 0.1,
}
POSITION: dict[str, Any] = {
    "event_id": "p1",
    "event_time": T,
    "tz_offset": "+00:00",
    "consignment_id": "C1",
    "body": ("battrace.logistics.Position", {"lat": 31.2, "lon": 121.5, "geofence": "NONE", "geofence_id": None}),
}


def run(topic: str, schema: str, record: dict[str, Any], ts: int = T + 1000) -> Accepted | Rejected:
    return Validator().validate(topic, encode(schema, record), ts)


def with_body(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    r = copy.deepcopy(record)
    r["body"] = (r["body"][0], {**r["body"][1], **changes})
    return r


def test_valid_events_are_accepted_with_their_entities() -> None:
    ok = run(topics.MES.name, MES_EVENT, COMMISSIONED)
    assert isinstance(ok, Accepted) and ok.kind == "Commissioned" and ok.entities == [f"battery:{CODE}"]
    assert isinstance(run(topics.ASSAY.name, ASSAY_RESULT, ASSAY), Accepted)
    assert isinstance(run(topics.LOGISTICS.name, LOGISTICS_EVENT, POSITION), Accepted)


@pytest.mark.parametrize(
    ("topic", "schema", "record", "reason"),
    [
        (
            topics.MES.name,
            MES_EVENT,
            with_body(COMMISSIONED, battery_id="X12XCPM27KLPCLX2M2382320"),
            "invalid_battery_code",
        ),
        (topics.MES.name, MES_EVENT, with_body(COMMISSIONED, battery_id="X12MC"), "invalid_battery_code"),
        (topics.MES.name, MES_EVENT, with_body(COMMISSIONED, mass_kg=-1.0), "out_of_range"),
        (topics.MES.name, MES_EVENT, with_body(COMMISSIONED, energy_kwh=float("nan")), "out_of_range"),
        (topics.MES.name, MES_EVENT, {**COMMISSIONED, "event_time": 915_148_800_000}, "invalid_time"),
        (topics.MES.name, MES_EVENT, {**COMMISSIONED, "event_time": T + 3 * 86_400_000}, "invalid_time"),
        (topics.MES.name, MES_EVENT, {**COMMISSIONED, "event_id": ""}, "missing_value"),
        (topics.MES.name, MES_EVENT, {**COMMISSIONED, "tz_offset": "8h"}, "invalid_identifier"),
        (topics.ASSAY.name, ASSAY_RESULT, {**ASSAY, "fractions": [{"element": "Co", "fraction": 1.2}]}, "out_of_range"),
        (topics.ASSAY.name, ASSAY_RESULT, {**ASSAY, "smelter_id": "CID12"}, "invalid_identifier"),
        (topics.ASSAY.name, ASSAY_RESULT, {**ASSAY, "recycled_pre_consumer": 0.95}, "out_of_range"),
        (topics.LOGISTICS.name, LOGISTICS_EVENT, with_body(POSITION, lat=123.0), "out_of_range"),
        (topics.MES.name, ASSAY_RESULT, ASSAY, "wrong_topic"),
    ],
)
def test_rule_violations_are_rejected_with_reason(topic: str, schema: str, record: dict, reason: str) -> None:
    verdict = run(topic, schema, record)
    assert isinstance(verdict, Rejected), verdict
    assert verdict.reason == Reason(reason)


def test_battery_code_errors_name_the_position() -> None:
    assert code_error("X12MCPM27KLPCLX2M2382320") is None
    assert "position 4 (product_type)" in (code_error("X12XCPM27KLPCLX2M2382320") or "")
    assert "position 15 (year)" in (code_error("X12MCPM27KLPCLO2M2382320") or "")
    assert "24 characters" in (code_error("X12") or "")
