"""The arena cap, observed through glibc's own report (malloc_info), in a fresh interpreter per case."""

import pytest

from processors.runtime import heap


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
