"""The seal stage: trace.chain packs -> chained, correlated and logged rows, stored in an order a crash cannot break.

A batch is sealed in memory (BatchSealer) from the newest states there are: those of batches sealed but not stored
yet (Unstored), else the table's. Batches are stored in groups (processors/group_commit.py), each group as one
bigger batch would be (Newest), in this order:

1. ClickHouse: every row of the group (sealed items, events, log entries, carbon, flags, projections). Rows are keyed
   and each insert carries a token of its content, so a group sealed again after a crash stores nothing twice.
2. The states: each partition's log state, then the entity states, into the table and its changelog
   (processors/sealing.py says why the log state goes first); then the changelog offsets the store has applied.
   A finished entity's state is stored as a tombstone (battrace/domain/finished.py): only here, after its rows, so
   the store always holds the chain a tombstone stands for, and an event that touches it again reads the full state
   back from the store (processors/evicted.py).
3. Reports of delivered consignments (trace.deliveries), then the checkpointer observes the stored log entries and
   signs what is due (a log it does not follow yet is resumed in the background, processors/log_signing.py: the
   batch does not wait for it).
4. The batches' messages are acked: only now may faust commit their offsets.

A crash anywhere before 4 leaves the offsets uncommitted, and the batches are sealed again from the states stored
so far: a message whose log entries exist is recognised by its offset (no entry is logged twice), an item an entity
already holds by its source coordinates (no row changes), and an item an entity lacks gets the log index it was
logged at before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from battrace.domain.correlate import already_applied, apply, new_state
from battrace.domain.entities import SHIPMENT
from battrace.domain.finished import delivered, finished, horizon_ms, is_tombstone, tombstone
from battrace.domain.projections import projection
from battrace.domain.sources import REPORT_EVENT
from battrace.settings import Settings
from battrace.store.report_rows import report_rows
from battrace.store.sink import Blocks, SinkBatch
from processors import table_codec
from processors.delivered_watch import DeliveredWatch
from processors.evicted import EvictedStates
from processors.failures import EXIT_PROCESSING_FAILED, run_or_exit
from processors.group_commit import GroupCommit
from processors.log_signing import LogSigning
from processors.metrics import WorkerMetrics
from processors.report_stage import SealBacklog
from processors.runtime import heap
from processors.sealing import AlreadyLogged, PartitionLog, group_log_states, key_partition, log_state_key
from schemas.envelope import ChainItem, loads_pack
from schemas.log_entries import REDELIVERED, SEALED, redelivered_entry, sealed_entry

log = logging.getLogger(__name__)


class StateTable(Protocol):
    """The entities table as the seal stage uses it: entity key -> entity state, and each partition's log state
    under processors.sealing.log_state_key (so it moves with the partition)."""

    def get(self, key: bytes) -> Any:
        """The stored value, or None."""

    def store(self, key: bytes, value: Any, carrier: Any) -> None:
        """Put the value in the local store only, filed under the partition of ``carrier`` (an event); the
        changelog goes out separately (ChangelogWriter)."""

    def changelogged(self, partition: int, offset: int) -> None:
        """The changelog offset the local store has applied up to, for recovery."""


class SealSink(Protocol):
    """Where the rows go (processors/clickhouse_writer.py): encoded when a batch is computed, written per group."""

    def blocks(self, batch: SinkBatch) -> Blocks: ...

    async def write(self, batch: SinkBatch | Blocks) -> None:
        """Returns only once the rows are stored (the worker's never raises: it retries, then exits)."""


# Partition -> the table's (key, value) records in changelog order; returns partition -> offset of its last record
# once the broker acknowledged them all (processors/changelog.py).
ChangelogWriter = Callable[[Mapping[int, list[tuple[bytes, bytes]]]], Awaitable[dict[int, int]]]
SendDelivery = Callable[[dict[str, Any]], Awaitable[None]]
# (entity key, its tombstone) -> its full state, rebuilt from the store (processors/evicted.py)
ReadBack = Callable[[str, dict[str, Any]], dict[str, Any]]


def _timestamp_ms(message: Any) -> int:
    return round(message.timestamp * 1000)  # faust gives seconds


@dataclass
class Sealed:
    """What one batch of trace.chain packs produced; nothing is written yet."""

    events: list[Any]  # the batch's events, acknowledged once everything below is stored
    batch: SinkBatch = field(default_factory=SinkBatch)  # rows, while the batch is computed
    blocks: Blocks = field(default_factory=Blocks)  # the rows encoded, once computed, until stored
    working: dict[str, dict[str, Any]] = field(default_factory=dict)  # entity key -> new state
    carriers: dict[str, Any] = field(default_factory=dict)  # entity key -> a message of its partition
    logs: dict[int, PartitionLog] = field(default_factory=dict)  # partition -> grown log
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # sealed Delivered events of consignments
    projections: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # entity key -> (table, row)
    started_s: float = 0.0  # monotonic clock when the batch was taken (processors/metrics.py)
    sealed_events: int = 0  # events sealed into their first entity's chain (their ``events`` rows)
    sealed_rows: int = 0  # ``sealed`` rows
    newest_ms: int = 0  # the newest time of the batch's source events (the clock of eviction)


class Unstored:
    """The newest states and logs of sealed batches not stored yet: the batches sealed after them read these first.

    A batch's states are its own copies, so an entry is dropped once the batch that made it is stored, unless a
    later batch replaced it meanwhile."""

    def __init__(self) -> None:
        self.working: dict[str, dict[str, Any]] = {}
        self.logs: dict[int, PartitionLog] = {}

    def add(self, sealed: Sealed) -> None:
        self.working.update(sealed.working)
        self.logs.update(sealed.logs)

    def stored(self, sealed: Sealed) -> None:
        for entity, state in sealed.working.items():
            if self.working.get(entity) is state:
                del self.working[entity]
        for partition, plog in sealed.logs.items():
            if self.logs.get(partition) is plog:
                del self.logs[partition]


class BatchSealer:
    """Seals a batch of packs message by message. Nothing is stored here (see SealStage.store): states are read
    from the batches before (``unstored``, sealed but possibly still being written) or else from the table."""

    def __init__(
        self,
        events: list[Any],
        table: StateTable,
        settings: Settings,
        unstored: Unstored | None = None,
        read_back: ReadBack | None = None,
    ) -> None:
        self.result = Sealed(events)
        self._table = table
        self._settings = settings
        self._unstored = unstored
        self._read_back = read_back

    def _log(self, partition: int) -> PartitionLog:
        log = self.result.logs.get(partition)
        if log is None:
            before = self._unstored.logs.get(partition) if self._unstored else None
            state = before.state() if before else self._table.get(log_state_key(partition, self._settings.partitions))
            log = self.result.logs[partition] = PartitionLog(state)
        return log

    def _state(self, entity: str, event: Any) -> dict[str, Any]:
        working = self.result.working
        state = working.get(entity)
        if state is None:
            stored = self._unstored.working.get(entity) if self._unstored else None
            if stored is None:
                stored = self._table.get(entity.encode())
            if stored is None:
                state = new_state(entity)
            elif is_tombstone(stored):  # rare: a finished entity touched again
                if self._read_back is None:
                    raise RuntimeError(f"{entity} was evicted and this seal stage cannot read states back")
                state = self._read_back(entity, stored)
            else:
                state = table_codec.copy(stored)
            working[entity] = state
            self.result.carriers[entity] = event
        return state

    def add(self, event: Any) -> None:
        result, batch = self.result, self.result.batch
        msg = event.message
        log = self._log(msg.partition)
        log_id, sealed_at = self._settings.log_id(msg.partition), _timestamp_ms(msg)
        logged = log.holds(msg.offset)  # a replay: its entries exist; entities that lack its items catch up
        index = log.first_index(msg.offset)
        for entry in loads_pack(msg.value):
            subject = entry.event.entities[0]
            if entry.event.event_time_ms > result.newest_ms and entry.event.schema != REPORT_EVENT:
                result.newest_ms = entry.event.event_time_ms  # a report step's time is when it was drafted
            for entity in entry.here:
                item = ChainItem.of(entity, entry.event)
                state = self._state(entity, event)
                if index is None:  # logged before the last stored batch: every entity must hold it already
                    if not already_applied(state, item):
                        topic, partition, offset = item.source
                        held = state["applied"].get(f"{topic}:{partition}")
                        raise AlreadyLogged(
                            f"{log_id} offset {msg.offset}: {entity} lacks a logged item (source {topic}:{partition}:"
                            f"{offset}; the entity holds up to offset {held} of that partition)"
                        )
                    continue
                out = apply(state, item, log_id, index, sealed_at)
                if out.sealed:
                    if not logged:
                        head = (entity, out.sealed["seq"], out.sealed["chain_hash"])  # for the checkpoint's heads
                        log.add(sealed_entry(out.sealed), SEALED, head)
                    batch.add("sealed", out.sealed)
                    if entity == subject:  # the event's own rows, encoded by ingest: with its first entity's seal
                        batch.add_encoded("events", entry.event_row)
                        for edge in entry.edges:
                            batch.add_encoded("genealogy", edge)
                        if entry.event.schema == REPORT_EVENT:  # a report step: its reports / report_reviews row
                            for table, row in report_rows(entry.event):
                                batch.add(table, row)
                    if out.sealed["entity_type"] == SHIPMENT and entry.event.kind == "Delivered":
                        delivery = {k: out.sealed[k] for k in ("entity_id", "event_id", "log_id", "log_index")}
                        result.deliveries.append({**delivery, "event_time": entry.event.event_time_ms})
                elif not logged:
                    log.add(redelivered_entry(entity, entry.event.event_id, item.source), REDELIVERED)
                index += 1
                for line in out.carbon:
                    batch.add("carbon", line)
                for flag in out.flags:
                    batch.add("flags", flag)
                for row in out.transit:
                    batch.add("transit_events", row)

    def finish(self) -> Sealed:
        """The batch with its log entries and the projections of every entity it touched (kept apart: a group
        of batches stores one projection row per entity, its newest; see SealStage.store)."""
        batch = self.result.batch
        for partition, log in self.result.logs.items():
            log_id = self._settings.log_id(partition)
            for e in log.appended:
                row = {"log_id": log_id, "log_index": e.index, "entry": e.entry}
                batch.add("log_entries", {**row, "kind": e.kind, "leaf_hash": e.leaf_hash.hex()})
            for height, index, h in log.tiles:
                batch.add("log_tiles", {"log_id": log_id, "height": height, "tile_index": index, "hash": h.hex()})
        for entity, state in self.result.working.items():
            projected = projection(state)
            if projected:
                self.result.projections[entity] = projected
        return self.result


class Newest:
    """What a group of sealed batches leaves, as one bigger batch would: each partition's newest log and each
    entity's newest state, with a message of its partition to carry its table write (see SealStage.store_states)."""

    def __init__(self, group: list[Sealed]) -> None:
        self.states: dict[str, tuple[dict[str, Any], Any]] = {}
        self.newest_ms = max((sealed.newest_ms for sealed in group), default=0)
        self.deliveries = [d for sealed in group for d in sealed.deliveries]
        carriers: dict[int, Any] = {}
        for sealed in group:
            of_partition = {e.message.partition: e for e in sealed.events}  # a message of each partition
            carriers.update((partition, of_partition[partition]) for partition in sealed.logs)
            for entity, state in sealed.working.items():
                self.states[entity] = (state, sealed.carriers[entity])
        log_states = group_log_states(sealed.logs for sealed in group)
        self.logs = {p: (state, carriers[p]) for p, state in log_states.items()}  # partition -> (log state, carrier)


class SealStage:
    """The seal stage over what it stores into, each given to it: the entities table, the row sink, the log signing
    (checkpointer), the changelog writer and where reports of deliveries go."""

    def __init__(
        self,
        settings: Settings,
        table: StateTable,
        sink: SealSink,
        signing: LogSigning,
        changelog: ChangelogWriter,
        send_delivery: SendDelivery,
        backlog: SealBacklog | None = None,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.table = table
        self.sink = sink
        self.signing = signing
        self.changelog = changelog
        self.send_delivery = send_delivery
        self.backlog = backlog or SealBacklog()
        self.evicted = EvictedStates(settings)  # opens its own client on the first tombstone an event touches
        self.horizon_ms = horizon_ms(settings.evict_after_days)
        self.newest_ms = 0  # the newest source event time of the stored groups: eviction's clock, not the wall's
        # Delivered consignments not yet past the horizon (entity key -> the time of its Delivered event): rechecked
        # every group, since one is rarely touched after delivery; kept in the table (processors/delivered_watch.py).
        self.delivered = DeliveredWatch(settings.partitions)

    async def run(self, stream: Any) -> None:
        """The agent's body. Batches are computed while the batches before them are written (ClickHouse, then
        states, then their offsets are acked), by a group commit: the batches sealed while a group is being
        written form the next group.

        A batch's messages stay unacknowledged (one extra reference each) until its writer stored everything, so
        faust commits nothing of a batch in flight, and a rebalance waits for it (faust's wait_empty). A batch reads
        the states that batches not yet stored left (``unstored``); everything older is in the table, because a
        group's writer starts only after the one before finished, so the changelog keeps its per-batch order
        [log N, entities N, log N+1, ...].
        """
        unstored = Unstored()

        async def store(group: list[Sealed]) -> None:
            await run_or_exit(self.store(group, unstored), "storing sealed batches")

        writer = GroupCommit(store, self.settings.seal_group_batches)
        # Counted in packs: a batch of batch_size packs would sit out the whole window while ingest fills it.
        async for events in stream.take_events(self.settings.seal_batch_packs, within=self.settings.batch_seconds):
            # take_events acks a batch even when this body raises, and faust would only restart the agent: any
            # failure here must end the process so that no offset of an unfinished batch is committed.
            try:
                started = time.monotonic()
                for event in events:
                    event.message.incref()  # take_events' ack only drops this; store acks once the batch is stored
                self.backlog.batch_sealed(waited_s=time.time() - min(e.message.timestamp for e in events))
                sealed = await self.compute(events, unstored)
                sealed.started_s = started
                unstored.add(sealed)
                await writer.submit(sealed)
            except Exception:
                log.critical("sealing a batch failed: exiting without committing", exc_info=True)
                os._exit(EXIT_PROCESSING_FAILED)

    async def compute(self, events: list[Any], unstored: Unstored) -> Sealed:
        """Seal the batch in memory; the loop turns between packs, so the writer of the batches before moves on."""
        sealer = BatchSealer(events, self.table, self.settings, unstored, self._read_back)
        for event in events:
            sealer.add(event)
            await asyncio.sleep(0)
        sealed = sealer.finish()
        sealed.sealed_events = len(sealed.batch.encoded.get("events", ()))  # counted once a batch, not per event
        sealed.sealed_rows = len(sealed.batch.rows.get("sealed", ()))
        # Encoded while the batch waits for the writer: a fraction of the memory of row dicts (a million batteries:
        # peak RSS ~70 MB lower as Arrow columns, ~130 MB lower again as MsgPack rows), and the writer's thread only
        # joins.
        sealed.blocks, sealed.batch = self.sink.blocks(sealed.batch), SinkBatch()
        return sealed

    async def store_states(self, newest: Newest) -> None:
        """The partition logs, then the entity states (the order processors/sealing relies on): stored in the table
        and sent to its changelog as whole record batches; returns when Kafka acknowledged them all (the batches'
        offsets are committed after that)."""
        records: dict[int, list[tuple[bytes, bytes]]] = defaultdict(list)
        store = self.table.store

        def put(key: bytes, value: dict[str, Any], carrier: Any) -> None:
            # A disk store files the value under the current event's partition, and take_events leaves no event
            # current in this task: the carrier is a message of the key's partition (packs go where entities hash).
            store(key, value, carrier)  # the store only: the changelog goes out below, batched
            records[carrier.message.partition].append((key, table_codec.encode(value)))

        for partition, (log_state, carrier) in newest.logs.items():
            put(log_state_key(partition, self.settings.partitions), log_state, carrier)
        self.newest_ms = max(self.newest_ms, newest.newest_ms)
        for delivery in newest.deliveries if self.horizon_ms else ():
            self.delivered[f"{SHIPMENT}:{delivery['entity_id']}"] = delivery["event_time"]
        for entity, (state, carrier) in newest.states.items():
            put(entity.encode(), self._hot(entity, state), carrier)
        for entity, carrier in self._delivered_due(newest):
            stored, delivered_ms = self.table.get(entity.encode()), self.delivered.pop(entity)
            reason = finished(stored, self.newest_ms, self.horizon_ms, delivered_ms) if stored is not None else None
            if reason is not None:
                put(entity.encode(), tombstone(stored, reason, delivered_ms), carrier)
        for key, watched in self.delivered.changed(newest.logs):
            put(key, watched, newest.logs[key_partition(key, self.settings.partitions)][1])
        lasts = await self.changelog(records)
        for partition, offset in lasts.items():  # what a disk store has applied, for recovery (as faust records it)
            self.table.changelogged(partition, offset)

    def _hot(self, entity: str, state: dict[str, Any]) -> dict[str, Any]:
        """What the table keeps of an entity's newest state: the state, or its tombstone once it is finished."""
        delivered_ms = self.delivered.get(entity)
        reason = finished(state, self.newest_ms, self.horizon_ms, delivered_ms)
        if reason is not None:
            self.delivered.pop(entity, None)
            return tombstone(state, reason, delivered_ms)
        if delivered_ms is not None and not delivered(state):  # on the move again
            del self.delivered[entity]
        return state

    def recovered(self, partitions: Iterable[int]) -> None:
        """The table recovered these partitions of trace.chain (this worker's now): their watch lists are read back
        from it, the others' forgotten."""
        self.delivered.recovered({p: self.table.get(self.delivered.key(p)) for p in partitions})

    def _read_back(self, entity: str, stone: dict[str, Any]) -> dict[str, Any]:
        """An evicted entity's full state from the store; a consignment's delivery time goes back on the watch list,
        so it leaves again once stored."""
        state = self.evicted.read_back(entity, stone)
        if self.horizon_ms and stone.get("delivered_ms") is not None:
            self.delivered[entity] = stone["delivered_ms"]
        return state

    def _delivered_due(self, newest: Newest) -> list[tuple[str, Any]]:
        """Delivered consignments this group did not touch whose horizon has passed, each with a message of its
        partition from the group to carry its table write (one waits for a group that touched its partition)."""
        due = []
        for entity, delivered_ms in self.delivered.items():
            if entity in newest.states or self.newest_ms - delivered_ms <= self.horizon_ms:
                continue
            partition = key_partition(entity.encode(), self.settings.partitions)
            if partition in newest.logs:
                due.append((entity, newest.logs[partition][1]))
        return due

    async def store(self, group: list[Sealed], unstored: Unstored) -> None:
        """ClickHouse first (one insert per table for the group), then states (table and changelog), reports and
        checkpoints; then the batches are acked. A group is stored as one bigger batch would be: an entity the group
        touched several times gets one projection row and one changelog record, of its newest state."""
        newest_projections: dict[str, tuple[str, dict[str, Any]]] = {}
        for sealed in group:
            newest_projections.update(sealed.projections)
        projections = SinkBatch()
        for table, row in newest_projections.values():
            projections.add(table, row)
        blocks = Blocks.joined([*(sealed.blocks for sealed in group), self.sink.blocks(projections)])
        await self.sink.write(blocks)
        for sealed in group:
            sealed.blocks = Blocks()  # stored: free them while the next batch is computed
        del blocks
        heap.release_freed_memory()
        await self.store_states(Newest(group))
        for sealed in group:
            unstored.stored(sealed)
        for delivery in (d for sealed in group for d in sealed.deliveries):  # a report per delivered consignment
            await self.send_delivery(delivery)
        await self.signing.observe_stored(
            (self.settings.log_id(partition), plog) for sealed in group for partition, plog in sealed.logs.items()
        )
        await self.signing.publish_due()
        for sealed in group:
            for event in sealed.events:
                event.ack()  # the last reference: faust may commit these offsets now
        self.signing.batch_acknowledged()
        if self.metrics is not None:
            events, rows = sum(s.sealed_events for s in group), sum(s.sealed_rows for s in group)
            self.metrics.batches_stored(events, rows, [s.started_s for s in group], time.monotonic())
