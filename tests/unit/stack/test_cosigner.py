"""The co-signer's rounds against an operator API answered in memory (httpx.MockTransport: no socket): what it
fetches, what it publishes, and what it does while the operator's records are not checkpointed yet."""

from __future__ import annotations

import json

import httpx
import pytest
from cosign_world import SHIPMENT, TRANSPORTER, World, world

from battrace.domain.report_events import REPORT_COSIGNED, REPORT_REFUSED
from battrace.report.reviews import Review, certify
from battrace.report.signing import MANUFACTURER_QA, THIRD_PARTY_VERIFIER, load_signed
from battrace.stack.cosigner import ApiUnreachable, Cosigner, OperatorApi
from battrace.tlog import generate_signer
from battrace.verify.cosign_check import PinnedKeys

VERIFIER = generate_signer("verifier.example/report/third_party_verifier")


def operator(w: World, not_checkpointed: bool = False) -> tuple[OperatorApi, list[str]]:
    """The operator's API over the world; also the paths asked for."""
    asked: list[str] = []
    bundles = {f"/shipments/{SHIPMENT}/bundle": w.consignment}
    bundles |= {f"/parties/{p}/bundle": b for p, b in w.parties.items() if b is not None}

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        asked.append(path)
        if path == "/reports":
            return httpx.Response(200, json={"awaiting_review": True, "shipment_ids": [SHIPMENT]})
        if path == f"/reports/{SHIPMENT}":
            return httpx.Response(200, json={"shipment_id": SHIPMENT, "document": w.document})
        if not_checkpointed and path.endswith("/bundle"):
            return httpx.Response(409, json={"error": "not_checkpointed", "message": "retry"})
        if path in bundles:
            return httpx.Response(200, json=bundles[path])
        return httpx.Response(404, json={"error": "not_found", "message": "none"})

    return OperatorApi("http://operator.example", transport=httpx.MockTransport(answer)), asked


def cosigner(w: World, **kwargs) -> tuple[Cosigner, list[dict], list[str]]:
    api, asked = operator(w, **kwargs)
    published: list[dict] = []
    keys = PinnedKeys((w.log_signer.verifier(),), (w.qa.verifier(),))
    return Cosigner(api, keys, VERIFIER, published.append), published, asked


def test_a_sound_draft_is_cosigned_and_the_cosignature_certifies_it() -> None:
    w = world()
    c, published, asked = cosigner(w)
    (outcome,) = c.review_awaiting()
    assert outcome.verdict == "cosigned" and outcome.line().startswith(f"{SHIPMENT}: cosigned")
    (step,) = published
    assert step["kind"] == REPORT_COSIGNED and step["shipment_id"] == SHIPMENT and step["reasons"] == []
    assert f"/parties/{TRANSPORTER}/bundle" in asked
    review = Review(step["report_hash"], "cosigned", load_signed(step["signature"]))
    keys = {MANUFACTURER_QA: [w.qa.verifier()], THIRD_PARTY_VERIFIER: [VERIFIER.verifier()]}
    assert certify(w.document, [review], keys).certified


def test_a_faulty_draft_is_refused_with_its_reasons_signed() -> None:
    c, published, _ = cosigner(world(register_transporter=False))
    (outcome,) = c.review_awaiting()
    assert outcome.verdict == "refused" and "not on the registry" in outcome.line()
    (step,) = published
    assert step["kind"] == REPORT_REFUSED and step["reasons"] == list(outcome.reasons)
    assert json.loads(step["signature"])["role"] == THIRD_PARTY_VERIFIER


def test_records_not_checkpointed_yet_are_asked_again_later_and_nothing_is_published() -> None:
    c, published, _ = cosigner(world(), not_checkpointed=True)
    (outcome,) = c.review_awaiting()
    assert outcome.verdict == "waiting" and published == []


def test_a_draft_is_reviewed_once_per_process() -> None:
    c, published, _ = cosigner(world())
    assert [o.verdict for o in c.review_awaiting()] == ["cosigned"]
    assert list(c.review_awaiting()) == []  # still listed by the operator until it seals the review: skipped
    assert len(published) == 1


def test_an_answer_that_is_not_the_api_is_a_clear_error() -> None:
    api = OperatorApi(
        "http://elsewhere.example", transport=httpx.MockTransport(lambda r: httpx.Response(200, text="<html>"))
    )
    with pytest.raises(ApiUnreachable, match="is --api the operator's battrace API"):
        api.awaiting_review()
