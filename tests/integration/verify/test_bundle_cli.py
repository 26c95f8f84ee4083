"""Offline bundles: a genuine one verifies; every altered byte, missing record or foreign key is caught."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from battrace.domain.chain import GENESIS, chain_step
from battrace.tlog import Checkpoint, CompactTree, generate_signer, inclusion_proof, leaf_hash, sign_checkpoint
from battrace.verify.bundle import FORMAT
from schemas.log_entries import sealed_entry

LOG = "test.example/log/0"
BATTERY = "X12MCPM27KLPCLX2M2382320"
SIGNER = generate_signer("test.example/log")


def make_bundle() -> dict[str, Any]:
    """Three events of one battery, logged among other entries, under one signed checkpoint."""
    records, entries, prev = [], [], GENESIS
    for seq in (1, 2, 3):
        entries.append(f"another entry {seq}".encode())  # other entities share the log
        canonical = f"event {seq} of {BATTERY}".encode()
        ev_hash = hashlib.sha256(canonical).digest()
        head = chain_step(prev, ev_hash, seq)
        record = {
            "entity_type": "battery",
            "entity_id": BATTERY,
            "seq": seq,
            "event_id": f"ev-{seq}",
            "event_hash": ev_hash.hex(),
            "prev_hash": prev.hex(),
            "chain_hash": head.hex(),
            "log_id": LOG,
            "log_index": len(entries),
            "sealed_at_ms": 1_700_000_000_000 + seq,
            "event": {"kind": "Serviced", "event_time_ms": 0, "canonical": base64.b64encode(canonical).decode()},
        }
        entries.append(sealed_entry(record))
        records.append(record)
        prev = head
    leaves = [leaf_hash(e) for e in entries]
    tree = CompactTree()
    tree.extend(leaves)
    for record in records:
        record["inclusion_proof"] = [h.hex() for h in inclusion_proof(leaves, record["log_index"])]
    note = sign_checkpoint(Checkpoint(LOG, tree.size, tree.root()), SIGNER)
    return {
        "format": FORMAT,
        "subject": {"type": "battery", "id": BATTERY},
        "records": records,
        "checkpoints": {LOG: note},
        "verifier_keys": [SIGNER.verifier_key()],
    }


















def test_verify_bundle_cli_runs_offline(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(make_bundle()))
    env = {**os.environ, "BATTRACE_HOME": str(tmp_path / "empty-home")}  # no store, no broker, no keys

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "battrace", "verify", "--bundle", str(path), *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True)

    ok = cli("--key", SIGNER.verifier_key(), "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["trust"] == "pinned"
    wrong = cli("--key", generate_signer("test.example/log").verifier_key())
    assert wrong.returncode == 1
    path.write_text("garbage")
    bad = cli()
    assert bad.returncode == 2 and "not a JSON bundle" in bad.stderr and "Traceback" not in bad.stderr
