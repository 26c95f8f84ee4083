"""The bench's CPU split, checked on this test process: threads that burn a known amount of CPU land in the right
component, and an ended thread's time is not lost."""

from __future__ import annotations

import ctypes
import os
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


def test_the_main_thread_is_the_seal_stage() -> None:
    before = ME.seconds()
    _burn(BURN_S)
    spent = cpu_budget.between({**before, "broker": 0.0}, {**ME.seconds(), "broker": 0.0})
    assert spent["seal"] >= BURN_S - 0.02
    assert spent["clickhouse"] < 0.1 and spent["worker_threads"] < 0.1


def test_python_threads_and_renamed_threads_are_told_apart() -> None:
    before = ME.seconds()
    python_done, engine_done = threading.Event(), threading.Event()
    threads = [_in_thread(None, BURN_S, python_done), _in_thread(b"MergeMutate", 2 * BURN_S, engine_done)]
    try:
        assert python_done.wait(30) and engine_done.wait(30)
        after = ME.seconds()  # both alive: each counted under its own name
    finally:
        for t in threads:
            t.hold.set()  # type: ignore[attr-defined]
            t.join()
    assert after["worker_threads"] - before["worker_threads"] == pytest.approx(BURN_S, abs=0.1)
    assert after["clickhouse"] - before["clickhouse"] == pytest.approx(2 * BURN_S, abs=0.1)
    assert after["seal"] - before["seal"] < BURN_S / 2  # the main thread only waited


def test_an_ended_threads_time_stays_in_the_process_total() -> None:
    before = ME.seconds()
    thread = _in_thread(None)  # a Python thread: while alive it counts as worker_threads, once ended as clickhouse
    thread.join()
    while os.path.exists(f"/proc/self/task/{thread.native_id}"):  # join returns just before the OS thread ends
        time.sleep(0.01)
    after = ME.seconds()
    spent = sum(after[c] - before[c] for c in ("seal", "clickhouse", "worker_threads"))
    assert spent >= BURN_S - 0.02
    assert after["clickhouse"] - before["clickhouse"] >= BURN_S - 0.05
