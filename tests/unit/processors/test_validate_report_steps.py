"""Report steps on reports.events: a well-formed draft or review is accepted onto its consignment's chain; one whose
hash, document or review disagrees with itself is rejected as ``malformed_report`` (the seal stage derives rows from
what passes, so nothing that passes may fail it there)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from battrace.compliance.issue import step_id
from battrace.domain.report_events import REPORT_COSIGNED, REPORT_DRAFTED, REPORT_REFUSED
from battrace.report.canonical import canonical_json, report_hash
from processors.validate import Accepted, Rejected, Validator
from schemas.catalog import REPORT_EVENT
from schemas.codec import encode
from streams import topics

T = 1_767_225_600_000  # 2026-01-01T00:00:00Z
BODY = {
    "type": "battrace.traceability_report",
    "version": 1,
    "shipment_id": "C1",
    "delivered_at": "2026-01-01T00:00:00.000Z",
    "battery_ids": ["B1"],
    "lot_ids": ["L1"],
    "fields": {},
    "missing_fields": ["recycled_cobalt"],
}
SIGNATURE = {"role": "third_party_verifier", "key": "k", "key_id": "00", "signed_at": "t", "signature": "s"}


def draft(body: dict[str, Any] = BODY, **changes: Any) -> dict[str, Any]:
    h = report_hash(body)
    doc = {"report": body, "report_hash": h, "signatures": []}
    record = {
        "event_id": step_id(h, REPORT_DRAFTED),
        "event_time": T,
        "kind": REPORT_DRAFTED,
        "shipment_id": body["shipment_id"],
        "report_hash": h,
        "document": canonical_json(doc).decode(),
        "signature": "",
        "reasons": [],
    }
    return {**record, **changes}


def review(kind: str, **changes: Any) -> dict[str, Any]:
    h = report_hash(BODY)
    record = {
        "event_id": step_id(h, kind, "00"),
        "event_time": T,
        "kind": kind,
        "shipment_id": "C1",
        "report_hash": h,
        "document": "",
        "signature": json.dumps(SIGNATURE),
        "reasons": ["transporter T9 is not licensed"] if kind == REPORT_REFUSED else [],
    }
    return {**record, **changes}


def run(record: dict[str, Any]) -> Accepted | Rejected:
    return Validator().validate(topics.REPORTS.name, encode(REPORT_EVENT, record), T + 1000)


@pytest.mark.parametrize("record", [draft(), review(REPORT_COSIGNED), review(REPORT_REFUSED)])
def test_a_well_formed_step_goes_on_its_consignments_chain(record: dict[str, Any]) -> None:
    verdict = run(record)
    assert isinstance(verdict, Accepted), verdict
    assert verdict.entities == ["shipment:C1"] and verdict.kind == record["kind"]


def _other_body() -> dict[str, Any]:
    body = copy.deepcopy(BODY)
    body["shipment_id"] = "C2"
    return body


def _bad_delivered_at() -> dict[str, Any]:
    body = {**BODY, "delivered_at": "yesterday"}
    return draft(body)


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        (draft(report_hash="0" * 64), "report_hash"),
        (draft(report_hash="XYZ"), "64 lowercase hex"),
        (draft(document="not json"), "not JSON"),
        (draft(document="[1, 2]"), "not a JSON object"),
        (draft(shipment_id="C2"), "another consignment"),
        ({**draft(_other_body()), "shipment_id": "C1"}, "another consignment"),
        (_bad_delivered_at(), "delivered_at"),
        (draft(signature=json.dumps(SIGNATURE)), "signatures in its document"),
        (review(REPORT_COSIGNED, reasons=["why"]), "refusal has reasons"),
        (review(REPORT_REFUSED, reasons=[]), "refusal has reasons"),
        (review(REPORT_COSIGNED, signature="{"), "not JSON"),
        (review(REPORT_COSIGNED, document="{}"), "no document"),
    ],
)
def test_a_step_that_disagrees_with_itself_is_a_malformed_report(record: dict[str, Any], detail: str) -> None:
    verdict = run(record)
    assert isinstance(verdict, Rejected) and verdict.reason == "malformed_report", verdict
    assert detail in verdict.detail


def test_a_report_step_on_another_sources_topic_is_the_wrong_topic() -> None:
    verdict = Validator().validate(topics.MES.name, encode(REPORT_EVENT, draft()), T + 1000)
    assert isinstance(verdict, Rejected) and verdict.reason == "wrong_topic"
