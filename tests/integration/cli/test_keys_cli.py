"""Signing keys: created on first use with owner-only permissions, rotated, retired, configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from battrace.keys import KeyRing
from battrace.settings import Settings


def ring(home: Path, **kw: str) -> KeyRing:
    return KeyRing(Settings(home=home, **kw))


def test_keys_cli_shows_exports_rotates_and_explains_errors(tmp_path: Path) -> None:
    env = {**os.environ, "BATTRACE_HOME": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "battrace", "keys", *args], env=env, capture_output=True, text=True
        )

    assert "no keys yet" in cli().stdout
    (first,) = ring(tmp_path).signers()
    assert cli("export").stdout == first.verifier_key() + "\n"
    rotated = cli("rotate")
    assert rotated.returncode == 0 and "new signing key" in rotated.stdout
    assert len(cli("export").stdout.splitlines()) == 2
    bad = cli("retire", "nothere")
    assert bad.returncode == 1 and "no active signing key" in bad.stderr and "Traceback" not in bad.stderr
