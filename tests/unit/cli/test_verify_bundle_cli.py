"""`battrace verify --bundle`: verified only against a pinned key; self-consistency is an explicit, labelled opt-in;
a malformed bundle is one line, never a traceback."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from battrace.cli.verify import verify_cmd
from battrace.domain.chain import GENESIS, chain_step
from battrace.tlog import Checkpoint, generate_signer, leaf_hash, root_hash, sign_checkpoint
from battrace.verify.bundle import FORMAT
from schemas.heads import head_leaf, heads_line
from schemas.log_entries import sealed_entry

LOG = "test.example/log/0"
BATTERY = "X12MCPM27KLPCLX2M2382320"
SIGNER = generate_signer("test.example/log")


def one_record_bundle() -> dict[str, Any]:
    """A battery's first record as the only entry of a log, under a checkpoint signed by SIGNER."""
    canonical = b"the first event"
    ev_hash = hashlib.sha256(canonical).digest()
    record = {
        "entity_type": "battery",
        "entity_id": BATTERY,
        "seq": 1,
        "event_id": "ev-1",
        "event_hash": ev_hash.hex(),
        "prev_hash": GENESIS.hex(),
        "chain_hash": chain_step(GENESIS, ev_hash, 1).hex(),
        "log_id": LOG,
        "log_index": 0,
        "event": {"canonical": base64.b64encode(canonical).decode()},
        "inclusion_proof": [],
    }
    root = root_hash([leaf_hash(sealed_entry(record))])
    head = {"entity": f"battery:{BATTERY}", "length": 1, "chain_hash": record["chain_hash"]}
    heads = heads_line(1, leaf_hash(head_leaf(**head)))  # one head: the root is its leaf hash
    return {
        "format": FORMAT,
        "subject": {"type": "battery", "id": BATTERY},
        "records": [record],
        "checkpoints": {LOG: sign_checkpoint(Checkpoint(LOG, 1, root, (heads,)), SIGNER)},
        "head": {"log_id": LOG, "index": 0, "leaf": head, "inclusion_proof": []},
        "verifier_keys": [SIGNER.verifier_key()],
    }


@pytest.fixture
def bundle_file(tmp_path: Path) -> Path:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(one_record_bundle()))
    return path


def run(path: Path, *args: str, verifier_keys: str | None = None) -> Result:
    env = {"BATTRACE_HOME": str(path.parent / "home"), "BATTRACE_VERIFIER_KEYS": verifier_keys}
    return CliRunner().invoke(verify_cmd, ["--bundle", str(path), *args], env=env)


def test_without_a_pinned_key_the_bundle_is_refused_with_one_line_naming_the_fix(bundle_file: Path) -> None:
    result = run(bundle_file)
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.strip().splitlines()
    assert "--key" in line and "BATTRACE_VERIFIER_KEYS" in line and "Traceback" not in result.output


def test_a_pinned_key_from_the_option_or_the_setting_verifies(bundle_file: Path) -> None:
    for result in (
        run(bundle_file, "--key", SIGNER.verifier_key(), "--json"),
        run(bundle_file, "--json", verifier_keys=SIGNER.verifier_key()),
    ):
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["ok"] and report["verified"] and report["trust"] == "pinned"


def test_self_consistency_is_an_opt_in_reported_as_not_verified(bundle_file: Path) -> None:
    as_json = run(bundle_file, "--self-consistent", "--json")
    report = json.loads(as_json.output)
    assert as_json.exit_code == 0 and report["ok"] and not report["verified"] and report["trust"] == "bundle"
    text = run(bundle_file, "--self-consistent")
    assert text.exit_code == 0 and "NOT VERIFIED" in text.output and "own" in text.output
    tampered = one_record_bundle()
    tampered["records"][0]["event_hash"] = "00" * 32
    bundle_file.write_text(json.dumps(tampered))
    failed = run(bundle_file, "--self-consistent", "--json")
    assert failed.exit_code == 1 and not json.loads(failed.output)["ok"]


def test_a_pinned_key_that_did_not_sign_fails(bundle_file: Path) -> None:
    other = generate_signer("test.example/log").verifier_key()
    result = run(bundle_file, "--key", other, "--json")
    assert result.exit_code == 1 and not json.loads(result.output)["verified"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update(report="not a report"),
        lambda b: b.update(report={"report": {"fields": {"seal": 5}}}, report_keys={"qa": [None]}),
        lambda b: b.update(report={"report": [], "signatures": {}}, report_keys={}),
        lambda b: b["records"][0].update(event=[{"canonical": {}}]),
        lambda b: b["checkpoints"].update({LOG: {"nested": ["garbage"]}}),
    ],
    ids=["report-string", "seal-number", "report-list", "event-list", "checkpoint-object"],
)
def test_a_malformed_bundle_is_a_failure_not_a_traceback(bundle_file: Path, mutate) -> None:
    bundle = one_record_bundle()
    mutate(bundle)
    bundle_file.write_text(json.dumps(bundle))
    result = run(bundle_file, "--key", SIGNER.verifier_key(), "--json")
    assert isinstance(result.exception, SystemExit), result.exception  # an exit, not an exception raised
    assert result.exit_code == 1 and not json.loads(result.output)["ok"]
