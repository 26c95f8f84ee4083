"""The Faust application: validate -> dedup -> seal (chain, correlate, carbon) -> ClickHouse; rejects -> ClickHouse.

Delivery is at-least-once. Each stage is idempotent: dedup remembers where an event id was first
accepted; the seal stage remembers, per entity, the trace.accepted offsets it has applied, writes
ClickHouse first and state second, and only then lets its offsets be committed.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import faust

from battrace.settings import get_settings
from battrace.stack.clickhouse import apply_ddl, connect
from processors.correlate import apply, new_state
from processors.dedup import Verdict, decide
from processors.envelope import ChainItem, Envelope, RejectRecord
from processors.projections import projection
from processors.reasons import Reason
from processors.sink import ClickHouseSink, SinkBatch
from processors.validate import Accepted, Validator
from schemas.codec import Decoder, RegistryClient
from streams import topics

settings = get_settings()
log = logging.getLogger(__name__)
EXIT_SINK_DOWN = 75  # EX_TEMPFAIL: restart the worker when ClickHouse is back
EXIT_PROCESSING_FAILED = 70  # EX_SOFTWARE: a bug; the batch stays uncommitted and is redelivered

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
    producer_acks=-1,
    # Tansu holds a JoinGroup for about half the rebalance timeout before it answers; keep start-up short.
    broker_rebalance_timeout=settings.rebalance_timeout_s,
    # A crashed worker must leave the group *during* the next worker's join (session < rebalance timeout):
    # Tansu only drops it when its session expires, and a second rebalance right after start-up makes faust
    # drop in-flight messages (suspend_flow), leaving a hole in its acked offsets that stalls commits.
    broker_session_timeout=settings.session_timeout_s,
    broker_heartbeat_interval=min(1.0, settings.session_timeout_s / 3),
    datadir=str(settings.home / "faust"),
)

RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
source_topic = app.topic(*(t.name for t in topics.SOURCES), **RAW)
accepted_topic = app.topic(topics.ACCEPTED.name, **RAW)
chain_topic = app.topic(topics.CHAIN.name, **RAW)
rejects_topic = app.topic(topics.REJECTS.name, **RAW)

# event id -> where it was first accepted: source coordinates and trace.accepted coordinates (processors/dedup.py).
# Partitioned like trace.accepted (by source key): a re-sent event id is caught when it carries its original key.
event_ids = app.Table(
    "event_ids",
    default=None,
    key_type=bytes,  # faust derives the changelog serializers from key_type/value_type: raw keys, JSON values
)
# entity key -> entity state (chain head, applied offsets, projection); written by key, not by current event
entity_state = app.Table(
    "entities",
    default=None,
    use_partitioner=True,
    key_type=bytes,  # faust derives the changelog serializers from key_type/value_type: raw keys, JSON values
)

_clickhouse = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")


@cache
def sink() -> ClickHouseSink:
    client = connect(settings)
    apply_ddl(client)
    return ClickHouseSink(client)


async def write(batch: SinkBatch, attempts: int = 5) -> None:
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


def _source(message: Any) -> tuple[str, int, int, int]:
    return (message.topic, message.partition, message.offset, round(message.timestamp * 1000))


@app.agent(source_topic)
async def validate(stream: faust.StreamT) -> None:
    registry = RegistryClient(settings.schema_registry_url) if settings.schema_registry_url else None
    validator = Validator(Decoder(registry), future_tolerance_s=settings.future_tolerance_s)
    async for event in stream.events():
        msg = event.message
        source = _source(msg)
        verdict = validator.validate(msg.topic, msg.value, source[3])
        if isinstance(verdict, Accepted):
            original = None if verdict.canonical == msg.value else bytes(msg.value)
            envelope = Envelope(
                verdict.event_id,
                verdict.schema,
                verdict.kind,
                verdict.event_time_ms,
                source,
                verdict.canonical,
                verdict.record,
                verdict.entities,
                original,
            )
            # Keyed like the source message, not by event id: the events of one consignment, battery or lot
            # keep their source order all the way to their chains (positions, then delivery).
            await accepted_topic.send(key=msg.key or verdict.event_id.encode(), value=envelope.dumps())
        else:
            reject = RejectRecord(source, verdict.reason.value, verdict.detail, verdict.event_id, msg.value or b"")
            await rejects_topic.send(key=f"{msg.topic}:{msg.partition}:{msg.offset}".encode(), value=reject.dumps())


@app.agent(accepted_topic)
async def dedup(stream: faust.StreamT) -> None:
    async for event in stream.events():
        msg = event.message
        envelope = Envelope.loads(msg.value)
        key = envelope.event_id.encode()
        source = (envelope.source[0], envelope.source[1], envelope.source[2])
        decision = decide(event_ids.get(key), source, (msg.partition, msg.offset))
        if decision.verdict is Verdict.DUPLICATE:
            first = event_ids[key]["source"]
            reject = RejectRecord(
                envelope.source,
                Reason.DUPLICATE.value,
                "event id first accepted from {}:{}:{}".format(*first),
                envelope.event_id,
                envelope.original or envelope.canonical,
            )
            await rejects_topic.send(key="{}:{}:{}".format(*source).encode(), value=reject.dumps())
            continue
        if decision.remember is not None:
            event_ids[key] = decision.remember
        for entity in envelope.entities:
            item = ChainItem(entity, decision.accepted_at, envelope)
            await chain_topic.send(key=entity.encode(), value=item.dumps())


def seal_batch(events: list[Any]) -> tuple[SinkBatch, dict[str, dict[str, Any]]]:
    """Rows and new entity states for one batch of trace.chain messages (nothing is written yet)."""
    batch = SinkBatch()
    working: dict[str, dict[str, Any]] = {}
    for event in events:
        msg = event.message
        item = ChainItem.loads(msg.value)
        state = working.get(item.entity)
        if state is None:
            stored = entity_state.get(item.entity.encode())
            state = copy.deepcopy(stored) if stored is not None else new_state(item.entity)
            working[item.entity] = state
        out = apply(state, item, f"{settings.log_origin}/{msg.partition}", msg.offset, _source(msg)[3])
        if out.sealed:
            batch.add("sealed", out.sealed)
        if out.event:
            batch.add("events", out.event)
        for line in out.carbon:
            batch.add("carbon", line)
    for state in working.values():
        row = projection(state)
        if row:
            batch.add(*row)
    return batch, working


@app.agent(chain_topic)
async def seal(stream: faust.StreamT) -> None:
    async for events in stream.take_events(settings.batch_size, within=settings.batch_seconds):
        try:
            batch, working = seal_batch(events)
        except Exception:  # take_events would ack the batch on the way out: never let it
            log.critical("sealing a batch failed: exiting without committing", exc_info=True)
            os._exit(EXIT_PROCESSING_FAILED)
        await write(batch)  # ClickHouse first ...
        for entity, state in working.items():  # ... then state; offsets are committed after both
            entity_state[entity.encode()] = state


@app.agent(rejects_topic)
async def store_rejects(stream: faust.StreamT) -> None:
    async for events in stream.take_events(settings.batch_size, within=settings.batch_seconds):
        batch = SinkBatch()
        for event in events:
            r = RejectRecord.loads(event.message.value)
            topic, partition, offset, ts = r.source
            batch.add(
                "rejects",
                {
                    "source_topic": topic,
                    "source_partition": partition,
                    "source_offset": offset,
                    "reason": r.reason,
                    "detail": r.detail,
                    "event_id": r.event_id,
                    "original": r.original,
                    "kafka_timestamp": ts,
                },
            )
        await write(batch)
