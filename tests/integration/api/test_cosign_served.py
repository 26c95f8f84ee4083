"""The co-signer end to end: drafts sealed by a real pipeline, `battrace cosign --once` from a home of its own against
the served API and the real broker, its reviews sealed by the worker, and what GET /reports/{id} then says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from embedded import Stack, embedded_stack
from served_api import served_api

from battrace.domain.entities import body_of, kind_of
from battrace.domain.sources import LOGISTICS_EVENT
from battrace.keys import KeyRing
from battrace.report.signing import MANUFACTURER_QA, THIRD_PARTY_VERIFIER
from battrace.stack.worker import wait_until_caught_up, wait_until_checkpointed, wait_until_deliveries_reported
from schemas.codec import Decoder
from streams import topics
from streams.producer import EventProducer
from streams.simulator import simulate

UNLISTED = "CN-TRN-NOT-ON-REGISTRY"


@dataclass
class Reviewed:
    stack: Stack
    clean: str  # a simulated consignment
    unlisted: str  # the same goods carried on by a transporter the registry never heard of
    before: dict[str, dict]  # GET /reports/{id} before any review
    cosign: subprocess.CompletedProcess[str]
    reviews: list[list]
    after: dict[str, dict]
    uploaded: dict[str, dict]  # POST /verify/bundle of the clean report's bundle: as served, and forged


def _battrace(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "BATTRACE_HOME": str(home), **env}
    return subprocess.run(
        [sys.executable, "-m", "battrace", *args], env=environment, capture_output=True, text=True, timeout=300
    )


def _carried_on(events: list) -> tuple[str, list[dict]]:
    """A second consignment of the first delivered consignment's goods, by an unlisted transporter."""
    decoder = Decoder()
    records = [
        decoder.decode(e.value).record for e in events if e.topic == topics.LOGISTICS.name and not e.expected_reason
    ]
    delivered = next(r["consignment_id"] for r in records if kind_of(r) == "Delivered")
    created = next(r for r in records if r["consignment_id"] == delivered and kind_of(r) == "ConsignmentCreated")
    delivery = next(r for r in records if r["consignment_id"] == delivered and kind_of(r) == "Delivered")
    onward = f"{delivered}-ONWARD"
    branch = created["body"][0]
    later = delivery["event_time"] + 3_600_000
    steps = [
        {
            **created,
            "event_id": str(uuid.uuid4()),
            "event_time": later,
            "consignment_id": onward,
            "body": (branch, {**body_of(created), "transporter_id": UNLISTED, "transporter_licence": "LIC-NONE"}),
        },
        {**delivery, "event_id": str(uuid.uuid4()), "event_time": later + 3_600_000, "consignment_id": onward},
    ]
    return delivered, steps


def _seal_everything(stack: Stack, expected: set[str]) -> None:
    with stack.worker() as worker:
        wait_until_caught_up(stack.bootstrap, _consumed(stack), worker, timeout_s=300)
        wait_until_checkpointed(stack.bootstrap, stack.settings, worker)
        if expected:
            wait_until_deliveries_reported(stack.bootstrap, stack.settings, expected, worker, timeout_s=180)
        wait_until_caught_up(stack.bootstrap, _consumed(stack), worker, timeout_s=300)  # the drafts and reviews
        wait_until_checkpointed(stack.bootstrap, stack.settings, worker)


def _consumed(stack: Stack) -> dict:
    from battrace.stack.worker import consumed_topics

    return consumed_topics(stack.settings)


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reviewed]:
    home = tmp_path_factory.mktemp("operator")
    cosigner_home = tmp_path_factory.mktemp("cosigner")
    with embedded_stack(home) as stack:
        stack.settings = stack.settings.model_copy(update={"report_inputs_wait_s": 2.0})
        events = list(simulate(1200, seed=7, violations=False))  # no custody faults but the one added here
        clean, onward = _carried_on(events)
        stack.publish(events)
        with EventProducer(stack.bootstrap) as producer:
            for record in onward:
                producer.send(topics.LOGISTICS.name, LOGISTICS_EVENT, record, key=record["consignment_id"])
        unlisted = onward[0]["consignment_id"]
        _seal_everything(stack, {clean, unlisted})

        operator = KeyRing(stack.settings)
        log_keys = ",".join(v.to_key() for v in operator.verifiers())
        qa_key = operator.report_verifiers()[MANUFACTURER_QA][0].to_key()
        assert _battrace(cosigner_home, "keys", "trust-report", MANUFACTURER_QA, qa_key).returncode == 0
        cosigner_key = _battrace(cosigner_home, "cosign", "key").stdout.strip()
        assert _battrace(home, "keys", "trust-report", THIRD_PARTY_VERIFIER, cosigner_key).returncode == 0

        with served_api(home) as api:
            before = {s: api.http.get(f"/reports/{s}").json() for s in (clean, unlisted)}
            cosign = _battrace(
                cosigner_home,
                "cosign",
                "--once",
                "--json",
                "--api",
                api.base_url,
                BATTRACE_KAFKA=stack.bootstrap,
                BATTRACE_VERIFIER_KEYS=log_keys,
            )
        _seal_everything(stack, set())
        reviews = stack.sql(
            "SELECT shipment_id, verdict, reasons FROM battrace.report_reviews FINAL ORDER BY shipment_id"
        )
        with served_api(home) as api:
            after = {s: api.http.get(f"/reports/{s}").json() for s in (clean, unlisted)}
            bundle = {**api.http.get(f"/shipments/{clean}/bundle").json(), "report": after[clean]["document"]}
            forged = {**bundle, "report": _resigned_by_strangers(bundle["report"])}
            uploaded = {
                name: api.http.post("/verify/bundle", content=json.dumps(b)).json()
                for name, b in (("served", bundle), ("forged", forged))
            }
        yield Reviewed(stack, clean, unlisted, before, cosign, reviews, after, uploaded)


