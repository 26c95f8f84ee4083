"""Whether another process holds an embedded chDB store, read from ClickHouse's own lock.

A ClickHouse server (chDB too) keeps an exclusive ``flock`` on the ``status`` file of its path for as long as it
runs, which is why a chDB store opens in one process at a time. Taking that lock for an instant, without waiting,
tells whether someone else has it without opening the engine, which on failure prints to stderr from C++ before
Python sees an exception.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path


def store_is_held(store: Path) -> bool:
    """True when a running ClickHouse engine (another process's chDB) holds the store at ``store``."""
    try:
        fd = os.open(store / "status", os.O_RDONLY)
    except OSError:  # no status file: no engine ever ran there, or none could
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
