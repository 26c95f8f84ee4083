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




def test_freed_memory_goes_back_every_few_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    class Libc:
        def malloc_trim(self, pad: int) -> int:
            calls.append(pad)
            return 1

    monkeypatch.setattr(heap, "_libc", lambda: Libc())
    monkeypatch.setattr(heap, "_batches_sealed", iter(range(1, 100)))
    for _ in range(12):
        heap.release_freed_memory(every=4)
    assert calls == [0, 0, 0]
