"""The bench's CPU split, checked on this test process: threads that burn a known amount of CPU land in the right
component, and an ended thread's time is not lost."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading
import time

import pytest

from battrace.runs import cpu_budget

BURN_S = 0.4
PR_SET_NAME = 15  # prctl(2): name the calling thread, as chDB names its threads
ME = cpu_budget.WorkerCpu(os.getpid())  # one reader for all reads, as the bench's clock keeps one per worker


def _burn(seconds: float, name: bytes | None = None) -> None:
    if name is not None:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def _in_thread(name: bytes | None, seconds: float = BURN_S, done: threading.Event | None = None) -> threading.Thread:
    """A thread that burns ``seconds`` of CPU, then (with ``done``) says so and stays alive until the test ends."""
    hold = threading.Event()

    def run() -> None:
        _burn(seconds, name)
        if done is not None:
            done.set()
            hold.wait(30)

    thread = threading.Thread(target=run)
    thread.hold = hold  # type: ignore[attr-defined]
    thread.start()
    return thread








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
