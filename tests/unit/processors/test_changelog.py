"""The seal stage's batched changelog writes, against the real broker: order, content, and a true end offset."""

from __future__ import annotations

from processors import changelog

TOPIC = "entities-changelog"


def _records(prefix: str, count: int, size: int) -> list[tuple[bytes, bytes]]:
    return [(f"{prefix}{i}".encode(), (f"{prefix}{i}:".encode() * size)[:size]) for i in range(count)]


def test_the_last_record_of_a_partition_gets_a_batch_of_its_own() -> None:
    batches = changelog.record_batches(_records("k", 2500, 500), 0)
    assert [b.record_count() for b in batches][-1] == 1
    assert sum(b.record_count() for b in batches) == 2500 and len(batches) > 2
    assert [b.record_count() for b in changelog.record_batches(_records("k", 1, 10), 0)] == [1]
    assert changelog.record_batches([], 0) == []
