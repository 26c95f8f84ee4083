"""The bench's CPU split, checked on this test process: threads that burn a known amount of CPU land in the right
component, and an ended thread's time is not lost."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from battrace.runs import cpu_budget

BURN_S = 0.4
ME = cpu_budget.WorkerCpu(os.getpid())  # one reader for all reads, as the bench's clock keeps one per worker


def test_child_processes_are_the_ingest_stage_and_a_missing_process_counts_nothing() -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import time\nend = time.process_time() + {BURN_S}\nwhile time.process_time() < end: pass\n"
            "import sys; sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while ME.seconds()["ingest"] < BURN_S - 0.02 and time.monotonic() < deadline:
            time.sleep(0.05)
        spent = cpu_budget.sample([cpu_budget.WorkerCpu(os.getpid())], child.pid)
    finally:
        child.communicate(b"")
    assert spent["ingest"] >= BURN_S - 0.02
    assert spent["broker"] == pytest.approx(spent["ingest"], abs=0.1)  # the same child, read as a broker process
    assert cpu_budget.WorkerCpu(child.pid).seconds() == dict.fromkeys(cpu_budget.COMPONENTS[:-1], 0.0)
    assert cpu_budget.process_seconds(child.pid) == 0.0
