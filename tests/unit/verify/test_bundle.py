"""Offline bundles: a genuine one verifies; every altered byte, missing record or foreign key is caught."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from sealed_bundles import LOG, battery_bundle

from battrace.tlog import Checkpoint, generate_signer, sign_checkpoint
from battrace.verify.bundle import FORMAT, INCOMPLETE, BundleError, load_bundle, verify_bundle

BATTERY = "X12MCPM27KLPCLX2M2382320"
SIGNER = generate_signer("test.example/log")


def make_bundle() -> dict[str, Any]:
    """Three events of one battery, logged among other entries, under one signed checkpoint."""
    return battery_bundle(BATTERY, SIGNER)


def test_a_genuine_bundle_verifies_with_its_own_or_a_pinned_key() -> None:
    bundle = make_bundle()
    report = verify_bundle(load_bundle(json.dumps(bundle)))
    assert report.ok and report.checked == 3 and report.trust == "bundle" and report.checkpoints == {LOG: 6}
    pinned = verify_bundle(bundle, [SIGNER.verifier_key()])
    assert pinned.ok and pinned.trust == "pinned"


def _flip(hex_or_b64: str, i: int) -> str:
    alphabet = "0123456789abcdef" if all(c in "0123456789abcdef" for c in hex_or_b64) else None
    c = hex_or_b64[i]
    if alphabet:
        return hex_or_b64[:i] + alphabet[(alphabet.index(c) + 1) % 16] + hex_or_b64[i + 1 :]
    return hex_or_b64[:i] + ("A" if c != "A" else "B") + hex_or_b64[i + 1 :]


@pytest.mark.parametrize("field", ["event_hash", "prev_hash", "chain_hash", "event_id", "entity_id"])
def test_every_changed_character_of_a_record_is_caught(field: str) -> None:
    original = make_bundle()
    for record_no in range(3):
        value = original["records"][record_no][field]
        for i in range(len(value)):
            bundle = copy.deepcopy(original)
            bundle["records"][record_no][field] = _flip(value, i) if field != "event_id" else value + "x"
            assert not verify_bundle(bundle).ok, (field, record_no, i)


def test_every_changed_proof_hash_event_byte_or_index_is_caught() -> None:
    original = make_bundle()
    for record_no, record in enumerate(original["records"]):
        for j, h in enumerate(record["inclusion_proof"]):
            for i in range(0, 64, 7):
                bundle = copy.deepcopy(original)
                bundle["records"][record_no]["inclusion_proof"][j] = _flip(h, i)
                assert not verify_bundle(bundle).ok
        for change in ({"log_index": record["log_index"] + 1}, {"seq": record["seq"] + 1}, {"log_id": LOG + "x"}):
            bundle = copy.deepcopy(original)
            bundle["records"][record_no].update(change)
            assert not verify_bundle(bundle).ok, change
        bundle = copy.deepcopy(original)
        raw = base64.b64decode(record["event"]["canonical"])
        bundle["records"][record_no]["event"]["canonical"] = base64.b64encode(raw[:-1] + b"?").decode()
        assert not verify_bundle(bundle).ok


def test_a_changed_checkpoint_or_a_foreign_key_is_caught() -> None:
    original = make_bundle()
    note = original["checkpoints"][LOG]
    for i in range(len(note)):
        if note[i] in "\n —":
            continue
        bundle = copy.deepcopy(original)
        bundle["checkpoints"][LOG] = note[:i] + ("A" if note[i] != "A" else "B") + note[i + 1 :]
        assert not verify_bundle(bundle).ok, i
    other = generate_signer("test.example/log")
    assert not verify_bundle(original, [other.verifier_key()]).ok
    forged = copy.deepcopy(original)  # re-signed by an attacker who also swapped the carried key
    forged["checkpoints"][LOG] = sign_checkpoint(Checkpoint.parse(note.split("\n\n")[0] + "\n"), other)
    forged["verifier_keys"] = [other.verifier_key()]
    assert verify_bundle(forged).ok  # self-consistent ...
    assert not verify_bundle(forged, [SIGNER.verifier_key()]).ok  # ... but not by the operator's pinned key


def test_a_missing_record_in_the_middle_is_caught() -> None:
    bundle = make_bundle()
    del bundle["records"][1]
    assert not verify_bundle(bundle).ok


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b["records"][0].update(inclusion_proof="00"),
        lambda b: b["records"][0].update(log_index="3"),
        lambda b: b["records"][0].pop("chain_hash"),
        lambda b: b["records"][0]["event"].update(canonical="not base64!"),
        lambda b: b["checkpoints"].update({LOG: 42}),
        lambda b: b["verifier_keys"].append("not a key"),
    ],
)
def test_malformed_content_is_reported_not_raised(mutate) -> None:
    bundle = make_bundle()
    mutate(bundle)
    report = verify_bundle(bundle)
    assert not report.ok and report.failures


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{}",
        '{"format": "other"}',
        json.dumps({"format": FORMAT}),
        "[" * 100_000 + "]" * 100_000,
        "1" * 5000,
        json.dumps({**make_bundle(), "records": [1, 2]}),
        json.dumps({**make_bundle(), "subject": {"type": 1, "id": None}}),
    ],
    ids=["empty", "list", "object", "format", "fields", "deep", "huge-int", "records", "subject"],
)
def test_files_that_are_not_bundles_are_refused(text: str) -> None:
    with pytest.raises(BundleError):
        load_bundle(text)


def _incomplete(bundle: dict[str, Any]) -> list[dict[str, object]]:
    report = verify_bundle(bundle, [SIGNER.verifier_key()])
    assert not report.ok
    assert all(f["entity"] == f"battery:{BATTERY}" for f in report.failures)
    return [f for f in report.failures if str(f["problem"]).startswith(INCOMPLETE)]


def test_a_bundle_without_its_newest_record_is_caught_by_the_head() -> None:
    for keep in (2, 1):
        bundle = make_bundle()
        del bundle["records"][keep:]  # every remaining record verifies on its own
        [failure] = _incomplete(bundle)
        assert "says the chain has 3 records" in str(failure["problem"]) and f"holds {keep}" in str(failure["problem"])


def test_a_dropped_middle_record_fails_even_with_the_head_adjusted_to_the_shorter_bundle() -> None:
    bundle = make_bundle()
    del bundle["records"][1]
    bundle["head"]["leaf"]["length"] = 2
    report = verify_bundle(bundle, [SIGNER.verifier_key()])
    assert not report.ok and "sequence gap" in str(report.failures[0]["problem"])


@pytest.mark.parametrize(
    "change",
    [
        {"length": 2},
        {"length": 4},
        {"length": "3"},
        {"length": True},
        {"chain_hash": "00" * 32},
        {"entity": f"battery:{BATTERY}x"},
        {"entity": "lot:other-1"},
    ],
)
def test_a_head_that_is_not_the_bundle_s_last_record_fails(change: dict[str, object]) -> None:
    bundle = make_bundle()
    bundle["head"]["leaf"].update(change)
    assert _incomplete(bundle)


def test_a_head_whose_proof_or_position_is_wrong_fails() -> None:
    original = make_bundle()
    for j, h in enumerate(original["head"]["inclusion_proof"]):
        for i in range(0, 64, 9):
            bundle = copy.deepcopy(original)
            bundle["head"]["inclusion_proof"][j] = _flip(h, i)
            assert _incomplete(bundle)
    for index in (0, 2, 3, 4, -1, "1", None):
        bundle = copy.deepcopy(original)
        bundle["head"]["index"] = index
        assert _incomplete(bundle), index
    bundle = copy.deepcopy(original)
    bundle["head"]["inclusion_proof"].pop()
    assert _incomplete(bundle)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("head"),
        lambda b: b.update(head=None),
        lambda b: b.update(head=[]),
        lambda b: b["head"].pop("leaf"),
        lambda b: b["head"].update(leaf="x"),
        lambda b: b["head"].update(log_id="test.example/log/9"),
        lambda b: b["head"].update(inclusion_proof="ab"),
        lambda b: b["head"].update(inclusion_proof=[1]),
    ],
)
def test_a_missing_or_malformed_head_is_a_named_failure(mutate) -> None:
    bundle = make_bundle()
    mutate(bundle)
    assert _incomplete(bundle)


def test_a_checkpoint_without_a_heads_line_proves_no_completeness() -> None:
    bundle = make_bundle()
    cp = Checkpoint.parse(bundle["checkpoints"][LOG].split("\n\n")[0] + "\n")
    bundle["checkpoints"][LOG] = sign_checkpoint(Checkpoint(cp.origin, cp.size, cp.root), SIGNER)  # genuine key
    [failure] = _incomplete(bundle)
    assert "commits to no heads" in str(failure["problem"])
    bad_line = Checkpoint(cp.origin, cp.size, cp.root, (*cp.extensions, cp.extensions[0]))  # the line twice
    bundle["checkpoints"][LOG] = sign_checkpoint(bad_line, SIGNER)
    assert _incomplete(bundle)
