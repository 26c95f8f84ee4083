"""The page templates render every view, escape what the sources wrote, and load nothing from elsewhere."""

from __future__ import annotations

import re

from test_battery_page import KEY, SEALS, _facts

from battrace.api.battery_page import Compliance, Integrity, battery_view
from battrace.api.pages import problem_page, render
from battrace.api.report_page import report_view

HOSTILE = '<script>alert("x")</script>'
ANSWER = {
    "shipment_id": "CONS-000001",
    "report_hash": "8d" * 32,
    "certified": False,
    "verified_roles": ["manufacturer_qa"],
    "problems": ["no verified signature for role third_party_verifier"],
    "refusals": [],
    "missing_fields": ["recycled_cobalt"],
    "reviews": 0,
    "document": {
        "report": {
            "shipment_id": "CONS-000001",
            "delivered_at": "2026-01-07T19:18:23.315Z",
            "battery_ids": ["CH2PBQD2000002T160000012"],
            "lot_ids": ["06901234000283.LOT-000002"],
            "fields": {
                "chain_of_custody": [
                    {"role": "transporter", "party_id": "CN-TRN-009", "licence_number": "RTL-1", "licensed": False},
                    {"role": "receiver", "party_id": "CN-MFR-003", "licence_number": "MIIT-1", "licensed": True},
                ],
                "smelter_ids": ["CID004810"],
                "mine_licences": {"missing": "no assay names a mine"},
                "recycled_cobalt": {"missing": "no cobalt in the assayed input lots"},
                "recycled_lithium": {
                    "element": "Li",
                    "percent": 5.0,
                    "pre_consumer_percent": 5.0,
                    "post_consumer_percent": 0,
                },
                "seal": {"checkpoints": ["battrace.example/log/0\n1122\nroot=\n\n— sig"]},
            },
        }
    },
}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _page(facts) -> str:
    view = battery_view(facts, seals=SEALS, trusted_keys=[KEY], components={}, eligibility={})
    response = render(
        "battery.html", battery_id=facts.battery_id, view=view, integrity=view.integrity, compliance=view.compliance
    )
    assert response.status_code == 200
    assert "script-src 'none'" in response.headers["content-security-policy"]
    return response.body.decode()


def test_the_battery_page_shows_both_verdicts_and_the_bundle_link() -> None:
    flag = {"category": "custody", "code": "expired", "detail": "licence expired", "event_id": "ev-dis"}
    html = _page(_facts(flags=[flag]))
    assert 'id="integrity"' in html and 'data-status="verified"' in html
    assert 'id="compliance"' in html and 'data-status="flagged"' in html
    assert 'href="/batteries/CH2PBQB2000001T150000028/bundle"' in html
    assert "<svg" in html and 'data-stage="raw_material"' in html
    text = _text(html)
    assert "Records verified" in text and "Flagged" in text and "custody/expired" in text and KEY in text


def test_source_text_is_escaped() -> None:
    facts = _facts()
    facts = type(facts)(**{**facts.__dict__, "projection": {**facts.projection, "model": HOSTILE}})
    html = _page(facts)
    assert HOSTILE not in html and "&lt;script&gt;" in html


def test_pages_link_nothing_outside_the_server() -> None:
    html = _page(_facts())
    for url in re.findall(r'(?:href|src)="([^"]+)"', html):
        assert url.startswith(("/", "data:")), url


def test_a_battery_that_does_not_verify_shows_the_problems_and_nothing_else() -> None:
    integrity = Integrity(False, problems=("battery:X seq 1: chain_hash does not recompute",))
    response = render(
        "battery.html",
        409,
        battery_id="X",
        view=None,
        integrity=integrity,
        compliance=Compliance("not_assessed", note="not assessed: the records do not verify"),
    )
    html = response.body.decode()
    assert response.status_code == 409 and 'data-status="failed"' in html
    assert "NOT verified" in html and "chain_hash does not recompute" in html
    assert 'id="carbon"' not in html and 'id="bundle-link"' not in html


def test_the_problem_page_keeps_its_status() -> None:
    response = problem_page(404, "Unknown battery", f"No battery {HOSTILE}.")
    assert response.status_code == 404 and HOSTILE not in response.body.decode()


def test_the_report_page_separates_certification_from_compliance() -> None:
    view = report_view(ANSWER)
    assert not view.integrity.verified and view.integrity.checkpoints == ("battrace.example/log/0 at size 1122",)
    assert view.compliance.status == "flagged"
    assert [r.code for r in view.compliance.reasons] == ["custody/unlicensed", "missing"]
    html = render("report.html", view=view).body.decode()
    text = _text(html)
    assert "NOT certified" in text and "third_party_verifier" in text and "CN-TRN-009" in text
    assert 'href="/passport/CH2PBQD2000002T160000012"' in html
    assert "Mine licences missing" in text and "Recycled lithium 5.0 %" in text


def test_a_certified_report_with_licensed_parties_is_compliant() -> None:
    fields = {**ANSWER["document"]["report"]["fields"]}
    fields["chain_of_custody"] = [fields["chain_of_custody"][1]]
    answer = {
        **ANSWER,
        "certified": True,
        "problems": [],
        "missing_fields": [],
        "document": {"report": {**ANSWER["document"]["report"], "fields": fields}},
    }
    view = report_view(answer)
    assert view.integrity.verified and view.compliance.status == "compliant"
