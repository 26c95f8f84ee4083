"""The per-partition RFC 6962 log the seal stage appends to: where its state lives and how it grows.

One log per trace.chain partition: Kafka partition order is the sequencer, and a worker that owns a
partition owns its log. A trace.chain message is a pack of chain items; the log gets one entry per item,
in pack order, so the log is a pure function of the partition's content. trace.chain offsets are contiguous
(one plain producer, no transactions, no compaction): a message that arrives past the next offset means one
was not delivered, and it is refused (MissingMessage) rather than logged as a ``gap``, which would seal the
loss into the log for good.

The subtrees of tiled heights each batch completes (battrace/tlog/tiles.py) go with its entries, so a proof reads
stored tiles instead of every leaf; a replayed batch completes the same ones, so they are written again unchanged.

The log state (a compact tree: size + at most 64 subtree roots, plus where the last batch's messages
start in the log) is stored in the entities table under a key that hashes to the same partition as the
log, so it moves with the partition and is written (changelog) before the entity states of the same
batch: after a crash the changelog holds a prefix of [log, entity, entity, ...]. On replay every message
below ``next_offset`` is already logged; its items that some entity still lacks can only come from the
last batch (all earlier batches' entity states precede the last log state in the changelog), and the
stored first indexes of that batch give them back their original log index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, NamedTuple

from battrace.tlog import CompactTree, leaf_hash
from battrace.tlog.compact import Tile
from streams.murmur2 import murmur2


def key_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as Faust's producer uses) gives ``key``.

    An entity's trace.chain pack goes where its state's changelog goes, so a worker owns both.
    """
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@cache
def partition_key(kind: str, partition: int, partitions: int) -> bytes:
    """A table key ``<kind>:<partition>:<salt>`` that Kafka's default partitioner puts on ``partition``, for a value
    that belongs to the partition rather than to an entity (it moves with the partition in a rebalance)."""
    for salt in range(100_000):
        key = f"{kind}:{partition}:{salt}".encode()
        if key_partition(key, partitions) == partition:
            return key
    raise RuntimeError(f"no {kind} key found for partition {partition} of {partitions}")  # pragma: no cover


def log_state_key(partition: int, partitions: int) -> bytes:
    """The table key of a partition's log state (so the state follows the log)."""
    return partition_key("log", partition, partitions)


class LogEntry(NamedTuple):  # one per sealed item: a frozen dataclass's __init__ cost several times as much
    index: int
    entry: bytes
    leaf_hash: bytes
    kind: str  # the entry's "kind" (schemas.log_entries), kept so the sink need not parse the entry again
    head: tuple[str, int, str] | None  # a ``sealed`` entry's (entity, seq, chain hash): the checkpointer's heads


class AlreadyLogged(RuntimeError):
    """A replayed message whose log position is no longer known: the changelog prefix rule was broken."""


class MissingMessage(RuntimeError):
    """A message arrived past the next offset: the one before it was not delivered (never log past it)."""


class PartitionLog:
    """A partition's log while a batch is sealed: entries per item, in trace.chain order."""

    def __init__(self, state: dict[str, Any] | None) -> None:
        state = state or {}
        self.tree = CompactTree.from_dict(state) if "size" in state else CompactTree()
        self.next_offset: int = state.get("next_offset", self.tree.size)
        self._previous_batch: dict[int, int] = {int(o): i for o, i in state.get("batch", {}).items()}
        self._this_batch: dict[int, int] = {}
        self._reached = -1  # the last offset opened in this batch
        self.appended: list[LogEntry] = []
        self.tiles: list[Tile] = []  # subtrees of tiled heights completed in this batch, stored with its entries

    @property
    def size(self) -> int:
        return self.tree.size

    def holds(self, offset: int) -> bool:
        """Already logged (a replay after a crash): its entries exist and must not be written again."""
        return offset < self.next_offset

    def first_index(self, offset: int) -> int | None:
        """Where the items of message ``offset`` start in the log.

        None for a message logged before the last stored batch (or group of batches): every entity already holds
        its items (their states precede the log state in the changelog), so it only needs recognising as a replay.
        Raises MissingMessage for a message past the next offset.
        """
        self._reached = offset
        if self.holds(offset):
            first = self._previous_batch.get(offset)
            if first is not None:
                self._this_batch[offset] = first  # still needed if this batch is cut short too
            return first
        if offset > self.next_offset:
            raise MissingMessage(f"offset {offset} arrived, but offset {self.next_offset} was not delivered")
        self._this_batch[offset] = self.tree.size
        self.next_offset = offset + 1
        return self.tree.size

    def add(self, entry: bytes, kind: str, head: tuple[str, int, str] | None = None) -> int:
        """Log one item (entry of ``kind``; ``head``: a sealed entry's entity, seq and chain hash) of the message last
        opened with first_index; returns its index."""
        return self._append(entry, kind, head)

    def _append(self, entry: bytes, kind: str, head: tuple[str, int, str] | None) -> int:
        h = leaf_hash(entry)
        index = self.tree.size
        self.appended.append(LogEntry(index, entry, h, kind, head))
        self.tree.append(h, self.tiles)
        return index

    def state(self, stored_with: Sequence[PartitionLog] = ()) -> dict[str, Any]:
        """The state to store. ``stored_with``: the logs of the earlier batches of a group stored together with
        this one (each sealed from the one before). Their messages stay in the batch map: a crash part-way through
        the group's store can leave an entity of any batch of the group without its items."""
        batch: dict[int, int] = {}
        for earlier in stored_with:
            batch.update(earlier._this_batch)
        batch.update(self._this_batch)
        # The last batch's messages this one has not reached: a replay after a crash can stop part-way through
        # them, and their entities may still lack their items.
        batch.update((o, i) for o, i in self._previous_batch.items() if o > self._reached)
        return {**self.tree.to_dict(), "next_offset": self.next_offset, "batch": {str(o): i for o, i in batch.items()}}


def group_log_states(batches: Iterable[Mapping[int, PartitionLog]]) -> dict[int, dict[str, Any]]:
    """Partition -> the log state a group of batches stores together (each batch's logs by partition, in the order
    they were sealed): the newest log's, knowing the messages of every batch of the group."""
    logs: dict[int, list[PartitionLog]] = defaultdict(list)
    for batch in batches:
        for partition, log in batch.items():
            logs[partition].append(log)
    return {partition: logs[-1].state(stored_with=logs[:-1]) for partition, logs in logs.items()}
