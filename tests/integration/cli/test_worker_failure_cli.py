"""`battrace demo` and `battrace bench` on a worker that cannot start: one line naming its log, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("command", "log"),
    [
        (["battrace.cli.bench", "--events", "20"], "bench/worker-0.log"),
        (["battrace", "demo", "--events", "20"], "worker.log"),
    ],
    ids=["bench", "demo"],
)
def test_a_worker_that_exits_early_is_reported_with_its_log(tmp_path: Path, command: list[str], log: str) -> None:
    env = {
        **os.environ,
        "BATTRACE_HOME": str(tmp_path),
        "BATTRACE_WORKER_LOGLEVEL": "no-such-level",
    }  # faust refuses it
    result = subprocess.run([sys.executable, "-m", *command], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert f"Error: the worker exited early; see {tmp_path / log}" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / log).exists()
