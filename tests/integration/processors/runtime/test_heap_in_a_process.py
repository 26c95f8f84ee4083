"""The arena cap, observed through glibc's own report (malloc_info), in a fresh interpreter per case."""

import subprocess
import sys

import pytest

from processors.runtime import heap

# Threads that allocate at the same time each get an arena of their own, up to glibc's limit; malloc_info lists
# one <heap nr="..."> per arena.
_SCRIPT = """
import ctypes, ctypes.util, sys, tempfile, threading
from processors.runtime import heap
if sys.argv[1] == "capped":
    assert heap.limit_arenas(2)
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.fopen.restype = ctypes.c_void_p
barrier = threading.Barrier(8)
held = []
def work():
    barrier.wait()
    held.extend(libc.malloc(4096) for _ in range(200))
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
with tempfile.NamedTemporaryFile(suffix=".xml") as f:
    fp = libc.fopen(f.name.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(fp))
    libc.fclose(ctypes.c_void_p(fp))
    print(open(f.name).read().count("<heap nr="))
"""


def _arenas(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(heap._libc() is None, reason="glibc only")
def test_capped_process_keeps_to_two_arenas_where_an_uncapped_one_makes_more() -> None:
    uncapped, capped = _arenas("free"), _arenas("capped")
    assert capped <= 2
    assert uncapped > capped  # else the threads never overlapped, and the capped case proved nothing
