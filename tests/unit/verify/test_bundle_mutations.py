"""verify_bundle on structurally mutated bundles: it never raises and never says ok.

The base is a consignment bundle whose records seal its report's draft and co-signature, with the report they
compose, holding only fields verification reads, so that every structural change (a dropped key or list element, a
value of the wrong type, nested garbage, above all in the report section) must be reported as a failure rather than
raised or accepted.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sealed_bundles import LOG, sealed_chain

from battrace.compliance.issue import step_id
from battrace.domain.report_events import REPORT_COSIGNED, REPORT_DRAFTED
from battrace.report import MANUFACTURER_QA, THIRD_PARTY_VERIFIER, add_signature, canonical_json, unsigned
from battrace.report.reviews import cosignature
from battrace.tlog import generate_signer
from battrace.verify.bundle import FORMAT, verify_bundle
from schemas.catalog import REPORT_EVENT
from schemas.codec import canonical_bytes
from schemas.log_entries import sealed_entry

SHIPMENT = "SHP-0001"
SIGNER = generate_signer("test.example/log")
QA, TPV = generate_signer("test.example/report/qa"), generate_signer("test.example/report/tpv")
DELIVERED_MS = 1_767_225_600_000  # 2026-01-01T00:00:00.000Z


def _step(kind: str, report_hash: str, **fields: Any) -> bytes:
    record = {
        "event_id": step_id(report_hash, kind),
        "event_time": DELIVERED_MS + 2000,
        "kind": kind,
        "shipment_id": SHIPMENT,
        "report_hash": report_hash,
        "document": "",
        "signature": "",
        "reasons": [],
        **fields,
    }
    return canonical_bytes(REPORT_EVENT, record)


def report_bundle() -> dict[str, Any]:
    """A consignment's chain: three events, then its report's draft (signed by QA) and the verifier's
    co-signature as sealed report steps, all under one signed checkpoint; and the report they compose."""
    records, size, note, _ = sealed_chain("shipment", SHIPMENT, SIGNER)
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
    draft = add_signature(unsigned(body), MANUFACTURER_QA, QA, DELIVERED_MS + 1000)
    h = draft["report_hash"]
    entry = cosignature(draft, THIRD_PARTY_VERIFIER, TPV, DELIVERED_MS + 1500)
    steps = [
        _step(REPORT_DRAFTED, h, document=canonical_json(draft).decode()),
        _step(REPORT_COSIGNED, h, signature=canonical_json(entry).decode()),
    ]
    records, _, note, head = sealed_chain("shipment", SHIPMENT, SIGNER, events=steps)
    return {
        "format": FORMAT,
        "subject": {"type": "shipment", "id": SHIPMENT},
        "records": records,
        "checkpoints": {LOG: note},
        "head": head,
        "verifier_keys": [SIGNER.verifier_key()],
        "report": {**draft, "signatures": [*draft["signatures"], entry]},
    }


ROLE_KEYS = {MANUFACTURER_QA: [QA.verifier_key()], THIRD_PARTY_VERIFIER: [TPV.verifier_key()]}
BASE = report_bundle()


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside ``node`` (dict keys and list indexes), the root excluded."""
    found = []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found.append((*prefix, key))
        found += paths(child, (*prefix, key))
    return found


# Dropping the report section leaves a genuine consignment bundle (its report is still shown from its records).
# Dropping the last record does not: the head says the chain is longer.
HARMLESS_DROPS = {("report",)}
PATHS = paths(BASE)
REPORT_PATHS = [p for p in PATHS if p[0] == "report"]
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
    report = verify_bundle(bundle, (), ROLE_KEYS)  # must not raise
    assert not report.ok, (path, how, garbage)
    assert report.failures
    report.to_json()  # and the verdict can be printed


def test_the_unmutated_bundle_verifies_with_its_report() -> None:
    report = verify_bundle(copy.deepcopy(BASE), (), ROLE_KEYS)
    assert report.ok, report.failures
    assert report.report["verified_roles"] == [MANUFACTURER_QA, THIRD_PARTY_VERIFIER] and report.report["certified"]


def test_the_same_bundle_judged_without_the_verifiers_key_fails() -> None:
    report = verify_bundle(copy.deepcopy(BASE), (), {MANUFACTURER_QA: ROLE_KEYS[MANUFACTURER_QA]})
    assert not report.ok and not report.report["certified"]
    assert any("third_party_verifier" in f["problem"] for f in report.failures)


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
        report = verify_bundle(copy.deepcopy(thing), (), ROLE_KEYS)
        assert not report.ok and report.failures
