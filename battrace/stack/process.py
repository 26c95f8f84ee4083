"""Child processes of the embedded stack: each runs in its own process group, so stopping one stops all it started,
and none outlives the command that started it.

A launcher stops its children on the way out, but a launcher that is killed (SIGKILL, the OOM killer, a test
runner's timeout) has no way out: its broker, worker and witness server went on running, holding their ports and the
worker's store. On Linux each child asks the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``, prctl(2)),
set between fork and exec; a parent that died before that is caught by comparing the parent pid (the child then ends
before it starts). The signal follows the *thread* that forked the child, so children are spawned from the
launcher's main thread (all of them are). The hook makes subprocess fork instead of vfork, about 15 ms a spawn from a
launcher holding 1.2 GB; a launcher spawns a handful. Elsewhere the children are only stopped by their launcher.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

PR_SET_PDEATHSIG = 1  # prctl(2) option: the signal this process gets when its parent dies


def spawn(cmd: Sequence[str], **popen: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(cmd, **popen)`` in a new session (its own process group) that ends with this process."""
    return subprocess.Popen(cmd, start_new_session=True, preexec_fn=_ends_with_parent(), **popen)


def _ends_with_parent() -> Callable[[], None] | None:
    """What the child runs between fork and exec so that it gets SIGTERM once its parent is gone; None off Linux.

    Everything is looked up before the fork: the child only calls prctl and getppid."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request above was made
            os._exit(1)

    return in_child


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
