"""Delivered consignments waiting out the eviction horizon, kept in the entities table so a restart keeps them.

A delivered consignment leaves the hot table once the horizon has passed since its Delivered event (battrace/domain/
finished.py), and it is rarely touched again to notice: the seal stage rechecks the ones it watches after every
group. Held in memory only, the watch list was lost at every restart, and the consignments delivered before it stayed
hot for good. So each partition's watch list is a value of the table itself, under a key of that partition
(``watch_key``, as the log state is: it moves with the partition), written with the group that changed it and read
back when the table has recovered. It holds only consignments delivered within the horizon: its size follows the
deliveries of a month, not the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from processors.sealing import key_partition, partition_key

WATCH_FIELD = "delivered_ms"  # the table value: {"delivered_ms": {entity key: time of its Delivered event}}


def watch_key(partition: int, partitions: int) -> bytes:
    """The table key of a partition's watch list (so it follows the partition)."""
    return partition_key("watch", partition, partitions)


class DeliveredWatch:
    """Entity key -> delivered time of the consignments watched, grouped per partition; remembers which partitions
    changed since their lists were last written. Looking an entity up costs a dict lookup: the seal stage asks for
    every entity state it stores, and only a change (a delivery, an eviction) hashes the key to its partition."""

    def __init__(self, partitions: int) -> None:
        self._partitions = partitions
        self._keys = [watch_key(p, partitions) for p in range(partitions)]
        self._watched: dict[str, int] = {}
        self._by_partition: dict[int, dict[str, int]] = {}
        self._changed: set[int] = set()

    def _partition(self, entity: str) -> int:
        return key_partition(entity.encode(), self._partitions)

    def __setitem__(self, entity: str, delivered_ms: int) -> None:
        if self._watched.get(entity) == delivered_ms:
            return
        partition = self._partition(entity)
        self._watched[entity] = self._by_partition.setdefault(partition, {})[entity] = delivered_ms
        self._changed.add(partition)

    def get(self, entity: str) -> int | None:
        return self._watched.get(entity)

    def pop(self, entity: str, *default: int | None) -> int | None:
        if entity not in self._watched:
            if default:
                return default[0]
            raise KeyError(entity)
        partition = self._partition(entity)
        del self._by_partition[partition][entity]
        self._changed.add(partition)
        return self._watched.pop(entity)

    def __delitem__(self, entity: str) -> None:
        self.pop(entity)

    def __contains__(self, entity: object) -> bool:
        return entity in self._watched

    def __len__(self) -> int:
        return len(self._watched)

    def items(self) -> Iterator[tuple[str, int]]:
        return iter(self._watched.items())

    def changed(self, writable: Iterable[int]) -> list[tuple[bytes, dict[str, Any]]]:
        """The (table key, value) of each changed partition's list among ``writable`` (the partitions a group can
        carry a table write for); those are no longer changed."""
        out = []
        for partition in sorted(self._changed.intersection(writable)):
            out.append((self._keys[partition], {WATCH_FIELD: dict(self._by_partition.get(partition, {}))}))
            self._changed.discard(partition)
        return out

    def recovered(self, values: Mapping[int, Any]) -> None:
        """The table recovered these partitions (partition -> its stored value, None if none): their lists are the
        stored ones; partitions not among them are no longer this worker's and are forgotten."""
        self._by_partition = {p: dict((value or {}).get(WATCH_FIELD, {})) for p, value in values.items()}
        self._watched = {entity: ms for watched in self._by_partition.values() for entity, ms in watched.items()}
        self._changed = set()  # what the table holds now

    def key(self, partition: int) -> bytes:
        return self._keys[partition]