def _resigned_by_strangers(document: dict) -> dict:
    """The report with recycled lithium at 25 %, signed in both roles by keys nobody pinned."""
    from battrace.report.signing import sign_report
    from battrace.tlog import generate_signer

    body = json.loads(json.dumps(document["report"]))
    body["fields"]["recycled_lithium"] = {"share": 0.25}
    strangers = {MANUFACTURER_QA: generate_signer("forger/qa"), THIRD_PARTY_VERIFIER: generate_signer("forger/tpv")}
    return sign_report(body, strangers)


def test_a_report_signed_only_by_the_operator_is_not_certified(reviewed: Reviewed) -> None:
    for shipment_id, report in reviewed.before.items():
        assert report["shipment_id"] == shipment_id, report
        assert report["certified"] is False and report["verified_roles"] == [MANUFACTURER_QA], report
        assert "no verified signature for role third_party_verifier" in report["problems"]


def test_the_cosigner_reviews_every_awaiting_report(reviewed: Reviewed) -> None:
    assert reviewed.cosign.returncode == 0, reviewed.cosign.stderr
    lines = [json.loads(line) for line in reviewed.cosign.stdout.splitlines()]
    verdicts = {o["shipment_id"]: o["verdict"] for o in lines[:-1]}
    assert verdicts[reviewed.clean] == "cosigned" and verdicts[reviewed.unlisted] == "refused", lines
    assert lines[-1]["cosigned"] >= 1 and lines[-1]["refused"] >= 1


def test_reviews_are_sealed_into_the_consignments_chains(reviewed: Reviewed) -> None:
    sealed = {row[0]: row[1] for row in reviewed.reviews}
    assert sealed[reviewed.clean] == "cosigned" and sealed[reviewed.unlisted] == "refused", reviewed.reviews
    verify = _battrace(reviewed.stack.settings.home, "verify", "--all")
    assert verify.returncode == 0, verify.stdout[-2000:]


def test_a_clean_cosigned_report_is_certified(reviewed: Reviewed) -> None:
    report = reviewed.after[reviewed.clean]
    assert report["certified"] is True, report["problems"]
    assert report["verified_roles"] == [MANUFACTURER_QA, THIRD_PARTY_VERIFIER]
    assert [s["role"] for s in report["document"]["signatures"]] == [MANUFACTURER_QA, THIRD_PARTY_VERIFIER]
    assert report["refusals"] == [] and isinstance(report["missing_fields"], list)


def test_a_report_with_an_unlisted_transporter_is_refused_with_reasons(reviewed: Reviewed) -> None:
    report = reviewed.after[reviewed.unlisted]
    assert report["certified"] is False
    (refusal,) = report["refusals"]
    assert refusal["verified"] and refusal["role"] == THIRD_PARTY_VERIFIER
    # the only reason is the transporter of this consignment: the earlier consignment's parties were found and licensed
    assert len(refusal["reasons"]) == 1, refusal["reasons"]
    assert UNLISTED in refusal["reasons"][0] and "not on the registry" in refusal["reasons"][0]
    assert any(p.startswith("refused by third_party_verifier") for p in report["problems"])


def test_an_uploaded_report_bundle_is_certified_only_as_sealed_and_signed_by_pinned_keys(reviewed: Reviewed) -> None:
    served, forged = reviewed.uploaded["served"], reviewed.uploaded["forged"]
    assert served["ok"] and served["report"]["certified"], served["failures"][:5]
    assert not forged["ok"], forged
    assert any("not the report sealed in its records" in f["problem"] for f in forged["failures"]), forged["failures"]
