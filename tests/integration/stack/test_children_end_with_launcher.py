"""A killed launcher leaves nothing running: the stack's children end with it (battrace/stack/process.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def running(pid: int) -> bool:
    """The process exists and is neither a zombie nor dead (an orphan's zombie waits for whoever reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def ended_within(pids: list[int], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while any(running(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def launch(body: str, tmp_path: Path) -> tuple[subprocess.Popen[str], list[int]]:
    """A launcher process running ``body``, which prints the pids of what it started on one line and then waits."""
    script = tmp_path / "launcher.py"
    script.write_text(textwrap.dedent(body) + "\nprint(*pids, flush=True)\ntime.sleep(120)\n")
    launcher = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    assert launcher.stdout is not None
    line = launcher.stdout.readline()
    assert line.strip(), "the launcher started nothing"
    return launcher, [int(pid) for pid in line.split()]


def kill_launcher(launcher: subprocess.Popen[str]) -> None:
    launcher.send_signal(signal.SIGKILL)
    launcher.wait(timeout=10)


def kill_left(launcher: subprocess.Popen[str], pids: list[int]) -> None:
    """Whatever a failed assertion left running (or the control's child)."""
    if launcher.poll() is None:
        kill_launcher(launcher)
    for pid in pids:
        if running(pid):
            os.kill(pid, signal.SIGKILL)


def assert_end_with_launcher(launcher: subprocess.Popen[str], pids: list[int], timeout_s: float) -> None:
    """``pids`` run until the launcher is killed, and end within ``timeout_s`` after it."""
    try:
        assert all(running(pid) for pid in pids)
        kill_launcher(launcher)
        assert ended_within(pids, timeout_s)
    finally:
        kill_left(launcher, pids)


def test_a_spawned_child_ends_when_its_launcher_is_killed(tmp_path: Path) -> None:
    launcher, pids = launch(
        f"""
        import time
        from battrace.stack.process import spawn
        pids = [spawn({SLEEPER!r}).pid]
        """,
        tmp_path,
    )
    assert_end_with_launcher(launcher, pids, 10)


def test_a_child_started_without_it_outlives_its_killed_launcher(tmp_path: Path) -> None:
    """The control: what the stack's children did before, and what the test above would see if spawn did nothing."""
    launcher, pids = launch(
        f"""
        import subprocess, time
        pids = [subprocess.Popen({SLEEPER!r}, start_new_session=True).pid]
        """,
        tmp_path,
    )
    try:
        kill_launcher(launcher)
        assert not ended_within(pids, 2)
    finally:
        kill_left(launcher, pids)


def test_the_broker_and_a_witness_end_when_the_launcher_is_killed(tmp_path: Path) -> None:
    """The real children: the embedded Tansu broker and a witness server, left behind by a killed demo before."""
    launcher, pids = launch(
        f"""
        import time
        from pathlib import Path
        from battrace.runs.demo_witness import demo_witness
        from battrace.settings import Settings
        from battrace.stack.broker import EmbeddedBroker
        from battrace.stack.witness_server import WitnessServer
        tmp = Path({str(tmp_path)!r})
        broker = EmbeddedBroker(tmp / "broker").start()
        home, _ = demo_witness(Settings(home=tmp / "home"))
        witness = WitnessServer(home.path, tmp / "witness.log").start()
        witness.wait_ready()
        pids = [broker.proc.pid, witness.proc.pid]
        """,
        tmp_path,
    )
    assert_end_with_launcher(launcher, pids, 15)
