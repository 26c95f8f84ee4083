"""Offline bundles: a genuine one verifies; every altered byte, missing record or foreign key is caught."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from sealed_bundles import LOG, battery_bundle

from battrace.tlog import Checkpoint, generate_signer, sign_checkpoint
from battrace.verify.bundle import FORMAT, BundleError, load_bundle, verify_bundle

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
