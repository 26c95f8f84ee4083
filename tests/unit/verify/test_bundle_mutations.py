"""verify_bundle on structurally mutated bundles: it never raises and never says ok.

The base is a consignment bundle with its signed report, holding only fields verification reads, so that
every structural change (a dropped key or list element, a value of the wrong type, nested garbage, above all
in the report section) must be reported as a failure rather than raised or accepted.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sealed_bundles import LOG, sealed_chain

from battrace.report import MANUFACTURER_QA, THIRD_PARTY_VERIFIER, sign_report
from battrace.tlog import generate_signer
from battrace.verify.bundle import FORMAT, verify_bundle
from schemas.log_entries import sealed_entry

SHIPMENT = "SHP-0001"
SIGNER = generate_signer("test.example/log")
QA, TPV = generate_signer("test.example/report/qa"), generate_signer("test.example/report/tpv")
DELIVERED_MS = 1_767_225_600_000  # 2026-01-01T00:00:00.000Z


def report_bundle() -> dict[str, Any]:
    """Three records of one consignment under one signed checkpoint, and its report signed by both roles."""
    records, size, note, head = sealed_chain("shipment", SHIPMENT, SIGNER)
    delivery = records[-1]
    seal = {
        "checkpoints": [note],
        "inclusions": [
            {
                "entity": f"shipment:{SHIPMENT}",
                "log_id": LOG,
                "leaf_index": delivery["log_index"],
                "tree_size": size,
                "entry": sealed_entry(delivery).decode(),
                "proof": delivery["inclusion_proof"],
            }
        ],
    }
    body = {
        "shipment_id": SHIPMENT,
        "delivered_at": "2026-01-01T00:00:00.000Z",
        "fields": {"seal": seal},
        "missing_fields": ["raw_material_origin"],
    }
    signed = sign_report(body, {MANUFACTURER_QA: QA, THIRD_PARTY_VERIFIER: TPV}, signed_at_ms=DELIVERED_MS + 1000)
    return {
        "format": FORMAT,
        "subject": {"type": "shipment", "id": SHIPMENT},
        "records": records,
        "checkpoints": {LOG: note},
        "head": head,
        "verifier_keys": [SIGNER.verifier_key()],
        "report": signed,
        "report_keys": {MANUFACTURER_QA: [QA.verifier_key()], THIRD_PARTY_VERIFIER: [TPV.verifier_key()]},
    }


BASE = report_bundle()


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside ``node`` (dict keys and list indexes), the root excluded."""
    found = []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found.append((*prefix, key))
        found += paths(child, (*prefix, key))
    return found


# Dropping this leaves a genuine bundle: one without a report. (Dropping the last record does not: the head
# says the chain is longer.)
HARMLESS_DROPS = {("report",)}
PATHS = paths(BASE)
REPORT_PATHS = [p for p in PATHS if p[0] in ("report", "report_keys")]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def mutate(bundle: dict[str, Any], path: tuple, how: str, garbage: Any) -> bool:
    """Apply one structural change at ``path``; False when it would change nothing a verifier can see."""
    parent = bundle
    for key in path[:-1]:
        parent = parent[key]
    key, old = path[-1], parent[path[-1]]
    if how == "drop":
        if path in HARMLESS_DROPS:
            return False
        del parent[key]
    elif how == "wrap":
        parent[key] = [old] if isinstance(garbage, list) else {"value": old, "garbage": garbage}
    else:
        if garbage == old:  # equal values (1 and 1.0, True and 1) are the same JSON number to RFC 8785
            return False
        parent[key] = garbage
    return True


def check(path: tuple, how: str, garbage: Any) -> None:
    bundle = copy.deepcopy(BASE)
    if not mutate(bundle, path, how, garbage):
        return
    report = verify_bundle(bundle)  # must not raise
    assert not report.ok, (path, how, garbage)
    assert report.failures
    report.to_json()  # and the verdict can be printed


def test_the_unmutated_bundle_verifies_with_its_report() -> None:
    report = verify_bundle(copy.deepcopy(BASE))
    assert report.ok, report.failures
    assert report.report["verified_roles"] == [MANUFACTURER_QA, THIRD_PARTY_VERIFIER]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), how=st.sampled_from(["drop", "replace", "wrap"]), garbage=JSON)
def test_any_structural_change_is_a_failure_never_an_exception(path: tuple, how: str, garbage: Any) -> None:
    check(path, how, garbage)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(REPORT_PATHS), how=st.sampled_from(["drop", "replace", "wrap"]), garbage=JSON)
def test_garbage_anywhere_in_the_report_section_is_a_failure(path: tuple, how: str, garbage: Any) -> None:
    check(path, how, garbage)


def test_every_path_dropped_or_replaced_by_each_json_type_fails() -> None:
    """Exhaustive over the paths, for the value kinds a hand-edited file holds."""
    for path in PATHS:
        for how, garbage in [("drop", None), ("replace", None), ("replace", 7), ("replace", "x"), ("replace", [])]:
            check(path, how, garbage)
        for garbage in ({}, [[["deep"]]], {"a": {"b": [1, None]}}, 1e308, -(2**70), True):
            check(path, "replace", garbage)
            check(path, "wrap", garbage)


def test_a_bundle_that_is_not_even_an_object_is_a_failure() -> None:
    for thing in ({}, {"format": FORMAT}, {**BASE, "subject": None}, {**BASE, "records": {}}, {**BASE, "subject": []}):
        report = verify_bundle(copy.deepcopy(thing))
        assert not report.ok and report.failures
