"""Child processes of the embedded stack run in their own process group, so stopping one stops all it started."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_group(proc: subprocess.Popen[bytes] | None, timeout_s: float) -> None:
    """SIGTERM the child's process group, SIGKILL it if it has not exited within ``timeout_s``."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def kill_group(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL the child's process group at once, as a crash would: no shutdown, no flush."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
