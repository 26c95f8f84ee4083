"""The worker: ingest (validate, dedup) -> seal (chain, correlate, carbon) -> ClickHouse; rejects -> ClickHouse.

Delivery is at-least-once. Each stage is idempotent: ingest remembers where an event id was first
accepted (processors/ingest.py, a plain aiokafka consumer sending one pack per trace.chain partition and
batch); the seal stage (the one Faust agent) remembers, per entity, the last source offset
it applied from each source partition, writes ClickHouse first and state second, and only then lets its
offsets be committed; the rejects sink and the report stage (plain consumers, processors/reject_stage.py and
report_stage.py) commit a batch once its rows are stored.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import sys
import time
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

import faust
from clickhouse_connect.driver.client import Client
from faust.streams import _current_event  # no public setter: see _current()
from faust.types import TP

from battrace.compliance.issue import awaits_inputs, draft_report, signed_row
from battrace.domain.correlate import already_applied, apply, new_state
from battrace.domain.entities import SHIPMENT
from battrace.domain.projections import projection
from battrace.keys import KeyRing
from battrace.report.model import TraceabilityReport
from battrace.settings import get_settings
from battrace.store import logs as log_store
from battrace.store.client import apply_ddl, connect, embedded_store
from battrace.store.sink import COLUMNS, Blocks, ChdbInserts, ClickHouseSink, SinkBatch
from processors import changelog, reject_stage, report_stage, table_codec
from processors.checkpointer import Checkpointer
from processors.group_commit import GroupCommit
from processors.ingest import MAX_MESSAGE_BYTES, run_stage
from processors.runtime import faust_patches, heap
from processors.sealing import AlreadyLogged, PartitionLog, group_log_states, log_state_key
from schemas.envelope import ChainItem, loads_pack
from schemas.log_entries import REDELIVERED, SEALED, redelivered_entry, sealed_entry
from streams import topics

faust_patches.apply()
# The seal stage allocates millions of short-lived objects per second next to a large long-lived heap (entity
# states, faust's bookkeeping). With the default thresholds (700, 10, 10) the collector ran ~25 full collections
# of ~75 ms each in a 100k-event run, a tenth of the main thread; rarer young and full collections cost less
# and free the same garbage (almost all of it is freed by reference counting anyway).
gc.set_threshold(50_000, 20, 100)
heap.limit_arenas()
# The ClickHouse writer thread needs the GIL back after every chDB call, and the seal stage's compute holds it
# for the whole switch interval (5 ms by default) before handing it over: inserts that take 2-4 ms in chDB took
# 10-20 ms in the worker. A shorter interval lets the writer (and its chDB threads) get back to work sooner.
GIL_SWITCH_INTERVAL_S = 0.0005
sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
settings = get_settings()
faust_patches.set_worker_fetch_max_wait(round(settings.batch_seconds * 1000))
log = logging.getLogger(__name__)
T = TypeVar("T")
# faust's worker spinner sets the *root* logger to DEBUG whenever the log level is above INFO, so every
# debug call in aiokafka, faust and mode built a record only to drop it (about a tenth of the worker's CPU).
# Pin those libraries to the worker's level; their own level wins over the root's.
_requested = os.environ.get("BATTRACE_WORKER_LOGLEVEL", "warn").upper()
_LEVEL = logging.getLevelName("WARNING" if _requested == "WARN" else _requested)
for _noisy in ("aiokafka", "faust", "mode", "processors"):
    logging.getLogger(_noisy).setLevel(_LEVEL if isinstance(_LEVEL, int) else logging.WARNING)
EXIT_SINK_DOWN = 75  # EX_TEMPFAIL: restart the worker when ClickHouse is back
EXIT_PROCESSING_FAILED = 70  # EX_SOFTWARE: a bug; the batch stays uncommitted and is redelivered

# Queued packs per stream, in seal batches. faust stops taking a partition's fetched packs above 80 % of this and
# takes them again below 40 %; with 2 batches (16 packs) the seal stage often found the queue empty while the
# next fetch was under way (100k events: 8.5k/s and 2.7 s waiting for packs; with 4 batches 8.9k/s and 1.6 s).
STREAM_BUFFER_PACKS_PER_BATCH = 4

app = faust.App(
    settings.app_id,
    broker=f"kafka://{settings.kafka or 'localhost:9092'}",
    store=settings.table_store,
    topic_partitions=settings.partitions,
    topic_replication_factor=1,
    broker_commit_interval=settings.commit_interval_s,
    consumer_auto_offset_reset="earliest",
    web_enabled=False,
    key_serializer="raw",
    value_serializer="raw",
    table_standby_replicas=0,
    # Tansu reports a partition's high watermark short of its last record batch's tail (see battrace/stack/worker),
    # so on restart a RocksDB table's persisted changelog offset looks ahead of the topic and faust's consistency
    # check refuses to start (ConsistencyError "persisted offset ... is higher than the last offset").
    recovery_consistency_check=False,
    producer_acks=-1,
    # Tansu holds a JoinGroup for about half the rebalance timeout before it answers; keep start-up short.
    broker_rebalance_timeout=settings.rebalance_timeout_s,
    # A crashed worker must leave the group *during* the next worker's join (session < rebalance timeout):
    # Tansu only drops it when its session expires, and a second rebalance right after start-up makes faust
    # drop in-flight messages (suspend_flow), leaving a hole in its acked offsets that stalls commits.
    broker_session_timeout=settings.session_timeout_s,
    # A stream's queue holds fetched trace.chain packs (up to 500 events, ~150 kB each) until the seal stage takes
    # them; faust's default of 4,096 messages let a backlog pile up in the worker's memory instead of the broker.
    stream_buffer_maxsize=STREAM_BUFFER_PACKS_PER_BATCH * settings.seal_batch_packs,
    broker_heartbeat_interval=min(1.0, settings.session_timeout_s / 3),
    datadir=str(settings.home / "faust"),
    # Up to one largest pack per partition and fetch. At faust's default of 1 MiB (about three packs) the stream
    # ran dry between fetches: 7.3k/s with 1 MiB, 8.9k/s with 4 MiB (100k events, a stream buffer of 32 packs).
    consumer_max_fetch_size=MAX_MESSAGE_BYTES,
)

RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
chain_topic = app.topic(topics.CHAIN.name, **RAW)
checkpoints_topic = app.topic(topics.CHECKPOINTS.name, **RAW)
deliveries_topic = app.topic(topics.DELIVERIES.name, **RAW)

# entity key -> entity state (chain head, applied offsets, projection); written by key, not by current event.
# Also holds each partition's log state (compact tree) under processors.sealing.log_state_key.
# faust's RocksDB defaults are sized for a server: 3 x 64 MiB memtables and a 2 GiB block cache per partition
# database, so a million entities would hold gigabytes in memory. These keep the store a disk store.
ROCKSDB_OPTIONS = {
    "write_buffer_size": 4 * 1024**2,
    "max_write_buffer_number": 2,
    "block_cache_size": 8 * 1024**2,
    "block_cache_compressed_size": 2 * 1024**2,
}
entity_state = app.Table(
    "entities",
    default=None,
    use_partitioner=True,
    key_type=bytes,
    value_type=table_codec.TableValue,  # JSON via msgspec (processors/table_codec.py says why)
    options=ROCKSDB_OPTIONS if settings.table_store.startswith("rocksdb") else None,
)

_clickhouse = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")
# Reports read a lot (genealogy walks, steps): on their own thread and their own client (report_client), so the
# sink's inserts never wait for them. chDB releases the GIL while a query runs.
REPORT_QUERY_THREADS = 1
_report_reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reports")


@cache
def checkpointer() -> Checkpointer:
    return Checkpointer(KeyRing(settings).signers(), settings.checkpoint_every, settings.checkpoint_seconds)


_checkpointing = asyncio.Lock()
seal_backlog = report_stage.SealBacklog()  # reports yield the cores to a seal backlog
report_pacer = report_stage.ReportPacer(seal_backlog, settings.report_share)  # ... and most of them to live sealing


@cache
def sink() -> ClickHouseSink:
    client = connect(settings)
    apply_ddl(client)
    store = embedded_store(settings)
    made = ClickHouseSink(client, inserts=ChdbInserts(store) if store else None)
    for table in COLUMNS:  # read each table's column types now, not on the event loop in the middle of a batch
        made.row_format(table)
    return made


@cache
def report_client() -> Client:
    """Reports read on a client of their own: clickhouse-connect serialises the calls of one chDB client under a
    lock, so on the sink's client every insert waited for the report query in flight (a third of the worker's
    time at 200k events); chDB runs queries of separate connections side by side."""
    sink()  # the tables exist before the first read
    client = connect(settings)
    # One thread per report query: a report can wait, the seal stage's inserts (and Python) should not.
    client.set_client_setting("max_threads", REPORT_QUERY_THREADS)
    return client


async def write(batch: SinkBatch | Blocks, attempts: int = 5) -> None:
    """Insert off the event loop (heartbeats keep flowing); returns only after ClickHouse acknowledged.

    faust's take_events acks a batch even when the loop body raises, so a failed insert must never
    propagate: retry, and if ClickHouse stays down, exit hard so no offset of this batch is committed.
    """
    if not len(batch):
        return
    for attempt in range(1, attempts + 1):
        try:
            await asyncio.get_running_loop().run_in_executor(_clickhouse, sink().write, batch)
            return
        except Exception:
            log.exception("ClickHouse insert failed (attempt %d of %d)", attempt, attempts)
            await asyncio.sleep(min(2**attempt, 10))
    log.critical("ClickHouse unavailable: exiting without committing; the batch will be redelivered")
    os._exit(EXIT_SINK_DOWN)


def _timestamp_ms(message: Any) -> int:
    return round(message.timestamp * 1000)  # faust gives seconds


@app.task
async def ingest() -> None:
    """Validate + dedup on a plain aiokafka consumer (processors/ingest.py says why not a Faust agent).

    With ``BATTRACE_INGEST_PROCESS`` (the default) it runs in a child process: a second core for the stage
    that does not touch ClickHouse, which embedded chDB allows in one process only.
    """
    if not settings.ingest_process:
        await run_stage(settings)
        return
    child = await asyncio.create_subprocess_exec(sys.executable, "-m", "processors.ingest")
    try:
        code = await child.wait()
    except asyncio.CancelledError:  # the worker stops: so does its ingest process
        if child.returncode is None:
            child.terminate()
            await child.wait()
        raise
    if code == -signal.SIGTERM:  # the worker's process group is being stopped: faust stops (and cancels us) too
        await asyncio.sleep(10)
    log.critical("the ingest process exited with %s: exiting", code)
    os._exit(EXIT_PROCESSING_FAILED)


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
    """Seals a batch of packs message by message. Nothing is stored here (see _store): states are read from the
    batches before (``unstored``, sealed but possibly still being written) or else from the table."""

    def __init__(self, events: list[Any], unstored: Unstored | None = None) -> None:
        self.result = Sealed(events)
        self._unstored = unstored

    def _log(self, partition: int) -> PartitionLog:
        log = self.result.logs.get(partition)
        if log is None:
            before = self._unstored.logs.get(partition) if self._unstored else None
            state = before.state() if before else entity_state.get(log_state_key(partition, settings.partitions))
            log = self.result.logs[partition] = PartitionLog(state)
        return log

    def _state(self, entity: str, event: Any) -> dict[str, Any]:
        working = self.result.working
        state = working.get(entity)
        if state is None:
            stored = self._unstored.working.get(entity) if self._unstored else None
            if stored is None:
                stored = entity_state.get(entity.encode())
            state = table_codec.copy(stored) if stored is not None else new_state(entity)
            working[entity] = state
            self.result.carriers[entity] = event
        return state

    def add(self, event: Any) -> None:
        result, batch = self.result, self.result.batch
        msg = event.message
        log = self._log(msg.partition)
        log_id, sealed_at = settings.log_id(msg.partition), _timestamp_ms(msg)
        logged = log.holds(msg.offset)  # a replay: its entries exist; entities that lack its items catch up
        index = log.first_index(msg.offset)
        for entry in loads_pack(msg.value):
            subject = entry.event.entities[0]
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
                        log.add(sealed_entry(out.sealed), SEALED)
                    batch.add("sealed", out.sealed)
                    if entity == subject:  # the event's own rows, encoded by ingest: with its first entity's seal
                        batch.add_encoded("events", entry.event_row)
                        for edge in entry.edges:
                            batch.add_encoded("genealogy", edge)
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

    def finish(self) -> Sealed:
        """The batch with its log entries and the projections of every entity it touched (kept apart: a group
        of batches stores one projection row per entity, its newest; see _store)."""
        batch = self.result.batch
        for partition, log in self.result.logs.items():
            for e in log.appended:
                row = {"log_id": settings.log_id(partition), "log_index": e.index, "entry": e.entry}
                batch.add("log_entries", {**row, "kind": e.kind, "leaf_hash": e.leaf_hash.hex()})
        for entity, state in self.result.working.items():
            projected = projection(state)
            if projected:
                self.result.projections[entity] = projected
        return self.result


async def _resume_log(log_id: str, log: PartitionLog) -> None:
    """Bring the checkpointer in step with a log it has not followed (start-up, rebalance)."""
    client = sink().client

    def read() -> tuple[Any, list[bytes]]:
        last = next(iter(log_store.checkpoints(client, log_id)[-1:]), None)
        start = last.size if last else 0
        return (last.last() if last else None), log_store.leaf_hashes(client, log_id, start, log.size)

    last, leaves = await asyncio.get_running_loop().run_in_executor(_clickhouse, read)
    checkpointer().load(log_id, last, leaves, log.tree)


async def publish_due_checkpoints() -> None:
    """Sign what is due, store it in ClickHouse (one insert for every log's), then publish it on trace.checkpoints."""
    async with _checkpointing:
        batch = SinkBatch()
        for log_id in checkpointer().due():
            batch.add("checkpoints", checkpointer().sign(log_id, round(time.time() * 1000)))
        await write(batch)
        for row in batch.rows["checkpoints"]:
            await checkpoints_topic.send(key=row["log_id"].encode(), value=row["note"].encode())


@contextmanager
def _current(event: Any) -> Iterator[None]:
    """Make ``event`` faust's current event in this task only. (Stream._set_current_event would also set the
    stream attribute that take_events' buffer filler reads in another task, and so corrupt the next batch.)"""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


@app.agent(chain_topic)
async def seal(stream: faust.StreamT) -> None:
    """Batches are computed while the batches before them are written (ClickHouse, then states, then their
    offsets are acked), by a group commit: the batches sealed while a group is being written form the next group.

    A batch's messages stay unacknowledged (one extra reference each) until its writer stored everything, so
    faust commits nothing of a batch in flight, and a rebalance waits for it (faust's wait_empty). A batch reads
    the states that batches not yet stored left (``unstored``); everything older is in the table, because a group's
    writer starts only after the one before finished, so the changelog keeps its per-batch order
    [log N, entities N, log N+1, ...].
    """
    unstored = Unstored()

    async def store(group: list[Sealed]) -> None:
        await _run_or_exit(_store(group, unstored), "storing sealed batches")

    writer = GroupCommit(store, settings.seal_group_batches)
    # Counted in packs: a batch of batch_size packs would sit out the whole window while ingest fills it.
    async for events in stream.take_events(settings.seal_batch_packs, within=settings.batch_seconds):
        # take_events acks a batch even when this body raises, and faust would only restart the agent: any
        # failure here must end the process so that no offset of an unfinished batch is committed.
        try:
            for event in events:
                event.message.incref()  # take_events' ack only drops this; _store acks once the batch is stored
            seal_backlog.batch_sealed(waited_s=time.time() - min(e.message.timestamp for e in events))
            sealed = await _compute(events, unstored)
            unstored.add(sealed)
            await writer.submit(sealed)
        except Exception:
            log.critical("sealing a batch failed: exiting without committing", exc_info=True)
            os._exit(EXIT_PROCESSING_FAILED)


async def _compute(events: list[Any], unstored: Unstored) -> Sealed:
    """Seal the batch in memory; the loop turns between packs, so the writer of the batches before moves on."""
    sealer = BatchSealer(events, unstored)
    for event in events:
        sealer.add(event)
        await asyncio.sleep(0)
    sealed = sealer.finish()
    # Encoded while the batch waits for the writer: a fraction of the memory of row dicts (a million batteries: peak
    # RSS ~70 MB lower as Arrow columns, ~130 MB lower again as MsgPack rows), and the writer's thread only joins.
    sealed.blocks, sealed.batch = sink().blocks(sealed.batch), SinkBatch()
    return sealed


class Newest:
    """What a group of sealed batches leaves, as one bigger batch would: each partition's newest log and each
    entity's newest state, with a message of its partition to carry its table write (see _store_states)."""

    def __init__(self, group: list[Sealed]) -> None:
        self.states: dict[str, tuple[dict[str, Any], Any]] = {}
        carriers: dict[int, Any] = {}
        for sealed in group:
            of_partition = {e.message.partition: e for e in sealed.events}  # a message of each partition
            carriers.update((partition, of_partition[partition]) for partition in sealed.logs)
            for entity, state in sealed.working.items():
                self.states[entity] = (state, sealed.carriers[entity])
        log_states = group_log_states(sealed.logs for sealed in group)
        self.logs = {p: (state, carriers[p]) for p, state in log_states.items()}  # partition -> (log state, carrier)


async def _store_states(newest: Newest) -> None:
    """The partition logs, then the entity states (the order processors/sealing relies on): stored in the table and
    sent to its changelog as whole record batches; returns when Kafka acknowledged them all (the batches'
    offsets are committed after that)."""
    records: dict[int, list[tuple[bytes, bytes]]] = defaultdict(list)

    def put(key: bytes, value: dict[str, Any], carrier: Any) -> None:
        # A disk store files the value under the current event's partition, and take_events leaves no event
        # current in this task: the carrier is a message of the key's partition (packs go where entities hash).
        with _current(carrier):
            entity_state.data[key] = value  # the store only: the changelog goes out below, batched
        records[carrier.message.partition].append((key, table_codec.encode(value)))

    for partition, (log_state, carrier) in newest.logs.items():
        put(log_state_key(partition, settings.partitions), log_state, carrier)
    for entity, (state, carrier) in newest.states.items():
        put(entity.encode(), state, carrier)
    topic = entity_state.changelog_topic.get_topic_name()
    producer = app.producer._ensure_producer()  # faust's aiokafka producer (no public accessor)
    lasts = await changelog.write(producer, topic, records, round(time.time() * 1000))
    for partition, offset in lasts.items():  # what a disk store has applied, for recovery (as faust records it)
        entity_state.data.set_persisted_offset(TP(topic, partition), offset)


async def _store(group: list[Sealed], unstored: Unstored) -> None:
    """ClickHouse first (one insert per table for the group), then states (table and changelog), reports and
    checkpoints; then the batches are acked. A group is stored as one bigger batch would be: an entity the group
    touched several times gets one projection row and one changelog record, of its newest state."""
    newest_projections: dict[str, tuple[str, dict[str, Any]]] = {}
    for sealed in group:
        newest_projections.update(sealed.projections)
    projections = SinkBatch()
    for table, row in newest_projections.values():
        projections.add(table, row)
    blocks = Blocks.joined([*(sealed.blocks for sealed in group), sink().blocks(projections)])
    await write(blocks)
    for sealed in group:
        sealed.blocks = Blocks()  # stored: free them while the next batch is computed
    del blocks
    heap.release_freed_memory()
    await _store_states(Newest(group))
    for sealed in group:
        unstored.stored(sealed)
    for delivery in (d for sealed in group for d in sealed.deliveries):  # a report per delivered consignment
        await deliveries_topic.send(key=delivery["entity_id"].encode(), value=json.dumps(delivery).encode())
    async with _checkpointing:  # a log that does not extend its last checkpoint raises: nothing is signed
        for sealed in group:
            for partition, plog in sealed.logs.items():
                log_id = settings.log_id(partition)
                if checkpointer().knows(log_id, plog.size - len(plog.appended)):
                    checkpointer().observe(log_id, [e.leaf_hash for e in plog.appended], plog.tree)
                else:
                    await _resume_log(log_id, plog)
    await publish_due_checkpoints()
    for sealed in group:
        for event in sealed.events:
            event.ack()  # the last reference: faust may commit these offsets now


async def _checkpointed(delivery: dict[str, Any]) -> bool:
    """Wait (bounded) until a signed checkpoint covers the delivery, so field 12 can prove it."""
    deadline = time.monotonic() + settings.report_checkpoint_wait_s
    while time.monotonic() < deadline:
        state = checkpointer().logs.get(delivery["log_id"])
        if state is not None and state.signed.size > delivery["log_index"]:
            return True
        await asyncio.sleep(0.2)
    return False


def _report_work(fn: Callable[..., T], *args: Any) -> Awaitable[T]:
    """``fn(*args)`` on the report thread, paced while the seal stage works (report_stage.ReportPacer)."""
    return report_pacer.run(lambda: asyncio.get_running_loop().run_in_executor(_report_reads, fn, *args))


async def _draft(shipment_id: str) -> TraceabilityReport | None:
    """The report draft; re-drafted for a bounded time while its lots' inputs are still in flight."""

    def draft_once() -> Awaitable[TraceabilityReport | None]:
        return _report_work(draft_report, report_client(), shipment_id)

    return await report_stage.draft_until_inputs_arrive(
        draft_once, awaits_inputs, settings.report_inputs_wait_s, seal_backlog, settings.report_defer_s
    )


async def _issue_report(delivery: dict[str, Any]) -> None:
    """The delivery of a consignment (not its order or dispatch) triggers its signed traceability report."""
    if not await _checkpointed(delivery):
        log.warning("no checkpoint covers the delivery of %s yet: its seal reference is missing", delivery)
    draft = await _draft(delivery["entity_id"])
    if draft is None:
        return
    # canonical JSON and two signatures: off the event loop
    row = await _report_work(signed_row, draft, KeyRing(settings))
    batch = SinkBatch()
    batch.add("reports", row)
    await write(batch)


async def _run_or_exit(stage: Awaitable[None], what: str) -> None:
    """A stage (or a seal batch's writer) until done; any failure ends the process with the batch uncommitted."""
    try:
        await stage
    except asyncio.CancelledError:
        raise
    except Exception:
        log.critical("%s failed: exiting without committing", what, exc_info=True)
        os._exit(EXIT_PROCESSING_FAILED)


@app.task
async def report() -> None:
    """Reports on a plain consumer (processors/report_stage.py says why)."""
    await _run_or_exit(report_stage.run_stage(settings, _issue_report, seal_backlog), "issuing a report")


async def _follow_assigned_logs() -> None:
    """Resume the checkpointer of every assigned log it does not follow yet.

    A restarted worker resumes a log when a batch of its partition is stored. A partition with nothing left to
    seal brings no batch, and the tail its crashed worker sealed but did not sign would stay unsigned until new
    events arrive (its reports meanwhile wait for a checkpoint and go out without their seal reference)."""
    if app.rebalancing or app.in_recovery:
        return  # the table may not hold the log states yet
    for tp in sorted(app.assignor.assigned_actives()):
        log_id = settings.log_id(tp.partition)
        if tp.topic != topics.CHAIN.name or log_id in checkpointer().logs:
            continue
        state = entity_state.get(log_state_key(tp.partition, settings.partitions))
        if state is None:
            continue  # nothing logged yet
        async with _checkpointing:  # a batch stored meanwhile has resumed it already, or finds it in step
            if log_id not in checkpointer().logs:
                await _resume_log(log_id, PartitionLog(state))


@app.timer(interval=settings.checkpoint_seconds / 2)
async def checkpoint_idle_logs() -> None:
    """Sign the tail of a log that stopped growing (no batch will come to trigger it)."""
    try:
        await _follow_assigned_logs()
        await publish_due_checkpoints()
    except Exception:
        log.critical("signing a checkpoint failed: exiting", exc_info=True)
        os._exit(EXIT_PROCESSING_FAILED)


@app.task
async def store_rejects() -> None:
    """Rejects on a plain consumer (processors/reject_stage.py says why); ``write`` exits if ClickHouse stays down."""
    await _run_or_exit(reject_stage.run_stage(settings, write), "storing rejects")
