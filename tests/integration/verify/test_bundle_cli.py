"""Offline bundles: a genuine one verifies; every altered byte, missing record or foreign key is caught."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sealed_bundles import battery_bundle

from battrace.tlog import generate_signer

BATTERY = "X12MCPM27KLPCLX2M2382320"
SIGNER = generate_signer("test.example/log")


def make_bundle() -> dict[str, Any]:
    """Three events of one battery, logged among other entries, under one signed checkpoint."""
    return battery_bundle(BATTERY, SIGNER)


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
