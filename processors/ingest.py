"""The ingest stage: validate and dedup source events in large batches; one trace.chain pack per partition.

Why not a Faust agent: Faust's per-message stream machinery costs about 70 µs a message on this machine (a bare
``take_events`` agent reads about 14,000 messages/s), more than validating the message. Ingest reads with
aiokafka's ``getmany`` (hundreds of thousands of messages/s) in its own consumer group, and commits a batch's
offsets only after every pack, reject and dedup change it produced is acknowledged by the broker: at-least-once,
like the seal stage, which recognises a replayed item by its source coordinates.
"""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from prometheus_client import CollectorRegistry

from battrace.domain.chain import event_hash
from battrace.epcis.capture_message import EVENTS_PER_MESSAGE
from battrace.log_format import log_level, logging_config
from battrace.settings import Settings, get_settings
from battrace.store import event_rows
from processors.dedup import Verdict, decide
from processors.event_id_reader import EventIdReader
from processors.event_ids import Coordinates, EventIdIndex, encode_changes
from processors.group_consumer import group_consumer, member_id
from processors.metrics import IngestMetrics
from processors.predecessors import Succession
from processors.sealing import key_partition
from processors.validate import Accepted, Rejected, Validator
from schemas.codec import Decoder
from schemas.envelope import (
    Envelope,
    PackEntry,
    RejectRecord,
    dumps_encoded_pack,
    encode_entry,
    pack_bound,
    split_packs,
)
from schemas.reasons import Reason
from schemas.registry import value_subject
from schemas.writers import catalogue
from streams import topics
from streams.kafka_security import aiokafka_options
from streams.topics import MAX_MESSAGE_BYTES

log = logging.getLogger("processors.ingest")  # not __name__: run as the child process, that is "__main__"
PACK_MAX_EVENTS = 500  # events per trace.chain message: keeps a pack well under Kafka's 1 MiB message limit
# A pack is split to stay under the producer limit, with room for the record batch around it (~100 bytes).
PACK_MAX_BYTES = MAX_MESSAGE_BYTES - 4096
OVERSIZE_KEPT_BYTES = 4096  # what a reject keeps of an oversize message: its framing, schema and first fields
LINGER_S = 0.1  # how long a batch that is not full may wait for more records
EXIT_FAILED = 70  # EX_SOFTWARE: the batch stays uncommitted and is redelivered
EXIT_ORPHANED = 75  # EX_TEMPFAIL
FAULT_AFTER_SEND = "ingest_after_send"  # BATTRACE_FAULT, test only: exit between acknowledged sends and the commit


