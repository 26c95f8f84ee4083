"""The watch list of delivered consignments (processors/delivered_watch.py): kept per partition under a key of that
partition, written only where it changed, and after a recovery exactly what the table gave back."""

from __future__ import annotations

import pytest

from processors.delivered_watch import WATCH_FIELD, DeliveredWatch, watch_key
from processors.sealing import key_partition

PARTITIONS = 4


@pytest.mark.parametrize("partitions", [1, 2, 3, 8, 12])
def test_each_partitions_key_lands_on_it_under_kafkas_default_partitioner(partitions: int) -> None:
    for p in range(partitions):
        assert key_partition(watch_key(p, partitions), partitions) == p


def consignment_on(partition: int, n: int = 0) -> str:
    return next(
        e for i in range(10_000) if key_partition((e := f"shipment:C{i}").encode(), PARTITIONS) == partition and i >= n
    )


def test_only_the_partitions_that_changed_are_written_and_each_once() -> None:
    watch = DeliveredWatch(PARTITIONS)
    a, b = consignment_on(1), consignment_on(3)
    watch[a] = 100
    watch[b] = 200
    assert watch.changed([1]) == [(watch_key(1, PARTITIONS), {WATCH_FIELD: {a: 100}})]  # 3 waits for a carrier
    assert watch.changed([1, 3]) == [(watch_key(3, PARTITIONS), {WATCH_FIELD: {b: 200}})]
    assert watch.changed([1, 3]) == []
    watch[a] = 100  # the same again: nothing to write
    assert watch.changed([1]) == []
    assert watch.pop(a) == 100 and a not in watch and watch.get(a) is None
    assert watch.changed(range(PARTITIONS)) == [(watch_key(1, PARTITIONS), {WATCH_FIELD: {}})]
    assert watch.pop(a, None) is None
    with pytest.raises(KeyError):
        watch.pop(a)


def test_a_recovery_keeps_what_the_table_holds_for_this_workers_partitions_and_forgets_the_rest() -> None:
    watch = DeliveredWatch(PARTITIONS)
    mine, lost = consignment_on(0), consignment_on(2)
    watch[lost] = 5
    watch[mine] = 7  # written with its group, but that group was never stored: the table does not hold it
    stored = consignment_on(0, n=int(mine.split("C")[1]) + 1)
    watch.recovered({0: {WATCH_FIELD: {stored: 9}}, 1: None})
    assert dict(watch.items()) == {stored: 9} and len(watch) == 1
    assert watch.changed(range(PARTITIONS)) == []  # the table holds exactly this
