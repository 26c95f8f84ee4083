"""`battrace bench` end to end on the real stack: the JSON contract and its arithmetic, never its speed."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

KEYS = {
    "events",
    "events_per_s",
    "raw_consume_per_s",
    "ratio",
    "p50_ms",
    "p99_ms",
    "peak_rss_mb",
    "workers",
    "pipeline_s",
    "startup_s",
    "table_store",
}


def _bench(home: Path, *args: str) -> dict:
    env = {**os.environ, "BATTRACE_HOME": str(home), "BATTRACE_TABLE_STORE": "memory://"}
    result = subprocess.run(
        [sys.executable, "-m", "battrace.cli.bench", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _positive(report: dict, *keys: str) -> None:
    for key in keys:
        value = report[key]
        assert isinstance(value, int | float) and math.isfinite(value) and value > 0, (key, value)












def test_profiling_without_py_spy_names_the_install_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from battrace.runs.bench_error import BenchError
    from battrace.runs.profiler import Profiler

    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # no py-spy beside it ...
    monkeypatch.setenv("PATH", str(tmp_path))  # ... nor on the PATH
    with pytest.raises(BenchError, match=r"pip install -e '\.\[bench\]'"):
        Profiler.executable()