@dataclass
class Ingested:
    """What one batch of source messages produced; nothing is sent yet."""

    # chain partition -> its entries, each encoded once (schemas.envelope.encode_entry), in source order
    packs: dict[int, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    rejects: list[RejectRecord] = field(default_factory=list)
    first_seen: dict[int, dict[str, Coordinates]] = field(default_factory=lambda: defaultdict(dict))  # by partition

    def messages(self, max_bytes: int = PACK_MAX_BYTES) -> Iterator[tuple[int, bytes]]:
        """(chain partition, pack) in send order: a partition's entries in as many packs as keep each under
        PACK_MAX_EVENTS entries and ``max_bytes`` bytes."""
        for partition, entries in self.packs.items():
            for run in split_packs(entries, PACK_MAX_EVENTS, max_bytes):
                yield partition, dumps_encoded_pack(run)


@lru_cache(maxsize=4096)
def _partition_of(entity: str, partitions: int) -> int:
    """Cached: an entity's events come close together, so 88 % of lookups in the 200k-event story hit a cache of
    4,096 entities, and murmur2 in Python costs ~5 µs an entity (10 µs an event) on this machine."""
    return key_partition(entity.encode(), partitions)


def _oversize(source: tuple[str, int, int, int], value: bytes, limit: int) -> RejectRecord:
    detail = f"message of {len(value)} bytes is over BATTRACE_MAX_EVENT_BYTES={limit}"
    return RejectRecord.of(source, Reason.OVERSIZE.value, detail, "", value, OVERSIZE_KEPT_BYTES)


Source = tuple[str, int, int, int]  # topic, partition, offset, Kafka timestamp ms


def _verdicts(
    validator: Validator, records: list[ConsumerRecord], max_event_bytes: int, now_ms: int | None
) -> Iterator[tuple[Source, bytes, Accepted | Rejected | RejectRecord]]:
    """(source, bytes, verdict) of each source event, in order: one per native message, one per event of an
    ``epcis.capture`` document, each at a source offset of its own (battrace/epcis/capture_message.py)."""
    for msg in records:
        value = msg.value or b""
        epcis = msg.topic == topics.EPCIS_CAPTURE.name
        offset = msg.offset * EVENTS_PER_MESSAGE if epcis else msg.offset
        source = (msg.topic, msg.partition, offset, msg.timestamp)
        if len(value) > max_event_bytes:  # before decoding: the bytes are in hand, their length is free
            yield source, value, _oversize(source, value, max_event_bytes)
        elif epcis:
            for index, original, verdict in validator.validate_epcis(value, msg.timestamp, now_ms):
                yield (msg.topic, msg.partition, offset + index, msg.timestamp), original, verdict
        else:
            yield source, value, validator.validate(msg.topic, value, msg.timestamp, now_ms)


def ingest_batch(
    validator: Validator,
    index: EventIdIndex,
    records: list[ConsumerRecord],
    partitions: int,
    max_event_bytes: int = 1_000_000,
    now_ms: int | None = None,
    max_pack_bytes: int = PACK_MAX_BYTES,
) -> Ingested:
    """Validate and dedup a batch, and pack each accepted event for the partitions of the entities it extends.

    ``now_ms``: ingest's clock, read once for the batch (processors/validate.py says how it caps Kafka timestamps).
    A message over ``max_event_bytes``, or an event one of whose pack entries alone would not fit a pack of
    ``max_pack_bytes``, is rejected as oversize: no single message can stop the stage."""
    result = Ingested()
    accepted: dict[str, Coordinates] = {}  # this batch's first acceptances, any partition
    for source, value, verdict in _verdicts(validator, records, max_event_bytes, now_ms):
        if isinstance(verdict, RejectRecord):
            result.rejects.append(verdict)
            continue
        if not isinstance(verdict, Accepted):
            reason, detail = verdict.reason.value, verdict.detail
            result.rejects.append(RejectRecord(source, reason, detail, verdict.event_id, value))
            continue
        first = accepted.get(verdict.event_id) or index.first(verdict.event_id)
        decision = decide(first, source[:3])
        if decision is Verdict.DUPLICATE:
            detail = "event id first accepted from {}:{}:{}".format(*first)  # type: ignore[str-format]
            result.rejects.append(RejectRecord(source, Reason.DUPLICATE.value, detail, verdict.event_id, value))
            continue
        envelope = Envelope(
            verdict.event_id,
            verdict.schema,
            verdict.kind,
            verdict.event_time_ms,
            source,
            event_hash(verdict.canonical),
            verdict.record,
            verdict.entities,
        )
        here: dict[int, list[str]] = {}
        for entity in verdict.entities:
            here.setdefault(_partition_of(entity, partitions), []).append(entity)
        event_row, edges = event_rows.encoded(envelope, verdict.canonical)
        first_partition, *others = here.items()  # the first entity's partition first: its pack carries the event's rows
        entries = [(first_partition[0], encode_entry(PackEntry(first_partition[1], envelope, event_row, edges)))]
        entries += [(partition, encode_entry(PackEntry(entities, envelope))) for partition, entities in others]
        largest = max(len(entry) for _, entry in entries)
        if pack_bound(largest) > max_pack_bytes:  # a deterministic function of the message: a replay agrees
            detail = f"event packs to {largest} bytes, more than a trace.chain pack of {max_pack_bytes} bytes holds"
            result.rejects.append(
                RejectRecord.of(source, Reason.OVERSIZE.value, detail, verdict.event_id, value, OVERSIZE_KEPT_BYTES)
            )
            continue
        if decision is Verdict.NEW:
            accepted[verdict.event_id] = result.first_seen[source[1]][verdict.event_id] = source[:3]
        for partition, entry in entries:
            result.packs[partition].append(entry)
    return result


class _LoadDedupState(ConsumerRebalanceListener):
    def __init__(
        self,
        on_assigned: Callable[[set[TopicPartition]], Awaitable[None]],
        on_revoked: Callable[[set[TopicPartition]], None],
    ) -> None:
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._on_revoked(revoked)  # another worker may extend their changelog before they come back

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._on_assigned(assigned)


class IngestStage:
    """The consume -> validate -> dedup -> pack -> send -> commit loop; any failure ends the process."""

    def __init__(
        self, settings: Settings, validator: Validator, index: EventIdIndex, metrics: IngestMetrics | None = None
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.validator = validator
        self.index = index
        self._loaded: set[int] = set()
        self._loading = asyncio.Lock()
        self._exit_after_send = settings.fault == FAULT_AFTER_SEND  # read once: unset, it costs one test a batch
        bootstrap = settings.kafka or "localhost:9092"
        self.consumer = group_consumer(
            settings,
            settings.ingest_group,
            max_poll_records=settings.batch_size,
            fetch_max_wait_ms=int(settings.batch_seconds * 1000),
        )
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            linger_ms=5,
            max_request_size=MAX_MESSAGE_BYTES,
            **aiokafka_options(settings),
        )
        self.reader = EventIdReader(settings, index)
        self.succession = Succession(settings, settings.ingest_group)  # processors/predecessors.py

    async def _start_consumer(self) -> None:
        await self.succession.before_join()
        await self.consumer.start()

    async def _assigned(self, assigned: set[TopicPartition]) -> None:
        self.succession.joined(member_id(self.consumer))
        await self._load(assigned)

    async def run(self) -> None:
        await asyncio.gather(self.producer.start(), self._start_consumer(), self.reader.start())
        try:
            listener = _LoadDedupState(self._assigned, self._unload)
            self.consumer.subscribe([t.name for t in topics.SOURCES], listener=listener)
            while True:
                batch = await self._gather()
                if batch:
                    await self._process(batch)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.critical("ingesting a batch failed: exiting without committing", exc_info=True)
            os._exit(EXIT_FAILED)
        finally:
            await self.consumer.stop()
            await self.reader.stop()
            await self.producer.stop()

    async def _gather(self) -> dict[TopicPartition, list[ConsumerRecord]]:
        """Up to batch_size records: a trickle is gathered for LINGER_S, so a paced stream still makes packs of
        many events (every pack and seal batch has a fixed cost, which tiny batches multiply)."""
        batch = await self.consumer.getmany(timeout_ms=int(self.settings.batch_seconds * 1000))
        count = sum(len(r) for r in batch.values())
        deadline = asyncio.get_running_loop().time() + LINGER_S
        while batch and count < self.settings.batch_size:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            wait_ms, room = int(left * 1000) + 1, self.settings.batch_size - count
            more = await self.consumer.getmany(timeout_ms=wait_ms, max_records=room)
            for tp, records in more.items():
                batch.setdefault(tp, []).extend(records)
                count += len(records)
        return batch

    async def _process(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        # aiokafka sets a new assignment before the listener that loads its dedup state is done, and getmany can
        # return its records meanwhile: a duplicate of an event accepted before a restart was sealed twice that way.
        await self._load(set(batch))
        records = [r for tp in sorted(batch) for r in batch[tp]]  # order within a source partition is kept
        settings = self.settings
        now_ms = int(time.time() * 1000)  # once a batch: the clock that caps Kafka timestamps (processors/validate.py)
        args = (self.validator, self.index, records, settings.partitions, settings.max_event_bytes, now_ms)
        if any(tp.topic == topics.EPCIS_CAPTURE.name for tp in batch):  # EPCIS costs ms an event: off the loop, so
            ingested = await asyncio.to_thread(ingest_batch, *args)  # the group's heartbeats go on meanwhile
        else:
            ingested = ingest_batch(*args)
        sent: list[asyncio.Future[Any]] = []
        for partition, pack in ingested.messages():
            sent.append(await self.producer.send(topics.CHAIN.name, pack, partition=partition))
        for r in ingested.rejects:
            key = "{}:{}:{}".format(*r.source[:3]).encode()
            sent.append(await self.producer.send(topics.REJECTS.name, r.dumps(), key=key))
        changes = {p: ids for p, ids in ingested.first_seen.items() if ids}
        logged = [
            await self.producer.send(topics.EVENT_IDS.name, encode_changes(ids), partition=partition)
            for partition, ids in changes.items()
        ]
        await asyncio.gather(*sent, *logged)  # every output acknowledged before the offsets move
        for (partition, ids), written in zip(changes.items(), logged, strict=True):
            self.index.logged(partition, ids, written.result().offset)
        if self._exit_after_send:
            log.critical("BATTRACE_FAULT=%s: exiting after the sends, before the commit", FAULT_AFTER_SEND)
            os._exit(EXIT_FAILED)
        await self.consumer.commit({tp: msgs[-1].offset + 1 for tp, msgs in batch.items()})
        if self.metrics is not None:
            by_topic: dict[str, int] = defaultdict(int)
            for tp, msgs in batch.items():  # per partition, not per message
                by_topic[tp.topic] += len(msgs)
            self.metrics.batch_read(by_topic)

    async def _load(self, assigned: set[TopicPartition]) -> None:
        """Bring the dedup state of newly assigned source partitions up to their changelog's end (once: the
        listener and a batch may both ask), all of them in one read (processors/event_id_reader.py)."""
        async with self._loading:
            new = {tp.partition for tp in assigned} - self._loaded
            if not new:
                return
            counts = await self.reader.catch_up(new)
            self._loaded |= new
            for partition, count in sorted(counts.items()):
                log.info("dedup state of partition %d: %d event ids replayed", partition, count)

    def _unload(self, revoked: set[TopicPartition]) -> None:
        self._loaded -= {tp.partition for tp in revoked}


async def _exit_with_parent(parent: int) -> None:
    """A child ingest process must not outlive its worker (whose SIGKILL does not reach it otherwise)."""
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    log.critical("the worker that started this ingest process is gone: exiting")
    os._exit(EXIT_ORPHANED)


async def run_stage(settings: Settings, metrics: IngestMetrics | None = None) -> None:
    """The stage with its validator and dedup index (on disk next to Faust's tables when those are on disk)."""
    subjects = [value_subject(t.name) for t in topics.SOURCES]  # where producers register (TopicNameStrategy)
    writers = catalogue(settings.schema_dir, settings.schema_registry_url, subjects)
    validator = Validator(Decoder(writers), future_tolerance_s=settings.future_tolerance_s)
    on_disk = settings.table_store.startswith("rocksdb")
    index = EventIdIndex(settings.home / "faust" / "event_ids" if on_disk else None)
    try:
        await IngestStage(settings, validator, index, metrics).run()
    finally:
        index.close()


async def _main(parent: int) -> None:
    watch = asyncio.ensure_future(_exit_with_parent(parent))
    try:
        # In the worker's child process: the counters go to PROMETHEUS_MULTIPROC_DIR when the worker set it (its
        # /metrics reads them there, processors/metrics.py), and nowhere otherwise; this registry is never served.
        await run_stage(get_settings(), IngestMetrics(CollectorRegistry()))
    finally:
        watch.cancel()


if __name__ == "__main__":  # started by the worker (processors/worker.py) when BATTRACE_INGEST_PROCESS is on
    json_logs = logging_config(get_settings().log_format, log_level())
    if json_logs is not None:
        logging.config.dictConfig(json_logs)
    else:
        logging.basicConfig(level=log_level(), format="[%(asctime)s] [ingest] %(message)s")
    asyncio.run(_main(os.getppid()))
