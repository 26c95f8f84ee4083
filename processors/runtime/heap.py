"""The worker's C heap (glibc malloc): fewer arenas, and freed space handed back to the OS."""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
from functools import cache

M_ARENA_MAX = -8  # mallopt parameter (malloc.h)
# The worker runs dozens of threads (chDB's pools, RocksDB, the writer, reports); glibc gives threads up to
# 8 arenas per core, and each keeps its own freed space. Two arenas: a million batteries on RocksDB, worker
# peak 979 -> 926 MB in one run, 1,141 -> 1,052 MB with the ingest child (battrace bench --batteries 1000000).
WORKER_ARENAS = 2


@cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 - both exist only in glibc
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return None
    return libc


def limit_arenas(arenas: int = WORKER_ARENAS) -> bool:
    """Cap the arenas threads allocate from; call before the threads start. False where there is no glibc."""
    libc = _libc()
    return libc is not None and libc.mallopt(M_ARENA_MAX, arenas) == 1


_batches_sealed = itertools.count(1)


def release_freed_memory(every: int = 4) -> None:
    """Every few batches, hand freed heap back to the OS: batches allocate and free hundreds of MB of short-lived
    buffers (packs, rows, states) and glibc keeps the freed space, so RSS crept up with the run's length."""
    libc = _libc()
    if libc is not None and next(_batches_sealed) % every == 0:
        libc.malloc_trim(0)
